//! Single-page apps: a route change is `history.pushState`/`replaceState` or `popstate`; each one
//! re-evaluates the page rules (revert what no longer applies, apply what now does).

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

/// Wraps the history methods and listens to `popstate`; `on_route` runs after the URL changed.
pub fn watch(on_route: fn()) -> Result<(), JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let history: JsValue = window.history()?.into();
    for name in ["pushState", "replaceState"] {
        let original: Function = Reflect::get(&history, &name.into())?.dyn_into()?;
        let this = history.clone();
        let wrapped = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
            move |state: JsValue, title: JsValue, url: JsValue| {
                // The page's own call first, unchanged (its exceptions are its own).
                let result = original.call3(&this, &state, &title, &url)?;
                on_route();
                Ok(result)
            },
        );
        Reflect::set(&history, &name.into(), wrapped.as_ref())?;
        wrapped.forget();
    }
    let on_pop = Closure::<dyn FnMut()>::new(on_route);
    window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref())?;
    on_pop.forget();
    Ok(())
}
