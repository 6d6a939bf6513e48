//! splitbeam-core: every decision the snippet and the collector make that needs no browser.
//! Pure Rust with no dependencies, compiled natively (CLI, collector, tests) and to wasm (snippet).

/// An `Issue` at `path` with a `format!` message. Without the `validate` feature (the browser
/// snippet) neither the path nor the message is built: the reader summarises per experiment instead.
macro_rules! issue {
    ($path:expr, $($message:tt)+) => {{
        #[cfg(feature = "validate")]
        let issue = $crate::issue::Issue { path: ::std::string::String::from($path), message: ::std::format!($($message)+) };
        #[cfg(not(feature = "validate"))]
        let issue = {
            // Never called: it only keeps the message's variables in use, so nothing is formatted.
            let _ = || {
                let _ = $path;
                let _ = ::std::format!($($message)+);
            };
            $crate::issue::Issue { path: ::std::string::String::new(), message: $crate::issue::UNEXPLAINED.into() }
        };
        issue
    }};
}

/// `format!` for a message only `splitbeam validate` shows; an empty string in the snippet.
macro_rules! message {
    ($($message:tt)+) => {{
        #[cfg(feature = "validate")]
        let message = ::std::format!($($message)+);
        #[cfg(not(feature = "validate"))]
        let message = {
            // Never called: it only keeps the message's variables in use, so nothing is formatted.
            let _ = || ::std::format!($($message)+);
            ::std::string::String::new()
        };
        message
    }};
}

pub mod assign;
pub mod attributes;
pub mod delivery;
pub mod compiled;
pub mod condition;
pub mod config;
mod config_reader;
pub mod decimal;
pub mod digits;
pub mod event;
#[cfg(feature = "read-events")]
pub mod event_reader;
pub mod first_paint;
pub mod hash;
pub mod hide;
pub mod identity;
pub mod issue;
pub mod json;
pub mod pages;
pub mod js_engine;
pub mod selector;
pub mod sha256;
pub mod time;
pub mod url;

pub use assign::{assign, Decision, Reason, Sticky, Visitor};
pub use config::{load, Config, Experiment, Loaded};
pub use issue::Issue;
pub use json::Value;
