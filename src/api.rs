//! The JS API behind `window.splitbeam`: the functions the loader maps its methods onto (and
//! drains the command queue into) and their argument checks; exposures reach the page's listeners
//! and `window.dataLayer` through `www/whole.js`. The state they act on
//! is the snippet's (`snippet.rs`); delivery to the collector is outbox's job.

use js_sys::{Array, JsString};
use splitbeam_core::config::Config;
use splitbeam_core::event::EventKind;
use splitbeam_core::json::Value;
use wasm_bindgen::prelude::*;

use splitbeam_core::delivery::FlushReason;

use crate::snippet::{self, with_snippet};
use crate::{debug, goals, js_value, outbox};

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = announce)]
    fn js_announce(experiment: &str, variant: &str, visitor: &str, url: &str);
    #[wasm_bindgen(js_name = on)]
    fn js_on(name: &JsValue, listener: &JsValue);
}

/// An exposure for the page's listeners and `window.dataLayer`: (experiment, variant, visitor, url).
pub type Exposure = (String, String, String, String);

/// Tells the page about an exposure (`www/whole.js`: the listeners, then `window.dataLayer`).
/// Called with no snippet state borrowed: a listener may call back into the API.
pub fn announce((experiment, variant, visitor, url): &Exposure) {
    js_announce(experiment, variant, visitor, url);
}

/// The goal event for `splitbeam.track(goal, props)`, or why the call is refused. Odd input never
/// throws: a bad goal name refuses the call; bad props are refused or trimmed, with one warning.
pub fn goal_from_track(config: &Config, goal: &JsValue, props: &JsValue, experiments: Vec<(String, String)>) -> Option<EventKind> {
    let name = match goal.as_string() {
        Some(name) if !name.trim().is_empty() && goal.unchecked_ref::<JsString>().length() <= goals::MAX_STRING => name,
        _ => {
            debug::warn("track() wants a goal name (a non-empty string of at most 1000 characters); the call is ignored");
            return None;
        }
    };
    let (props, trimmed) = match goals::read_props(props) {
        Ok(read) => read,
        Err(why) => {
            debug::warn(&["track(\"", &name, "\"): ", why, "; the call is ignored"].concat());
            return None;
        }
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

// ---- the JS API (the loader maps `window.splitbeam.*` onto these) ----

/// `splitbeam.track(goal, props)`: queues a goal event. Never throws: odd arguments are refused or
/// trimmed with one console warning.
#[wasm_bindgen]
pub fn track(goal: JsValue, props: JsValue) {
    track_at(goal, props, None);
}

/// A goal the loader held across an early close (`splitbeam_held`): tracked on an earlier page of
/// this site, at `url` (path and query, as events carry it) and `ts` (ms). Sent with those, or
/// with this page's when they are unusable.
#[wasm_bindgen]
pub fn track_held(goal: JsValue, props: JsValue, url: JsValue, ts: JsValue) {
    track_at(goal, props, held_at(url.as_string(), ts.as_f64()));
}

fn track_at(goal: JsValue, props: JsValue, at: Option<(String, u64)>) {
    if with_snippet(|s| s.track(&goal, &props, at)).is_none() {
        debug::error("track() called while the snippet is busy or not started");
    }
}

/// The longest URL a held record keeps (also what a held view's referrer is cut to).
pub const MAX_HELD_URL: usize = 4096;
const DAY_MS: f64 = 86_400_000.0;

/// A held record's place and time: a path (as events carry it: the collector refuses an empty
/// url), not from the future, at most a day old (held records wait only for the next page).
pub fn held_at(url: Option<String>, ts: Option<f64>) -> Option<(String, u64)> {
    let now = js_sys::Date::now();
    match (url, ts) {
        (Some(url), Some(ts)) if url.starts_with('/') && url.len() <= MAX_HELD_URL && ts <= now && ts >= now - DAY_MS => Some((url, ts as u64)),
        _ => None,
    }
}

/// A click the loader saw before this module started: the `click` goals it reaches.
#[wasm_bindgen]
pub fn click(element: web_sys::Element) {
    snippet::on_click(element);
}

/// What the loader held for the next page when an earlier page closed before this module started
/// there: `["goal", key, url, ts]` (a click goal), `["view", url, ts, referrer, title]` (its page
/// view and the page-view goals of its URL), `["exposure", experiment, variant, url, ts]`.
/// Unusable records are dropped: they come from storage any script of the site can write.
#[wasm_bindgen]
pub fn replay_held(record: Array) {
    with_snippet(|s| s.replay(&record));
}

/// `splitbeam.variant(experiment)`: the variant key shown on this page, or null.
#[wasm_bindgen]
pub fn variant(experiment: String) -> Option<String> {
    with_snippet(|s| s.variant(&experiment)).flatten()
}

/// `splitbeam.attributes({...})`: merges custom targeting attributes and re-decides.
#[wasm_bindgen]
pub fn attributes(custom: JsValue) {
    let entries = match js_value::to_value(&custom) {
        Ok(Value::Object(entries)) => entries,
        Ok(other) => return debug::error(&["attributes() wants an object, not ", other.type_name()].concat()),
        Err(why) => return debug::error(&["attributes(): ", &why].concat()),
    };
    let announcements = with_snippet(|s| s.add_attributes(entries));
    snippet::announce_all(announcements.unwrap_or_default());
}

/// `splitbeam.consent(granted)`. Granting starts delivery with this page's view and exposures;
/// withdrawing stops it and erases what was stored.
#[wasm_bindgen]
pub fn consent(granted: JsValue) {
    let granted = granted.as_bool() == Some(true);
    with_snippet(|s| s.set_consent(granted));
}

/// `splitbeam.on('exposure', callback)`: also replays the exposures that already happened.
#[wasm_bindgen]
pub fn on(name: JsValue, listener: JsValue) {
    js_on(&name, &listener);
}

/// `splitbeam.flush()`: sends every queued event now.
#[wasm_bindgen]
pub fn flush() {
    outbox::flush(FlushReason::Manual);
}
