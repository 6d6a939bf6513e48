//! The delivery shell around core's `Outbox`: stamps events (id, session), sends due batches on a
//! setTimeout, flushes by beacon when the page hides, and keeps unsent events in localStorage.
//!
//! Storage layout, per page load ("tab"): `splitbeam.outbox.<tab>` holds the tab's snapshot and
//! `splitbeam.lease.<tab>` says who may send it. A live tab renews its own lease; a page that goes
//! away releases it, so the next page load (or another open tab) adopts the snapshot, but only under
//! `may_send` and after re-reading its claim, so that two tabs never send the same events
//! (`adoption.rs`).

use std::cell::{Cell, RefCell};

use splitbeam_core::delivery::{parse_retry_after, FlushReason, Lease, Outbox, Outcome, Policy, Send, Transport};
use splitbeam_core::digits;
use splitbeam_core::event::{new_id, Event, EventKind};
use crate::page;
use crate::page_events::{self, later, TimerId};
use crate::session::Sessions;

mod adoption;
use crate::storage::{self, random_bytes, random_hex, Area};
use crate::{debug, transport};

const OUTBOX_PREFIX: &str = "splitbeam.outbox.";
const LEASE_PREFIX: &str = "splitbeam.lease.";
/// When any page of the site last got a 2xx from the collector (ms): lets a new page trust its
/// beacons at once, since an emptied outbox leaves no snapshot to carry it.
const CONFIRMED_KEY: &str = "splitbeam.confirmed";
/// The confirmation is rewritten at most this often (one storage write per batch would be waste).
const CONFIRMED_WRITE_MS: u64 = 30_000;
/// When a page of the site last found the collector unreadable (ms): later pages send
/// fire-and-forget from their first batch, without a CORS error each (`Policy::unreadable_memory_ms`).
const UNREADABLE_KEY: &str = "splitbeam.unreadable";
/// A redirect waits this long at most for its exposure to leave (DESIGN: "about 100 ms").
const LEAVE_WAIT_MS: u64 = 100;
/// How long a snapshot write may wait, so that a burst of events is written once.
const SAVE_DELAY_MS: u64 = 50;

struct Delivery {
    outbox: Outbox,
    collector: String,
    /// This page load's id in the storage keys.
    tab: String,
    /// Bumped when the page returns from the back/forward cache: answers to older requests are stale.
    generation: u32,
    sessions: Sessions,
    lease: Option<Lease>,
    /// The pending wake-up (timer, due time).
    timer: Option<(TimerId, u64)>,
    /// A redirect waiting for its exposure to leave.
    leaving: Option<Box<dyn FnOnce()>>,
    /// A look for orphans is scheduled (another tab's lease runs out then, unless renewed).
    recheck_pending: bool,
    /// A snapshot write is scheduled: a burst of track() calls persists once, not once per event.
    save_pending: bool,
    /// `pagehide` released the lease for the next page; the `visibilitychange` that follows must
    /// not take it again (the next page would wait out the lease before sending our events).
    gone: bool,
    /// The confirmation time last written to `CONFIRMED_KEY`.
    confirmed_written: u64,
}

thread_local! {
    static DELIVERY: RefCell<Option<Delivery>> = const { RefCell::new(None) };
    static UNREADABLE_WARNED: Cell<bool> = const { Cell::new(false) };
}

fn with<R>(f: impl FnOnce(&mut Delivery) -> R) -> Option<R> {
    DELIVERY.with(|cell| cell.try_borrow_mut().ok()?.as_mut().map(f))
}

fn now() -> u64 {
    page::now() as u64
}

/// Whether events are being queued (a collector is configured and consent/DNT allow it).
pub fn running() -> bool {
    with(|_| ()).is_some()
}

/// The delivery policy; an automated browser (a crawler running JavaScript, a test harness)
/// marks its batches so that the collector keeps them out of results.
fn policy() -> Policy {
    Policy { automated: page::automated(), ..Policy::default() }
}

/// Starts delivery to `collector`: adopts what earlier pages or closed tabs left unsent and
/// listens for the page hiding. Idempotent.
pub fn start(collector: String) {
    if running() {
        return;
    }
    let delivery = Delivery {
        outbox: Outbox::new(policy()),
        collector,
        tab: random_hex(8),
        generation: 0,
        sessions: Sessions::load(true),
        lease: None,
        timer: None,
        leaving: None,
        recheck_pending: false,
        save_pending: false,
        gone: false,
        confirmed_written: 0,
    };
    DELIVERY.with(|cell| *cell.borrow_mut() = Some(delivery));
    note_stored_confirmation();
    if let Err(why) = page_events::listen_lifecycle() {
        debug::error(&["cannot follow the page's lifecycle (events wait in storage for the next page): ", &why].concat());
    }
    adoption::claim_orphans();
}

