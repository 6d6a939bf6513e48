//! The `validate` and `assign` subcommands as a user runs them: exit codes, messages, JSON output,
//! and malformed files that must end in a clear error and exit 1, never a panic or a hang.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn splitbeam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splitbeam")).args(args).output().expect("the splitbeam binary runs")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config").join(name).to_string_lossy().into_owned()
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("splitbeam-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_accepts_the_full_example() {
    let out = splitbeam(&["validate", &fixture("full.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (3 experiments)"));
}

#[test]
fn validate_reports_every_problem_as_file_line_col_path_message() {
    let file = fixture("broken.json");
    let out = splitbeam(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{file}:3:13: colour: unknown field")), "{err}");
    assert!(err.contains(&format!("{file}:13:18: experiments[1].traffic: ")), "{err}");
    assert!(err.contains(&format!("{file}:26:80: experiments[2].variants[1].changes[0].selector: invalid selector")), "{err}");
    assert!(err.contains("1 experiments would run, 3 dropped"), "{err}");
}

/// Each malformed file: exit code 1, a message naming the file, and no panic.
fn assert_clear_failure(name: &str, bytes: &[u8], expected: &str) {
    let path = temp_file(name, bytes);
    let out = splitbeam(&["validate", &path.to_string_lossy()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{name}: {err}");
    assert!(err.contains(&*path.to_string_lossy()), "{name}: the message names the file: {err}");
    assert!(err.contains(expected), "{name}: expected {expected:?} in {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
}

#[test]
fn invalid_json_is_a_clear_error() {
    assert_clear_failure("syntax.json", b"{\"version\": 1,\n \"experiments\": [,]}", ":2:18: expected a value");
}

#[test]
fn wrong_types_are_a_clear_error() {
    assert_clear_failure("types.json", br#"{"version": "1", "experiments": "all"}"#, "experiments: expected an array");
}

#[test]
fn out_of_range_numbers_are_a_clear_error() {
    assert_clear_failure("huge.json", br#"{"version": 1, "experiments": [], "x": 1e400}"#, "out of range");
}

#[test]
fn ten_thousand_levels_of_nesting_are_a_clear_error() {
    let text = format!("{{\"version\": 1, \"experiments\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert_clear_failure("deep.json", text.as_bytes(), "nesting deeper than");
}

#[test]
fn a_fifty_megabyte_file_is_a_clear_error() {
    let mut text = b"{\"version\": 1, \"experiments\": [], \"pad\": \"".to_vec();
    text.resize(50 * 1024 * 1024, b'x');
    text.extend_from_slice(b"\"}");
    assert_clear_failure("big.json", &text, "too large");
}

#[test]
fn invalid_utf8_is_a_clear_error() {
    assert_clear_failure("latin1.json", b"{\"version\": 1,\n \"name\": \"caf\xe9\"}", ":2:14: invalid UTF-8");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = splitbeam(&["validate", "/nonexistent/experiments.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read"));
}

#[test]
fn assign_prints_each_decision_as_json() {
    let out = splitbeam(&[
        "assign", &fixture("full.json"), "--visitor", "v_alice", "--url", "https://shop.example/checkout",
        "--attributes", r#"{"plan": {"tier": 2}}"#, "--now", "2026-06-01", "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("assign --json prints JSON");
    let exps = json["experiments"].as_array().unwrap();
    assert_eq!(exps.len(), 3);
    assert_eq!(exps[0]["key"], "hero-headline");
    assert_eq!(exps[0]["reason"], "not-on-this-page");
    assert_eq!(exps[0]["in_experiment"], false);
    assert_eq!(exps[0]["variant"], serde_json::Value::Null);
    // The stopped experiment shows its winner to everyone, untracked.
    assert_eq!(exps[2]["reason"], "stopped");
    assert_eq!(exps[2]["variant"], "one-page");
    assert_eq!(exps[2]["variant_index"], 1);
    assert_eq!(exps[2]["in_experiment"], false);
}

#[test]
fn assign_honours_a_forced_variant() {
    let out = splitbeam(&[
        "assign", &fixture("full.json"), "--visitor", "v_1", "--url", "/products/shoe", "--force", "cart-button:sticky-bar", "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["experiments"][1]["variant"], "sticky-bar");
    assert_eq!(json["experiments"][1]["reason"], "forced");
}

#[test]
fn assign_is_deterministic_and_prints_a_table() {
    let args = ["assign", &fixture("full.json"), "--visitor", "v_42", "--url", "/products/shoe", "--now", "2026-06-01"];
    let first = splitbeam(&args);
    let second = splitbeam(&args);
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(first.stdout, second.stdout);
    let table = String::from_utf8_lossy(&first.stdout);
    assert!(table.starts_with("experiment"), "{table}");
    assert!(table.contains("cart-button"), "{table}");
}

#[test]
fn assign_rejects_attributes_that_are_not_an_object() {
    let out = splitbeam(&["assign", &fixture("full.json"), "--visitor", "v_1", "--attributes", "[1,2]"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--attributes must be a JSON object"));
}
