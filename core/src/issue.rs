//! A validation problem, shared by every reader of experiments.json (config, pages, conditions):
//! a leaf module, so that none of them depends on another for it.

/// One validation problem: where (JSON path) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

/// The message of every issue when the `validate` feature is off (the browser snippet).
pub const UNEXPLAINED: &str = "invalid (run `splitbeam validate` on this experiments.json for the reasons)";
