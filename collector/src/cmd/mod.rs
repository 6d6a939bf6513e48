//! The CLI subcommands, one file each; `main.rs` only dispatches.

pub mod assign;
pub mod export;
pub mod preview_link;
pub mod results;
pub mod serve;
pub mod simulate;
pub mod snippet;
pub mod store_args;
pub mod tag;
pub mod validate;
