//! GrowthBook's cross-SDK conformance vectors, run against splitbeam-core: one test per section,
//! each listing every failing case by name with what was expected and what we got.

mod common;

use splitbeam_core::condition;
use splitbeam_core::hash;
use splitbeam_core::json::{write_str, Value};
use splitbeam_core::js_engine::NativeJs;

/// The cases of one section of growthbook-cases.json, or `None` when the folder is absent.
fn cases(section: &str) -> Option<Vec<Value>> {
    let suite = common::conformance_json("growthbook-cases.json")?;
    match suite.get(section).and_then(Value::as_array) {
        Some(cases) if !cases.is_empty() => Some(cases.to_vec()),
        _ => panic!("growthbook-cases.json has no cases in section {section:?}"),
    }
}

/// Fails with every collected failure, one per line.
fn assert_all_pass(section: &str, total: usize, failures: &[String]) {
    assert!(failures.is_empty(), "{} of {total} {section} cases fail:\n  {}", failures.len(), failures.join("\n  "));
    eprintln!("{section}: {total} cases pass");
}

fn field<'a>(case: &'a Value, index: usize, section: &str) -> &'a Value {
    case.as_array()
        .and_then(|fields| fields.get(index))
        .unwrap_or_else(|| panic!("malformed {section} case (no field {index}): {}", show(case)))
}

fn number(value: &Value, section: &str) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{section}: expected a number, found {}", show(value)))
}

fn boolean(value: &Value, section: &str) -> bool {
    value.as_bool().unwrap_or_else(|| panic!("{section}: expected true or false, found {}", show(value)))
}

fn text<'a>(value: &'a Value, section: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{section}: expected a string, found {}", show(value)))
}

/// Rounds like GrowthBook's own tests do before comparing floats.
fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

fn ranges_of(value: &Value, section: &str) -> Vec<(f64, f64)> {
    let ranges = value.as_array().unwrap_or_else(|| panic!("{section}: ranges must be an array"));
    ranges
        .iter()
        .map(|range| (number(field(range, 0, section), section), number(field(range, 1, section), section)))
        .collect()
}

/// Compact JSON for failure messages.
fn show(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

#[test]
fn hash_matches_growthbook() {
    const SECTION: &str = "hash";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let seed = text(field(case, 0, SECTION), SECTION);
        let value = text(field(case, 1, SECTION), SECTION);
        let version = number(field(case, 2, SECTION), SECTION);
        let expected = field(case, 3, SECTION).as_f64();
        // Versions outside u8 are unknown versions, like 99.
        let got = u8::try_from(version as i64).ok().and_then(|v| hash::hash(seed, value, v));
        // (n % 10000) / 10000 and the parsed decimal are both correctly rounded: exact equality holds.
        if got != expected {
            failures.push(format!("hash({seed:?}, {value:?}, {version}): expected {expected:?}, got {got:?}"));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}

#[test]
fn get_bucket_range_matches_growthbook() {
    const SECTION: &str = "getBucketRange";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(field(case, 0, SECTION), SECTION);
        let args = field(case, 1, SECTION);
        let num_variations = number(field(args, 0, SECTION), SECTION) as i64;
        let coverage = number(field(args, 1, SECTION), SECTION);
        let weights: Option<Vec<f64>> =
            field(args, 2, SECTION).as_array().map(|weights| weights.iter().map(|w| number(w, SECTION)).collect());
        let expected = ranges_of(field(case, 2, SECTION), SECTION);
        let got = hash::bucket_ranges(num_variations, coverage, weights.as_deref());
        let rounded = |ranges: &[(f64, f64)]| -> Vec<(f64, f64)> {
            ranges.iter().map(|&(start, end)| (round_to(start, 6), round_to(end, 6))).collect()
        };
        if rounded(&got) != rounded(&expected) {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}

#[test]
fn choose_variation_matches_growthbook() {
    const SECTION: &str = "chooseVariation";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(field(case, 0, SECTION), SECTION);
        let n = number(field(case, 1, SECTION), SECTION);
        let ranges = ranges_of(field(case, 2, SECTION), SECTION);
        let expected = number(field(case, 3, SECTION), SECTION);
        // GrowthBook returns -1 for "in no range".
        let expected = usize::try_from(expected as i64).ok();
        let got = hash::choose_variation(n, &ranges);
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}

#[test]
fn in_namespace_matches_growthbook() {
    const SECTION: &str = "inNamespace";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(field(case, 0, SECTION), SECTION);
        let visitor = text(field(case, 1, SECTION), SECTION);
        let namespace = field(case, 2, SECTION);
        let id = text(field(namespace, 0, SECTION), SECTION);
        let start = number(field(namespace, 1, SECTION), SECTION);
        let end = number(field(namespace, 2, SECTION), SECTION);
        let expected = boolean(field(case, 3, SECTION), SECTION);
        let got = hash::in_namespace(visitor, id, start, end);
        if got != expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}

#[test]
fn get_equal_weights_matches_growthbook() {
    const SECTION: &str = "getEqualWeights";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let num_variations = number(field(case, 0, SECTION), SECTION) as i64;
        let expected: Vec<f64> = field(case, 1, SECTION)
            .as_array()
            .unwrap_or_else(|| panic!("{SECTION}: weights must be an array"))
            .iter()
            .map(|w| number(w, SECTION))
            .collect();
        let got = hash::equal_weights(num_variations);
        // The vectors are written with 8 decimals (0.33333333).
        let rounded = |weights: &[f64]| -> Vec<f64> { weights.iter().map(|&w| round_to(w, 8)).collect() };
        if rounded(&got) != rounded(&expected) {
            failures.push(format!("getEqualWeights({num_variations}): expected {expected:?}, got {got:?}"));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}

#[test]
fn eval_condition_matches_growthbook() {
    const SECTION: &str = "evalCondition";
    let Some(cases) = cases(SECTION) else { return };
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(field(case, 0, SECTION), SECTION);
        let condition = field(case, 1, SECTION);
        let attributes = field(case, 2, SECTION);
        let expected = boolean(field(case, 3, SECTION), SECTION);
        // The optional fifth element holds the saved groups.
        let groups = case.as_array().and_then(|fields| fields.get(4)).cloned().unwrap_or(Value::Object(Vec::new()));
        let got = condition::eval(attributes, &condition::Condition::read(condition), &groups, &NativeJs);
        if got != expected {
            failures.push(format!(
                "{name}: expected {expected}, got {got} (condition {}, attributes {})",
                show(condition),
                show(attributes)
            ));
        }
    }
    assert_all_pass(SECTION, cases.len(), &failures);
}
