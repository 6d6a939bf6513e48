//! Core's `RegexMatcher` backed by the browser's own RegExp: no regex engine ships in the wasm.
//! An invalid pattern is an error for the caller (the config reader reports it), never a throw.

use splitbeam_core::regex::RegexMatcher;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = RegExp)]
    type JsRegExp;
    // `catch`: the RegExp constructor throws a SyntaxError on a bad pattern.
    #[wasm_bindgen(constructor, catch, js_class = "RegExp")]
    fn new(pattern: &str, flags: &str) -> Result<JsRegExp, JsValue>;
    #[wasm_bindgen(method)]
    fn test(this: &JsRegExp, text: &str) -> bool;
}

/// JavaScript's RegExp, as GrowthBook's JS SDK evaluates `$regex` and page patterns.
pub struct BrowserRegex;

impl RegexMatcher for BrowserRegex {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        let re = JsRegExp::new(pattern, if ignore_case { "i" } else { "" }).map_err(|err| {
            let message = js_sys::Reflect::get(&err, &"message".into()).ok().and_then(|m| m.as_string());
            message.unwrap_or_else(|| "invalid regular expression".into())
        })?;
        Ok(re.test(text))
    }
}
