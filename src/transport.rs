//! The two ways a batch leaves the page: `navigator.sendBeacon` (survives the page going away) and
//! `fetch` with `keepalive` (tells us the status and Retry-After). Bodies go as text/plain: no preflight.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;

/// Queues `body` with sendBeacon. `false` when the browser refused it (quota, size, no API).
/// A string body is sent as `text/plain;charset=UTF-8`, a CORS-safelisted type, exactly as a
/// text/plain Blob would be, without the Blob.
pub fn beacon(url: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    window.navigator().send_beacon_with_opt_str(url, Some(body)).unwrap_or(false)
}

/// What became of a fetch, as far as the page can tell.
pub enum Reply {
    /// A readable answer: its status and Retry-After (if exposed).
    Status(u16, Option<String>),
    /// The readable fetch failed, but a no-cors probe right after it was answered: the collector
    /// is up, the page may not read it (no `Access-Control-Allow-Origin`). In Chromium a CORS
    /// failure and a refused connection both reject the fetch with a TypeError, while a no-cors
    /// request resolves (opaque) whenever the server answered at all and rejects when refused
    /// (tests/e2e/any-collector and delivery-outage exercise both).
    Unreadable,
    /// A no-cors fetch resolved: an opaque answer came, nothing more is known.
    Opaque,
    /// Nothing answered (offline, DNS, refused, or the probe failed too).
    Failed,
}

/// POSTs `body` with `fetch(url, {method: "POST", body, keepalive: true, credentials: "omit"})`
/// (web-sys' RequestInit has no `keepalive`, hence the plain object), with `mode: "no-cors"` when
/// `blind`, and calls `done` once with what happened.
pub fn fetch(url: &str, body: &str, blind: bool, done: impl FnOnce(Reply) + 'static) {
    let url = url.to_string();
    let Some(promise) = post(&url, body, blind) else { return done(Reply::Failed) };
    // One callback for both outcomes: a Response is an object with a `type`, a rejection's error
    // (a TypeError) has none. `once_into_js` frees it after its single call.
    let settle = Closure::once_into_js(move |response: JsValue| {
        let kind = Reflect::get(&response, &"type".into()).ok().and_then(|t| t.as_string());
        match kind.as_deref() {
            Some("opaque") | Some("opaqueredirect") => done(Reply::Opaque),
            Some(_) => {
                let status = Reflect::get(&response, &"status".into()).ok().and_then(|s| s.as_f64()).unwrap_or(0.0);
                let retry_after = header(&response, "retry-after");
                done(Reply::Status(status as u16, retry_after));
            }
            None if blind || !online() => done(Reply::Failed),
            None => probe(&url, done),
        }
    });
    then_both(&promise, &settle);
}

/// After a failed readable fetch: an empty batch with `no-cors`, to learn whether anything answers.
/// Empty so that the events are never sent a second time by it (collectors see `"events":[]`).
fn probe(url: &str, done: impl FnOnce(Reply) + 'static) {
    let body = ["{\"v\":1,\"sent_at\":", &splitbeam_core::digits::unsigned(js_sys::Date::now() as u64), ",\"events\":[]}"].concat();
    let Some(promise) = post(url, &body, true) else { return done(Reply::Failed) };
    let settle = Closure::once_into_js(move |response: JsValue| {
        let answered = Reflect::get(&response, &"type".into()).ok().and_then(|t| t.as_string()).is_some();
        done(if answered { Reply::Unreadable } else { Reply::Failed });
    });
    then_both(&promise, &settle);
}

fn online() -> bool {
    web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
}

fn post(url: &str, body: &str, blind: bool) -> Option<JsValue> {
    let window = web_sys::window()?;
    let init = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&init, &key.into(), &value);
    };
    set("method", "POST".into());
    set("body", body.into());
    set("keepalive", true.into());
    set("credentials", "omit".into());
    if blind {
        set("mode", "no-cors".into());
    }
    let fetch: Function = Reflect::get(&window, &"fetch".into()).ok()?.dyn_into().ok()?;
    fetch.call2(&window, &url.into(), &init).ok()
}

fn then_both(promise: &JsValue, settle: &JsValue) {
    if let Ok(then) = Reflect::get(promise, &"then".into()).and_then(|t| t.dyn_into::<Function>()) {
        let _ = then.call2(promise, settle, settle);
    }
}

/// A response header; `None` when absent or not exposed by CORS (`Access-Control-Expose-Headers`).
fn header(response: &JsValue, name: &str) -> Option<String> {
    let headers = Reflect::get(response, &"headers".into()).ok()?;
    let get: Function = Reflect::get(&headers, &"get".into()).ok()?.dyn_into().ok()?;
    get.call1(&headers, &name.into()).ok()?.as_string()
}
