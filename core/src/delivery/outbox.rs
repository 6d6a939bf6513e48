//! The outbox: pending and in-flight events, which go out in which request and when, and what an
//! outcome does to them.

use std::fmt;

use super::policy::{Outcome, Policy, AUTOMATED};
use crate::digits::unsigned;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `navigator.sendBeacon`: survives the page being unloaded; `true` only means "queued"
    /// (`Outcome::Queued`), never that the collector has the events.
    Beacon,
    /// `fetch(…, {keepalive: true, body, headers: text/plain})`: the outcome comes back as a status.
    Fetch,
    /// `fetch(…, {mode: "no-cors", keepalive: true, body})` to a collector whose answers cannot be
    /// read (`Outcome::Unreadable`): the response is opaque, so it only tells "it arrived"
    /// (`Outcome::Sent`) from "it never left" (`Outcome::NetworkError`).
    Blind,
}

/// Why the shell asks to send everything now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushReason {
    /// `pagehide`: the page may be gone before a fetch answers.
    PageHide,
    /// `visibilitychange` to hidden: mobile browsers may kill the page without a pagehide.
    Hidden,
    /// `splitbeam.flush()` from the site's code: the page lives on, so an ordinary fetch.
    Manual,
}

impl FlushReason {
    pub fn transport(self) -> Transport {
        match self {
            FlushReason::PageHide | FlushReason::Hidden => Transport::Beacon,
            FlushReason::Manual => Transport::Fetch,
        }
    }
}

/// A request the shell must make, then report with `on_result(batch_id, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub batch_id: u64,
    /// The whole batch, `{"v":1,"sent_at":…,"events":[…]}`, at most `max_body_bytes` bytes.
    pub body: String,
    pub transport: Transport,
    pub event_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The event alone would not fit in a request. The shell logs this once; the event is lost.
    TooLarge { id: String, bytes: usize, limit: usize },
    /// An event with this id is already queued: pushing it again would be a double count.
    Duplicate { id: String },
}

impl PushError {
    /// The console line; written without `format!` (see `digits`).
    pub fn message(&self) -> String {
        match self {
            PushError::TooLarge { id, bytes, limit } => [
                "event ",
                id,
                " is ",
                &unsigned(*bytes as u64),
                " bytes, more than the ",
                &unsigned(*limit as u64),
                " bytes one request may carry; it was not queued",
            ]
            .concat(),
            PushError::Duplicate { id } => ["event ", id, " is already queued"].concat(),
        }
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PushError {}

/// What an outcome settled for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Acknowledged by the collector: gone from the outbox.
    pub delivered: Vec<String>,
    /// Refused by the collector (4xx): gone from the outbox, never retried.
    pub rejected: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) id: String,
    pub(super) json: String,
    pub(super) queued_at: u64,
    pub(super) state: State,
    /// Adopted from a stored snapshot or made pending by `resume`: it may have left already by an
    /// unconfirmed beacon, so it never goes by an untrusted beacon again (a fetch carries it, whose
    /// answer settles it): no event goes out more than twice to a collector that never confirms.
    pub(super) maybe_sent: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum State {
    /// Waiting for the next request.
    Pending,
    /// Travelling in this batch.
    InFlight(u64),
    /// Left in a beacon nobody confirmed. Held, not resent on this page while it hides or goes
    /// (that would be a second beacon with the same doubt). Stored like any held event, so the
    /// next page load restores it as pending; `resume`, when this page is shown again, does the
    /// same here. Either way a fetch carries it next, and its status settles it.
    Unconfirmed,
}

#[derive(Debug, Clone)]
pub(super) struct InFlight {
    pub(super) batch_id: u64,
    pub(super) event_ids: Vec<String>,
    pub(super) sent_at: u64,
    pub(super) transport: Transport,
    /// Drop count carried by this batch; returned to the unreported count if it fails.
    pub(super) dropped: u64,
    /// Timed out: its events are pending again, but a late Ok still acknowledges them.
    pub(super) expired: bool,
    /// A beacon sent while beacons were trusted: `Queued` delivers it. Decided when it is built,
    /// with the events it was allowed to carry, not when its outcome comes back.
    pub(super) trusted: bool,
}

/// Timed-out batches remembered for a late outcome; older ones are forgotten.
const MAX_EXPIRED_REMEMBERED: usize = 16;

/// Pending and in-flight events, the backoff state and the drop count.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(super) policy: Policy,
    /// Oldest first. A `Vec`, not a `VecDeque`: events are only appended, and removed by
    /// `retain` or at a found index (a `VecDeque`'s ring cost the whole snippet 1.1 KB gzip).
    pub(super) entries: Vec<Entry>,
    pub(super) in_flight: Vec<InFlight>,
    pub(super) next_batch_id: u64,
    pub(super) stored_bytes: usize,
    /// Dropped from the bounded queue and not yet reported in a delivered batch.
    pub(super) dropped_unreported: u64,
    /// Dropped by this instance, ever (for the shell's debug log and for tests).
    pub(super) dropped_total: u64,
    /// Consecutive failed sends; 0 after any success.
    pub(super) failures: u32,
    /// No timed send before this instant (our backoff, or the server's Retry-After).
    pub(super) retry_at: u64,
    /// No send at all before this instant, not even on page hide: the server asked for it.
    pub(super) hold_until: u64,
    /// When the collector last answered a fetch with a 2xx (0: never). Beacons are trusted
    /// only shortly after it (`Policy::beacon_trust_ms`).
    pub(super) confirmed_at: u64,
    /// Events made pending again on this page after an unconfirmed beacon (sent at least twice).
    pub(super) resent_total: u64,
    /// When the collector was last found unreadable (`Outcome::Unreadable`; 0: never, or readable
    /// since). Within `Policy::unreadable_memory_ms` of it, delivery is fire-and-forget.
    pub(super) unreadable_at: u64,
    /// At most this many events per request after a 413 (halved at each; `max_batch_events` before).
    pub(super) batch_cap: usize,
}

