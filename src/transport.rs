//! The two ways a batch leaves the page: `navigator.sendBeacon` (survives the page going away) and
//! `fetch` with `keepalive` (tells us the status and Retry-After). Both are `www/whole.js`:
//! written through web-sys they cost the wasm about 1 KB gzip more than the JavaScript they take.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = beacon)]
    fn js_beacon(url: &str, body: &str) -> bool;
    #[wasm_bindgen(js_name = post)]
    fn js_post(url: &str, body: &str, blind: bool, done: &JsValue);
}

/// Queues `body` with sendBeacon. `false` when the browser refused it (quota, size, no API).
pub fn beacon(url: &str, body: &str) -> bool {
    js_beacon(url, body)
}

/// What became of a fetch, as far as the page can tell (`www/whole.js` says how it knows).
pub enum Reply {
    /// A readable answer: its status and Retry-After (if exposed).
    Status(u16, Option<String>),
    /// The collector is up, but the page may not read its answers (no `Access-Control-Allow-Origin`).
    Unreadable,
    /// A no-cors fetch resolved: an opaque answer came, nothing more is known.
    Opaque,
    /// Nothing answered (offline, DNS, refused, or the probe failed too).
    Failed,
}

/// POSTs `body` with `keepalive` and without credentials, `no-cors` when `blind`, and calls `done`
/// once with what happened.
pub fn fetch(url: &str, body: &str, blind: bool, done: impl FnOnce(Reply) + 'static) {
    // `once_into_js` frees the closure after its single call.
    let settle = Closure::once_into_js(move |reply: u32, status: u32, retry_after: Option<String>| {
        done(match reply {
            0 => Reply::Status(status.min(u32::from(u16::MAX)) as u16, retry_after),
            1 => Reply::Unreadable,
            2 => Reply::Opaque,
            _ => Reply::Failed,
        })
    });
    js_post(url, body, blind, &settle);
}
