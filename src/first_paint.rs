//! The first-paint module: everything that must be decided before the hidden elements are revealed
//! and nothing else. The loader (`www/first.js`) reads the page, this module decides with
//! `splitbeam_core::first_paint`, and the loader applies the variants (`www/changes.js`); the whole
//! snippet later takes them over as they are. Events, goals, sessions, SPA routes and the JS API
//! belong to the whole snippet, loaded after.
//!
//! No wasm-bindgen here: a pure function's boundary is two byte buffers and a few imports, and
//! wasm-bindgen's glue and runtime cost the critical path more than the decision itself (README,
//! "Why the snippet has this shape").
//!
//! The imports are JavaScript itself: `RegExp`, and (with the condition engine only) the three
//! coercions GrowthBook's conditions lean on (`Number(string)`, `String(number)`, `toLowerCase`) and
//! its version padding. The page's engine answers them as
//! GrowthBook's SDK gets them, and the module carries no number printer, no exact decimal reader and
//! no case table (5.8 KB gzip of the audience module, README "Why the snippet has this shape").

use splitbeam_core::assign::Sticky;
use splitbeam_core::first_paint::{decide as decide_page, Page};
use splitbeam_core::js_engine::JsEngine;

// Strings go in as UTF-8 in this module's memory (pointer, length); strings come back in room the
// loader took with `alloc`: a u32 little-endian length, then the UTF-8 bytes.
#[link(wasm_import_module = "splitbeam")]
extern "C" {
    /// `new RegExp(pattern, ignore_case ? "i" : "").test(text)`: 1 a match, 0 none, 2 a pattern
    /// the browser refuses.
    fn regex_test(pattern: *const u8, pattern_len: usize, text: *const u8, text_len: usize, ignore_case: u32) -> u32;
}

/// The conditions' coercions, from the page.
#[cfg(feature = "conditions")]
mod coercions {
    /// A string the loader wrote into `alloc`'s room (`""` if it is not UTF-8, which `TextEncoder`
    /// never writes).
    ///
    /// # Safety
    /// `at` must be where an import below returned a length-prefixed string.
    unsafe fn returned(at: *const u8) -> String {
        // SAFETY: the caller's contract: 4 bytes of length, then that many bytes, all written by the loader.
        let bytes = unsafe {
            let len = u32::from_le_bytes(std::ptr::read_unaligned(at.cast::<[u8; 4]>())) as usize;
            std::slice::from_raw_parts(at.add(4), len)
        };
        std::str::from_utf8(bytes).unwrap_or_default().into()
    }

    #[link(wasm_import_module = "splitbeam")]
    extern "C" {
        /// `Number(text)`.
        fn number(text: *const u8, len: usize) -> f64;
        /// `String(x)`.
        fn string(x: f64) -> *const u8;
        /// `text.toLowerCase()`.
        fn lower(text: *const u8, len: usize) -> *const u8;
        /// GrowthBook's `paddedVersionString(text)`.
        fn version(text: *const u8, len: usize) -> *const u8;
    }

    pub fn to_number(text: &str) -> f64 {
        // SAFETY: a live `str`; the import only reads it.
        unsafe { number(text.as_ptr(), text.len()) }
    }

    pub fn to_string(x: f64) -> String {
        // SAFETY: `string` returns a length-prefixed string.
        unsafe { returned(string(x)) }
    }

    pub fn lowered(text: &str) -> String {
        // SAFETY: a live `str` in; `lower` returns a length-prefixed string.
        unsafe { returned(lower(text.as_ptr(), text.len())) }
    }

    pub fn padded_version(text: &str) -> String {
        // SAFETY: a live `str` in; `version` returns a length-prefixed string.
        unsafe { returned(version(text.as_ptr(), text.len())) }
    }
}

/// Page patterns written as regular expressions, and the conditions' coercions, run on the browser's own engine.
struct BrowserJs;

impl JsEngine for BrowserJs {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        // SAFETY: both pointers and lengths are of live `str`s; the import only reads them.
        match unsafe { regex_test(pattern.as_ptr(), pattern.len(), text.as_ptr(), text.len(), ignore_case.into()) } {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("the browser refuses this regular expression".into()),
        }
    }

    // Without the condition engine nothing coerces: core's defaults are stubs there, and this
    // module's loader has no such imports (`www/first.js`).
    #[cfg(feature = "conditions")]
    fn string_to_number(&self, text: &str) -> f64 {
        coercions::to_number(text)
    }

    #[cfg(feature = "conditions")]
    fn number_to_string(&self, x: f64) -> String {
        coercions::to_string(x)
    }

    #[cfg(feature = "conditions")]
    fn lowered(&self, text: &str) -> String {
        coercions::lowered(text)
    }

    #[cfg(feature = "conditions")]
    fn padded_version(&self, text: &str) -> String {
        coercions::padded_version(text)
    }
}

