//! The page's events the whole snippet follows, and its timers: `www/whole.js` listens and
//! hands each one to `dispatch` through a single closure (one closure in the wasm, not one per
//! event kind). Delivery's lifecycle events go to `outbox`, route changes and clicks to `snippet`.

use std::cell::RefCell;

use splitbeam_core::delivery::FlushReason;
use wasm_bindgen::prelude::*;

use crate::{outbox, snippet};

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = timer)]
    fn js_timer(handler: &JsValue, ms: u32, id: u32);
    #[wasm_bindgen(js_name = listenLifecycle)]
    fn js_listen_lifecycle(handler: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = watchPage)]
    fn js_watch_page(handler: &JsValue) -> Option<String>;
}

// The event kinds www/whole.js sends.
const TIMER: u32 = 0;
const PAGE_HIDE: u32 = 1;
const PAGE_SHOW: u32 = 2;
const ONLINE: u32 = 3;
const LEASE_RELEASED: u32 = 4;
const VISIBILITY: u32 = 5;
const ROUTE: u32 = 6;
const CLICK: u32 = 7;

/// A pending `later` call.
pub type TimerId = u32;

#[derive(Default)]
struct Timers {
    next: TimerId,
    pending: Vec<(TimerId, Box<dyn FnOnce()>)>,
}

thread_local! {
    // `Fn`, not `FnMut`: a page callback run from inside a dispatch may cause another event
    // (a listener calling pushState); each receiver guards its own state.
    static HANDLER: JsValue = Closure::<dyn Fn(u32, JsValue)>::new(dispatch).into_js_value();
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

fn dispatch(kind: u32, value: JsValue) {
    match kind {
        TIMER => {
            let id = value.as_f64().unwrap_or(-1.0);
            let due = TIMERS.with(|cell| {
                let mut timers = cell.try_borrow_mut().ok()?;
                let at = timers.pending.iter().position(|(t, _)| f64::from(*t) == id)?;
                Some(timers.pending.swap_remove(at).1)
            });
            if let Some(run) = due {
                run();
            }
        }
        PAGE_HIDE => outbox::page_hidden(true),
        PAGE_SHOW => outbox::page_shown(value.as_bool() == Some(true)),
        ONLINE => outbox::flush(FlushReason::Manual),
        LEASE_RELEASED => outbox::lease_released(&value.as_string().unwrap_or_default()),
        VISIBILITY => outbox::visibility_changed(value.as_bool() == Some(true)),
        ROUTE => snippet::on_route(),
        CLICK => snippet::on_click(value.unchecked_into()),
        _ => {}
    }
}

/// Runs `f` once, `delay_ms` from now, unless cancelled first.
pub fn later(delay_ms: u64, f: impl FnOnce() + 'static) -> TimerId {
    let id = TIMERS.with(|cell| {
        let mut timers = cell.borrow_mut();
        let id = timers.next;
        timers.next = timers.next.wrapping_add(1);
        timers.pending.push((id, Box::new(f)));
        id
    });
    HANDLER.with(|handler| js_timer(handler, delay_ms.min(i32::MAX as u64) as u32, id));
    id
}

/// The timer will not run `f` (it still fires, to no effect).
pub fn cancel(id: TimerId) {
    TIMERS.with(|cell| cell.borrow_mut().pending.retain(|(t, _)| *t != id));
}

/// Delivery's events: the page hiding, showing, going away or coming back, going online, and other
/// tabs releasing their leases. `Err` says why the page cannot be followed.
pub fn listen_lifecycle() -> Result<(), String> {
    HANDLER.with(js_listen_lifecycle).map_or(Ok(()), Err)
}

/// Route changes (SPA) and clicks; `Err` says why the page cannot be watched.
pub fn watch_page() -> Result<(), String> {
    HANDLER.with(js_watch_page).map_or(Ok(()), Err)
}
