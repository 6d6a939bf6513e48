//! Goals from experiments.json: which ones a click, a page view or a `splitbeam.track(name)` call
//! reaches (the document's clicks come from `page_events`), and the bounded reading of the
//! props a page passes to `track` (cyclic objects, huge strings, getters that throw).

use js_sys::{Array, JsString, Reflect};
use splitbeam_core::config::{Config, Goal, GoalTrigger};
use splitbeam_core::json::Value;
use splitbeam_core::url::Url;
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::js_engine::BrowserJs;

/// Props deeper than this are cut: a goal's props are a few flat fields in practice.
const MAX_PROPS_DEPTH: usize = 4;
/// At most this many values in all: a cyclic or enormous object costs a bounded walk.
const MAX_PROPS_VALUES: usize = 200;
/// Longer strings (and goal names) are cut to this many UTF-16 units.
pub const MAX_STRING: u32 = 1000;

/// Every goal of the config, each key once (several experiments may share a goal).
fn goals(config: &Config) -> impl Iterator<Item = &Goal> {
    let all = || config.experiments.iter().flat_map(|e| e.goals.iter());
    all().enumerate().filter(move |(i, goal)| !all().take(*i).any(|g| g.key == goal.key)).map(|(_, goal)| goal)
}

/// Whether `key` names a `click` goal of the config.
pub fn is_click_goal(config: &Config, key: &str) -> bool {
    goals(config).any(|g| g.key == key && matches!(g.trigger, GoalTrigger::Click(_)))
}

/// The `click` goals whose selector `element` or one of its ancestors matches.
pub fn clicked<'c>(config: &'c Config, element: &Element) -> Vec<&'c Goal> {
    goals(config)
        .filter(|goal| match &goal.trigger {
            GoalTrigger::Click(selector) => element.closest(selector).ok().flatten().is_some(),
            _ => false,
        })
        .collect()
}

/// The `pageview` goals whose URL rules match `href`.
pub fn viewed<'c>(config: &'c Config, href: &str) -> Vec<&'c Goal> {
    let url = Url::parse(href);
    goals(config)
        .filter(|goal| match &goal.trigger {
            GoalTrigger::Pageview(rules) => rules.matches(&url, &BrowserJs),
            _ => false,
        })
        .collect()
}

/// The goal a custom `track(name)` reaches: the one with `"event": name`, if any.
pub fn for_event<'c>(config: &'c Config, name: &str) -> Option<&'c Goal> {
    goals(config).find(|goal| matches!(&goal.trigger, GoalTrigger::Event(event) if event == name))
}

/// `track`'s props as a JSON object, within bounds. `Err` says why the call is refused; the
/// flag says something was trimmed (for the one warning).
pub fn read_props(props: &JsValue) -> Result<(Value, bool), &'static str> {
    if props.is_undefined() || props.is_null() {
        return Ok((Value::Object(Vec::new()), false));
    }
    if !props.is_object() || Array::is_array(props) || props.is_function() {
        return Err("props must be an object");
    }
    let mut walk = Walk { values: 0, trimmed: false };
    let value = walk.read(props, 0);
    Ok((value, walk.trimmed))
}

struct Walk {
    values: usize,
    trimmed: bool,
}

impl Walk {
    fn read(&mut self, value: &JsValue, depth: usize) -> Value {
        self.values += 1;
        if self.values > MAX_PROPS_VALUES {
            self.trimmed = true;
            return Value::Null;
        }
        if let Some(b) = value.as_bool() {
            return Value::Bool(b);
        }
        if let Some(n) = value.as_f64() {
            // JSON has no NaN or Infinity.
            if !n.is_finite() {
                self.trimmed = true;
                return Value::Null;
            }
            return Value::Number(n);
        }
        if value.is_string() {
            return Value::String(self.string(value));
        }
        if !value.is_object() || value.is_function() || depth >= MAX_PROPS_DEPTH {
            // undefined, null, symbols, bigints, functions, too deep (cycles end here).
            self.trimmed |= !(value.is_null() || value.is_undefined());
            return Value::Null;
        }
        if Array::is_array(value) {
            let array: &Array = value.unchecked_ref();
            let len = array.length().min(MAX_PROPS_VALUES as u32);
            self.trimmed |= len < array.length();
            return Value::Array((0..len).map(|i| self.read(&array.get(i), depth + 1)).collect());
        }
        // Reflect, not Object.entries: a Proxy or a throwing getter becomes an Err, not a trap.
        let Ok(keys) = Reflect::own_keys(value) else {
            self.trimmed = true;
            return Value::Null;
        };
        let mut entries = Vec::new();
        for key in keys.iter() {
            if self.values >= MAX_PROPS_VALUES {
                self.trimmed = true;
                break;
            }
            // Symbols have no JSON form; non-enumerable keys are skipped by JSON.stringify too.
            if !key.is_string() || !enumerable(value, &key) {
                continue;
            }
            let item = Reflect::get(value, &key).unwrap_or_else(|_| {
                self.trimmed = true;
                JsValue::UNDEFINED
            });
            if item.is_undefined() || item.is_function() {
                continue;
            }
            let key = self.string(&key);
            entries.push((key, self.read(&item, depth + 1)));
        }
        Value::Object(entries)
    }

    /// The string, cut to `MAX_STRING` UTF-16 units before it is copied into the wasm.
    fn string(&mut self, value: &JsValue) -> String {
        let text: &JsString = value.unchecked_ref();
        if text.length() > MAX_STRING {
            self.trimmed = true;
            return text.slice(0, MAX_STRING).into();
        }
        text.into()
    }
}

fn enumerable(object: &JsValue, key: &JsValue) -> bool {
    Reflect::get_own_property_descriptor::<js_sys::Object>(object.unchecked_ref(), key)
        .ok()
        .and_then(|d| Reflect::get(&d, &"enumerable".into()).ok())
        .and_then(|e| e.as_bool())
        .unwrap_or(false)
}
