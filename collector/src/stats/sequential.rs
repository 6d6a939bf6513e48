//! The sequential-safe ("peek as often as you like") interval: a Gaussian-mixture always-valid
//! confidence sequence (Howard et al., arXiv 1810.08240) and its always-valid p-value, as gbstats.

use super::effect::effect;
use super::frequentist::Comparison;
use super::sample::Sample;
use super::ALPHA;

/// gbstats' default tuning: the total visitor count at which the interval is tightest.
pub const DEFAULT_SEQUENTIAL_TUNING: f64 = 5000.0;

/// Gaussian always-valid confidence sequence (sequential-safe interval). `tuning` is the total
/// visitor count (both variants) the interval is optimised for; `None` unless it is positive.
pub fn sequential(
    control: &Sample,
    treatment: &Sample,
    relative: bool,
    tuning: f64,
) -> Option<Comparison> {
    if !(tuning.is_finite() && tuning > 0.0) {
        return None;
    }
    let effect = effect(control, treatment, relative)?;
    let visitors = effect.control.n + effect.treatment.n;
    let rho2 = mixture_variance(ALPHA, tuning);
    // n·ρ² + 1 appears in both the boundary and the e-value of the normal mixture.
    let spread = visitors * rho2 + 1.0;
    // The boundary is on the per-visitor scale: s² = Var(lift)·n.
    let per_visitor_variance = effect.variance * visitors;
    let half_width = (per_visitor_variance * 2.0 * spread * (spread.sqrt() / ALPHA).ln()
        / (visitors * visitors * rho2))
        .sqrt();
    // Always-valid p-value = 1 / e-value of the same mixture; in logs so a decisive result
    // gives 0 instead of overflowing.
    let z2 = effect.lift * effect.lift / effect.variance;
    let log_e_value = rho2 * visitors * z2 / (2.0 * spread) - 0.5 * spread.ln();
    let p_value = (-log_e_value).exp().min(1.0);
    Comparison {
        lift: effect.lift,
        ci: (effect.lift - half_width, effect.lift + half_width),
        sd: effect.sd(),
        p_value,
    }
    .finite()
}

/// ρ², the variance of the Gaussian mixing distribution, chosen so the boundary is tightest after
/// `tuning` visitors (the closed-form optimum in Howard et al.).
fn mixture_variance(alpha: f64, tuning: f64) -> f64 {
    let log_term = -2.0 * alpha.ln();
    (log_term + (log_term + 1.0).ln()) / tuning
}
