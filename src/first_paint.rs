//! The first-paint module: everything that must be decided before the hidden elements are revealed
//! and nothing else. The loader (`www/first.js`) reads the page, this module decides with
//! `splitbeam_core::first_paint`, and the loader applies the variants (`www/changes.js`); the whole
//! snippet later takes them over as they are. Events, goals, sessions, SPA routes and the JS API
//! belong to the whole snippet, loaded after.
//!
//! No wasm-bindgen here: a pure function's boundary is two byte buffers and one import, and
//! wasm-bindgen's glue and runtime cost the critical path more than the decision itself (README,
//! "Why the snippet has this shape").

use splitbeam_core::assign::Sticky;
use splitbeam_core::first_paint::{decide as decide_page, Page};
use splitbeam_core::regex::RegexMatcher;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    /// `new RegExp(pattern, ignore_case ? "i" : "").test(text)`: 1 a match, 0 none, 2 a pattern
    /// the browser refuses (both strings UTF-8 in this module's memory).
    fn regex_test(pattern: *const u8, pattern_len: usize, text: *const u8, text_len: usize, ignore_case: u32) -> u32;
}

/// Page patterns written as regular expressions run on the browser's own engine.
struct BrowserRegex;

impl RegexMatcher for BrowserRegex {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        // SAFETY: both pointers and lengths are of live `str`s; the import only reads them.
        match unsafe { regex_test(pattern.as_ptr(), pattern.len(), text.as_ptr(), text.len(), ignore_case.into()) } {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("the browser refuses this regular expression".into()),
        }
    }
}

/// `flags` bits of `decide`.
const APPLY: u32 = 1;
const CONSENT_REQUIRED: u32 = 2;

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
/// language, 16 random bytes, then the stored sticky rows as experiment, variant, fingerprint.
/// Returns where the answer is (a u32 length, then the JSON of `splitbeam_core::first_paint::decide`),
/// or 0 when the input or the compiled config cannot be read.
///
/// # Safety
/// `input` must point to `len` initialised bytes (the loader writes them into `alloc`'s room).
#[no_mangle]
pub unsafe extern "C" fn decide(input: *const u8, len: usize, now_ms: f64, flags: u32) -> *const u8 {
    // SAFETY: the caller's contract above.
    let input = unsafe { std::slice::from_raw_parts(input, len) };
    match answer(input, now_ms, flags) {
        Some(text) => {
            let mut out = Vec::with_capacity(4 + text.len());
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
            out.leak().as_ptr()
        }
        None => std::ptr::null(),
    }
}

fn answer(input: &[u8], now_ms: f64, flags: u32) -> Option<String> {
    let mut fields = Fields(input);
    let compiled = fields.next()?;
    let mut text = || fields.next().and_then(|bytes| std::str::from_utf8(bytes).ok());
    let (href, search, stored_visitor, forced_earlier, user_agent, language) = (text()?, text()?, text()?, text()?, text()?, text()?);
    let random = fields.next()?.try_into().ok()?;
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
    };
    decide_page(compiled, page, &BrowserRegex)
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
