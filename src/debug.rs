//! `?splitbeam-debug`: one console line per decision and per notable event, so a QA person can see
//! why this browser got what it got. Errors always go to the console, as one `splitbeam:` line.

use crate::page::{self, Level};

/// The prefix every console line of the snippet starts with.
const PREFIX: &str = "splitbeam: ";

/// Whether `search` (the URL's query string) asks for the debug log.
pub fn requested(search: &str) -> bool {
    splitbeam_core::url::query_param(search, "splitbeam-debug").is_some()
}

/// A debug line (only printed when the debug log is on).
pub fn log(enabled: bool, line: &str) {
    if enabled {
        page::say(Level::Log, &[PREFIX, line].concat());
    }
}

/// A console warning: something the shop may want to fix, the page and delivery still working.
pub fn warn(line: &str) {
    page::say(Level::Warn, &[PREFIX, line].concat());
}

/// The one console line that says why something did not work.
pub fn error(line: &str) {
    page::say(Level::Error, &[PREFIX, line].concat());
}
