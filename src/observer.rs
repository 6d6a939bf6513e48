//! Watches the document so changes reach elements that appear later (lazy content, SPA renders)
//! and come back when a framework overwrites them; throttled elements are retried by a timer.

use std::cell::Cell;

use wasm_bindgen::prelude::*;
use web_sys::{MutationObserver, MutationObserverInit};

thread_local! {
    static OBSERVER: Cell<Option<MutationObserver>> = const { Cell::new(None) };
    static RETRY_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Starts watching the whole document; every batch of mutations calls `on_change`.
pub fn watch(on_change: fn()) -> Result<(), JsValue> {
    let callback = Closure::<dyn FnMut()>::new(on_change);
    let observer = MutationObserver::new(callback.as_ref().unchecked_ref())?;
    // The observer lives as long as the page: the closure is never dropped.
    callback.forget();
    let init = MutationObserverInit::new();
    init.set_child_list(true);
    init.set_subtree(true);
    init.set_attributes(true);
    init.set_character_data(true);
    let root = crate::dom::document().document_element().ok_or_else(|| JsValue::from_str("no document element"))?;
    observer.observe_with_options(&root, &init)?;
    OBSERVER.with(|o| o.set(Some(observer)));
    Ok(())
}

/// Drops the records our own changes just caused, so applying does not wake the observer again.
pub fn discard_own_records() {
    OBSERVER.with(|o| {
        if let Some(observer) = o.take() {
            let _ = observer.take_records();
            o.set(Some(observer));
        }
    });
}

/// Calls `on_change` again at `at_ms` (one pending timer at most), for elements that were throttled.
pub fn retry_at(at_ms: f64, on_change: fn()) {
    if RETRY_PENDING.with(|p| p.replace(true)) {
        return;
    }
    let delay = (at_ms - js_sys::Date::now()).clamp(0.0, 1000.0) as i32 + 1;
    let callback = Closure::once_into_js(move || {
        RETRY_PENDING.with(|p| p.set(false));
        on_change();
    });
    if let Some(window) = web_sys::window() {
        if window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay).is_err() {
            RETRY_PENDING.with(|p| p.set(false));
        }
    }
}
