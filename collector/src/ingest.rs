//! Batch parsing for `POST /collect`: turns a request body into core's events (each read by
//! `splitbeam_core::event_reader`, the format's one definition), or one error naming the event
//! index and field. A malformed batch is refused whole; a goal value over the limit, alone.

use std::fmt;

use serde_json::Value;
use splitbeam_core::event::{Event, EventKind, MAX_EVENT_BYTES};
use splitbeam_core::event_reader::{read_event, type_name_of as type_name};

/// Largest request body accepted (the snippet keeps each request under 60 KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default bound of a goal's `value` (either sign): a large order in the minor unit of a weak
/// currency fits; its square summed over ten million visitors stays far from f64's overflow.
pub const DEFAULT_MAX_GOAL_VALUE: f64 = 1e12;

/// What the collector accepts beyond the event format itself (configurable by `serve` flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// A goal whose |value| is above this is refused (that event only).
    pub max_goal_value: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_goal_value: DEFAULT_MAX_GOAL_VALUE }
    }
}

/// A well-formed event the collector will not store, and why (answered in the 200 body).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refused {
    pub index: usize,
    pub field: &'static str,
    pub error: String,
}

/// A parsed batch: the events to store, and the well-formed ones refused one by one (so that a
/// visitor's other events in the same batch are not lost with it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub events: Vec<Received>,
    pub refused: Vec<Refused>,
    /// The snippet found the browser automated (`navigator.webdriver`): `"automated": true`.
    pub automated: bool,
}

/// One received event: core's event, its JSON as received (kept verbatim for export), and how
/// the collector counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub event: Event,
    /// The event's compact JSON.
    pub body: String,
    /// Whether the event enters the running results: false for what the live config does not
    /// aggregate (an invented experiment, variant or goal) and for bots unless they are counted.
    /// Set by the server (`crate::counting`); every event is stored either way, for export.
    pub counted: bool,
    /// Sent by a crawler (User-Agent) or an automated browser (`navigator.webdriver`).
    pub bot: bool,
}

impl Received {
    /// Roughly the memory the event holds: the struct, and each string's bytes plus the
    /// allocator's overhead per allocation. A batch of small events holds about 2.5 times its
    /// body's bytes; `/collect` reserves this from its memory budget while the batch waits.
    pub fn approx_bytes(&self) -> usize {
        let string = |s: &String| s.capacity() + PER_ALLOCATION;
        let e = &self.event;
        let common = [&e.id, &e.visitor, &e.session, &e.url, &self.body].into_iter().map(string).sum::<usize>();
        let kind = match &e.kind {
            EventKind::Exposure { experiment, variant } => string(experiment) + string(variant),
            EventKind::Goal { goal, experiments, props, .. } => {
                string(goal)
                    + experiments.iter().map(|(x, v)| string(x) + string(v)).sum::<usize>()
                    + experiments.capacity() * std::mem::size_of::<(String, String)>()
                    + value_bytes(props)
            }
            EventKind::Pageview { referrer, title } => [referrer, title].into_iter().flatten().map(string).sum(),
        };
        std::mem::size_of::<Received>() + common + kind
    }

    /// The goal's value, if this is a goal with one.
    pub fn goal_value(&self) -> Option<f64> {
        match &self.event.kind {
            EventKind::Goal { value, .. } => *value,
            _ => None,
        }
    }
}

/// The allocator's overhead per allocation, roughly.
const PER_ALLOCATION: usize = 16;

/// What a JSON value holds beyond its own slot: strings, and the arrays and objects' element slots.
fn value_bytes(value: &splitbeam_core::Value) -> usize {
    use splitbeam_core::Value;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity() + PER_ALLOCATION,
        Value::Array(items) => {
            items.capacity() * std::mem::size_of::<Value>() + PER_ALLOCATION + items.iter().map(value_bytes).sum::<usize>()
        }
        Value::Object(entries) => {
            entries.capacity() * std::mem::size_of::<(String, Value)>()
                + PER_ALLOCATION
                + entries.iter().map(|(key, item)| key.capacity() + PER_ALLOCATION + value_bytes(item)).sum::<usize>()
        }
    }
}

