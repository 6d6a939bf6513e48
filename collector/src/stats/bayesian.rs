//! The Bayesian view of a lift: flat prior, so the posterior is the Gaussian N(lift, sd²);
//! chance to beat control, a 95 % credible interval, and the expected loss (risk) of each choice.

use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use super::effect::effect;
use super::sample::Sample;
use super::ALPHA;

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

/// Bayesian chance to beat control and risk. `None` when a variant has too little data.
pub fn bayesian(control: &Sample, treatment: &Sample, relative: bool) -> Option<Bayesian> {
    let effect = effect(control, treatment, relative)?;
    let standard = Normal::standard();
    let (lift, sd) = (effect.lift, effect.sd());
    let z = lift / sd;
    let half_width = standard.inverse_cdf(1.0 - ALPHA / 2.0) * sd;
    // With X ~ N(lift, sd²): keeping control loses X when treatment is better, so its risk is
    // E[max(X, 0)] = lift·Φ(z) + sd·φ(z); shipping treatment risks E[max(-X, 0)]. Each is computed
    // on its own (not one from the other) so neither cancels to a negative number.
    let density = sd * standard.pdf(z);
    let risk_control = (lift * standard.cdf(z) + density).max(0.0);
    let risk_treatment = (density - lift * standard.sf(z)).max(0.0);
    let result = Bayesian {
        lift,
        ci: (lift - half_width, lift + half_width),
        sd,
        // 1 - Φ(-z), which is Φ(z).
        chance_to_win: standard.cdf(z),
        risk: (risk_control, risk_treatment),
    };
    let numbers = [
        lift,
        result.ci.0,
        result.ci.1,
        sd,
        result.chance_to_win,
        risk_control,
        risk_treatment,
    ];
    numbers.iter().all(|x| x.is_finite()).then_some(result)
}
