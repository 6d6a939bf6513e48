//! JavaScript values reach the wasm as core's compiled value bytes (`compiled::decode_value`):
//! `www/whole.js` walks them (the page's `attributes({...})` and `track` props, `JSON.parse`
//! output) with its bounds on depth, size and odd values, and the wasm reads the bytes with the
//! reader it already has for the compiled config. No walk over JS objects from the wasm.

use splitbeam_core::compiled::decode_value;
use splitbeam_core::json::Value;

use crate::host::take;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn json_value(text: *const u8, len: usize) -> *mut u8;
}

/// The value the page handed over at `at` (www/whole.js `encodeValue`); `None` for 0 or bytes
/// it did not write.
pub fn take_value(at: *mut u8) -> Option<Value> {
    decode_value(&take(at)?)
}

/// `JSON.parse(text)`; `None` when it is not JSON (or is nested deeper than the walk's bound).
pub fn parse_json(text: &str) -> Option<Value> {
    // SAFETY: a live `str` in; the import returns 0 or length-prefixed bytes from `alloc`.
    take_value(unsafe { json_value(text.as_ptr(), text.len()) })
}