/// Back from the back/forward cache (`persisted`), or shown after `pagehide` without leaving.
pub(crate) fn page_shown(persisted: bool) {
    with(|d| d.gone = false);
    if !persisted {
        return;
    }
    // Another page may have adopted our events meanwhile, so start over from storage instead of
    // trusting memory.
    with(|d| {
        // A new tab id: the old one's snapshot is then an orphan like any other.
        d.generation += 1;
        d.tab = random_hex(8);
        d.outbox = Outbox::new(policy());
        d.lease = None;
    });
    note_stored_confirmation();
    adoption::claim_orphans();
}

/// Another tab went away and released its lease (`key`): its events are ours to send now.
pub(crate) fn lease_released(key: &str) {
    if key.starts_with(LEASE_PREFIX) {
        adoption::claim_orphans();
    }
}

pub(crate) fn visibility_changed(hidden: bool) {
    if hidden {
        return page_hidden(false);
    }
    // Back in view: what left by an unconfirmed beacon while hidden goes again by fetch.
    with(|d| {
        if !d.gone && d.outbox.resume(now()) > 0 {
            d.pump();
        }
    });
}

/// Consent withdrawn: stop, and forget everything stored under our names (every tab's unsent
/// events, leases, sessions, the held goals and the loader's caches), whether delivery ran or not.
pub fn stop() {
    let stopped = DELIVERY.with(|cell| cell.try_borrow_mut().ok()?.take());
    if let Some((timer, _)) = stopped.and_then(|d| d.timer) {
        page_events::cancel(timer);
    }
    // Every key of ours starts so (outbox, leases, sessions, identity, held goals, caches).
    for key in storage::keys("splitbeam") {
        storage::remove(Area::Local, &key);
    }
}

/// Queues the exposures, (experiment, variant) pairs, of experiments not yet exposed in the
/// visitor's session: one pass (and one storage write) for a whole page's worth.
/// `at`: when the variant was shown, for one held from an earlier page (else now).
pub fn expose(visitor: &str, url: &str, at: Option<u64>, exposures: &[(String, String)]) {
    if exposures.is_empty() {
        return;
    }
    with(|d| {
        let session = d.sessions.touch(now(), true);
        let first = d.sessions.first_exposures(&session, exposures.iter().map(|(e, _)| e.as_str()), true);
        for ((experiment, variant), first) in exposures.iter().zip(first) {
            if first {
                let kind = EventKind::Exposure { experiment: experiment.clone(), variant: variant.clone() };
                d.queue(visitor, url, at, session.clone(), kind);
            }
        }
        d.pump();
    });
}

/// Queues a page view or goal event.
pub fn record(visitor: &str, url: &str, at: Option<u64>, kind: EventKind) {
    with(|d| {
        let session = d.sessions.touch(now(), true);
        d.queue(visitor, url, at, session, kind);
        d.pump();
    });
}

/// `splitbeam.flush()`, coming back online, or the page hiding: everything pending goes now.
pub fn flush(reason: FlushReason) {
    with(|d| {
        for send in d.outbox.flush_all(now(), reason) {
            d.send(send);
        }
        d.save();
        d.schedule();
    });
}

/// The page is going away (`pagehide`) or hidden. No beacon at all after a failure; otherwise
/// beacons, which core trusts only shortly after a 2xx (a beacon's `true` only means "queued"):
/// untrusted ones' events stay in storage for the next page load to send again. On pagehide the
/// lease is released so that page can adopt them at once.
pub(crate) fn page_hidden(leaving: bool) {
    with(|d| {
        if d.gone {
            return;
        }
        if d.healthy() {
            let reason = if leaving { FlushReason::PageHide } else { FlushReason::Hidden };
            for send in d.outbox.flush_all(now(), reason) {
                d.send(send);
            }
        }
        d.save();
        if leaving {
            storage::remove(Area::Local, &[LEASE_PREFIX, &d.tab].concat());
            d.lease = None;
            d.gone = true;
        } else {
            d.schedule();
        }
    });
}

