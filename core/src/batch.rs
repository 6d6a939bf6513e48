//! The outbox: which pending events go out in which request and when, what an HTTP outcome does
//! to them, how they persist across page loads, and which tab may send. Pure: the shell does the I/O.

use std::collections::VecDeque;
use std::fmt;

use crate::json::{self, Value};

/// Every number the delivery policy uses, in one place so tests can shrink them.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Send as soon as this many events are pending.
    pub max_batch_events: usize,
    /// Send at the latest this long after the oldest pending event was queued.
    pub max_delay_ms: u64,
    /// A request body never exceeds this, so that sendBeacon and keepalive fetch (64 KiB) accept it.
    pub max_body_bytes: usize,
    /// A single event larger than this is refused at `push`.
    pub max_event_bytes: usize,
    /// The queue (in memory and in localStorage) holds at most this many events...
    pub max_stored_events: usize,
    /// ...and at most this many bytes of encoded events; past either, the oldest are dropped.
    pub max_stored_bytes: usize,
    /// Exponential backoff after a failure: `base * factor^(failures-1)`, capped, full jitter.
    pub backoff_base_ms: u64,
    pub backoff_factor: u64,
    pub backoff_cap_ms: u64,
    /// A server's Retry-After is honoured up to this long (a misconfigured header cannot park events forever).
    pub max_retry_after_ms: u64,
    /// A request without an outcome after this long is presumed lost; its events become pending again.
    pub in_flight_timeout_ms: u64,
    /// At most this many timed sends (`poll`) at once; flushes on page hide ignore it.
    pub max_in_flight: usize,
    /// How long a cross-tab sending lease lasts without renewal.
    pub lease_ms: u64,
    /// A beacon counts as delivered only if the collector answered a fetch with a 2xx this
    /// recently (and nothing failed since): sendBeacon's `true` means "queued by the browser",
    /// never "received". Longer trusts more beacons to a collector that may have gone down since;
    /// shorter sends more events twice (the collector keeps each id once). Five minutes: a page
    /// that lives over 2 s confirms by its own timed fetch, so trust lapses mostly for a visitor's
    /// first page and for pages read a long time, and a collector that went down within five
    /// minutes of answering is the rarer case.
    pub beacon_trust_ms: u64,
    /// A collector found unreadable (it stores POSTs but sends no CORS headers) is sent to
    /// fire-and-forget for this long, on every page of the site, before a readable fetch tries it
    /// again: a fixed collector is confirmed again within this time, and an unreadable one costs one
    /// doubtful batch (and one browser CORS error) per period instead of per page.
    pub unreadable_memory_ms: u64,
    /// The browser is automated (`navigator.webdriver`): every batch says `"automated":true`, so
    /// the collector keeps it out of results as a bot's.
    pub automated: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_batch_events: 20,
            max_delay_ms: 2_000,
            max_body_bytes: 60 * 1024,
            max_event_bytes: 32 * 1024,
            max_stored_events: 500,
            max_stored_bytes: 256 * 1024,
            backoff_base_ms: 1_000,
            backoff_factor: 2,
            backoff_cap_ms: 5 * 60 * 1000,
            max_retry_after_ms: 24 * 60 * 60 * 1000,
            in_flight_timeout_ms: 30_000,
            max_in_flight: 2,
            lease_ms: 5_000,
            beacon_trust_ms: 5 * 60 * 1000,
            unreadable_memory_ms: 24 * 60 * 60 * 1000,
            automated: false,
        }
    }
}

/// The longest batch envelope: `{"v":1,"sent_at":<u64>,"events":[` … `],"dropped":<u64>,"automated":true}`.
const ENVELOPE_MAX: usize = r#"{"v":1,"sent_at":"#.len()
    + 20
    + r#","events":["#.len()
    + "]".len()
    + r#","dropped":"#.len()
    + 20
    + AUTOMATED.len()
    + "}".len();
const AUTOMATED: &str = r#","automated":true"#;

