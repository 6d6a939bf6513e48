//! Welch's t-test of treatment against control (two-sided, Welch–Satterthwaite degrees of
//! freedom), as gbstats' TwoSidedTTest: the fixed-horizon p-value and 95 % confidence interval.

use super::effect::{effect, Effect};
use super::sample::Sample;
use super::students_t::{two_sided_p_value, upper_quantile};
use super::ALPHA;

/// A frequentist comparison of treatment against control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Relative ((mT - mC) / mC) or absolute (mT - mC) lift.
    pub lift: f64,
    pub ci: (f64, f64),
    pub sd: f64,
    pub p_value: f64,
}

impl Comparison {
    /// `None` rather than a comparison carrying NaN or infinity.
    pub(crate) fn finite(self) -> Option<Comparison> {
        let Comparison {
            lift,
            ci,
            sd,
            p_value,
        } = self;
        [lift, ci.0, ci.1, sd, p_value]
            .iter()
            .all(|x| x.is_finite())
            .then_some(self)
    }
}

/// Welch's t-test, two-sided, alpha 0.05. `None` when a variant has too little data.
pub fn welch(control: &Sample, treatment: &Sample, relative: bool) -> Option<Comparison> {
    let effect = effect(control, treatment, relative)?;
    let df = welch_satterthwaite_df(&effect)?;
    let sd = effect.sd();
    let half_width = upper_quantile(ALPHA / 2.0, df)? * sd;
    let p_value = two_sided_p_value(effect.lift / sd, df)?;
    Comparison {
        lift: effect.lift,
        ci: (effect.lift - half_width, effect.lift + half_width),
        sd,
        p_value,
    }
    .finite()
}

/// Degrees of freedom from the per-visitor variances of the two variants (not from the relative
/// variance), as gbstats does for both absolute and relative lifts.
fn welch_satterthwaite_df(effect: &Effect) -> Option<f64> {
    let (c, t) = (&effect.control, &effect.treatment);
    let (sc, st) = (c.variance / c.n, t.variance / t.n);
    let df = (sc + st).powi(2) / (sc * sc / (c.n - 1.0) + st * st / (t.n - 1.0));
    (df.is_finite() && df > 0.0).then_some(df)
}
