//! The statistics' behaviour, with a few of stats.json's gbstats figures written in as numbers so
//! they are checked even where the conformance folder is absent.

use super::*;

/// Rounded to the 5 decimals gbstats' tests publish.
fn assert_close(name: &str, got: f64, expected: f64) {
    assert!(
        (got - expected).abs() <= 0.5e-5 + 1e-12,
        "{name}: expected {expected}, got {got}"
    );
}

fn revenue_control() -> Sample {
    Sample {
        n: 3407.0,
        sum: 1396.87,
        sum_sq: 52377.9767,
    }
}

fn revenue_treatment() -> Sample {
    Sample {
        n: 3461.0,
        sum: 2422.7,
        sum_sq: 134698.29,
    }
}

#[test]
fn welch_relative_lift_on_means_matches_gbstats() {
    let result = welch(&revenue_control(), &revenue_treatment(), true).expect("defined");
    assert_close("lift", result.lift, 0.70732);
    assert_close("ci low", result.ci.0, -0.03526);
    assert_close("ci high", result.ci.1, 1.44989);
    assert_close("sd", result.sd, 0.37879);
    assert_close("p", result.p_value, 0.06191);
}

#[test]
fn welch_absolute_lift_on_means_matches_gbstats() {
    let result = welch(&revenue_control(), &revenue_treatment(), false).expect("defined");
    assert_close("lift", result.lift, 0.29);
    assert_close("ci low", result.ci.0, 0.04538);
    assert_close("ci high", result.ci.1, 0.53462);
    assert_close("p", result.p_value, 0.02016);
}

#[test]
fn sequential_interval_on_means_matches_gbstats() {
    let control = Sample {
        n: 3000.0,
        ..revenue_control()
    };
    let result = sequential(&control, &revenue_treatment(), true, 1000.0).expect("defined");
    assert_close("lift", result.lift, 0.50336);
    assert_close("ci low", result.ci.0, -0.55844);
    assert_close("ci high", result.ci.1, 1.56516);
    assert_close("sd", result.sd, 0.33341);
    assert_close("p", result.p_value, 1.0);
}

#[test]
fn bayesian_on_proportions_matches_gbstats() {
    let result = bayesian(
        &Sample::proportion(100.0, 49.0),
        &Sample::proportion(100.0, 51.0),
        true,
    )
    .expect("defined");
    assert_close("lift", result.lift, 0.04082);
    assert_close("sd", result.sd, 0.14725);
    assert_close("chance to win", result.chance_to_win, 0.60918);
    assert_close("risk of control", result.risk.0, 0.0814);
    assert_close("risk of treatment", result.risk.1, 0.04058);
}

#[test]
fn srm_of_1000_vs_1200_on_an_even_split_is_chi_square_with_one_df() {
    let check = srm(&[1000.0, 1200.0], &[0.5, 0.5]).expect("testable");
    assert!((check.chi2 - 18.181818).abs() < 1e-6, "chi2 {}", check.chi2);
    assert_eq!(check.df, 1.0);
    assert!(
        (check.p_value - 0.000020079).abs() < 1e-9,
        "p {}",
        check.p_value
    );
    assert!(check.p_value < SRM_ALARM_P_VALUE);
}

#[test]
fn a_proportion_uses_p_times_one_minus_p_and_values_use_the_unbiased_variance() {
    let conversions = Sample::proportion(28.0, 14.0);
    assert!(conversions.is_proportion());
    assert_eq!(conversions.variance(), Some(0.25));
    let values = Sample {
        n: 10.0,
        sum: 100.0,
        sum_sq: 1002.25,
    };
    assert!(!values.is_proportion());
    assert_eq!(values.variance(), Some(0.25));
}

#[test]
fn a_variant_with_fewer_than_two_visitors_gives_none() {
    let one_visitor = Sample::proportion(1.0, 1.0);
    let plenty = Sample::proportion(100.0, 50.0);
    assert_eq!(welch(&one_visitor, &plenty, false), None);
    assert_eq!(
        sequential(&plenty, &one_visitor, false, DEFAULT_SEQUENTIAL_TUNING),
        None
    );
    assert_eq!(bayesian(&one_visitor, &plenty, false), None);
}