/// Runs `then` (a redirect) once this page's events are on their way: beacons are queued at once;
/// a fetch (no beacon, or the beacon refused) is waited for, at most `LEAVE_WAIT_MS`.
pub fn before_leaving(then: Box<dyn FnOnce()>) {
    let mut then = Some(then);
    let waiting = with(|d| {
        if d.healthy() {
            for send in d.outbox.flush_all(now(), FlushReason::PageHide) {
                d.send(send);
            }
        }
        d.save();
        if d.in_flight() > 0 {
            d.leaving = then.take();
        }
        d.leaving.is_some()
    });
    if waiting == Some(true) {
        later(LEAVE_WAIT_MS, run_leaving);
    } else if let Some(then) = then {
        // Delivery not running (no collector, no consent) or nothing in flight: go now.
        then();
    }
}

/// The waiting redirect, if still waiting (run outside the borrow: it navigates).
fn run_leaving() {
    if let Some(then) = with(|d| d.leaving.take()).flatten() {
        then();
    }
}

fn on_timer() {
    with(|d| {
        d.timer = None;
        d.pump();
    });
}

fn on_fetch_result(generation: u32, batch_id: u64, reply: transport::Reply) {
    let leave = with(|d| {
        if d.generation != generation {
            return false;
        }
        let (outcome, status) = match reply {
            transport::Reply::Status(status, retry_after) => (Outcome::from_status(status, retry_after.as_deref().and_then(parse_retry_after)), status),
            transport::Reply::Unreadable => (Outcome::Unreadable, 0),
            transport::Reply::Opaque => (Outcome::Sent, 0),
            transport::Reply::Failed => (Outcome::NetworkError, 0),
        };
        let was_unreadable = d.outbox.unreadable_at();
        let settled = d.outbox.on_result(batch_id, outcome, now(), storage::random_u32());
        let unreadable = d.outbox.unreadable_at();
        if unreadable != was_unreadable {
            // Found unreadable (warn, remember for later pages), or readable again (forget).
            if unreadable > 0 {
                warn_unreadable(&d.collector);
                storage::store(UNREADABLE_KEY, &digits::unsigned(unreadable));
            } else {
                storage::remove(Area::Local, UNREADABLE_KEY);
            }
        }
        if d.outbox.failures() > 0 {
            // The collector failed: no other page of the site may trust a beacon on its word.
            if d.confirmed_written > 0 {
                d.confirmed_written = 0;
                storage::remove(Area::Local, CONFIRMED_KEY);
            }
        } else {
            let confirmed = d.outbox.confirmed_at();
            if confirmed >= d.confirmed_written.saturating_add(CONFIRMED_WRITE_MS) {
                d.confirmed_written = confirmed;
                storage::store(CONFIRMED_KEY, &digits::unsigned(confirmed));
            }
        }
        if !settled.rejected.is_empty() {
            debug::warn(&["the collector refused ", &digits::unsigned(settled.rejected.len() as u64), " events (HTTP ", &digits::unsigned(u64::from(status)), "); they are dropped"].concat());
        }
        d.pump();
        d.leaving.is_some() && d.in_flight() == 0
    });
    if leave == Some(true) {
        run_leaving();
    }
}

impl Delivery {
    /// Queues one event; the caller pumps once after a burst.
    /// `at`: when the event happened, if earlier than now (a goal held across an early close).
    fn queue(&mut self, visitor: &str, url: &str, at: Option<u64>, session: String, kind: EventKind) {
        let ts = at.unwrap_or_else(now);
        let event = Event { id: new_id(random_bytes(), ts), ts, visitor: visitor.to_string(), session, url: url.to_string(), kind };
        if let Err(err) = self.outbox.push(&event.id, event.to_json(&page::number), now()) {
            debug::warn(&err.message());
        }
    }

    /// The collector answered lately and the browser thinks it is online.
    fn healthy(&self) -> bool {
        self.outbox.failures() == 0 && page::online()
    }

    fn in_flight(&self) -> usize {
        self.outbox.in_flight_len()
    }

    /// Sends every due batch, saves soon, and sets the timer for the next wake-up.
    fn pump(&mut self) {
        while let Some(send) = self.outbox.poll(now()) {
            self.send(send);
        }
        self.save_soon();
        self.schedule();
    }

    /// Persists at the end of this burst of work (the page hiding saves at once, see page_hidden).
    fn save_soon(&mut self) {
        if !self.save_pending {
            self.save_pending = true;
            later(SAVE_DELAY_MS, || {
                with(|d| {
                    if d.save_pending {
                        d.save();
                    }
                });
            });
        }
    }

