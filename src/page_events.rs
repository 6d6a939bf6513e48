//! The page's events the whole snippet follows, its timers and its fetches' answers: `www/whole.js`
//! listens and calls the `page_event` export (or `fetch_settled`, for a fetch) with the event's kind and
//! value. Delivery's lifecycle events go to `outbox`, route changes and clicks to `snippet`.

use std::cell::{Cell, RefCell};

use splitbeam_core::delivery::FlushReason;

use crate::host::take_text;
use crate::transport::Reply;
use crate::{outbox, snippet};

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn timer(ms: u32, id: u32);
    fn listen_to_lifecycle() -> *mut u8;
    fn watch_the_page() -> *mut u8;
}

// The event kinds www/whole.js sends (it writes them as these literal numbers).
const TIMER: u32 = 0;
const PAGE_HIDE: u32 = 1;
const PAGE_SHOW: u32 = 2;
const ONLINE: u32 = 3;
const LEASE_RELEASED: u32 = 4;
const VISIBILITY: u32 = 5;
const ROUTE: u32 = 6;
/// A click (www/whole.js holds the element, for `goals::clicked`).
const CLICK: u32 = 7;

/// A pending `later` call or fetch.
pub type TimerId = u32;

/// What runs when the page calls back, with the callback's argument.
type Resume<A> = Box<dyn FnOnce(A)>;

/// What waits for the page to call back: a timer's run, a fetch's answer.
struct Waiting<A> {
    next: u32,
    pending: Vec<(u32, Resume<A>)>,
}

impl<A> Waiting<A> {
    const fn new() -> Self {
        Waiting { next: 0, pending: Vec::new() }
    }
}

thread_local! {
    static TIMERS: RefCell<Waiting<()>> = const { RefCell::new(Waiting::new()) };
    static FETCHES: RefCell<Waiting<Reply>> = const { RefCell::new(Waiting::new()) };
    /// Delivery starts again when consent is withdrawn and granted anew; its listeners stay.
    static LIFECYCLE_FOLLOWED: Cell<bool> = const { Cell::new(false) };
}

/// Keeps `f` until the page calls back with `id`, returned.
fn wait<A: 'static>(cell: &'static std::thread::LocalKey<RefCell<Waiting<A>>>, f: Resume<A>) -> u32 {
    cell.with(|cell| {
        let mut waiting = cell.borrow_mut();
        let id = waiting.next;
        waiting.next = waiting.next.wrapping_add(1);
        waiting.pending.push((id, f));
        id
    })
}

/// Runs what waited for `id` with `arg`, once (a page callback run by it may wait anew).
fn resume<A: 'static>(cell: &'static std::thread::LocalKey<RefCell<Waiting<A>>>, id: u32, arg: A) {
    let due = cell.with(|cell| {
        let mut waiting = cell.try_borrow_mut().ok()?;
        let at = waiting.pending.iter().position(|(t, _)| *t == id)?;
        Some(waiting.pending.swap_remove(at).1)
    });
    if let Some(run) = due {
        run(arg);
    }
}

/// One of the page's events (`www/whole.js`): `number` and `text` (room from `alloc`, or 0) are its
/// value, as the kind needs.
#[no_mangle]
pub extern "C" fn page_event(kind: u32, number: f64, text: *mut u8) {
    let text = take_text(text);
    match kind {
        TIMER => resume(&TIMERS, number as u32, ()),
        PAGE_HIDE => outbox::page_hidden(true),
        PAGE_SHOW => outbox::page_shown(number != 0.0),
        ONLINE => outbox::flush(FlushReason::Manual),
        LEASE_RELEASED => outbox::lease_released(&text.unwrap_or_default()),
        VISIBILITY => outbox::visibility_changed(number != 0.0),
        ROUTE => snippet::on_route(),
        CLICK => snippet::on_click(),
        _ => {}
    }
}

/// A fetch's answer (`transport::fetch`): `reply` and `status` as www/whole.js `post` numbers
/// them, `retry_after` the Retry-After header if the page may read it.
#[no_mangle]
pub extern "C" fn fetch_settled(id: u32, reply: u32, status: u32, retry_after: *mut u8) {
    resume(&FETCHES, id, Reply::from_page(reply, status, take_text(retry_after)));
}

/// Keeps `done` for the answer of the fetch the page starts with the id returned.
pub fn on_fetch_answer(done: impl FnOnce(Reply) + 'static) -> u32 {
    wait(&FETCHES, Box::new(done))
}

/// Runs `f` once, `delay_ms` from now, unless cancelled first.
pub fn later(delay_ms: u64, f: impl FnOnce() + 'static) -> TimerId {
    let id = wait(&TIMERS, Box::new(move |()| f()));
    // SAFETY: numbers only.
    unsafe { timer(delay_ms.min(i32::MAX as u64) as u32, id) };
    id
}

/// The timer will not run `f` (it still fires, to no effect).
pub fn cancel(id: TimerId) {
    TIMERS.with(|cell| cell.borrow_mut().pending.retain(|(t, _)| *t != id));
}

/// Delivery's events: the page hiding, showing, going away or coming back, going online, and other
/// tabs releasing their leases, listened to once per page (a second set of listeners would run
/// every event twice). `Err` says why the page cannot be followed.
pub fn listen_lifecycle() -> Result<(), String> {
    if LIFECYCLE_FOLLOWED.get() {
        return Ok(());
    }
    // SAFETY: the import returns 0 or a length-prefixed string from `alloc`.
    take_text(unsafe { listen_to_lifecycle() }).map_or(Ok(()), Err)?;
    LIFECYCLE_FOLLOWED.set(true);
    Ok(())
}

/// Route changes (SPA) and clicks; `Err` says why the page cannot be watched.
pub fn watch_page() -> Result<(), String> {
    // SAFETY: the import returns 0 or a length-prefixed string from `alloc`.
    take_text(unsafe { watch_the_page() }).map_or(Ok(()), Err)
}
