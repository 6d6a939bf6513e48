//! The event model: exposures, goals and page views as sent to the collector, their ids,
//! the visitor and session identities, and the 30-minute session clock. No I/O, no float formatting.

use crate::json::{self, Value};

// The format's limits, defined once: the snippet keeps its events under them, a collector refuses
// what exceeds them (`crate::event_reader`).

/// Largest single event, measured as its compact JSON.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Identifiers (event id, visitor, session, experiment, variant, goal) longer than this many
/// characters are refused.
pub const MAX_KEY_CHARS: usize = 256;
/// Latest `ts`: milliseconds since the Unix epoch are exact in a JavaScript number up to 2^53 - 1;
/// beyond it a timestamp is corrupt.
pub const MAX_TS: u64 = 9_007_199_254_740_991;

/// One funnel event, as it appears in a batch's `events` array (DESIGN.md "Events").
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// ULID-like, unique per event: the collector stores each id once.
    pub id: String,
    /// Milliseconds since the Unix epoch, from the visitor's clock.
    pub ts: u64,
    pub visitor: String,
    pub session: String,
    /// Path (and query) of the page the event happened on.
    pub url: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The visitor saw `variant` of `experiment`.
    Exposure { experiment: String, variant: String },
    /// The visitor reached `goal`. `experiments` maps each experiment key the visitor is in to
    /// the variant the snippet showed at that moment. It is context for export and debugging, not
    /// the attribution: results attribute a goal to the variant of the visitor's first exposure
    /// (README "Events", `splitbeam_collector::store::contribution`).
    Goal { goal: String, value: Option<f64>, experiments: Vec<(String, String)>, props: Value },
    Pageview { referrer: Option<String>, title: Option<String> },
}

impl EventKind {
    /// The `type` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::Exposure { .. } => "exposure",
            EventKind::Goal { .. } => "goal",
            EventKind::Pageview { .. } => "pageview",
        }
    }
}

impl Event {
    /// Compact JSON. `num` formats floats (goal values, numbers inside props): the browser passes
    /// JavaScript's Number→String so no Rust float formatting reaches the wasm; natively
    /// `&|n| n.to_string()` gives the same text for every finite f64.
    pub fn to_json(&self, num: &dyn Fn(f64) -> String) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"id\":");
        json::write_str(&mut out, &self.id);
        out.push_str(",\"type\":\"");
        out.push_str(self.kind.type_name());
        out.push('"');
        if let EventKind::Goal { goal, value, .. } = &self.kind {
            field_str(&mut out, "goal", goal);
            if let Some(value) = value {
                out.push_str(",\"value\":");
                write_number(&mut out, *value, num);
            }
        }
        out.push_str(",\"ts\":");
        crate::digits::push_unsigned(&mut out, self.ts);
        field_str(&mut out, "visitor", &self.visitor);
        field_str(&mut out, "session", &self.session);
        if let EventKind::Exposure { experiment, variant } = &self.kind {
            field_str(&mut out, "experiment", experiment);
            field_str(&mut out, "variant", variant);
        }
        field_str(&mut out, "url", &self.url);
        match &self.kind {
            EventKind::Exposure { .. } => {}
            EventKind::Goal { experiments, props, .. } => {
                out.push_str(",\"experiments\":{");
                for (i, (experiment, variant)) in experiments.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::write_str(&mut out, experiment);
                    out.push(':');
                    json::write_str(&mut out, variant);
                }
                out.push_str("},\"props\":");
                // The schema says props is an object; anything else is sent as `{}` rather than
                // getting the whole batch rejected.
                match props {
                    Value::Object(_) => write_value(&mut out, props, num),
                    _ => out.push_str("{}"),
                }
            }
            EventKind::Pageview { referrer, title } => {
                if let Some(referrer) = referrer {
                    field_str(&mut out, "referrer", referrer);
                }
                if let Some(title) = title {
                    field_str(&mut out, "title", title);
                }
            }
        }
        out.push('}');
        out
    }
}

fn field_str(out: &mut String, key: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    json::write_str(out, value);
}

/// JSON has no NaN or Infinity: they become `null` instead of an unparseable batch.
fn write_number(out: &mut String, n: f64, num: &dyn Fn(f64) -> String) {
    if n.is_finite() {
        out.push_str(&num(n));
    } else {
        out.push_str("null");
    }
}

/// Writes any JSON value compactly, with `num` for numbers.
pub fn write_value(out: &mut String, value: &Value, num: &dyn Fn(f64) -> String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, *n, num),
        Value::String(s) => json::write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, num);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_str(out, key);
                out.push(':');
                write_value(out, item, num);
            }
            out.push('}');
        }
    }
}

