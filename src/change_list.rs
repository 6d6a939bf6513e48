//! A variant's changes handed from wasm to the loader's applier (`www/changes.js`), by both
//! modules: on the critical path the DOM work is a few lines of JavaScript, where the same work in
//! wasm (with its web-sys glue) cost 7.6 KB gzip of the first-paint module (README, "Why the
//! snippet has this shape").

use js_sys::{Array, Object, Reflect};
use splitbeam_core::config::{Change, Move};
use wasm_bindgen::JsValue;

/// `[experiment, variant, [change, …]]` with each change a plain object: `selector`, `text`,
/// `html`, `attr` (`[[name, value], …]`), `addClass`, `removeClass`, `style`, `remove`,
/// `move` (`[before|after|into, selector]`), `css`; absent fields are left out.
pub fn variant(experiment: &str, variant: &str, changes: &[Change]) -> Array {
    let list = Array::new();
    for change in changes.iter().filter(|c| c.selector.is_some() || c.css.is_some()) {
        list.push(&object(change));
    }
    Array::of3(&experiment.into(), &variant.into(), &list)
}

fn object(change: &Change) -> Object {
    let out = Object::new();
    let set = |key: &str, value: JsValue| {
        // Setting a field of a fresh plain object cannot fail.
        let _ = Reflect::set(&out, &key.into(), &value);
    };
    let text = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            set(key, value.as_str().into());
        }
    };
    text("selector", &change.selector);
    text("text", &change.text);
    text("html", &change.html);
    if !change.attr.is_empty() {
        set("attr", change.attr.iter().map(|(name, value)| Array::of2(&name.as_str().into(), &value.as_str().into())).collect::<Array>().into());
    }
    text("addClass", &change.add_class);
    text("removeClass", &change.remove_class);
    text("style", &change.style);
    if change.remove {
        set("remove", true.into());
    }
    if let Some(to) = &change.move_to {
        let (place, selector) = match to {
            Move::Before(s) => ("before", s),
            Move::After(s) => ("after", s),
            Move::Into(s) => ("into", s),
        };
        set("move", Array::of2(&place.into(), &selector.as_str().into()).into());
    }
    text("css", &change.css);
    out
}
