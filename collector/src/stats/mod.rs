//! Statistics for experiment results, following GrowthBook's gbstats formulas
//! (`../shared/conformance/stats.json`): Welch t-test, Bayesian (flat prior, Gaussian on the lift),
//! sequential confidence sequences, and the sample-ratio-mismatch check.
//! STUB: the signatures are the contract; the bodies are being written.

/// A variant's data for one metric: visitors `n`, sum of values `sum` and of squared values `sum_sq`.
/// For a conversion (0/1) metric, `sum` = `sum_sq` = conversions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// A frequentist comparison of treatment against control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Relative ((mT - mC) / mC) or absolute (mT - mC) lift.
    pub lift: f64,
    pub ci: (f64, f64),
    pub sd: f64,
    pub p_value: f64,
}

/// The Bayesian view (flat prior, Gaussian posterior on the lift).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bayesian {
    pub lift: f64,
    pub ci: (f64, f64),
    pub sd: f64,
    pub chance_to_win: f64,
    /// Expected loss of choosing (control, treatment).
    pub risk: (f64, f64),
}

/// Welch's t-test, two-sided, alpha 0.05. `None` when a variant has too little data.
pub fn welch(_control: &Sample, _treatment: &Sample, _relative: bool) -> Option<Comparison> {
    None
}

/// Gaussian always-valid confidence sequence (sequential-safe interval).
pub fn sequential(_control: &Sample, _treatment: &Sample, _relative: bool, _tuning: f64) -> Option<Comparison> {
    None
}

/// Bayesian chance to beat control and risk.
pub fn bayesian(_control: &Sample, _treatment: &Sample, _relative: bool) -> Option<Bayesian> {
    None
}

/// Sample-ratio-mismatch: chi-square goodness-of-fit p-value of `observed` visitors vs `weights`.
pub fn srm_p_value(_observed: &[f64], _weights: &[f64]) -> f64 {
    1.0
}
