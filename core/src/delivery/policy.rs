//! The numbers of the delivery policy (batch size and delay, bounds, backoff, trust) and what an
//! HTTP answer means for the events it carried.

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
            max_event_bytes: crate::event::MAX_EVENT_BYTES,
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
pub(super) const ENVELOPE_MAX: usize = r#"{"v":1,"sent_at":"#.len()
    + 20
    + r#","events":["#.len()
    + "]".len()
    + r#","dropped":"#.len()
    + 20
    + AUTOMATED.len()
    + "}".len();
pub(super) const AUTOMATED: &str = r#","automated":true"#;

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
    // HTTP's optional whitespace is spaces and tabs.
    let text = header.trim_ascii();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: only overflow can fail, and an absurd value means "as long as allowed".
    Some(crate::digits::parse_unsigned(text).map_or(u64::MAX, |seconds| seconds.saturating_mul(1000)))
}
