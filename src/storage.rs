//! The browser's storage and randomness, in one place for every part of the snippet: localStorage
//! and sessionStorage (`www/whole.js`: reaching either can throw in some privacy modes, and writes
//! fill up), writes that cost persistence but never delivery, and the random ids (visitor, tab,
//! event) made from `crypto.getRandomValues`.

use std::cell::Cell;

use crate::debug;
use crate::host::take_text;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn storage_get(session: u32, key: *const u8, key_len: usize) -> *mut u8;
    fn storage_set(session: u32, key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> u32;
    fn storage_remove(session: u32, key: *const u8, key_len: usize);
    fn storage_keys(prefix: *const u8, len: usize) -> *mut u8;
    fn random_fill(at: *mut u8, len: usize);
}

thread_local! {
    static FULL_WARNED: Cell<bool> = const { Cell::new(false) };
}

/// Which of the page's two storages: localStorage lasts, sessionStorage ends with the tab.
#[derive(Clone, Copy)]
pub enum Area {
    Local = 0,
    Session = 1,
}

/// The value stored under `key`; `None` when absent or when the browser refuses storage.
pub fn read(area: Area, key: &str) -> Option<String> {
    // SAFETY: a live `str` in; the import returns 0 or a length-prefixed string from `alloc`.
    take_text(unsafe { storage_get(area as u32, key.as_ptr(), key.len()) })
}

/// Writes `value`; `false` when storage is full or blocked.
pub fn write(area: Area, key: &str, value: &str) -> bool {
    // SAFETY: live `str`s; the import only reads them.
    unsafe { storage_set(area as u32, key.as_ptr(), key.len(), value.as_ptr(), value.len()) != 0 }
}

pub fn remove(area: Area, key: &str) {
    // SAFETY: a live `str`; the import only reads it.
    unsafe { storage_remove(area as u32, key.as_ptr(), key.len()) }
}

/// localStorage's keys that start with `prefix` (none of ours holds a line break: they cross as
/// one string, one per line).
pub fn keys(prefix: &str) -> Vec<String> {
    // SAFETY: a live `str` in; the import returns 0 or a length-prefixed string from `alloc`.
    let keys = take_text(unsafe { storage_keys(prefix.as_ptr(), prefix.len()) }).unwrap_or_default();
    keys.split('\n').filter(|key| !key.is_empty()).map(String::from).collect()
}

/// Writes `value` to localStorage; a full or blocked storage costs persistence, never delivery
/// (one warning).
pub fn store(key: &str, value: &str) {
    if !write(Area::Local, key, value) {
        warn_full();
    }
}

/// Once per page.
pub fn warn_full() {
    if !FULL_WARNED.with(|w| w.replace(true)) {
        debug::warn("localStorage is full or disabled: events are still sent, but unsent ones are lost if the page closes");
    }
}

/// 16 bytes from crypto.getRandomValues (Math.random if there is no crypto: ids stay unique
/// enough for bucketing and deduplication, never for security).
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    // SAFETY: the import writes exactly `len` bytes at `at`, all of them inside `bytes`.
    unsafe { random_fill(bytes.as_mut_ptr(), bytes.len()) };
    bytes
}

/// `len` random bytes as hex digits.
pub fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(2 * len);
    splitbeam_core::identity::push_hex(&random_bytes()[..len.min(16)], &mut out);
    out
}

/// A random 32-bit number (the pause before adopting, retry jitter).
pub fn random_u32() -> u32 {
    let b = random_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
