//! Shared helpers for core's integration tests: where the conformance vectors live.
//! The folder is `../shared/conformance/` beside the repository, or `$SPLITBEAM_CONFORMANCE_DIR`.

#![allow(dead_code)] // each test binary uses only some helpers

use std::path::PathBuf;

/// The conformance folder, or `None` (after saying so) when it is absent outside CI.
/// Under `CI=true` a missing folder fails the test: CI must never skip the conformance suite.
pub fn conformance_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os("SPLITBEAM_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        // core/ → repository root → ../shared/conformance
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared").join("conformance"),
    };
    if candidate.is_dir() {
        return Some(candidate);
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("conformance folder {} is missing (CI=true: this is a failure, not a skip)", candidate.display());
    }
    eprintln!("skipping: conformance folder {} not found (set SPLITBEAM_CONFORMANCE_DIR)", candidate.display());
    None
}

/// Reads and parses a JSON file of the conformance folder, or `None` when the folder is absent.
pub fn conformance_json(file: &str) -> Option<splitbeam_core::json::Value> {
    let dir = conformance_dir()?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    match splitbeam_core::json::parse(&text) {
        Ok((value, _)) => Some(value),
        Err(e) => panic!("{} is not valid JSON: {e}", path.display()),
    }
}
