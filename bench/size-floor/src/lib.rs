//! core's decisions behind one wasm export, with the snippet's allocator: everything a page needs to
//! know which variant to show, and nothing that talks to the page. Measured by bench/size-floor.sh.

use splitbeam_core::assign::{assign, Visitor};
use splitbeam_core::config;
use splitbeam_core::json::{self, Value};
use splitbeam_core::js_engine::JsEngine;
use wasm_bindgen::prelude::*;

/// The snippet passes JavaScript's RegExp; this measurement has no regexes to run.
struct NoRegex;

impl JsEngine for NoRegex {
    fn is_match(&self, _pattern: &str, _text: &str, _ignore_case: bool) -> Result<bool, String> {
        Ok(false)
    }
}

/// The variant keys this visitor gets, comma-separated: config text and attributes JSON in.
#[wasm_bindgen]
pub fn decide(config_text: &str, attributes_json: &str, href: &str, now_ms: f64) -> String {
    let Ok((loaded, _)) = config::load_text(config_text, &NoRegex) else { return String::new() };
    let attributes = json::parse(attributes_json).map(|(value, _)| value).unwrap_or(Value::Null);
    let visitor = Visitor { attributes: &attributes, href, now_ms, forced: &[], sticky: &[], regex: &NoRegex };
    let mut keys = String::new();
    for decision in assign(&loaded.config, &visitor) {
        if let Some(key) = decision.variant_key() {
            keys.push_str(key);
            keys.push(',');
        }
    }
    keys
}

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
