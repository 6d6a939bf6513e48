//! A variant's changes handed from wasm to the loader's applier (`www/changes.js`): the JSON the
//! compiler wrote for it (`splitbeam_core::compiled::write_changes`; the first-paint module hands
//! the loader the same), read by the browser's JSON parser. On the critical path the DOM work is a
//! few lines of JavaScript, where the same work in wasm (with its web-sys glue) cost 7.6 KB gzip of
//! the first-paint module (README, "Why the snippet has this shape").

use js_sys::JSON;
use splitbeam_core::config::Variant;
use wasm_bindgen::JsValue;

/// `[experiment, variant, [change, …]]`.
pub fn variant(experiment: &str, variant: &Variant) -> JsValue {
    let mut text = String::new();
    splitbeam_core::first_paint::write_variant(&mut text, experiment, &variant.key, &variant.applier_json);
    // The compiler's JSON always parses; `null` (nothing applied) if that ever broke.
    JSON::parse(&text).unwrap_or(JsValue::NULL)
}
