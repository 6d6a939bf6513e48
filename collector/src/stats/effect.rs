//! The lift of treatment over control and its variance, absolute or relative, shared by every test:
//! relative uses the delta method, `vT/(mC² nT) + vC mT²/(mC⁴ nC)`.

use super::sample::{Moments, Sample};

/// A lift estimate with its sampling variance, plus the per-variant moments it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Effect {
    pub lift: f64,
    pub variance: f64,
    pub control: Moments,
    pub treatment: Moments,
}

impl Effect {
    pub fn sd(&self) -> f64 {
        self.variance.sqrt()
    }
}

/// `None` when either sample is unusable, the control mean is zero for a relative lift, or the
/// lift has no (or no finite) variance: no test can say anything then.
pub(crate) fn effect(control: &Sample, treatment: &Sample, relative: bool) -> Option<Effect> {
    let c = control.moments()?;
    let t = treatment.moments()?;
    let (lift, variance) = if relative {
        if c.mean == 0.0 {
            return None;
        }
        let mc2 = c.mean * c.mean;
        let lift = (t.mean - c.mean) / c.mean;
        let variance = t.variance / (mc2 * t.n) + c.variance * t.mean * t.mean / (mc2 * mc2 * c.n);
        (lift, variance)
    } else {
        (t.mean - c.mean, t.variance / t.n + c.variance / c.n)
    };
    let usable = lift.is_finite() && variance.is_finite() && variance > 0.0;
    usable.then_some(Effect {
        lift,
        variance,
        control: c,
        treatment: t,
    })
}
