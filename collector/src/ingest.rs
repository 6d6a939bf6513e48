//! Batch parsing and validation for `POST /collect`: turns a request body into validated events,
//! or one error naming the event index and field. A batch is accepted whole or not at all.

use std::fmt;

use serde_json::{Map, Value};

/// Largest request body accepted (the snippet keeps each request under 60 KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest single event, measured as its compact JSON.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Identifiers (event id, visitor, session, experiment, variant, goal) longer than this are refused.
pub const MAX_KEY_CHARS: usize = 256;
/// Timestamps are milliseconds since the Unix epoch; JavaScript numbers are exact up to 2^53.
const MAX_TS: f64 = 9_007_199_254_740_991.0;
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
    pub events: Vec<Event>,
    pub refused: Vec<Refused>,
    /// The snippet found the browser automated (`navigator.webdriver`): `"automated": true`.
    pub automated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Exposure,
    Goal,
    Pageview,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Exposure => "exposure",
            EventType::Goal => "goal",
            EventType::Pageview => "pageview",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        match text {
            "exposure" => Some(EventType::Exposure),
            "goal" => Some(EventType::Goal),
            "pageview" => Some(EventType::Pageview),
            _ => None,
        }
    }
}

/// One validated event. `body` is the event's compact JSON, kept verbatim for export.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: EventType,
    pub ts: i64,
    pub visitor: String,
    pub session: String,
    pub url: String,
    /// Exposures only.
    pub experiment: Option<String>,
    pub variant: Option<String>,
    /// Goals only.
    pub goal: Option<String>,
    pub value: Option<f64>,
    pub body: String,
    /// Whether the event enters the running results: false for what the live config does not
    /// aggregate (an invented experiment, variant or goal) and for bots unless they are counted.
    /// Set by the server (`crate::counting`); every event is stored either way, for export.
    pub counted: bool,
    /// Sent by a crawler (User-Agent) or an automated browser (`navigator.webdriver`).
    pub bot: bool,
}

