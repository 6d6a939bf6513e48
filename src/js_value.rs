//! Converts what `JSON.parse` (or a page's `splitbeam.attributes({...})`) produced into core's
//! `json::Value`, without serde: a walk over the JS object, bounded in depth so a hostile or cyclic
//! object can never exhaust the stack.

use js_sys::{Array, Object};
use splitbeam_core::digits;
use splitbeam_core::json::Value;
use wasm_bindgen::{JsCast, JsValue};

/// Deeper than any sane experiments.json; cyclic objects stop here too.
pub const MAX_DEPTH: usize = 32;

/// `value` as a JSON value. Functions, symbols and bigints are refused with the path where they stood.
pub fn to_value(value: &JsValue) -> Result<Value, String> {
    convert(value, 0, &mut String::new())
}

fn convert(value: &JsValue, depth: usize, path: &mut String) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err([where_(path), " is nested deeper than ", &digits::unsigned(MAX_DEPTH as u64), " levels"].concat());
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return Ok(Value::Number(n));
    }
    if let Some(s) = value.as_string() {
        return Ok(Value::String(s));
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut items = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            let len = path.len();
            path.push('[');
            digits::push_unsigned(path, i as u64);
            path.push(']');
            items.push(convert(&item, depth + 1, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(items));
    }
    if value.is_object() && !value.is_function() {
        let mut entries = Vec::new();
        for entry in Object::entries(value.unchecked_ref()).iter() {
            let pair: Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let item = convert(&pair.get(1), depth + 1, path)?;
            path.truncate(len);
            entries.push((key, item));
        }
        return Ok(Value::Object(entries));
    }
    Err([where_(path), " is a ", &value.js_typeof().as_string().unwrap_or_default(), ", not a JSON value"].concat())
}

fn where_(path: &str) -> &str {
    if path.is_empty() {
        "the value"
    } else {
        path
    }
}