    fn send(&mut self, send: Send) {
        let mut send = Some(send);
        if let Some(beacon) = send.take_if(|s| s.transport == Transport::Beacon) {
            if transport::beacon(&self.collector, &beacon.body) {
                // Delivered only if the collector confirmed lately; else held for a resend.
                self.outbox.on_result(beacon.batch_id, Outcome::Queued, now(), 0);
                return;
            }
            send = self.outbox.beacon_refused(beacon.batch_id, now());
        }
        let Some(send) = send else { return };
        let (generation, batch_id) = (self.generation, send.batch_id);
        let blind = send.transport == Transport::Blind;
        if blind {
            // A page that starts with the collector remembered unreadable says so once too.
            warn_unreadable(&self.collector);
        }
        transport::fetch(&self.collector, &send.body, blind, move |reply| on_fetch_result(generation, batch_id, reply));
    }

    /// Writes the snapshot and renews the lease; an empty outbox leaves nothing behind.
    fn save(&mut self) {
        self.save_pending = false;
        let outbox_key = [OUTBOX_PREFIX, &self.tab].concat();
        let lease_key = [LEASE_PREFIX, &self.tab].concat();
        if self.outbox.is_empty() {
            storage::remove(Area::Local, &outbox_key);
            storage::remove(Area::Local, &lease_key);
            self.lease = None;
            return;
        }
        // After pagehide the lease stays released, whatever still saves (a late fetch answer),
        // and a snapshot the next page has already adopted (and removed) is not written back.
        if self.gone && storage::read(Area::Local, &outbox_key).is_none() {
            return;
        }
        let renew = !self.gone && self.lease.as_ref().is_none_or(|l| l.needs_renewal(now(), self.outbox.policy()));
        if renew {
            let lease = Lease::take(&self.tab, now(), self.outbox.policy());
            storage::store(&lease_key, &lease.encode());
            self.lease = Some(lease);
        }
        storage::store(&outbox_key, &self.outbox.snapshot());
    }

    /// One timer, at the earliest of the outbox's next wake-up and the lease renewal.
    fn schedule(&mut self) {
        let now = now();
        let mut wake = self.outbox.next_wakeup(now);
        if let Some(lease) = &self.lease {
            let renew = lease.until_ms.saturating_sub(self.outbox.policy().lease_ms / 2);
            wake = Some(wake.map_or(renew, |w| w.min(renew)));
        }
        match (wake, self.timer) {
            (Some(at), Some((_, due))) if due <= at => {}
            (wake, timer) => {
                if let Some((timer, _)) = timer {
                    page_events::cancel(timer);
                }
                self.timer = wake.map(|at| (later(at.saturating_sub(now), on_timer), at));
            }
        }
    }
}

/// Once per page: names the headers that would make delivery confirmed again.
fn warn_unreadable(collector: &str) {
    if UNREADABLE_WARNED.with(|w| w.replace(true)) {
        return;
    }
    let origin = page::origin();
    debug::warn(&[
        "the collector ", collector, " receives events but this page may not read its answers (no CORS headers), ",
        "so events are now sent without confirmation (each at most twice; lost if it fails). ",
        "For confirmed delivery, answer with \"Access-Control-Allow-Origin: ", &origin,
        "\" (and \"Access-Control-Expose-Headers: Retry-After\" to throttle with Retry-After).",
    ]
    .concat());
}


/// Reads the site's last confirmation (`CONFIRMED_KEY`) and unreadability (`UNREADABLE_KEY`) into the outbox.
fn note_stored_confirmation() {
    let unreadable = storage::read(Area::Local, UNREADABLE_KEY);
    if let Some(at) = unreadable.and_then(|text| digits::parse_unsigned(&text)).filter(|at| *at <= now()) {
        with(|d| d.outbox.note_unreadable(at));
    }
    let stored = storage::read(Area::Local, CONFIRMED_KEY);
    // Digits only: integer parsing, not float parsing (no float formatting code in the wasm).
    // One from the future (a clock set back) would never be overwritten: ignored.
    if let Some(at) = stored.and_then(|text| digits::parse_unsigned(&text)).filter(|at| *at <= now()) {
        with(|d| {
            d.outbox.note_confirmation(at);
            d.confirmed_written = d.confirmed_written.max(at);
        });
    }
}
