//! Statistical properties of assignment that a storefront relies on: splits match the weights,
//! raising traffic never moves anyone, editing copy never moves anyone, experiments are independent.

use proptest::prelude::*;
use splitbeam_core::assign::{assign, Visitor};
use splitbeam_core::config::{load_text, Config};
use splitbeam_core::json::Value;
use splitbeam_core::js_engine::NativeJs;

fn config(experiments: &str) -> Config {
    let text = format!(r#"{{"version": 1, "experiments": [{experiments}]}}"#);
    let (loaded, _) = load_text(&text, &NativeJs).unwrap();
    assert!(loaded.issues.is_empty(), "{:#?}", loaded.issues);
    loaded.config
}

/// The variant index of each experiment for one visitor id.
fn variants_of(cfg: &Config, id: &str) -> Vec<Option<usize>> {
    let attributes = Value::Object(vec![("id".into(), id.into())]);
    let visitor = Visitor { attributes: &attributes, href: "/", now_ms: 0.0, forced: &[], sticky: &[], regex: &NativeJs };
    assign(cfg, &visitor).iter().map(|d| d.variant).collect()
}

fn split(weights: &[u32]) -> Vec<f64> {
    let variants: Vec<String> =
        weights.iter().enumerate().map(|(i, w)| format!(r#"{{"key": "v{i}", "weight": {w}}}"#)).collect();
    let cfg = config(&format!(r#"{{"key": "split", "status": "running", "variants": [{}]}}"#, variants.join(",")));
    let mut counts = vec![0u32; weights.len()];
    const VISITORS: u32 = 200_000;
    for i in 0..VISITORS {
        let v = variants_of(&cfg, &format!("v_{i:08x}"))[0].expect("traffic 1.0 puts everyone in");
        counts[v] += 1;
    }
    counts.iter().map(|c| *c as f64 / VISITORS as f64).collect()
}

#[test]
fn two_hundred_thousand_visitors_split_50_50_within_one_point() {
    for (share, want) in split(&[50, 50]).iter().zip([0.5, 0.5]) {
        assert!((share - want).abs() < 0.01, "share {share} vs weight {want}");
    }
}

#[test]
fn two_hundred_thousand_visitors_split_10_30_60_within_one_point() {
    for (share, want) in split(&[10, 30, 60]).iter().zip([0.1, 0.3, 0.6]) {
        assert!((share - want).abs() < 0.01, "share {share} vs weight {want}");
    }
}

fn with_traffic(traffic: f64) -> Config {
    config(&format!(
        r#"{{"key": "ramp", "status": "running", "traffic": {traffic}, "variants": [{{"key": "a", "weight": 1}}, {{"key": "b", "weight": 2}}]}}"#
    ))
}

proptest! {
    #[test]
    fn raising_traffic_never_moves_a_visitor_who_was_in(id in "[a-zA-Z0-9_é🦄-]{1,24}") {
        let steps: Vec<Config> = [0.2, 0.4, 0.6, 0.8, 1.0].iter().map(|t| with_traffic(*t)).collect();
        let mut first: Option<usize> = None;
        for cfg in &steps {
            let now = variants_of(cfg, &id)[0];
            if let Some(before) = first {
                prop_assert_eq!(now, Some(before));
            }
            first = first.or(now);
        }
    }

    #[test]
    fn editing_name_goals_or_changes_never_moves_a_visitor(id in "[a-zA-Z0-9_-]{1,24}") {
        let before = config(r#"{"key": "copy", "name": "Old", "status": "running", "variants": [{"key": "a"}, {"key": "b", "changes": [{"selector": "h1", "text": "Hi"}]}]}"#);
        let after = config(r##"{"key": "copy", "name": "New name", "status": "running", "variants": [{"key": "a"}, {"key": "b", "changes": [{"selector": "#hero h1", "html": "<b>Hello</b>"}, {"css": "h1{color:red}"}]}], "goals": [{"key": "buy", "event": "purchase"}], "funnel": ["buy"]}"##);
        prop_assert_eq!(variants_of(&before, &id), variants_of(&after, &id));
    }
}

#[test]
fn two_experiments_with_different_keys_assign_independently() {
    let cfg = config(
        r#"{"key": "first", "status": "running", "variants": [{"key": "a"}, {"key": "b"}]},
           {"key": "second", "status": "running", "variants": [{"key": "a"}, {"key": "b"}]}"#,
    );
    // 2x2 contingency table of (variant in first, variant in second).
    let mut table = [[0f64; 2]; 2];
    let n = 100_000;
    for i in 0..n {
        let v = variants_of(&cfg, &format!("v_{i}"));
        table[v[0].unwrap()][v[1].unwrap()] += 1.0;
    }
    let total = n as f64;
    let mut chi2 = 0.0;
    for (r, row) in table.iter().enumerate() {
        for (c, observed) in row.iter().enumerate() {
            let expected = (table[r][0] + table[r][1]) * (table[0][c] + table[1][c]) / total;
            chi2 += (observed - expected).powi(2) / expected;
        }
    }
    // Chi-square critical value for df = 1 at p = 0.001.
    assert!(chi2 < 10.828, "assignments are dependent: chi2 = {chi2}, table = {table:?}");
}
