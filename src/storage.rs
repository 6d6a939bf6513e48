//! The browser's storage and randomness, in one place for every part of the snippet: localStorage
//! access (it throws in some privacy modes, and fills up), writes that cost persistence but never
//! delivery, and the random ids (visitor, tab, event) made from `crypto.getRandomValues`.

use std::cell::Cell;

use wasm_bindgen::prelude::*;

use crate::debug;

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = storageGet)]
    fn js_get(session: bool, key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = storageSet)]
    fn js_set(session: bool, key: &str, value: &str) -> bool;
    #[wasm_bindgen(js_name = storageRemove)]
    fn js_remove(session: bool, key: &str);
    #[wasm_bindgen(js_name = storageKeys)]
    fn js_keys(prefix: &str) -> String;
}

thread_local! {
    static FULL_WARNED: Cell<bool> = const { Cell::new(false) };
}

/// Which of the page's two storages: localStorage lasts, sessionStorage ends with the tab.
#[derive(Clone, Copy)]
pub enum Area {
    Local,
    Session,
}

/// The value stored under `key`; `None` when absent or when the browser refuses storage.
pub fn read(area: Area, key: &str) -> Option<String> {
    js_get(matches!(area, Area::Session), key)
}

/// Writes `value`; `false` when storage is full or blocked.
pub fn write(area: Area, key: &str, value: &str) -> bool {
    js_set(matches!(area, Area::Session), key, value)
}

pub fn remove(area: Area, key: &str) {
    js_remove(matches!(area, Area::Session), key)
}

/// localStorage's keys that start with `prefix` (none of ours holds a line break).
pub fn keys(prefix: &str) -> Vec<String> {
    js_keys(prefix).split('\n').filter(|key| !key.is_empty()).map(String::from).collect()
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
    if getrandom::fill(&mut bytes).is_err() {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
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