impl Event {
    /// Roughly the memory the event holds: the struct, and each string's bytes plus the
    /// allocator's overhead per allocation. A batch of small events holds about 2.5 times its
    /// body's bytes; `/collect` reserves this from its memory budget while the batch waits.
    pub fn approx_bytes(&self) -> usize {
        const PER_ALLOCATION: usize = 16;
        let required = [&self.id, &self.visitor, &self.session, &self.url, &self.body];
        let optional = [&self.experiment, &self.variant, &self.goal];
        let strings: usize = required.into_iter().chain(optional.into_iter().flatten()).map(|s| s.capacity() + PER_ALLOCATION).sum();
        std::mem::size_of::<Event>() + strings
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
pub fn parse_batch(body: &[u8]) -> Result<Vec<Event>, BatchError> {
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
    let Value::Object(root) = root else {
        return Err(BatchError::Malformed(format!("expected a JSON object with \"events\", got {}", type_name(&root))));
    };
    match root.get("v") {
        None => {}
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => {}
        Some(other) => return Err(BatchError::Malformed(format!("unsupported batch version {other}; expected 1"))),
    }
    let events = match root.get("events") {
        Some(Value::Array(events)) => events,
        Some(other) => return Err(BatchError::Malformed(format!("\"events\" must be an array, got {}", type_name(other)))),
        None => return Err(BatchError::Malformed("missing \"events\" array".to_string())),
    };
    let automated = root.get("automated") == Some(&Value::Bool(true));
    let mut parsed = Parsed { events: Vec::with_capacity(events.len()), refused: Vec::new(), automated };
    for (index, event) in events.iter().enumerate() {
        let event = parse_event(index, event)?;
        match event.value {
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

fn parse_event(index: usize, event: &Value) -> Result<Event, BatchError> {
    let Value::Object(fields) = event else {
        return Err(BatchError::InvalidEvent {
            index,
            field: "(event)",
            message: format!("expected an object, got {}", type_name(event)),
        });
    };
    let body = event.to_string();
    if body.len() > MAX_EVENT_BYTES {
        return Err(BatchError::TooLarge {
            index: Some(index),
            message: format!("the event is {} bytes; the limit is {MAX_EVENT_BYTES}", body.len()),
        });
    }
    let invalid = |field: &'static str, message: String| BatchError::InvalidEvent { index, field, message };

    let kind_text = key(fields, "type").map_err(|m| invalid("type", m))?;
    let kind = EventType::parse(&kind_text)
        .ok_or_else(|| invalid("type", format!("unknown type {kind_text:?}; expected exposure, goal or pageview")))?;
    let id = key(fields, "id").map_err(|m| invalid("id", m))?;
    let ts = timestamp(fields.get("ts")).map_err(|m| invalid("ts", m))?;
    let visitor = key(fields, "visitor").map_err(|m| invalid("visitor", m))?;
    let session = key(fields, "session").map_err(|m| invalid("session", m))?;
    let url = match fields.get("url") {
        Some(Value::String(url)) if url.is_empty() => return Err(invalid("url", "must not be empty".to_string())),
        Some(Value::String(url)) => url.clone(),
        Some(other) => return Err(invalid("url", format!("expected a string, got {}", type_name(other)))),
        None => return Err(invalid("url", "missing".to_string())),
    };
    if let Some(props) = fields.get("props") {
        if !props.is_object() {
            return Err(invalid("props", format!("expected an object, got {}", type_name(props))));
        }
    }
    if let Some(experiments) = fields.get("experiments") {
        let Value::Object(map) = experiments else {
            return Err(invalid("experiments", format!("expected an object, got {}", type_name(experiments))));
        };
        if let Some((name, v)) = map.iter().find(|(_, v)| !v.is_string()) {
            return Err(invalid("experiments", format!("variant of {name:?} must be a string, got {}", type_name(v))));
        }
    }

    let mut parsed = Event {
        id,
        kind,
        ts,
        visitor,
        session,
        url,
        experiment: None,
        variant: None,
        goal: None,
        value: None,
        body,
        counted: true,
        bot: false,
    };
    match kind {
        EventType::Exposure => {
            parsed.experiment = Some(key(fields, "experiment").map_err(|m| invalid("experiment", m))?);
            parsed.variant = Some(key(fields, "variant").map_err(|m| invalid("variant", m))?);
        }
        EventType::Goal => {
            parsed.goal = Some(key(fields, "goal").map_err(|m| invalid("goal", m))?);
            parsed.value = match fields.get("value") {
                None => None,
                Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite()),
                Some(other) => return Err(invalid("value", format!("expected a number, got {}", type_name(other)))),
            };
        }
        EventType::Pageview => {}
    }
    Ok(parsed)
}

/// A required identifier: a non-empty string of at most `MAX_KEY_CHARS` characters.
fn key(fields: &Map<String, Value>, name: &str) -> Result<String, String> {
    match fields.get(name) {
        Some(Value::String(s)) if s.is_empty() => Err("must not be empty".to_string()),
        Some(Value::String(s)) if s.chars().count() > MAX_KEY_CHARS => {
            Err(format!("longer than {MAX_KEY_CHARS} characters"))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("expected a string, got {}", type_name(other))),
        None => Err("missing".to_string()),
    }
}

fn timestamp(value: Option<&Value>) -> Result<i64, String> {
    let Some(value) = value else {
        return Err("missing".to_string());
    };
    let Some(ms) = value.as_f64() else {
        return Err(format!("expected milliseconds since the epoch, got {}", type_name(value)));
    };
    if !(0.0..=MAX_TS).contains(&ms) || ms.fract() != 0.0 {
        return Err(format!("{ms} is not a whole number of milliseconds since the epoch"));
    }
    Ok(ms as i64)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
        assert_eq!(events[1].id, "b");
        assert_eq!(events[0].variant.as_deref(), Some("b"));
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
        assert_eq!(parsed.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(parsed.refused.iter().map(|r| (r.index, r.field)).collect::<Vec<_>>(), [(0, "value"), (2, "value")]);
        assert!(parsed.refused[0].error.contains("events[0].value"), "{}", parsed.refused[0].error);
        let strict = parse_batch_with(body.as_bytes(), &Limits { max_goal_value: 10.0 }).expect("well-formed batch");
        assert_eq!(strict.refused.len(), 4);
    }

    #[test]
    fn an_oversized_event_is_too_large() {
        let url = "x".repeat(MAX_EVENT_BYTES);
        let body = format!(r#"{{"events":[{{"id":"a","type":"pageview","ts":1,"visitor":"v","session":"s","url":"{url}"}}]}}"#);
        assert!(matches!(parse_batch(body.as_bytes()), Err(BatchError::TooLarge { index: Some(0), .. })));
    }
}