#[test]
fn a_zero_control_mean_gives_none_for_relative_lift_only() {
    let no_conversions = Sample::proportion(100.0, 0.0);
    let some = Sample::proportion(100.0, 10.0);
    assert_eq!(welch(&no_conversions, &some, true), None);
    assert_eq!(bayesian(&no_conversions, &some, true), None);
    let absolute = welch(&no_conversions, &some, false).expect("absolute lift is defined");
    assert_close("absolute lift", absolute.lift, 0.1);
}

#[test]
fn no_variance_in_either_variant_gives_none() {
    let all_converted = Sample::proportion(50.0, 50.0);
    let constant_values = Sample {
        n: 4.0,
        sum: 0.4,
        sum_sq: 0.04,
    };
    assert_eq!(welch(&all_converted, &all_converted, false), None);
    assert_eq!(bayesian(&constant_values, &constant_values, true), None);
}

#[test]
fn sums_no_real_data_can_have_give_none() {
    // Four values summing to 100 have squares summing to at least 2500.
    let impossible = Sample {
        n: 4.0,
        sum: 100.0,
        sum_sq: 10.0,
    };
    assert_eq!(impossible.variance(), None);
    assert_eq!(welch(&impossible, &revenue_treatment(), false), None);
}

#[test]
fn the_sequential_interval_is_wider_than_the_fixed_horizon_one() {
    let fixed = welch(&revenue_control(), &revenue_treatment(), false).expect("defined");
    let safe = sequential(
        &revenue_control(),
        &revenue_treatment(),
        false,
        DEFAULT_SEQUENTIAL_TUNING,
    )
    .expect("defined");
    assert_eq!(safe.lift, fixed.lift);
    assert!(
        safe.ci.0 < fixed.ci.0 && safe.ci.1 > fixed.ci.1,
        "{safe:?} vs {fixed:?}"
    );
    assert!(safe.p_value >= fixed.p_value);
}

#[test]
fn sequential_needs_a_positive_tuning() {
    for tuning in [0.0, -5000.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            sequential(&revenue_control(), &revenue_treatment(), true, tuning),
            None,
            "{tuning}"
        );
    }
}

#[test]
fn the_two_risks_differ_by_exactly_the_lift() {
    // E[max(X,0)] - E[max(-X,0)] = E[X] for the posterior X.
    let result = bayesian(&revenue_control(), &revenue_treatment(), false).expect("defined");
    assert!(
        (result.risk.0 - result.risk.1 - result.lift).abs() < 1e-12,
        "{result:?}"
    );
}

#[test]
fn equal_means_give_an_even_chance_to_win() {
    let result = bayesian(
        &Sample::proportion(200.0, 20.0),
        &Sample::proportion(100.0, 10.0),
        true,
    )
    .expect("defined");
    assert_eq!(result.lift, 0.0);
    assert!((result.chance_to_win - 0.5).abs() < 1e-12);
    assert_eq!(result.risk.0, result.risk.1);
}

#[test]
fn srm_weights_are_relative() {
    let shares = srm_p_value(&[300.0, 640.0, 310.0], &[0.25, 0.5, 0.25]);
    let relative = srm_p_value(&[300.0, 640.0, 310.0], &[1.0, 2.0, 1.0]);
    assert!((shares - relative).abs() < 1e-15);
    assert!(shares > 0.1, "a fair 1/2/1 split should pass, p = {shares}");
}

#[test]
fn srm_with_nothing_to_test_is_no_evidence_of_mismatch() {
    assert_eq!(srm_p_value(&[], &[]), 1.0);
    assert_eq!(srm_p_value(&[10.0], &[1.0]), 1.0);
    assert_eq!(srm_p_value(&[0.0, 0.0], &[0.5, 0.5]), 1.0);
    assert_eq!(srm_p_value(&[10.0, 20.0], &[0.5]), 1.0);
    assert_eq!(srm_p_value(&[10.0, -20.0], &[0.5, 0.5]), 1.0);
}