impl Outbox {
    pub fn new(policy: Policy) -> Outbox {
        Outbox {
            policy,
            entries: Vec::new(),
            in_flight: Vec::new(),
            next_batch_id: 1,
            stored_bytes: 0,
            dropped_unreported: 0,
            dropped_total: 0,
            failures: 0,
            retry_at: 0,
            hold_until: 0,
            confirmed_at: 0,
            resent_total: 0,
            unreadable_at: 0,
            batch_cap: usize::MAX,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Queues one encoded event (`Event::to_json`). Past the queue bounds the oldest pending
    /// events are dropped and counted.
    pub fn push(&mut self, id: &str, event_json: String, now: u64) -> Result<(), PushError> {
        let limit = self.policy.event_limit();
        if event_json.len() > limit {
            return Err(PushError::TooLarge { id: id.to_string(), bytes: event_json.len(), limit });
        }
        if self.contains(id) {
            return Err(PushError::Duplicate { id: id.to_string() });
        }
        self.stored_bytes += event_json.len();
        self.entries.push(Entry { id: id.to_string(), json: event_json, queued_at: now, state: State::Pending, maybe_sent: false });
        self.enforce_bounds();
        Ok(())
    }

    /// The next timed request, if one is due: `max_batch_events` pending, or the oldest pending
    /// event waited `max_delay_ms`, and no backoff and fewer than `max_in_flight` requests out.
    /// Call it until it returns `None`, and again at `next_wakeup`.
    pub fn poll(&mut self, now: u64) -> Option<Send> {
        self.expire_in_flight(now);
        if now < self.retry_at || self.active_in_flight() >= self.policy.max_in_flight {
            return None;
        }
        let (count, oldest) = self.pending_summary()?;
        if count >= self.policy.max_batch_events || now >= oldest.saturating_add(self.policy.max_delay_ms) {
            return self.build(now, self.fetch_transport(now), None);
        }
        None
    }

    /// How a fetch goes: readable (`Fetch`) unless the collector was lately found unreadable.
    pub(super) fn fetch_transport(&self, now: u64) -> Transport {
        if self.is_unreadable(now) {
            Transport::Blind
        } else {
            Transport::Fetch
        }
    }

    /// Whether the collector is treated as unreadable now: found so within `unreadable_memory_ms`.
    pub fn is_unreadable(&self, now: u64) -> bool {
        self.unreadable_at > 0 && now.checked_sub(self.unreadable_at).is_some_and(|age| age < self.policy.unreadable_memory_ms)
    }

    /// When this or another page of the site found the collector unreadable (0: never). The shell
    /// keeps the latest in storage, so later pages go fire-and-forget from their first batch.
    pub fn unreadable_at(&self) -> u64 {
        self.unreadable_at
    }

    /// Another page found the collector unreadable at `at` (see `unreadable_at`).
    pub fn note_unreadable(&mut self, at: u64) {
        self.unreadable_at = self.unreadable_at.max(at);
    }

    /// Every pending event, now, in as many requests as the size limit needs. Our own backoff is
    /// ignored (this may be the last chance before the page goes), a server's Retry-After is not.
    pub fn flush_all(&mut self, now: u64, reason: FlushReason) -> Vec<Send> {
        self.expire_in_flight(now);
        let mut sends = Vec::new();
        if now < self.hold_until {
            return sends;
        }
        // Each request takes at least one pending event, so this bound is never the one that
        // stops the loop; it is there so that a bug can never hang the page while it unloads.
        for _ in 0..self.entries.len() {
            let transport = match reason.transport() {
                Transport::Fetch => self.fetch_transport(now),
                other => other,
            };
            match self.build(now, transport, None) {
                Some(send) => sends.push(send),
                None => break,
            }
        }
        sends
    }

    /// sendBeacon returned false (quota, size): the same events as a keepalive fetch instead.
    pub fn beacon_refused(&mut self, batch_id: u64, now: u64) -> Option<Send> {
        self.expire_in_flight(now);
        let index = self.in_flight.iter().position(|b| b.batch_id == batch_id && b.transport == Transport::Beacon && !b.expired)?;
        let refused = self.in_flight.remove(index);
        self.dropped_unreported += refused.dropped;
        for entry in self.entries.iter_mut().filter(|e| matches!(e.state, State::InFlight(b) if b == batch_id)) {
            entry.state = State::Pending;
        }
        let transport = self.fetch_transport(now);
        self.build(now, transport, Some(&refused.event_ids))
    }

    /// Applies a request's outcome. `random` (any u32 from the shell) jitters the backoff.
    /// Outcomes of unknown batches (already settled, or from another instance) change nothing.
    pub fn on_result(&mut self, batch_id: u64, outcome: Outcome, now: u64, random: u32) -> Settled {
        // A batch past its timeout has released its events first, whatever the outcome says.
        self.expire_in_flight(now);
        let Some(index) = self.in_flight.iter().position(|b| b.batch_id == batch_id) else {
            return Settled::default();
        };
        let batch = self.in_flight.remove(index);
        let mut settled = Settled::default();
        match outcome {
            Outcome::Ok if batch.transport == Transport::Blind => {
                // A readable status from a no-cors request cannot happen; read it as `Sent`.
                settled.delivered = self.remove_ids(&batch.event_ids);
            }
            Outcome::Ok => {
                // Every event of the batch, even if it timed out and is travelling again elsewhere:
                // the collector has it now, and the later answer for the other batch finds nothing.
                settled.delivered = self.remove_ids(&batch.event_ids);
                self.failures = 0;
                self.retry_at = 0;
                self.hold_until = 0;
                self.confirmed_at = self.confirmed_at.max(now);
                // The collector answers readably (again): confirmed delivery from now on.
                self.unreadable_at = 0;
            }
            Outcome::Unreadable if self.confirmed_at > 0 => {
                // This collector answered readably before: an unreadable answer now is most likely
                // an error page without CORS headers (nginx `add_header` without `always`), so
                // the batch is retried, not presumed stored.
                self.release(batch_id, batch.dropped, now);
                self.back_off(now, random, None);
            }
            Outcome::Unreadable | Outcome::Sent => {
                // It arrived (the probe or the opaque answer says the collector is up); nothing
                // more will ever be known, so a resend could only duplicate it.
                settled.delivered = self.remove_ids(&batch.event_ids);
                self.failures = 0;
                self.retry_at = 0;
                if outcome == Outcome::Unreadable {
                    self.unreadable_at = self.unreadable_at.max(now).max(1);
                }
            }
            Outcome::TooLarge if batch.event_ids.len() > 1 => {
                // Smaller batches, at once: the collector answered, it is not failing.
                self.batch_cap = (batch.event_ids.len() / 2).max(1);
                self.release(batch_id, batch.dropped, now);
            }
            Outcome::TooLarge => {
                settled.rejected = self.remove_ids(&batch.event_ids);
                self.dropped_unreported += batch.dropped;
            }
            Outcome::Queued if batch.trusted => settled.delivered = self.remove_ids(&batch.event_ids),
            Outcome::Queued => {
                // If the beacon arrives, its drop count is reported twice; if it does not, once:
                // over-reporting a loss beats hiding one.
                self.dropped_unreported += batch.dropped;
                for entry in self.entries.iter_mut().filter(|e| matches!(e.state, State::InFlight(b) if b == batch_id)) {
                    entry.state = State::Unconfirmed;
                }
            }
            Outcome::Reject => {
                settled.rejected = self.remove_ids(&batch.event_ids);
                self.dropped_unreported += batch.dropped;
            }
            Outcome::Retry { retry_after_ms } => {
                self.release(batch_id, batch.dropped, now);
                self.back_off(now, random, retry_after_ms);
            }
            Outcome::NetworkError => {
                self.release(batch_id, batch.dropped, now);
                self.back_off(now, random, None);
            }
        }
        self.forget_settled_expired();
        settled
    }

    /// Whether a queued beacon counts as delivered now: the collector answered a fetch within
    /// `beacon_trust_ms` and nothing failed since. A confirmation "from the future" (a clock set
    /// back) is no confirmation.
    pub fn trusts_beacons(&self, now: u64) -> bool {
        // An unreadable collector will never confirm: its beacons are fire-and-forget.
        if self.failures == 0 && self.is_unreadable(now) {
            return true;
        }
        self.failures == 0 && self.confirmed_at > 0 && now.checked_sub(self.confirmed_at).is_some_and(|age| age <= self.policy.beacon_trust_ms)
    }

    /// When the collector last answered with a 2xx, as far as this outbox knows (0: never).
    pub fn confirmed_at(&self) -> u64 {
        self.confirmed_at
    }

    /// A 2xx that another page or tab of the site saw at `at` (the shell keeps the latest in
    /// storage): an emptied outbox leaves no snapshot behind, and without this every new page
    /// would distrust its beacons until its own first fetch came back.
    pub fn note_confirmation(&mut self, at: u64) {
        self.confirmed_at = self.confirmed_at.max(at);
    }

    /// The page is shown again and lives on: events held after an unconfirmed beacon become
    /// pending and due at once, so the next fetch carries them and its status settles them.
    /// Returns how many (each is then sent at least twice).
    pub fn resume(&mut self, now: u64) -> usize {
        let due = now.saturating_sub(self.policy.max_delay_ms);
        let mut resent = 0;
        for entry in self.entries.iter_mut().filter(|e| matches!(e.state, State::Unconfirmed)) {
            entry.state = State::Pending;
            entry.queued_at = entry.queued_at.min(due);
            entry.maybe_sent = true;
            resent += 1;
        }
        self.resent_total += resent as u64;
        resent
    }

    /// Events `resume` made pending again, ever. Those restored on a later page load are not
    /// counted: a marker per event in the snapshot cost about 190 bytes of gzipped wasm.
    pub fn resent_total(&self) -> u64 {
        self.resent_total
    }

    /// When the shell should call `poll` next if nothing else happens; `None` when idle.
    pub fn next_wakeup(&self, now: u64) -> Option<u64> {
        let mut wake: Option<u64> = None;
        let mut consider = |t: u64| wake = Some(wake.map_or(t, |w| w.min(t)));
        for batch in self.in_flight.iter().filter(|b| !b.expired) {
            consider(batch.sent_at.saturating_add(self.policy.in_flight_timeout_ms));
        }
        if let Some((count, oldest)) = self.pending_summary() {
            if self.active_in_flight() < self.policy.max_in_flight {
                let due = if count >= self.policy.max_batch_events { now } else { oldest.saturating_add(self.policy.max_delay_ms) };
                consider(due.max(self.retry_at));
            }
        }
        wake
    }

    /// Events held (pending, in flight, or unconfirmed after a beacon).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn pending_len(&self) -> usize {
        self.count(|state| matches!(state, State::Pending))
    }

    /// Events travelling in a request that may still get an outcome.
    pub fn in_flight_len(&self) -> usize {
        self.count(|state| matches!(state, State::InFlight(_)))
    }

    /// Events held after a beacon nobody confirmed (see `Outcome::Queued`).
    pub fn unconfirmed_len(&self) -> usize {
        self.count(|state| matches!(state, State::Unconfirmed))
    }

    pub(super) fn count(&self, wanted: impl Fn(State) -> bool) -> usize {
        self.entries.iter().filter(|e| wanted(e.state)).count()
    }

    /// Ids of the events held, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.id.as_str())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// Bytes of encoded events held.
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }

