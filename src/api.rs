//! The JS API behind `window.splitbeam` (the loader maps its methods and drains the command queue
//! here): track, variant, attributes, consent, on('exposure'), flush. Exposures also go to
//! `window.dataLayer` as `experiment_viewed`. Events wait in memory for the transport to deliver.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::debug;

/// Events not yet handed to a transport, and who wants to hear about exposures.
#[derive(Default)]
pub struct Outbox {
    pub events: Vec<JsValue>,
    exposure_listeners: Vec<Function>,
    /// Exposures so far, replayed to listeners that subscribe late (after the snippet decided).
    exposures: Vec<JsValue>,
}

/// An exposure as the event format has it (the transport adds id/session when it sends).
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

/// A goal from `splitbeam.track(goal, props)`.
pub fn goal_event(goal: &str, props: &JsValue, visitor: &str, url: &str, experiments: &[(String, String)]) -> JsValue {
    let event = Object::new();
    set(&event, "type", &"goal".into());
    set(&event, "goal", &goal.into());
    set(&event, "ts", &js_sys::Date::now().into());
    set(&event, "visitor", &visitor.into());
    set(&event, "url", &url.into());
    let active = Object::new();
    for (experiment, variant) in experiments {
        set(&active, experiment, &variant.into());
    }
    set(&event, "experiments", &active);
    if props.is_object() {
        if let Ok(value) = Reflect::get(props, &"value".into()) {
            if value.as_f64().is_some() {
                set(&event, "value", &value);
            }
        }
        set(&event, "props", props);
    }
    event.into()
}

impl Outbox {
    /// Queues an exposure; returns the listeners to notify once no state is borrowed (a listener may
    /// call back into the API).
    pub fn expose(&mut self, event: JsValue) -> (JsValue, Vec<Function>) {
        self.events.push(event.clone());
        self.exposures.push(event.clone());
        (event, self.exposure_listeners.clone())
    }

    /// Adds a listener; returns the exposures it missed so far.
    pub fn listen(&mut self, listener: Function) -> Vec<JsValue> {
        self.exposure_listeners.push(listener);
        self.exposures.clone()
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