impl Policy {
    /// The largest event `push` accepts: it must fit in a request on its own.
    pub fn event_limit(&self) -> usize {
        self.max_event_bytes.min(self.max_body_bytes.saturating_sub(ENVELOPE_MAX))
    }

    /// The upper bound of the jittered delay after `failures` consecutive failures.
    pub fn backoff_ceiling_ms(&self, failures: u32) -> u64 {
        let mut ceiling = self.backoff_base_ms;
        for _ in 1..failures.min(64) {
            ceiling = ceiling.saturating_mul(self.backoff_factor);
        }
        ceiling.min(self.backoff_cap_ms)
    }

    /// Full jitter: uniform in `[0, ceiling]`, drawn from a random u32 the shell supplies.
    pub fn backoff_ms(&self, failures: u32, random: u32) -> u64 {
        let ceiling = self.backoff_ceiling_ms(failures);
        ((u128::from(random) * (u128::from(ceiling) + 1)) >> 32) as u64
    }
}

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

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the collector has the events, and it answers (see `Policy::beacon_trust_ms`).
    Ok,
    /// sendBeacon returned true: the browser took the batch, and nobody will tell whether it
    /// arrived. Delivered if the collector confirmed lately; otherwise the events stay held as
    /// unconfirmed and are sent again by a later page load (`merge`) or this page's return (`resume`).
    Queued,
    /// 408, 425, 429, 5xx: try again later, never before `retry_after_ms`.
    Retry { retry_after_ms: Option<u64> },
    /// Any other 4xx: the collector will never accept this batch; drop it, never retry.
    Reject,
    /// The request never left or got no answer (offline, DNS, refused; for `Fetch`, also the
    /// shell's no-cors probe failed): try again with backoff.
    NetworkError,
    /// A `Fetch` failed, but the shell's no-cors probe right after it was answered: the collector
    /// is up and stores what it gets, yet the page may not read its answers (no CORS headers).
    /// The batch counts as delivered (sent once), and from now on delivery is fire-and-forget
    /// (`Transport::Blind`, and beacons trusted): no confirmation will ever come to retry on.
    Unreadable,
    /// A `Transport::Blind` fetch got its opaque answer: the collector has the batch, as far as
    /// anyone can tell.
    Sent,
    /// 413: the batch is too large for this collector. Batches of several events are split (the
    /// events go again in batches of half the size); a single event is dropped like a `Reject`.
    TooLarge,
}

impl Outcome {
    /// Maps an HTTP status (0 for an opaque or failed response) to what the outbox does with it.
    pub fn from_status(status: u16, retry_after_ms: Option<u64>) -> Outcome {
        match status {
            200..=299 => Outcome::Ok,
            408 | 425 | 429 | 500..=599 => Outcome::Retry { retry_after_ms },
            413 => Outcome::TooLarge,
            400..=499 => Outcome::Reject,
            _ => Outcome::NetworkError,
        }
    }
}