/// `flags` bits of `decide`.
const APPLY: u32 = 1;
const CONSENT_REQUIRED: u32 = 2;
/// The whole snippet deciding again with the identity it holds (`Page::again`): the answer is the
/// decisions' bytes, not the first view's JSON.
const AGAIN: u32 = 4;
/// With `AGAIN`: the visitor id given is a new visitor's.
const NEW_VISITOR: u32 = 8;

/// `len` bytes for the loader to write `decide`'s input into. The module decides once per page, so
/// nothing is ever freed (the allocator in lib.rs only grows).
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut room = Vec::<u8>::with_capacity(len);
    let at = room.as_mut_ptr();
    std::mem::forget(room);
    at
}

/// Decides this page. `input` (`len` bytes from `alloc`) is a run of fields, each a u32
/// little-endian byte length and the bytes: the compiled config, `location.href`,
/// `location.search`, the stored visitor id, the session's QA overrides, the user agent, the
/// language, 16 random bytes, the page's own attributes (`compiled::encode_value`, or none), then
/// the stored sticky rows as experiment, variant, fingerprint.
/// Returns where the answer is (a u32 length, then the JSON of `splitbeam_core::first_paint::decide`,
/// or with `AGAIN` the decisions' bytes), or 0 when the input or the compiled config
/// cannot be read.
///
/// # Safety
/// `input` must point to `len` initialised bytes (the loader writes them into `alloc`'s room).
#[no_mangle]
pub unsafe extern "C" fn decide(input: *const u8, len: usize, now_ms: f64, flags: u32) -> *const u8 {
    // SAFETY: the caller's contract above.
    let input = unsafe { std::slice::from_raw_parts(input, len) };
    match answer(input, now_ms, flags) {
        Some(bytes) => {
            let mut out = Vec::with_capacity(4 + bytes.len());
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
            out.leak().as_ptr()
        }
        None => std::ptr::null(),
    }
}

fn answer(input: &[u8], now_ms: f64, flags: u32) -> Option<Vec<u8>> {
    let mut fields = Fields(input);
    let compiled = fields.next()?;
    let mut text = || fields.next().and_then(|bytes| std::str::from_utf8(bytes).ok());
    let (href, search, stored_visitor, forced_earlier, user_agent, language) = (text()?, text()?, text()?, text()?, text()?, text()?);
    let random = fields.next()?.try_into().ok()?;
    let custom = fields.next()?;
    let mut sticky = Vec::new();
    while let Some(experiment) = fields.next() {
        let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(String::from);
        let (variant, fingerprint) = (fields.next()?, fields.next()?);
        sticky.push(Sticky { experiment: text(experiment)?, variant: text(variant)?, fingerprint: text(fingerprint)? });
    }
    let page = Page {
        href,
        search,
        stored_visitor: Some(stored_visitor),
        sticky,
        forced_earlier,
        user_agent,
        language,
        now_ms,
        random,
        consent_required: flags & CONSENT_REQUIRED != 0,
        apply: flags & APPLY != 0,
        custom,
        again: (flags & AGAIN != 0).then_some(flags & NEW_VISITOR != 0),
    };
    decide_page(compiled, page, &BrowserJs)
}

/// The length-prefixed fields of `decide`'s input.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (field, rest) = (rest.get(..len)?, rest.get(len..)?);
        self.0 = rest;
        Some(field)
    }
}

/// Test builds only (feature `conformance-probe`): GrowthBook's `evalCondition` on this module's
/// engine, the browser's coercions included. `input` holds three length-prefixed JSON texts:
/// condition, attributes, saved groups. 1 holds, 0 does not, 2 unreadable input.
///
/// # Safety
/// `input` must point to `len` initialised bytes (from `alloc`).
#[cfg(feature = "conformance-probe")]
#[no_mangle]
pub unsafe extern "C" fn eval_condition(input: *const u8, len: usize) -> u32 {
    use splitbeam_core::json::{parse, Value};
    // SAFETY: the caller's contract above.
    let mut fields = Fields(unsafe { std::slice::from_raw_parts(input, len) });
    let mut json = || -> Option<Value> { parse(std::str::from_utf8(fields.next()?).ok()?).ok().map(|(value, _)| value) };
    match (json(), json(), json()) {
        (Some(condition), Some(attributes), Some(groups)) => {
            use splitbeam_core::condition::{eval, Condition};
            eval(&attributes, &Condition::read(&condition), &groups, &BrowserJs).into()
        }
        _ => 2,
    }
}
