//! The JS API behind `window.splitbeam` (the loader maps its methods and drains the command queue
//! here): track's argument checks, on('exposure') listeners, and `window.dataLayer`, where each
//! exposure also goes as `experiment_viewed`. Delivery to the collector is outbox.rs's job.

use js_sys::{Array, Function, JsString, Object, Reflect};
use splitbeam_core::config::Config;
use splitbeam_core::event::EventKind;
use splitbeam_core::json::Value;
use wasm_bindgen::prelude::*;

use crate::{debug, goals};

/// Who wants to hear about exposures, and the exposures so far (replayed to late subscribers).
#[derive(Default)]
pub struct Exposures {
    listeners: Vec<Function>,
    seen: Vec<JsValue>,
}

/// An exposure as the page's listeners and `window.dataLayer` see it.
pub fn exposure_event(experiment: &str, variant: &str, visitor: &str, url: &str) -> JsValue {
    let event = Object::new();
    set(&event, "type", &"exposure".into());
    set(&event, "ts", &js_sys::Date::now().into());
    set(&event, "visitor", &visitor.into());
    set(&event, "experiment", &experiment.into());
    set(&event, "variant", &variant.into());
    set(&event, "url", &url.into());
    event.into()
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

impl Exposures {
    /// Records an exposure; returns the listeners to notify once no state is borrowed (a listener may
    /// call back into the API).
    pub fn expose(&mut self, event: JsValue) -> (JsValue, Vec<Function>) {
        self.seen.push(event.clone());
        (event, self.listeners.clone())
    }

    /// Adds a listener; returns the exposures it missed so far.
    pub fn listen(&mut self, listener: Function) -> Vec<JsValue> {
        self.listeners.push(listener);
        self.seen.clone()
    }
}

/// Tells the page about an exposure: the listeners, then `window.dataLayer` (GTM/GA4).
/// Nothing a listener does can break the snippet: its exception is logged, not propagated.
pub fn announce(event: &JsValue, listeners: &[Function]) {
    for listener in listeners {
        if listener.call1(&JsValue::NULL, event).is_err() {
            debug::error("an exposure listener threw");
        }
    }
    push_data_layer(event);
}

fn push_data_layer(event: &JsValue) {
    let Some(window) = web_sys::window() else { return };
    let mut layer = Reflect::get(&window, &"dataLayer".into()).unwrap_or(JsValue::UNDEFINED);
    if layer.is_undefined() || layer.is_null() {
        layer = Array::new().into();
        set(&window, "dataLayer", &layer);
    }
    let entry = Object::new();
    set(&entry, "event", &"experiment_viewed".into());
    set(&entry, "experiment_id", &get(event, "experiment"));
    set(&entry, "variation_id", &get(event, "variant"));
    // GTM replaces `push` with its own function: call whatever is there, as a method.
    match Reflect::get(&layer, &"push".into()).ok().and_then(|p| p.dyn_into::<Function>().ok()) {
        Some(push) => {
            if push.call1(&layer, &entry).is_err() {
                debug::error("window.dataLayer.push threw");
            }
        }
        None => debug::error("window.dataLayer has no push(); exposure not sent to it"),
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &key.into(), value);
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}