/// Why a batch was refused: the HTTP layer maps `TooLarge` to 413 and the rest to 400.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchError {
    /// The body is not a JSON object with an `events` array.
    Malformed(String),
    /// The body or one event is over its size limit.
    TooLarge { index: Option<usize>, message: String },
    /// Event `index` has a missing or wrong `field`.
    InvalidEvent { index: usize, field: &'static str, message: String },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Malformed(message) => write!(f, "{message}"),
            BatchError::TooLarge { index: Some(i), message } => write!(f, "events[{i}]: {message}"),
            BatchError::TooLarge { index: None, message } => write!(f, "{message}"),
            BatchError::InvalidEvent { index, field, message } => write!(f, "events[{index}].{field}: {message}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// `parse_batch_with` under the default limits, without the refused events.
pub fn parse_batch(body: &[u8]) -> Result<Vec<Received>, BatchError> {
    parse_batch_with(body, &Limits::default()).map(|parsed| parsed.events)
}

/// Parses and validates a whole batch: `{"v": 1, "sent_at": .., "events": [..]}`. A malformed
/// event refuses the whole batch (a client bug); a well-formed event outside `limits` is refused
/// alone.
pub fn parse_batch_with(body: &[u8], limits: &Limits) -> Result<Parsed, BatchError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BatchError::TooLarge {
            index: None,
            message: format!("the batch is {} bytes; the limit is {MAX_BODY_BYTES}", body.len()),
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| BatchError::Malformed(format!("the body is not UTF-8: {e}")))?;
    // serde_json refuses nesting deeper than 128, so a hostile body cannot exhaust the stack.
    let root: Value =
        serde_json::from_str(text).map_err(|e| BatchError::Malformed(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut root) = root else {
        return Err(BatchError::Malformed(format!("expected a JSON object with \"events\", got {}", type_name(&root))));
    };
    match root.get("v") {
        None => {}
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => {}
        Some(other) => return Err(BatchError::Malformed(format!("unsupported batch version {other}; expected 1"))),
    }
    let automated = root.get("automated") == Some(&Value::Bool(true));
    let events = match root.remove("events") {
        Some(Value::Array(events)) => events,
        Some(other) => return Err(BatchError::Malformed(format!("\"events\" must be an array, got {}", type_name(&other)))),
        None => return Err(BatchError::Malformed("missing \"events\" array".to_string())),
    };
    let mut parsed = Parsed { events: Vec::with_capacity(events.len()), refused: Vec::new(), automated };
    for (index, event) in events.into_iter().enumerate() {
        let event = parse_event(index, event)?;
        match event.goal_value() {
            Some(value) if value.abs() > limits.max_goal_value => parsed.refused.push(Refused {
                index,
                field: "value",
                error: format!("events[{index}].value: {value} is outside ±{} (serve --max-goal-value)", limits.max_goal_value),
            }),
            _ => parsed.events.push(event),
        }
    }
    Ok(parsed)
}

fn parse_event(index: usize, event: Value) -> Result<Received, BatchError> {
    // The same compact JSON as `event.to_string()`, written straight into a byte buffer instead of
    // through `fmt::Display` (a formatter call per token: a third of this function's time).
    let body = serde_json::to_string(&event)
        .map_err(|e| BatchError::InvalidEvent { index, field: "(event)", message: format!("cannot be stored: {e}") })?;
    let fields = match event {
        Value::Object(fields) => fields,
        other => {
            return Err(BatchError::InvalidEvent {
                index,
                field: "(event)",
                message: format!("expected an object, got {}", type_name(&other)),
            })
        }
    };
    if body.len() > MAX_EVENT_BYTES {
        return Err(BatchError::TooLarge {
            index: Some(index),
            message: format!("the event is {} bytes; the limit is {MAX_EVENT_BYTES}", body.len()),
        });
    }
    let event = read_event(fields).map_err(|e| BatchError::InvalidEvent { index, field: e.field, message: e.message })?;
    Ok(Received { event, body, counted: true, bot: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","type":"exposure","ts":1764215999000,"visitor":"v1","session":"s1","experiment":"hero","variant":"b","url":"/"}}"#
        )
    }

    #[test]
    fn a_valid_batch_parses_every_event() {
        let body = format!(r#"{{"v":1,"sent_at":1,"events":[{},{}]}}"#, exposure("a"), exposure("b"));
        let events = parse_batch(body.as_bytes()).expect("valid batch");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].event.id, "b");
        assert!(matches!(&events[0].event.kind, EventKind::Exposure { variant, .. } if variant == "b"));
    }

    #[test]
    fn one_invalid_event_rejects_the_batch_naming_index_and_field() {
        let bad = r#"{"id":"c","type":"goal","ts":1,"visitor":"v","session":"s","url":"/","goal":"buy","value":"12"}"#;
        let body = format!(r#"{{"events":[{},{bad}]}}"#, exposure("a"));
        match parse_batch(body.as_bytes()) {
            Err(BatchError::InvalidEvent { index: 1, field: "value", .. }) => {}
            other => panic!("expected events[1].value to be refused, got {other:?}"),
        }
    }

    #[test]
    fn an_exposure_without_variant_is_refused() {
        let body = r#"{"events":[{"id":"a","type":"exposure","ts":1,"visitor":"v","session":"s","url":"/","experiment":"x"}]}"#;
        match parse_batch(body.as_bytes()) {
            Err(BatchError::InvalidEvent { index: 0, field: "variant", .. }) => {}
            other => panic!("expected a missing variant, got {other:?}"),
        }
    }

    #[test]
    fn a_fractional_timestamp_is_refused() {
        let body = r#"{"events":[{"id":"a","type":"pageview","ts":1.5,"visitor":"v","session":"s","url":"/"}]}"#;
        assert!(matches!(parse_batch(body.as_bytes()), Err(BatchError::InvalidEvent { field: "ts", .. })));
    }

    #[test]
    fn a_goal_value_out_of_range_is_refused_alone() {
        let goal = |id: &str, value: &str| {
            format!(r#"{{"id":"{id}","type":"goal","ts":1,"visitor":"v","session":"s","url":"/","goal":"buy","value":{value}}}"#)
        };
        let body = format!(r#"{{"events":[{},{},{},{}]}}"#, goal("a", "1e308"), goal("b", "12.5"), goal("c", "-2e12"), goal("d", "1e12"));
        let parsed = parse_batch_with(body.as_bytes(), &Limits::default()).expect("well-formed batch");
        assert_eq!(parsed.events.iter().map(|e| e.event.id.as_str()).collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(parsed.refused.iter().map(|r| (r.index, r.field)).collect::<Vec<_>>(), [(0, "value"), (2, "value")]);
        assert!(parsed.refused[0].error.contains("events[0].value"), "{}", parsed.refused[0].error);
        let strict = parse_batch_with(body.as_bytes(), &Limits { max_goal_value: 10.0 }).expect("well-formed batch");
        assert_eq!(strict.refused.len(), 4);
    }

    #[test]
    fn a_goal_whose_value_is_null_is_stored_without_a_value() {
        // The snippet writes a NaN or infinite value as null rather than an unparseable batch.
        let body = r#"{"events":[{"id":"a","type":"goal","goal":"buy","value":null,"ts":1,"visitor":"v","session":"s","url":"/"}]}"#;
        let events = parse_batch(body.as_bytes()).expect("a null value is no reason to refuse the batch");
        assert_eq!(events[0].goal_value(), None);
    }

    #[test]
    fn an_empty_url_refuses_the_batch_naming_the_field() {
        let body = r#"{"events":[{"id":"a","type":"pageview","ts":1,"visitor":"v","session":"s","url":""}]}"#;
        assert!(matches!(parse_batch(body.as_bytes()), Err(BatchError::InvalidEvent { index: 0, field: "url", .. })));
    }

    #[test]
    fn an_oversized_event_is_too_large() {
        let url = "x".repeat(MAX_EVENT_BYTES);
        let body = format!(r#"{{"events":[{{"id":"a","type":"pageview","ts":1,"visitor":"v","session":"s","url":"{url}"}}]}}"#);
        assert!(matches!(parse_batch(body.as_bytes()), Err(BatchError::TooLarge { index: Some(0), .. })));
    }
}
