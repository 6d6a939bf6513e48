//! Core's `JsEngine` backed by the browser's own JavaScript: its RegExp (no regex engine ships in
//! the wasm) for the URL rules of `pageview` goals. The whole snippet evaluates no condition, so
//! core's stubs stand for the coercions. An invalid pattern is an error for the caller, never a throw.

use splitbeam_core::js_engine::JsEngine;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    /// `new RegExp(pattern, ignore_case ? "i" : "").test(text)`: 1 a match, 0 none, 2 a pattern
    /// the browser refuses.
    fn regex_test(pattern: *const u8, pattern_len: usize, text: *const u8, text_len: usize, ignore_case: u32) -> u32;
}

/// JavaScript, as GrowthBook's JS SDK evaluates page patterns.
pub struct BrowserJs;

impl JsEngine for BrowserJs {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        // SAFETY: both pointers and lengths are of live `str`s; the import only reads them.
        match unsafe { regex_test(pattern.as_ptr(), pattern.len(), text.as_ptr(), text.len(), ignore_case.into()) } {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("the browser refuses this regular expression".into()),
        }
    }
}