/// Crockford's base32 alphabet: no I, L, O, U; in ASCII order, so text order is numeric order.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 128 bits as 26 Crockford base32 characters (the first carries only 3 bits, as in ULID).
fn base32_128(value: u128) -> String {
    (0..26).map(|i| CROCKFORD[((value >> (125 - 5 * i)) & 31) as usize] as char).collect()
}

/// A ULID-like event id: 48 bits of milliseconds then 80 random bits, 26 characters.
/// Ids sort by creation time (to the millisecond) and collide only if 80 random bits do.
pub fn new_id(random: [u8; 16], now_ms: u64) -> String {
    let mut rand80: u128 = 0;
    for byte in &random[..10] {
        rand80 = (rand80 << 8) | u128::from(*byte);
    }
    let time48 = u128::from(now_ms & 0xFFFF_FFFF_FFFF);
    base32_128((time48 << 80) | rand80)
}

/// A visitor id: `v_` and 128 random bits. Random, so it carries no personal data.
pub fn new_visitor_id(random: [u8; 16]) -> String {
    ["v_", &base32_128(u128::from_be_bytes(random))].concat()
}

/// A session id: `s_` and 128 random bits.
pub fn new_session_id(random: [u8; 16]) -> String {
    ["s_", &base32_128(u128::from_be_bytes(random))].concat()
}

/// A session as stored between page loads: its id and when the visitor was last active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub last_seen_ms: u64,
}

impl Session {
    /// `s_…:1764216000000`, small enough for a cookie or a localStorage value.
    pub fn encode(&self) -> String {
        let mut out = [&self.id, ":"].concat();
        crate::digits::push_unsigned(&mut out, self.last_seen_ms);
        out
    }

    /// `None` for anything that is not what `encode` wrote: the caller then starts a new session.
    pub fn decode(text: &str) -> Option<Session> {
        let (id, last_seen) = text.rsplit_once(':')?;
        let valid_id = id.len() > 2 && id.starts_with("s_") && id.bytes().skip(2).all(|b| CROCKFORD.contains(&b));
        // Integer parsing only: no float parsing on the browser's path.
        let last_seen_ms = crate::digits::parse_unsigned(last_seen)?;
        valid_id.then(|| Session { id: id.to_string(), last_seen_ms })
    }
}

/// When a session ends: after `timeout_ms` without activity (30 minutes, as in common analytics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClock {
    pub timeout_ms: u64,
}

impl Default for SessionClock {
    fn default() -> Self {
        SessionClock { timeout_ms: 30 * 60 * 1000 }
    }
}

impl SessionClock {
    /// Whether a session last active at `last_seen_ms` still runs at `now_ms`. A `last_seen` up to
    /// one timeout in the future (clock adjusted backwards) still counts; further is corrupt.
    pub fn is_alive(&self, last_seen_ms: u64, now_ms: u64) -> bool {
        if now_ms >= last_seen_ms {
            now_ms - last_seen_ms < self.timeout_ms
        } else {
            last_seen_ms - now_ms < self.timeout_ms
        }
    }

    /// The session to use for activity at `now_ms`: the stored one, touched, while it is alive;
    /// otherwise a new one from `random`. The flag says whether the session was rotated.
    pub fn touch(&self, stored: Option<Session>, now_ms: u64, random: [u8; 16]) -> (Session, bool) {
        match stored {
            Some(session) if self.is_alive(session.last_seen_ms, now_ms) => {
                (Session { id: session.id, last_seen_ms: now_ms.max(session.last_seen_ms) }, false)
            }
            _ => (Session { id: new_session_id(random), last_seen_ms: now_ms }, true),
        }
    }
}

