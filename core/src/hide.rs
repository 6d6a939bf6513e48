//! The hide list for the inline tag: which selectors to hide on which pages before first paint,
//! compiled from the config so the tag decides nothing itself beyond testing a regular expression.
//!
//! It must never hide too little (a frame with the original copy) and may hide too much (only
//! until the first-paint module decides, at most the timeout). So page rules are compiled loosely:
//! globs to a path-only regular expression (hosts and query requirements ignored), regex rules as
//! written, and excludes ignored.

use crate::config::{Config, Status};
use crate::pages::Pattern;

/// One rule of the hide list: hide `selectors` where the page matches `pattern`.
#[derive(Debug, Clone, PartialEq)]
pub struct HideRule {
    pub pattern: PagePattern,
    /// The selectors (one CSS rule each: a selector this browser cannot read spoils only its own).
    pub selectors: Vec<String>,
    /// A draft: hidden only on a QA link (`?splitbeam=`).
    pub draft: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PagePattern {
    /// Every page.
    Any,
    /// A JavaScript regular expression (case-insensitive) tested against the decoded path.
    Path(String),
    /// A regex rule as written: tested against the URL and the URL without its origin.
    Url(String),
}

/// The hide rules of every experiment that can change elements (running, stopped with a winner,
/// and drafts for QA links).
pub fn hide_list(config: &Config) -> Vec<HideRule> {
    let mut rules = Vec::new();
    for exp in &config.experiments {
        let draft = match exp.status {
            Status::Running => false,
            Status::Stopped if exp.winner.is_some() => false,
            Status::Stopped => continue,
            Status::Draft => true,
        };
        let mut selectors: Vec<String> = Vec::new();
        for change in exp.variants.iter().flat_map(|v| &v.changes) {
            if let Some(selector) = &change.selector {
                if !selectors.contains(selector) {
                    selectors.push(selector.clone());
                }
            }
        }
        if selectors.is_empty() {
            continue;
        }
        let globs: Vec<String> = exp
            .pages
            .include
            .iter()
            .filter_map(|p| match p {
                Pattern::Glob(glob) => Some(glob_to_path_regex(glob.as_str())),
                Pattern::Regex(_) => None,
            })
            .collect();
        let mut patterns = Vec::new();
        if exp.pages.include.is_empty() {
            patterns.push(PagePattern::Any);
        } else {
            if !globs.is_empty() {
                patterns.push(PagePattern::Path(["^(?:", &globs.join("|"), ")/?$"].concat()));
            }
            for p in &exp.pages.include {
                if let Pattern::Regex(regex) = p {
                    patterns.push(PagePattern::Url(regex.clone()));
                }
            }
        }
        for pattern in patterns {
            rules.push(HideRule { pattern, selectors: selectors.clone(), draft });
        }
    }
    rules
}

/// The path part of a glob as a regex body over the decoded path (a trailing slash optional).
fn glob_to_path_regex(glob: &str) -> String {
    let before_query = glob.split('?').next().unwrap_or_default();
    let path = if before_query == "*" {
        "*"
    } else if before_query.starts_with('/') && !before_query.starts_with("//") {
        before_query
    } else {
        // A host pattern: the path starts at the first `/` after the host (hosts are not checked).
        let after_scheme = before_query.split_once("//").map_or(before_query, |(_, rest)| rest);
        after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
    };
    let path = crate::url::percent_decode(path, false);
    let trimmed = path.trim_end_matches('/');
    let mut out = String::with_capacity(trimmed.len() + 8);
    for c in trimmed.chars() {
        match c {
            '*' => out.push_str(".*"),
            '\\' | '^' | '$' | '.' | '|' | '?' | '+' | '(' | ')' | '[' | ']' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