    /// Drops not yet reported to the collector (including those riding in unanswered requests).
    pub fn dropped_unreported(&self) -> u64 {
        self.dropped_unreported + self.in_flight.iter().map(|b| b.dropped).sum::<u64>()
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// No timed send before this instant (0 when not backing off).
    pub fn retry_at(&self) -> u64 {
        self.retry_at
    }

    pub(super) fn active_in_flight(&self) -> usize {
        self.in_flight.iter().filter(|b| !b.expired).count()
    }

    /// (number of pending events, when the oldest was queued).
    pub(super) fn pending_summary(&self) -> Option<(usize, u64)> {
        let mut pending = self.entries.iter().filter(|e| matches!(e.state, State::Pending));
        let first = pending.next()?;
        let mut count = 1;
        let mut oldest = first.queued_at;
        for entry in pending {
            count += 1;
            oldest = oldest.min(entry.queued_at);
        }
        Some((count, oldest))
    }

    /// One request from pending events, oldest first (or, with `only`, from those ids), within
    /// the count and byte limits.
    pub(super) fn build(&mut self, now: u64, transport: Transport, only: Option<&[String]>) -> Option<Send> {
        let dropped = std::mem::take(&mut self.dropped_unreported);
        let mut body = String::with_capacity(1024);
        body.push_str("{\"v\":1,\"sent_at\":");
        // `digits`, not `to_string()`: integer `Display` brings `core::fmt` into the snippet.
        crate::digits::push_unsigned(&mut body, now);
        body.push_str(",\"events\":[");
        let mut suffix = String::from("]");
        if dropped > 0 {
            suffix.push_str(",\"dropped\":");
            crate::digits::push_unsigned(&mut suffix, dropped as u64);
        }
        if self.policy.automated {
            suffix.push_str(AUTOMATED);
        }
        suffix.push('}');

        let batch_id = self.next_batch_id;
        let mut event_ids = Vec::new();
        let untrusted_beacon = transport == Transport::Beacon && !self.trusts_beacons(now);
        for entry in self.entries.iter_mut() {
            let wanted = match only {
                Some(ids) => ids.contains(&entry.id),
                None => matches!(entry.state, State::Pending) && !(untrusted_beacon && entry.maybe_sent),
            };
            if !wanted {
                continue;
            }
            let comma = usize::from(!event_ids.is_empty());
            if event_ids.len() >= self.policy.max_batch_events.min(self.batch_cap)
                || body.len() + comma + entry.json.len() + suffix.len() > self.policy.max_body_bytes
            {
                break;
            }
            if comma == 1 {
                body.push(',');
            }
            body.push_str(&entry.json);
            entry.state = State::InFlight(batch_id);
            event_ids.push(entry.id.clone());
        }
        if event_ids.is_empty() {
            self.dropped_unreported = dropped;
            return None;
        }
        body.push_str(&suffix);
        self.next_batch_id += 1;
        let trusted = transport == Transport::Beacon && !untrusted_beacon;
        self.in_flight.push(InFlight { batch_id, event_ids: event_ids.clone(), sent_at: now, transport, dropped, expired: false, trusted });
        Some(Send { batch_id, body, transport, event_ids })
    }

    /// The batch's events that are still travelling with it become pending again, and due at
    /// once: the backoff, not the batching delay, decides when they go next.
    pub(super) fn release(&mut self, batch_id: u64, dropped: u64, now: u64) {
        self.dropped_unreported += dropped;
        let due = now.saturating_sub(self.policy.max_delay_ms);
        for entry in self.entries.iter_mut().filter(|e| matches!(e.state, State::InFlight(b) if b == batch_id)) {
            entry.state = State::Pending;
            entry.queued_at = entry.queued_at.min(due);
        }
    }

    pub(super) fn back_off(&mut self, now: u64, random: u32, retry_after_ms: Option<u64>) {
        self.failures = self.failures.saturating_add(1);
        let mut wait = self.policy.backoff_ms(self.failures, random);
        if let Some(server_wait) = retry_after_ms {
            let server_wait = server_wait.min(self.policy.max_retry_after_ms);
            wait = wait.max(server_wait);
            self.hold_until = self.hold_until.max(now.saturating_add(server_wait));
        }
        self.retry_at = self.retry_at.max(now.saturating_add(wait));
    }

    pub(super) fn expire_in_flight(&mut self, now: u64) {
        let timeout = self.policy.in_flight_timeout_ms;
        let mut expired = Vec::new();
        for batch in self.in_flight.iter_mut().filter(|b| !b.expired && now >= b.sent_at.saturating_add(timeout)) {
            batch.expired = true;
            expired.push((batch.batch_id, std::mem::take(&mut batch.dropped)));
        }
        for (batch_id, dropped) in expired {
            self.release(batch_id, dropped, now);
        }
        self.forget_settled_expired();
    }

    /// Expired batches are kept only while a late Ok could still acknowledge something.
    pub(super) fn forget_settled_expired(&mut self) {
        let entries = &self.entries;
        self.in_flight.retain(|b| !b.expired || b.event_ids.iter().any(|id| entries.iter().any(|e| &e.id == id)));
        let expired = self.in_flight.iter().filter(|b| b.expired).count();
        let mut excess = expired.saturating_sub(MAX_EXPIRED_REMEMBERED);
        self.in_flight.retain(|b| {
            let forget = b.expired && excess > 0;
            excess -= usize::from(forget);
            !forget
        });
    }

    pub(super) fn remove_ids(&mut self, ids: &[String]) -> Vec<String> {
        let mut removed = Vec::new();
        let mut freed = 0;
        self.entries.retain(|e| {
            let hit = ids.contains(&e.id);
            if hit {
                removed.push(e.id.clone());
                freed += e.json.len();
            }
            !hit
        });
        self.stored_bytes -= freed;
        removed
    }

    /// Drops events until the queue is within its bounds, each drop counted: those that left by an
    /// unconfirmed beacon first, then the oldest pending, then the oldest in flight.
    pub(super) fn enforce_bounds(&mut self) {
        while self.entries.len() > self.policy.max_stored_events || self.stored_bytes > self.policy.max_stored_bytes {
            // Events that left by an unconfirmed beacon first (most likely delivered), then the
            // oldest pending; still counted as dropped either way (a loss is never hidden).
            let index = (self.entries.iter().position(|e| matches!(e.state, State::Unconfirmed)))
                .or_else(|| self.entries.iter().position(|e| matches!(e.state, State::Pending)))
                .unwrap_or(0);
            if index >= self.entries.len() {
                break;
            }
            let entry = self.entries.remove(index);
            self.stored_bytes -= entry.json.len();
            self.dropped_unreported += 1;
            self.dropped_total += 1;
        }
    }
}
