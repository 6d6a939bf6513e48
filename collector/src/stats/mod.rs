//! Statistics for experiment results, following GrowthBook's gbstats formulas
//! (`../shared/conformance/stats.json`): Welch t-test, Bayesian (flat prior, Gaussian on the lift),
//! sequential confidence sequences, and the sample-ratio-mismatch check.
//!
//! Every function returns `None` (never NaN, never a panic) when its answer is undefined: a variant
//! with fewer than 2 visitors, a zero control mean for a relative lift, no variance at all, or input
//! that is not a finite, possible sample. The results module shows "not enough data" for those.

mod bayesian;
mod effect;
mod frequentist;
mod sample;
mod sequential;
mod srm;
mod students_t;

pub use bayesian::{bayesian, Bayesian};
pub use frequentist::{welch, Comparison};
pub use sample::Sample;
pub use sequential::{sequential, DEFAULT_SEQUENTIAL_TUNING};
pub use srm::{srm, srm_p_value, SrmCheck, SRM_ALARM_P_VALUE};

/// Two-sided significance level of every interval and test here (95 % intervals).
pub const ALPHA: f64 = 0.05;

#[cfg(test)]
mod tests;