/// An event of `kind` with fixed id, time, visitor, session and url, for tests here and in
/// `event_reader`.
#[cfg(test)]
pub(crate) fn base(kind: EventKind) -> Event {
    Event {
        id: "01JDAAAAAAAAAAAAAAAAAAAAAA".into(),
        ts: 1_764_215_999_000,
        visitor: "v_1".into(),
        session: "s_1".into(),
        url: "/".into(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> String {
        n.to_string()
    }


    #[test]
    fn exposure_json_matches_the_design_example() {
        let event = base(EventKind::Exposure { experiment: "hero-headline".into(), variant: "free-shipping".into() });
        assert_eq!(
            event.to_json(&num),
            r#"{"id":"01JDAAAAAAAAAAAAAAAAAAAAAA","type":"exposure","ts":1764215999000,"visitor":"v_1","session":"s_1","experiment":"hero-headline","variant":"free-shipping","url":"/"}"#
        );
    }

    #[test]
    fn goal_json_carries_value_experiments_and_props() {
        let mut event = base(EventKind::Goal {
            goal: "purchase".into(),
            value: Some(49.9),
            experiments: vec![("hero-headline".into(), "free-shipping".into())],
            props: Value::Object(vec![("currency".into(), "EUR".into()), ("items".into(), Value::Number(2.0))]),
        });
        event.url = "/checkout/done".into();
        assert_eq!(
            event.to_json(&num),
            r#"{"id":"01JDAAAAAAAAAAAAAAAAAAAAAA","type":"goal","goal":"purchase","value":49.9,"ts":1764215999000,"visitor":"v_1","session":"s_1","url":"/checkout/done","experiments":{"hero-headline":"free-shipping"},"props":{"currency":"EUR","items":2}}"#
        );
    }

    #[test]
    fn pageview_json_omits_missing_referrer_and_title() {
        let event = base(EventKind::Pageview { referrer: None, title: Some("Shop \"A\"".into()) });
        assert_eq!(
            event.to_json(&num),
            r#"{"id":"01JDAAAAAAAAAAAAAAAAAAAAAA","type":"pageview","ts":1764215999000,"visitor":"v_1","session":"s_1","url":"/","title":"Shop \"A\""}"#
        );
    }

    #[test]
    fn non_finite_numbers_are_written_as_null() {
        let event = base(EventKind::Goal { goal: "g".into(), value: Some(f64::NAN), experiments: vec![], props: Value::Object(vec![]) });
        let text = event.to_json(&num);
        assert!(text.contains("\"value\":null"), "{text}");
        assert!(json::parse(&text).is_ok(), "{text}");
    }

    #[test]
    fn ids_are_26_crockford_characters_that_sort_by_time() {
        let early = new_id([0xFF; 16], 1_764_216_000_000);
        let late = new_id([0x00; 16], 1_764_216_000_001);
        assert_eq!(early.len(), 26);
        assert!(early.bytes().all(|b| CROCKFORD.contains(&b)), "{early}");
        assert!(early < late, "{early} should sort before {late}");
    }

    #[test]
    fn ids_encode_time_in_the_first_ten_characters_and_randomness_after() {
        // ULID's spec example time 1469918176385 encodes as 01ARYZ6S41.
        let id = new_id([0; 16], 1_469_918_176_385);
        assert_eq!(&id[..10], "01ARYZ6S41");
        assert_eq!(&id[10..], "0000000000000000");
        let other = new_id([1; 16], 1_469_918_176_385);
        assert_ne!(id[10..], other[10..]);
    }

    #[test]
    fn visitor_and_session_ids_are_prefixed_and_differ_by_randomness() {
        let visitor = new_visitor_id([7; 16]);
        assert!(visitor.starts_with("v_") && visitor.len() == 28, "{visitor}");
        assert_ne!(new_session_id([1; 16]), new_session_id([2; 16]));
        assert!(new_session_id([1; 16]).starts_with("s_"));
    }

    #[test]
    fn a_session_survives_29_minutes_of_inactivity_but_not_30() {
        let clock = SessionClock::default();
        assert!(clock.is_alive(0, 29 * 60 * 1000));
        assert!(!clock.is_alive(0, 30 * 60 * 1000));
    }

    #[test]
    fn touching_a_live_session_keeps_its_id_and_moves_last_seen() {
        let clock = SessionClock::default();
        let stored = Session { id: "s_A".into(), last_seen_ms: 1_000 };
        let (session, rotated) = clock.touch(Some(stored), 60_000, [9; 16]);
        assert_eq!(session, Session { id: "s_A".into(), last_seen_ms: 60_000 });
        assert!(!rotated);
    }

    #[test]
    fn an_expired_or_missing_session_rotates_to_a_new_id() {
        let clock = SessionClock { timeout_ms: 10 };
        let (session, rotated) = clock.touch(Some(Session { id: "s_A".into(), last_seen_ms: 0 }), 10, [9; 16]);
        assert!(rotated);
        assert_eq!(session.id, new_session_id([9; 16]));
        assert!(clock.touch(None, 10, [9; 16]).1);
    }

    #[test]
    fn a_session_far_in_the_future_is_treated_as_corrupt() {
        let clock = SessionClock::default();
        assert!(clock.is_alive(61_000, 60_000));
        assert!(!clock.is_alive(u64::MAX, 60_000));
    }

    #[test]
    fn stored_sessions_round_trip_and_garbage_decodes_to_none() {
        let session = Session { id: new_session_id([3; 16]), last_seen_ms: 1_764_216_000_000 };
        assert_eq!(Session::decode(&session.encode()), Some(session));
        for bad in ["", "s_:1", "x_ABC:1", "s_ABC:", "s_ABC:-1", "s_ABC:1.5", "s_abc:1"] {
            assert_eq!(Session::decode(bad), None, "{bad:?}");
        }
    }
}
