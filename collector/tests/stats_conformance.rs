//! The statistics against GrowthBook gbstats' published test values (`stats.json` in the shared
//! conformance folder): every case runs, and every mismatch is listed by case name before failing.

use std::path::PathBuf;

use serde_json::Value;
use splitbeam_collector::stats::{bayesian, sequential, srm, welch, Sample};

/// `$SPLITBEAM_CONFORMANCE_DIR`, else `../shared/conformance/` next to the repository root.
fn conformance_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SPLITBEAM_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    if dir.join("stats.json").is_file() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true and no stats.json in {}", dir.display());
    eprintln!(
        "skipping: no stats.json in {} (set SPLITBEAM_CONFORMANCE_DIR)",
        dir.display()
    );
    None
}

/// Decimals the expected figure was published with, at least the 5 that stats.json promises:
/// a got value matches when it rounds to the expected one.
fn tolerance(expected: f64) -> f64 {
    let text = format!("{expected}");
    let decimals = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len())
        .max(5);
    0.5 * 10f64.powi(-(decimals as i32)) + 1e-12
}

/// Collects every mismatch of one case as "field: expected X, got Y".
struct Check<'a> {
    expected: &'a Value,
    mismatches: Vec<String>,
}

impl Check<'_> {
    fn number(&mut self, field: &str, index: Option<usize>, got: f64) {
        let value = self.expected.get(field);
        let value = match index {
            Some(i) => value.and_then(|v| v.get(i)),
            None => value,
        };
        let label = index.map_or(field.to_string(), |i| format!("{field}[{i}]"));
        match value.and_then(Value::as_f64) {
            Some(expected) if (got - expected).abs() <= tolerance(expected) => {}
            Some(expected) => self
                .mismatches
                .push(format!("{label}: expected {expected}, got {got}")),
            None => self
                .mismatches
                .push(format!("{label}: no expected number in the case")),
        }
    }

    fn pair(&mut self, field: &str, got: (f64, f64)) {
        self.number(field, Some(0), got.0);
        self.number(field, Some(1), got.1);
    }
}

/// `{"n", "s", "ss"}` for values, `{"n", "conversions"}` for proportions.
fn sample(case: &Value, variant: &str) -> Result<Sample, String> {
    let data = case.get(variant).ok_or(format!("no {variant}"))?;
    let field = |key: &str| data.get(key).and_then(Value::as_f64);
    let n = field("n").ok_or(format!("{variant}: no n"))?;
    match field("conversions") {
        Some(conversions) => Ok(Sample::proportion(n, conversions)),
        None => Ok(Sample {
            n,
            sum: field("s").ok_or(format!("{variant}: no s"))?,
            sum_sq: field("ss").ok_or(format!("{variant}: no ss"))?,
        }),
    }
}

fn numbers(case: &Value, key: &str) -> Result<Vec<f64>, String> {
    let list = case
        .get(key)
        .and_then(Value::as_array)
        .ok_or(format!("no {key} list"))?;
    list.iter()
        .map(|v| v.as_f64().ok_or(format!("{key}: {v} is not a number")))
        .collect()
}

/// Runs one case; `Err` carries everything that did not match.
fn run(case: &Value) -> Result<(), Vec<String>> {
    let method = case.get("method").and_then(Value::as_str).unwrap_or("");
    let expected = case
        .get("expected")
        .ok_or(vec!["no expected".to_string()])?;
    let mut check = Check {
        expected,
        mismatches: Vec::new(),
    };
    let relative = case
        .get("relative")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let pair = || -> Result<(Sample, Sample), String> {
        Ok((sample(case, "control")?, sample(case, "treatment")?))
    };
    match method {
        "frequentist" | "sequential" => {
            let (control, treatment) = pair().map_err(|e| vec![e])?;
            let result = if method == "sequential" {
                let tuning = case
                    .get("tuning")
                    .and_then(Value::as_f64)
                    .ok_or(vec!["no tuning".to_string()])?;
                sequential(&control, &treatment, relative, tuning)
            } else {
                welch(&control, &treatment, relative)
            };
            let result = result.ok_or(vec![format!("{method}: got None")])?;
            check.number("lift", None, result.lift);
            check.pair("ci", result.ci);
            if expected.get("sd").is_some() {
                check.number("sd", None, result.sd);
            }
            check.number("p", None, result.p_value);
        }
        "bayesian" => {
            let (control, treatment) = pair().map_err(|e| vec![e])?;
            let result = bayesian(&control, &treatment, relative)
                .ok_or(vec!["bayesian: got None".to_string()])?;
            check.number("lift", None, result.lift);
            check.pair("ci", result.ci);
            check.number("sd", None, result.sd);
            check.number("chance_to_win", None, result.chance_to_win);
            check.pair("risk", result.risk);
        }
        "srm" => {
            let observed = numbers(case, "observed").map_err(|e| vec![e])?;
            let weights = numbers(case, "weights").map_err(|e| vec![e])?;
            let result = srm(&observed, &weights).ok_or(vec!["srm: got None".to_string()])?;
            check.number("chi2", None, result.chi2);
            check.number("p", None, result.p_value);
        }
        other => return Err(vec![format!("unknown method {other:?}")]),
    }
    if check.mismatches.is_empty() {
        Ok(())
    } else {
        Err(check.mismatches)
    }
}

#[test]
fn every_stats_json_case_matches_gbstats_to_the_decimals_given() {
    let Some(dir) = conformance_dir() else { return };
    let path = dir.join("stats.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let suite: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let cases = suite
        .get("cases")
        .and_then(Value::as_array)
        .expect("stats.json has a cases list");
    assert!(!cases.is_empty(), "stats.json has no cases");

    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map_or(format!("case #{i}"), str::to_string);
        if let Err(mismatches) = run(case) {
            failures.push(format!("{name}:\n    {}", mismatches.join("\n    ")));
        }
    }
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} stats.json cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} stats.json cases match", cases.len());
}

#[test]
fn the_tolerance_is_half_a_unit_in_the_last_published_decimal() {
    assert!((tolerance(0.70732) - 0.5e-5).abs() < 1e-11);
    assert!((tolerance(1.0) - 0.5e-5).abs() < 1e-11);
    assert!((tolerance(0.000020079) - 0.5e-9).abs() < 1e-11);
}
