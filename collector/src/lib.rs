//! splitbeam-collector: the `splitbeam` binary's libraries, one job each.
//! cmd: the CLI subcommands; server: HTTP (axum); ingest: batch parsing and validation;
//! store: the storage trait and its backends; results: per-variant results from stored events;
//! stats: the statistics (frequentist, Bayesian, sequential, SRM); simulate: synthetic visitors.

pub mod admin;
pub mod cmd;
pub mod config_doc;
pub mod config_file;
pub mod config_write;
pub mod editor_grant;
pub mod counting;
pub mod history;
pub mod ingest;
pub mod lifecycle;
pub mod over_time;
pub mod preview;
pub mod results;
pub mod secret_file;
pub mod server;
pub mod simulate;
pub mod snippet;
pub mod stats;
pub mod store;
