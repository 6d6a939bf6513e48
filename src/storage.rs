//! The browser's storage and randomness, in one place for every part of the snippet: localStorage
//! access (it throws in some privacy modes, and fills up), writes that cost persistence but never
//! delivery, and the random ids (visitor, tab, event) made from `crypto.getRandomValues`.

use std::cell::Cell;

use web_sys::Storage;

use crate::debug;

thread_local! {
    static FULL_WARNED: Cell<bool> = const { Cell::new(false) };
}

/// localStorage, if the browser lets us have it (accessing it throws in some privacy modes).
pub fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// sessionStorage, on the same terms.
pub fn session() -> Option<Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Writes `value`; a full or blocked storage costs persistence, never delivery (one warning).
pub fn store(key: &str, value: &str) {
    match local() {
        Some(storage) if storage.set_item(key, value).is_ok() => {}
        _ => warn_full(),
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

/// Every key in `storage`.
pub fn keys(storage: &Storage) -> Vec<String> {
    let count = storage.length().unwrap_or(0);
    (0..count).filter_map(|i| storage.key(i).ok().flatten()).collect()
}

/// A random 32-bit number (the pause before adopting, retry jitter).
pub fn random_u32() -> u32 {
    let b = random_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
