//! Student's t for Welch's test: statrs where it is exact, the normal limit where it is not.
//! statrs' incomplete-beta inverse drifts above ~1e4 degrees of freedom and never returns near 1e8.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Above this, the quantile comes from the Cornish–Fisher expansion (error < 1e-8 here, shrinking
/// as df⁻⁴) instead of statrs' `inverse_cdf`, which is slow and drifts from about 1e4 up.
const QUANTILE_EXPANSION_DF: f64 = 1e3;
/// Above this, the tail probability is the normal one: statrs' t loses digits further up, and
/// t and normal differ by under 2e-8 here.
const NORMAL_TAIL_DF: f64 = 1e7;

/// The `1 - tail` quantile of Student's t with `df` degrees of freedom, for `0 < tail < 0.5`.
pub(crate) fn upper_quantile(tail: f64, df: f64) -> Option<f64> {
    if !(df > 0.0 && tail > 0.0 && tail < 0.5) {
        return None;
    }
    let q = if df <= QUANTILE_EXPANSION_DF {
        StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(1.0 - tail)
    } else {
        // Hill (1970) / Abramowitz & Stegun 26.7.5: t ≈ z + g1/ν + g2/ν² + g3/ν³.
        let z = Normal::standard().inverse_cdf(1.0 - tail);
        let z2 = z * z;
        let g1 = z * (z2 + 1.0) / 4.0;
        let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
        let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
        z + (g1 + (g2 + g3 / df) / df) / df
    };
    q.is_finite().then_some(q)
}

/// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
pub(crate) fn two_sided_p_value(t: f64, df: f64) -> Option<f64> {
    if !(df > 0.0 && t.is_finite()) {
        return None;
    }
    let tail = if df <= NORMAL_TAIL_DF {
        StudentsT::new(0.0, 1.0, df).ok()?.sf(t.abs())
    } else {
        Normal::standard().sf(t.abs())
    };
    // The tail rather than 1 - cdf: tiny p-values keep their digits.
    let p = (2.0 * tail).min(1.0);
    p.is_finite().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expansion_takes_over_from_statrs_seamlessly() {
        let exact = StudentsT::new(0.0, 1.0, QUANTILE_EXPANSION_DF)
            .unwrap()
            .inverse_cdf(0.975);
        let z = Normal::standard().inverse_cdf(0.975);
        let expanded = upper_quantile(0.025, QUANTILE_EXPANSION_DF * (1.0 + 1e-12)).unwrap();
        assert!(
            (expanded - exact).abs() < 1e-8,
            "statrs {exact}, expansion {expanded}"
        );
        assert!(expanded > z);
    }

    #[test]
    fn the_quantile_tends_to_the_normal_one_and_always_returns() {
        let z = Normal::standard().inverse_cdf(0.975);
        for df in [1e4, 1e6, 1e8, 1e12, 1e300, f64::INFINITY] {
            let q = upper_quantile(0.025, df).unwrap();
            assert!(q >= z && q - z <= 3.0 / df, "df {df}: {q}");
        }
        assert!((upper_quantile(0.025, 1.0).unwrap() - 12.706204736).abs() < 1e-6);
    }

    #[test]
    fn the_p_value_is_two_tails_and_tends_to_the_normal_one_for_any_df() {
        assert!((two_sided_p_value(1.0, 1.0).unwrap() - 0.5).abs() < 1e-12);
        let z = 1.959963984540054;
        assert!(two_sided_p_value(z, 30.0).unwrap() > 0.055);
        for df in [1e6, 1e8, 1e20, f64::INFINITY] {
            let p = two_sided_p_value(z, df).unwrap();
            assert!((p - 0.05).abs() < 1e-6, "df {df}: {p}");
            assert_eq!(two_sided_p_value(0.0, df), Some(1.0));
        }
    }
}