#[test]
fn srm_visitors_in_a_variant_weighted_zero_are_a_certain_mismatch() {
    assert_eq!(srm_p_value(&[500.0, 500.0, 3.0], &[1.0, 1.0, 0.0]), 0.0);
    let unused = srm_p_value(&[500.0, 500.0, 0.0], &[1.0, 1.0, 0.0]);
    assert!(
        (unused - 1.0).abs() < 1e-12,
        "an empty zero-weight variant is ignored, p = {unused}"
    );
}

#[test]
fn a_huge_experiment_still_gives_a_finite_answer() {
    let control = Sample::proportion(1e12, 1e11);
    let treatment = Sample::proportion(1e12, 1.0001e11);
    let fixed = welch(&control, &treatment, true).expect("defined");
    assert_close("lift", fixed.lift, 0.0001);
    assert!(fixed.p_value < 0.05 && fixed.ci.0 > 0.0, "{fixed:?}");
}

/// Odd numbers for n, sum and sum_sq: none of them may panic or leak NaN/infinity into a result.
const ODD: [f64; 12] = [
    0.0,
    -1.0,
    1.0,
    2.0,
    0.5,
    1e-300,
    1e300,
    f64::MAX,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    37.0,
];

fn odd_samples() -> Vec<Sample> {
    let mut samples = Vec::new();
    for n in ODD {
        for sum in ODD {
            for sum_sq in ODD {
                samples.push(Sample { n, sum, sum_sq });
            }
        }
    }
    samples
}

fn assert_comparison_sane(result: Option<Comparison>, context: &str) {
    if let Some(c) = result {
        let finite = [c.lift, c.ci.0, c.ci.1, c.sd, c.p_value]
            .iter()
            .all(|x| x.is_finite());
        assert!(
            finite && c.sd > 0.0 && (0.0..=1.0).contains(&c.p_value),
            "{context}: {c:?}"
        );
        assert!(c.ci.0 <= c.lift && c.lift <= c.ci.1, "{context}: {c:?}");
    }
}

#[test]
fn odd_inputs_never_panic_nor_give_nan() {
    let normal = Sample::proportion(1000.0, 120.0);
    let tunings = [
        DEFAULT_SEQUENTIAL_TUNING,
        0.0,
        -1.0,
        f64::NAN,
        1e-300,
        1e300,
    ];
    for odd in odd_samples() {
        for (control, treatment) in [(odd, normal), (normal, odd), (odd, odd)] {
            for relative in [true, false] {
                let context = format!("{control:?} vs {treatment:?}, relative {relative}");
                assert_comparison_sane(welch(&control, &treatment, relative), &context);
                for tuning in tunings {
                    assert_comparison_sane(
                        sequential(&control, &treatment, relative, tuning),
                        &context,
                    );
                }
                if let Some(b) = bayesian(&control, &treatment, relative) {
                    let numbers = [
                        b.lift,
                        b.ci.0,
                        b.ci.1,
                        b.sd,
                        b.chance_to_win,
                        b.risk.0,
                        b.risk.1,
                    ];
                    assert!(numbers.iter().all(|x| x.is_finite()), "{context}: {b:?}");
                    assert!(
                        (0.0..=1.0).contains(&b.chance_to_win)
                            && b.risk.0 >= 0.0
                            && b.risk.1 >= 0.0
                    );
                }
            }
        }
    }
    for a in ODD {
        for b in ODD {
            for weights in [[0.5, 0.5], [a, b], [1.0, 0.0]] {
                let p = srm_p_value(&[a, b], &weights);
                assert!((0.0..=1.0).contains(&p), "srm {a} {b} {weights:?}: {p}");
                let p = srm_p_value(&[a, b, 10.0], &[weights[0], weights[1], 1.0]);
                assert!((0.0..=1.0).contains(&p), "srm {a} {b} 10 {weights:?}: {p}");
            }
        }
    }
}
