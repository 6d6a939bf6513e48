//! The JS API behind `window.splitbeam`: the functions the loader maps its methods onto (and
//! drains the command queue into) and their argument checks; exposures reach the page's listeners
//! and `window.dataLayer` through `www/whole.js`. The state they act on
//! is the snippet's (`snippet.rs`); delivery to the collector is outbox's job.

use splitbeam_core::config::Config;
use splitbeam_core::event::EventKind;
use splitbeam_core::json::Value;

use splitbeam_core::delivery::FlushReason;

use crate::host::{answer, take_text};
use crate::js_value::take_value;
use crate::snippet::{self, with_snippet};
use crate::{debug, goals, outbox, page};

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn announce_exposure(experiment: *const u8, experiment_len: usize, variant: *const u8, variant_len: usize, visitor: *const u8, visitor_len: usize, url: *const u8, url_len: usize);
}

/// An exposure for the page's listeners and `window.dataLayer`: (experiment, variant, visitor, url).
pub type Exposure = (String, String, String, String);

/// Tells the page about an exposure (`www/whole.js`: the listeners, then `window.dataLayer`).
/// Called with no snippet state borrowed: a listener may call back into the API.
pub fn announce((experiment, variant, visitor, url): &Exposure) {
    // SAFETY: live `str`s; the import only reads them.
    unsafe { announce_exposure(experiment.as_ptr(), experiment.len(), variant.as_ptr(), variant.len(), visitor.as_ptr(), visitor.len(), url.as_ptr(), url.len()) }
}

/// The goal event for `splitbeam.track(goal, props)`, or why the call is refused. Odd input never
/// throws: a bad goal name refuses the call; bad props are refused or trimmed, with one warning.
/// `goal` is `None` unless it was a string of at most 1000 UTF-16 units, not only whitespace;
/// `props` `None` unless they were an object (or nothing); `trimmed` whether www/whole.js cut them
/// to its bounds.
pub fn goal_from_track(config: &Config, goal: Option<String>, props: Option<Value>, trimmed: bool, experiments: Vec<(String, String)>) -> Option<EventKind> {
    let Some(name) = goal else {
        debug::warn("track() wants a goal name (a non-empty string of at most 1000 characters); the call is ignored");
        return None;
    };
    let Some(props) = props else {
        debug::warn(&["track(\"", &name, "\"): props must be an object; the call is ignored"].concat());
        return None;
    };
    // A configured `"event"` goal names the goal key and the prop that carries its value.
    let configured = goals::for_event(config, &name);
    let value_prop = configured.and_then(|g| g.value_prop.as_deref()).unwrap_or("value");
    let value = match props.get(value_prop) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(*n),
        Some(_) => {
            debug::warn(&["track(\"", &name, "\"): \"", value_prop, "\" is not a finite number; sent without a value"].concat());
            return Some(goal_kind(configured.map_or(name, |g| g.key.clone()), None, experiments, props));
        }
    };
    if trimmed {
        debug::warn(&["track(\"", &name, "\"): props trimmed (non-JSON values, NaN/Infinity, cycles, long strings or too many fields)"].concat());
    }
    Some(goal_kind(configured.map_or(name, |g| g.key.clone()), value, experiments, props))
}

pub fn goal_kind(goal: String, value: Option<f64>, experiments: Vec<(String, String)>, props: Value) -> EventKind {
    EventKind::Goal { goal, value, experiments, props }
}

// ---- the JS API (www/whole.js maps `window.splitbeam.*` onto these) ----

/// `splitbeam.track(goal, props)`: queues a goal event (`goal_from_track` says what the page
/// hands over). A goal the loader held across an early close (`splitbeam_held`) comes with the
/// `url` (path and query, as events carry it) and `ts` (ms) of the earlier page where it was
/// tracked; it is sent with those, or with this page's when they are unusable. Never throws: odd
/// arguments are refused or trimmed with one console warning.
#[no_mangle]
pub extern "C" fn track_goal(goal: *mut u8, props: *mut u8, trimmed: u32, url: *mut u8, ts: f64) {
    let (goal, props, url) = (take_text(goal), take_value(props), take_text(url));
    let at = url.and_then(|url| held_at(Some(url), Some(ts)));
    if with_snippet(|s| s.track(goal, props, trimmed != 0, at)).is_none() {
        debug::error("track() called while the snippet is busy or not started");
    }
}

/// The longest URL a held record keeps (also what a held view's referrer is cut to).
pub const MAX_HELD_URL: usize = 4096;
const DAY_MS: f64 = 86_400_000.0;

/// A held record's place and time: a path (as events carry it: the collector refuses an empty
/// url), not from the future, at most a day old (held records wait only for the next page).
pub fn held_at(url: Option<String>, ts: Option<f64>) -> Option<(String, u64)> {
    let now = page::now();
    match (url, ts) {
        (Some(url), Some(ts)) if url.starts_with('/') && url.len() <= MAX_HELD_URL && ts <= now && ts >= now - DAY_MS => Some((url, ts as u64)),
        _ => None,
    }
}

/// What the loader held for the next page when an earlier page closed before this module started
/// there: `["goal", key, url, ts]` (a click goal), `["view", url, ts, referrer, title]` (its page
/// view and the page-view goals of its URL), `["exposure", experiment, variant, url, ts]`.
/// Unusable records are dropped: they come from storage any script of the site can write.
#[no_mangle]
pub extern "C" fn replay_record(record: *mut u8) {
    if let Some(record) = take_value(record) {
        with_snippet(|s| s.replay(&record));
    }
}

/// `splitbeam.variant(experiment)`: the variant key shown on this page, or null (0).
#[no_mangle]
pub extern "C" fn variant_shown(experiment: *mut u8) -> *const u8 {
    let shown = take_text(experiment).and_then(|experiment| with_snippet(|s| s.variant(&experiment)).flatten());
    answer(shown.as_deref().map(str::as_bytes))
}

/// `splitbeam.attributes({...})`: merges custom targeting attributes and re-decides. `custom` is
/// what www/whole.js read of the argument, `error` why it could not (a function or a cycle in it).
#[no_mangle]
pub extern "C" fn add_attributes(custom: *mut u8, error: *mut u8) {
    let entries = match (take_value(custom), take_text(error)) {
        (Some(Value::Object(entries)), _) => entries,
        (Some(other), _) => return debug::error(&["attributes() wants an object, not ", other.type_name()].concat()),
        (None, why) => return debug::error(&["attributes(): ", &why.unwrap_or_default()].concat()),
    };
    let announcements = with_snippet(|s| s.add_attributes(entries));
    snippet::announce_all(announcements.unwrap_or_default());
}

/// `splitbeam.consent(granted)`. Granting starts delivery with this page's view and exposures;
/// withdrawing stops it and erases what was stored.
#[no_mangle]
pub extern "C" fn set_consent(granted: u32) {
    with_snippet(|s| s.set_consent(granted != 0));
}

/// `splitbeam.flush()`: sends every queued event now.
#[no_mangle]
pub extern "C" fn flush_events() {
    outbox::flush(FlushReason::Manual);
}
