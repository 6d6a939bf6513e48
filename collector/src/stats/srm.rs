//! Sample-ratio mismatch: do the exposed visitors per variant fit the configured weights? A
//! chi-square goodness-of-fit test with k - 1 degrees of freedom; a tiny p-value means broken
//! assignment or tracking, and the experiment's other figures cannot be trusted.

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Below this p-value the results flag a sample-ratio mismatch (DESIGN.md).
pub const SRM_ALARM_P_VALUE: f64 = 0.001;

/// The test statistic, its degrees of freedom and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SrmCheck {
    /// Infinite when visitors reached a variant weighted 0.
    pub chi2: f64,
    pub df: f64,
    pub p_value: f64,
}

/// Sample-ratio-mismatch: chi-square goodness-of-fit p-value of `observed` visitors vs `weights`.
/// 1.0 (no evidence of a mismatch) when there is nothing to test; see `srm`.
pub fn srm_p_value(observed: &[f64], weights: &[f64]) -> f64 {
    srm(observed, weights).map_or(1.0, |check| check.p_value)
}

/// The chi-square check. Weights are relative (50/50, 1/2/1). `None` when there is nothing to test:
/// lengths differ, a count or weight is negative or not finite, no visitors, or fewer than two
/// variants with a positive weight. A variant weighted 0 is left out while it has no visitors;
/// visitors in it are a certain mismatch (p = 0).
pub fn srm(observed: &[f64], weights: &[f64]) -> Option<SrmCheck> {
    if observed.len() != weights.len() {
        return None;
    }
    let valid = |x: &f64| x.is_finite() && *x >= 0.0;
    if !observed.iter().all(valid) || !weights.iter().all(valid) {
        return None;
    }
    let weighted: Vec<(f64, f64)> = observed
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(o, w)| (*o, *w))
        .collect();
    let df = weighted.len() as f64 - 1.0;
    let total: f64 = weighted.iter().map(|(o, _)| o).sum();
    let weight_total: f64 = weighted.iter().map(|(_, w)| w).sum();
    if df < 1.0 || total <= 0.0 || !total.is_finite() || !weight_total.is_finite() {
        return None;
    }
    let unweighted_visitors = observed
        .iter()
        .zip(weights)
        .any(|(o, w)| *w == 0.0 && *o > 0.0);
    if unweighted_visitors {
        return Some(SrmCheck {
            chi2: f64::INFINITY,
            df,
            p_value: 0.0,
        });
    }
    let chi2: f64 = weighted
        .iter()
        .map(|(o, w)| {
            let expected = total * (w / weight_total);
            (o - expected).powi(2) / expected
        })
        .sum();
    if !chi2.is_finite() {
        return None;
    }
    let p_value = ChiSquared::new(df).ok()?.sf(chi2);
    p_value
        .is_finite()
        .then_some(SrmCheck { chi2, df, p_value })
}
