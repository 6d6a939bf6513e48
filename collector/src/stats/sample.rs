//! One variant's data for one metric as sufficient statistics (n, sum, sum of squares), and the
//! per-visitor mean and variance gbstats derives from them.

/// A variant's data for one metric: visitors `n`, sum of values `sum` and of squared values `sum_sq`.
/// For a conversion (0/1) metric, `sum` = `sum_sq` = conversions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub n: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// Mean and per-visitor variance of a sample that passed the checks in `Sample::moments`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Moments {
    pub n: f64,
    pub mean: f64,
    pub variance: f64,
}

impl Sample {
    /// A conversion metric: `conversions` of `visitors` converted (each visitor counts 0 or 1).
    pub fn proportion(visitors: f64, conversions: f64) -> Sample {
        Sample {
            n: visitors,
            sum: conversions,
            sum_sq: conversions,
        }
    }

    /// True for 0/1 data, which is what `sum == sum_sq` within `0..=n` means: `x² = x` only for 0
    /// and 1. The struct has no kind field (it is the contract with the results module), so this is
    /// how a conversion metric is told apart from a value metric such as revenue.
    pub fn is_proportion(&self) -> bool {
        self.sum == self.sum_sq && self.sum >= 0.0 && self.sum <= self.n
    }

    /// Mean per visitor, or `None` when the sample is unusable (see `moments`).
    pub fn mean(&self) -> Option<f64> {
        self.moments().map(|m| m.mean)
    }

    /// Per-visitor variance as gbstats computes it: `p(1-p)` for a proportion, the unbiased
    /// `(ss - s²/n)/(n-1)` for values. `None` when the sample is unusable (see `moments`).
    pub fn variance(&self) -> Option<f64> {
        self.moments().map(|m| m.variance)
    }

    /// `None` unless all three numbers are finite, `n >= 2` and the sums describe a possible sample
    /// (`sum_sq >= sum²/n`, up to rounding).
    pub(crate) fn moments(&self) -> Option<Moments> {
        let Sample { n, sum, sum_sq } = *self;
        if !(n.is_finite() && sum.is_finite() && sum_sq.is_finite()) || n < 2.0 || sum_sq < 0.0 {
            return None;
        }
        let mean = sum / n;
        let variance = if self.is_proportion() {
            mean * (1.0 - mean)
        } else {
            let squared_deviations = sum_sq - sum * mean;
            // Constant values leave a rounding residue of either sign; a clearly negative
            // spread means the sums cannot come from real data.
            if squared_deviations < -1e-9 * sum_sq {
                return None;
            }
            squared_deviations.max(0.0) / (n - 1.0)
        };
        (mean.is_finite() && variance.is_finite()).then_some(Moments { n, mean, variance })
    }
}
