//! splitbeam-core: every decision the snippet and the collector make that needs no browser.
//! Pure Rust with no dependencies, compiled natively (CLI, collector, tests) and to wasm (snippet).

pub mod assign;
pub mod attributes;
pub mod batch;
pub mod condition;
pub mod config;
mod config_reader;
pub mod event;
pub mod hash;
pub mod json;
pub mod pages;
pub mod regex;
pub mod selector;
pub mod time;

pub use assign::{assign, Decision, Reason, Sticky, Visitor};
pub use config::{load, Config, Experiment, Issue, Loaded};
pub use json::Value;
