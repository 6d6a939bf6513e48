//! The two ways a batch leaves the page: `navigator.sendBeacon` (survives the page going away) and
//! `fetch` with `keepalive` (tells us the status and Retry-After). Both are `www/whole.js`:
//! written through web-sys they cost the wasm about 1 KB gzip more than the JavaScript they take.

use crate::page_events::on_fetch_answer;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn send_beacon(url: *const u8, url_len: usize, body: *const u8, body_len: usize) -> u32;
    fn post(url: *const u8, url_len: usize, body: *const u8, body_len: usize, blind: u32, id: u32);
}

/// Queues `body` with sendBeacon. `false` when the browser refused it (quota, size, no API).
pub fn beacon(url: &str, body: &str) -> bool {
    // SAFETY: live `str`s; the import only reads them.
    unsafe { send_beacon(url.as_ptr(), url.len(), body.as_ptr(), body.len()) != 0 }
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

impl Reply {
    /// The page's numbers for it (www/whole.js `post`).
    pub fn from_page(reply: u32, status: u32, retry_after: Option<String>) -> Reply {
        match reply {
            0 => Reply::Status(status.min(u32::from(u16::MAX)) as u16, retry_after),
            1 => Reply::Unreadable,
            2 => Reply::Opaque,
            _ => Reply::Failed,
        }
    }
}

/// POSTs `body` with `keepalive` and without credentials, `no-cors` when `blind`, and calls `done`
/// once with what happened.
pub fn fetch(url: &str, body: &str, blind: bool, done: impl FnOnce(Reply) + 'static) {
    let id = on_fetch_answer(done);
    // SAFETY: live `str`s; the import only reads them.
    unsafe { post(url.as_ptr(), url.len(), body.as_ptr(), body.len(), blind.into(), id) }
}