/// Reads a `Retry-After` header in its delta-seconds form. HTTP dates give `None` (plain backoff
/// then applies): parsing them would cost wasm bytes for a form collectors rarely send.
pub fn parse_retry_after(header: &str) -> Option<u64> {
    let text = header.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: only overflow can fail, and an absurd value means "as long as allowed".
    Some(text.parse::<u64>().map_or(u64::MAX, |seconds| seconds.saturating_mul(1000)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The event alone would not fit in a request. The shell logs this once; the event is lost.
    TooLarge { id: String, bytes: usize, limit: usize },
    /// An event with this id is already queued: pushing it again would be a double count.
    Duplicate { id: String },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::TooLarge { id, bytes, limit } => {
                write!(f, "event {id} is {bytes} bytes, more than the {limit} bytes one request may carry; it was not queued")
            }
            PushError::Duplicate { id } => write!(f, "event {id} is already queued"),
        }
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

/// What a restore or merge found in a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Events taken into the outbox.
    pub restored: usize,
    /// Events lost: unreadable entries, or past the queue bounds (counted in the next batch's `dropped`).
    pub dropped: u64,
    /// Why some or all of the snapshot was ignored, for the debug log.
    pub problem: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    json: String,
    queued_at: u64,
    state: State,
    /// Adopted from a stored snapshot or made pending by `resume`: it may have left already by an
    /// unconfirmed beacon, so it never goes by an untrusted beacon again (a fetch carries it, whose
    /// answer settles it): no event goes out more than twice to a collector that never confirms.
    maybe_sent: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
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
struct InFlight {
    batch_id: u64,
    event_ids: Vec<String>,
    sent_at: u64,
    transport: Transport,
    /// Drop count carried by this batch; returned to the unreported count if it fails.
    dropped: u64,
    /// Timed out: its events are pending again, but a late Ok still acknowledges them.
    expired: bool,
}

/// Timed-out batches remembered for a late outcome; older ones are forgotten.
const MAX_EXPIRED_REMEMBERED: usize = 16;

/// Pending and in-flight events, the backoff state and the drop count.
#[derive(Debug, Clone)]
pub struct Outbox {
    policy: Policy,
    entries: VecDeque<Entry>,
    in_flight: Vec<InFlight>,
    next_batch_id: u64,
    stored_bytes: usize,
    /// Dropped from the bounded queue and not yet reported in a delivered batch.
    dropped_unreported: u64,
    /// Dropped by this instance, ever (for the shell's debug log and for tests).
    dropped_total: u64,
    /// Consecutive failed sends; 0 after any success.
    failures: u32,
    /// No timed send before this instant (our backoff, or the server's Retry-After).
    retry_at: u64,
    /// No send at all before this instant, not even on page hide: the server asked for it.
    hold_until: u64,
    /// When the collector last answered a fetch with a 2xx (0: never). Beacons are trusted
    /// only shortly after it (`Policy::beacon_trust_ms`).
    confirmed_at: u64,
    /// Events made pending again on this page after an unconfirmed beacon (sent at least twice).
    resent_total: u64,
    /// When the collector was last found unreadable (`Outcome::Unreadable`; 0: never, or readable
    /// since). Within `Policy::unreadable_memory_ms` of it, delivery is fire-and-forget.
    unreadable_at: u64,
    /// At most this many events per request after a 413 (halved at each; `max_batch_events` before).
    batch_cap: usize,
}

impl Outbox {
    pub fn new(policy: Policy) -> Outbox {
        Outbox {
            policy,
            entries: VecDeque::new(),
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
        self.entries.push_back(Entry { id: id.to_string(), json: event_json, queued_at: now, state: State::Pending, maybe_sent: false });
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
    fn fetch_transport(&self, now: u64) -> Transport {
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
            Outcome::Queued if self.trusts_beacons(now) => settled.delivered = self.remove_ids(&batch.event_ids),
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

    fn count(&self, wanted: impl Fn(State) -> bool) -> usize {
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

    /// For localStorage: every event not yet acknowledged (in-flight ones and those left in an
    /// unconfirmed beacon too: the next page load sends them again), the unreported drop count,
    /// the backoff state and the last confirmation (a field older snippets ignore).
    /// `{"v":1,"dropped":N,"failures":N,"retry_at":ms,"hold_until":ms,"confirmed_at":ms,"events":[["id","json"],…]}`
    pub fn snapshot(&self) -> String {
        let mut out = String::with_capacity(self.stored_bytes + self.stored_bytes / 4 + 128);
        out.push_str("{\"v\":1,\"dropped\":");
        out.push_str(&self.dropped_unreported().to_string());
        out.push_str(",\"failures\":");
        out.push_str(&self.failures.to_string());
        out.push_str(",\"retry_at\":");
        out.push_str(&self.retry_at.to_string());
        out.push_str(",\"hold_until\":");
        out.push_str(&self.hold_until.to_string());
        out.push_str(",\"confirmed_at\":");
        out.push_str(&self.confirmed_at.to_string());
        out.push_str(",\"events\":[");
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            json::write_str(&mut out, &entry.id);
            out.push(',');
            json::write_str(&mut out, &entry.json);
            out.push(']');
        }
        out.push_str("]}");
        out
    }

    /// An outbox from a parsed snapshot (the browser parses with its own `JSON.parse`, so core's
    /// text parser stays out of the wasm). Anything unreadable restores as empty (or without the
    /// bad entries) and says why; restored events are due at once.
    pub fn restore_value(policy: Policy, snapshot: &Value, now: u64) -> (Outbox, RestoreReport) {
        let mut outbox = Outbox::new(policy);
        let report = outbox.merge_value(snapshot, now);
        (outbox, report)
    }

    /// Adopts the events of another snapshot (an earlier page load, a closed tab) that this
    /// outbox does not hold yet, with their drop count, the stricter backoff and the later
    /// confirmation. Every restored event is pending, those an unconfirmed beacon carried too:
    /// this is the later page load their doubt was held for.
    pub fn merge_value(&mut self, root: &Value, now: u64) -> RestoreReport {
        let mut report = RestoreReport::default();
        if root.get("v").and_then(Value::as_f64) != Some(1.0) {
            report.problem = Some("stored outbox ignored: not a version 1 outbox".to_string());
            return report;
        }
        let Some(stored) = root.get("events").and_then(Value::as_array) else {
            report.problem = Some("stored outbox ignored: no \"events\" array".to_string());
            return report;
        };
        let limit = self.policy.event_limit();
        let mut unreadable = 0u64;
        let mut too_large = 0u64;
        for item in stored {
            let (id, event_json) = match item.as_array() {
                Some([Value::String(id), Value::String(event_json)]) if !id.is_empty() && looks_like_object(event_json) => (id, event_json),
                _ => {
                    unreadable += 1;
                    continue;
                }
            };
            if event_json.len() > limit {
                too_large += 1;
            } else if !self.contains(id) {
                self.stored_bytes += event_json.len();
                // Overdue on arrival: restored events go out with the first poll.
                let queued_at = now.saturating_sub(self.policy.max_delay_ms);
                self.entries.push_back(Entry { id: id.clone(), json: event_json.clone(), queued_at, state: State::Pending, maybe_sent: true });
                report.restored += 1;
            }
        }
        let lost = unreadable + too_large;
        self.dropped_unreported += lost + read_count(root, "dropped");
        self.dropped_total += lost;
        // A clock that went backwards must not park the events: clamp how far ahead we wait.
        let horizon = now.saturating_add(self.policy.backoff_cap_ms.max(self.policy.max_retry_after_ms));
        self.failures = self.failures.max(read_count(root, "failures").min(64) as u32);
        self.retry_at = self.retry_at.max(read_count(root, "retry_at").min(horizon));
        self.hold_until = self.hold_until.max(read_count(root, "hold_until").min(horizon));
        // A missing field (an older snapshot) reads as 0: never confirmed, so no beacon is trusted.
        self.confirmed_at = self.confirmed_at.max(read_count(root, "confirmed_at"));
        let before = self.dropped_total;
        self.enforce_bounds();
        let evicted = self.dropped_total - before;
        report.restored -= (evicted as usize).min(report.restored);
        report.dropped = lost + evicted;
        if unreadable > 0 {
            report.problem = Some(format!("{unreadable} stored events were unreadable and dropped"));
        } else if too_large > 0 {
            report.problem = Some(format!("{too_large} stored events exceeded the {limit}-byte event limit and were dropped"));
        }
        report
    }

    fn active_in_flight(&self) -> usize {
        self.in_flight.iter().filter(|b| !b.expired).count()
    }

    /// (number of pending events, when the oldest was queued).
    fn pending_summary(&self) -> Option<(usize, u64)> {
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
    fn build(&mut self, now: u64, transport: Transport, only: Option<&[String]>) -> Option<Send> {
        let dropped = std::mem::take(&mut self.dropped_unreported);
        let mut body = String::with_capacity(1024);
        body.push_str("{\"v\":1,\"sent_at\":");
        body.push_str(&now.to_string());
        body.push_str(",\"events\":[");
        let mut suffix = String::from("]");
        if dropped > 0 {
            suffix.push_str(",\"dropped\":");
            suffix.push_str(&dropped.to_string());
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
        self.in_flight.push(InFlight { batch_id, event_ids: event_ids.clone(), sent_at: now, transport, dropped, expired: false });
        Some(Send { batch_id, body, transport, event_ids })
    }

    /// The batch's events that are still travelling with it become pending again, and due at
    /// once: the backoff, not the batching delay, decides when they go next.
    fn release(&mut self, batch_id: u64, dropped: u64, now: u64) {
        self.dropped_unreported += dropped;
        let due = now.saturating_sub(self.policy.max_delay_ms);
        for entry in self.entries.iter_mut().filter(|e| matches!(e.state, State::InFlight(b) if b == batch_id)) {
            entry.state = State::Pending;
            entry.queued_at = entry.queued_at.min(due);
        }
    }

    fn back_off(&mut self, now: u64, random: u32, retry_after_ms: Option<u64>) {
        self.failures = self.failures.saturating_add(1);
        let mut wait = self.policy.backoff_ms(self.failures, random);
        if let Some(server_wait) = retry_after_ms {
            let server_wait = server_wait.min(self.policy.max_retry_after_ms);
            wait = wait.max(server_wait);
            self.hold_until = self.hold_until.max(now.saturating_add(server_wait));
        }
        self.retry_at = self.retry_at.max(now.saturating_add(wait));
    }

    fn expire_in_flight(&mut self, now: u64) {
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
    fn forget_settled_expired(&mut self) {
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

    fn remove_ids(&mut self, ids: &[String]) -> Vec<String> {
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
    fn enforce_bounds(&mut self) {
        while self.entries.len() > self.policy.max_stored_events || self.stored_bytes > self.policy.max_stored_bytes {
            // Events that left by an unconfirmed beacon first (most likely delivered), then the
            // oldest pending; still counted as dropped either way (a loss is never hidden).
            let index = (self.entries.iter().position(|e| matches!(e.state, State::Unconfirmed)))
                .or_else(|| self.entries.iter().position(|e| matches!(e.state, State::Pending)))
                .unwrap_or(0);
            let Some(entry) = self.entries.remove(index) else { break };
            self.stored_bytes -= entry.json.len();
            self.dropped_unreported += 1;
            self.dropped_total += 1;
        }
    }
}

fn looks_like_object(text: &str) -> bool {
    text.starts_with('{') && text.ends_with('}')
}

/// A non-negative whole number from a snapshot field; 0 when missing or malformed.
fn read_count(root: &Value, key: &str) -> u64 {
    match root.get(key) {
        // `as` saturates: a huge value becomes u64::MAX, callers clamp it.
        Some(Value::Number(n)) if *n >= 0.0 => *n as u64,
        _ => 0,
    }
}

/// Which tab may send the shared, persisted events: the holder of an unexpired lease in
/// localStorage. Tabs renew it while sending; a closed tab's lease simply runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: u64,
}

impl Lease {
    /// A lease for `me` from `now`, for `policy.lease_ms`.
    pub fn take(me: &str, now: u64, policy: &Policy) -> Lease {
        Lease { owner: me.to_string(), until_ms: now.saturating_add(policy.lease_ms) }
    }

    /// Renew once half the lease has passed, so a busy tab never lets it lapse between sends.
    pub fn needs_renewal(&self, now: u64, policy: &Policy) -> bool {
        now.saturating_add(policy.lease_ms / 2) >= self.until_ms
    }

    /// `{"owner":"…","until":ms}`.
    pub fn encode(&self) -> String {
        let mut out = String::from("{\"owner\":");
        json::write_str(&mut out, &self.owner);
        out.push_str(",\"until\":");
        out.push_str(&self.until_ms.to_string());
        out.push('}');
        out
    }

    /// A parsed lease (the browser's `JSON.parse`); `None` for anything unreadable: the lease is
    /// then free, as if absent.
    pub fn from_value(root: &Value) -> Option<Lease> {
        let owner = root.get("owner")?.as_str()?.to_string();
        let until = root.get("until")?.as_f64()?;
        (until >= 0.0 && !owner.is_empty()).then_some(Lease { owner, until_ms: until as u64 })
    }
}

/// Whether the tab `me` may send persisted events now: no lease, an expired one, or its own.
pub fn may_send(lease: Option<&Lease>, me: &str, now: u64) -> bool {
    match lease {
        None => true,
        Some(lease) => lease.owner == me || now >= lease.until_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Policy {
        Policy { max_batch_events: 3, max_delay_ms: 100, ..Policy::default() }
    }

    fn event(i: usize) -> (String, String) {
        let id = format!("E{i:03}");
        (id.clone(), format!("{{\"id\":\"{id}\"}}"))
    }

    fn push(outbox: &mut Outbox, i: usize, now: u64) {
        let (id, body) = event(i);
        outbox.push(&id, body, now).unwrap();
    }

    #[test]
    fn an_automated_browser_says_so_in_every_batch() {
        let mut outbox = Outbox::new(Policy { automated: true, ..small() });
        push(&mut outbox, 1, 0);
        let send = outbox.poll(10_000).expect("a batch is due");
        assert!(send.body.ends_with(r#"],"automated":true}"#), "{}", send.body);
        let mut outbox = Outbox::new(small());
        push(&mut outbox, 1, 0);
        assert!(!outbox.poll(10_000).expect("a batch is due").body.contains("automated"));
    }

    #[test]
    fn envelope_bound_covers_the_longest_envelope() {
        let longest = format!("{{\"v\":1,\"sent_at\":{},\"events\":[],\"dropped\":{}{AUTOMATED}}}", u64::MAX, u64::MAX);
        assert_eq!(longest.len(), ENVELOPE_MAX);
    }

    #[test]
    fn batch_body_is_the_documented_envelope() {
        let mut outbox = Outbox::new(small());
        push(&mut outbox, 1, 0);
        push(&mut outbox, 2, 0);
        let send = outbox.poll(100).expect("due after max_delay");
        assert_eq!(send.body, r#"{"v":1,"sent_at":100,"events":[{"id":"E001"},{"id":"E002"}]}"#);
        assert_eq!(send.event_ids, ["E001", "E002"]);
        assert_eq!(send.transport, Transport::Fetch);
    }

    #[test]
    fn a_duplicate_id_is_refused() {
        let mut outbox = Outbox::new(small());
        push(&mut outbox, 1, 0);
        let (id, body) = event(1);
        assert_eq!(outbox.push(&id, body, 0), Err(PushError::Duplicate { id }));
        assert_eq!(outbox.len(), 1);
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(Outcome::from_status(204, None), Outcome::Ok);
        assert_eq!(Outcome::from_status(429, Some(5)), Outcome::Retry { retry_after_ms: Some(5) });
        assert_eq!(Outcome::from_status(503, None), Outcome::Retry { retry_after_ms: None });
        assert_eq!(Outcome::from_status(400, None), Outcome::Reject);
        assert_eq!(Outcome::from_status(413, None), Outcome::TooLarge);
        assert_eq!(Outcome::from_status(404, None), Outcome::Reject);
        assert_eq!(Outcome::from_status(0, None), Outcome::NetworkError);
    }

    #[test]
    fn retry_after_reads_seconds_and_ignores_dates() {
        assert_eq!(parse_retry_after(" 120 "), Some(120_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn lease_round_trips_and_garbage_is_no_lease() {
        let lease = Lease { owner: "tab \"1\"".into(), until_ms: 1_764_216_005_000 };
        let decode = |text: &str| json::parse(text).ok().and_then(|(root, _)| Lease::from_value(&root));
        assert_eq!(decode(&lease.encode()), Some(lease));
        assert_eq!(decode("{\"owner\":1}"), None);
    }

    #[test]
    fn only_the_lease_holder_sends_until_the_lease_expires() {
        let policy = Policy::default();
        let lease = Lease::take("tab-a", 1_000, &policy);
        assert!(may_send(Some(&lease), "tab-a", 2_000));
        assert!(!may_send(Some(&lease), "tab-b", 2_000));
        assert!(may_send(Some(&lease), "tab-b", 1_000 + policy.lease_ms));
        assert!(may_send(None, "tab-b", 0));
    }

    #[test]
    fn a_lease_is_renewed_after_half_its_time() {
        let policy = Policy::default();
        let lease = Lease::take("tab-a", 0, &policy);
        assert!(!lease.needs_renewal(policy.lease_ms / 2 - 1, &policy));
        assert!(lease.needs_renewal(policy.lease_ms / 2, &policy));
    }

    #[test]
    fn next_wakeup_is_when_the_oldest_event_is_due() {
        let mut outbox = Outbox::new(small());
        assert_eq!(outbox.next_wakeup(0), None);
        push(&mut outbox, 1, 10);
        push(&mut outbox, 2, 50);
        assert_eq!(outbox.next_wakeup(60), Some(110));
        let send = outbox.poll(110).unwrap();
        // Now only the in-flight timeout is left to wait for.
        assert_eq!(outbox.next_wakeup(110), Some(110 + outbox.policy().in_flight_timeout_ms));
        outbox.on_result(send.batch_id, Outcome::Ok, 120, 0);
        assert_eq!(outbox.next_wakeup(120), None);
    }

    /// How many times each event left, over a run of sends and outcomes.
    fn count_sends(sends: &[Send], counts: &mut std::collections::HashMap<String, u32>) {
        for send in sends {
            for id in &send.event_ids {
                *counts.entry(id.clone()).or_default() += 1;
            }
        }
    }

    #[test]
    fn an_unreadable_collector_gets_each_event_once_then_fire_and_forget() {
        let mut outbox = Outbox::new(small());
        let mut counts = std::collections::HashMap::new();
        for i in 0..3 {
            push(&mut outbox, i, 0);
        }
        let first = outbox.poll(0).unwrap();
        assert_eq!(first.transport, Transport::Fetch);
        count_sends(std::slice::from_ref(&first), &mut counts);
        let settled = outbox.on_result(first.batch_id, Outcome::Unreadable, 10, 0);
        assert_eq!(settled.delivered.len(), 3, "the probe was answered: the batch arrived");
        assert!(outbox.is_unreadable(10));
        assert_eq!((outbox.failures(), outbox.retry_at()), (0, 0));
        // Later batches go no-cors and settle on their opaque answer; no retry, no growth.
        for round in 0..50u64 {
            let now = 1_000 + round * 1_000;
            for i in 0..3 {
                push(&mut outbox, 100 + round as usize * 3 + i, now);
            }
            let send = outbox.poll(now).unwrap();
            assert_eq!(send.transport, Transport::Blind);
            count_sends(std::slice::from_ref(&send), &mut counts);
            outbox.on_result(send.batch_id, Outcome::Sent, now + 5, 0);
            assert!(outbox.is_empty());
        }
        assert!(counts.values().all(|&n| n == 1), "{counts:?}");
        // Beacons are trusted: nothing is held for a resend that could only duplicate.
        push(&mut outbox, 900, 60_000);
        let beacon = outbox.flush_all(60_000, FlushReason::PageHide).remove(0);
        assert_eq!(beacon.transport, Transport::Beacon);
        assert_eq!(outbox.on_result(beacon.batch_id, Outcome::Queued, 60_000, 0).delivered, [event(900).0]);
        // A manual flush is fire-and-forget too.
        push(&mut outbox, 901, 60_000);
        assert_eq!(outbox.flush_all(60_000, FlushReason::Manual)[0].transport, Transport::Blind);
    }

    #[test]
    fn events_left_by_an_untrusted_beacon_go_at_most_twice_to_an_unreadable_collector() {
        let mut outbox = Outbox::new(small());
        push(&mut outbox, 1, 0);
        let beacon = outbox.flush_all(0, FlushReason::PageHide).remove(0);
        outbox.on_result(beacon.batch_id, Outcome::Queued, 0, 0);
        // The next page load restores them and tries a readable fetch: that is the second send.
        let (snapshot, _) = json::parse(&outbox.snapshot()).expect("a snapshot is JSON");
        let (mut next, _) = Outbox::restore_value(small(), &snapshot, 1_000);
        let fetch = next.poll(1_000).unwrap();
        assert_eq!(fetch.transport, Transport::Fetch);
        assert_eq!(next.on_result(fetch.batch_id, Outcome::Unreadable, 1_010, 0).delivered, [event(1).0]);
        assert!(next.is_empty(), "nothing left for a third send");
    }

    #[test]
    fn a_blind_send_that_never_left_is_retried_and_unreadable_memory_expires() {
        let policy = small();
        let memory = policy.unreadable_memory_ms;
        let mut outbox = Outbox::new(policy);
        outbox.note_unreadable(1_000);
        push(&mut outbox, 1, 1_000);
        let send = outbox.poll(1_100).unwrap();
        assert_eq!(send.transport, Transport::Blind);
        // A no-cors fetch rejects only when nothing was answered: the events never arrived.
        outbox.on_result(send.batch_id, Outcome::NetworkError, 1_110, u32::MAX);
        assert_eq!(outbox.pending_len(), 1);
        assert_eq!(outbox.failures(), 1);
        // Not trusted while failing: a beacon now could be lost for good.
        assert!(!outbox.trusts_beacons(1_200));
        // After the memory lapses a readable fetch tries again; a 2xx forgets the unreadability.
        let later = 1_000 + memory;
        assert!(!outbox.is_unreadable(later));
        let send = outbox.poll(later).unwrap();
        assert_eq!(send.transport, Transport::Fetch);
        outbox.on_result(send.batch_id, Outcome::Ok, later, 0);
        assert_eq!(outbox.unreadable_at(), 0);
    }

    #[test]
    fn a_413_splits_the_batch_until_it_fits_and_drops_only_a_single_event_refused() {
        let mut outbox = Outbox::new(Policy { max_batch_events: 8, max_delay_ms: 100, ..Policy::default() });
        for i in 0..8 {
            push(&mut outbox, i, 10_000);
        }
        let big = outbox.poll(10_000).unwrap();
        assert_eq!(big.event_ids.len(), 8);
        let settled = outbox.on_result(big.batch_id, Outcome::TooLarge, 10_010, 0);
        assert!(settled.rejected.is_empty());
        assert_eq!(outbox.failures(), 0, "a 413 is an answer, not a failure");
        let halves: Vec<Send> = std::iter::from_fn(|| outbox.poll(10_010)).collect();
        assert_eq!(halves.iter().map(|s| s.event_ids.len()).collect::<Vec<_>>(), [4, 4]);
        for half in &halves {
            assert_eq!(outbox.on_result(half.batch_id, Outcome::Ok, 20, 0).delivered.len(), 4);
        }
        push(&mut outbox, 99, 30);
        let single = outbox.poll(200).unwrap();
        assert_eq!(outbox.on_result(single.batch_id, Outcome::TooLarge, 210, 0).rejected, [event(99).0]);
        assert!(outbox.is_empty());
    }

    #[test]
    fn an_unreadable_answer_from_a_collector_that_answered_readably_is_retried() {
        let mut outbox = Outbox::new(small());
        push(&mut outbox, 1, 0);
        let ok = outbox.poll(100).unwrap();
        outbox.on_result(ok.batch_id, Outcome::Ok, 110, 0);
        push(&mut outbox, 2, 200);
        let failed = outbox.poll(300).unwrap();
        assert!(outbox.on_result(failed.batch_id, Outcome::Unreadable, 310, 0).delivered.is_empty());
        assert_eq!((outbox.pending_len(), outbox.failures()), (1, 1));
        assert!(!outbox.is_unreadable(310), "still a readable collector: confirmed delivery goes on");
    }
}
