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

/// POSTs `body` with `fetch(url, {method: "POST", body, keepalive: true, credentials: "omit"})`
/// (web-sys' RequestInit has no `keepalive`, hence the plain object) and calls `done(status,
/// Retry-After header)` once: status 0 when the request failed (offline, refused, CORS).
pub fn fetch(url: &str, body: &str, done: impl FnOnce(u16, Option<String>) + 'static) {
    let Some(window) = web_sys::window() else { return done(0, None) };
    let init = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&init, &key.into(), &value);
    };
    set("method", "POST".into());
    set("body", body.into());
    set("keepalive", true.into());
    set("credentials", "omit".into());
    let started = Reflect::get(&window, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|fetch| fetch.call2(&window, &url.into(), &init).ok());
    let Some(promise) = started else { return done(0, None) };
    // One callback for both outcomes: a Response has a numeric status, a rejection's error does not.
    // `once_into_js` frees it after its single call.
    let settle = Closure::once_into_js(move |response: JsValue| {
        let status = Reflect::get(&response, &"status".into()).ok().and_then(|s| s.as_f64()).unwrap_or(0.0);
        let retry_after = (status > 0.0).then(|| header(&response, "retry-after")).flatten();
        done(status as u16, retry_after);
    });
    if let Ok(then) = Reflect::get(&promise, &"then".into()).and_then(|t| t.dyn_into::<Function>()) {
        let _ = then.call2(&promise, &settle, &settle);
    }
}

/// A response header; `None` when absent or not exposed by CORS (`Access-Control-Expose-Headers`).
fn header(response: &JsValue, name: &str) -> Option<String> {
    let headers = Reflect::get(response, &"headers".into()).ok()?;
    let get: Function = Reflect::get(&headers, &"get".into()).ok()?.dyn_into().ok()?;
    get.call1(&headers, &name.into()).ok()?.as_string()
}
