//! Reading one event of a batch, as a collector receives it: every rule of the event format
//! (required fields, their types, the limits in `event`) in one place, each refusal naming its field.
//! Behind the `read-events` feature: the browser only writes events, so none of this reaches the wasm.

use serde_json::{Map, Value as Json};

use crate::event::{Event, EventKind, MAX_KEY_CHARS, MAX_TS};
use crate::json::Value;

/// Why an event was refused: the field (`type`, `ts`, `experiments`, …) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Reads one event object, taking its strings rather than copying them (ingest is a hot path).
/// Unknown keys are ignored, so snippets of other versions are read. The size of the whole event
/// (`MAX_EVENT_BYTES`) is the caller's to check: it measures the JSON it holds anyway.
pub fn read_event(mut fields: Map<String, Json>) -> Result<Event, FieldError> {
    let invalid = |field: &'static str| move |message: String| FieldError { field, message };
    let fields = &mut fields;

    let type_name = key(fields, "type").map_err(invalid("type"))?;
    // Checked before the other fields: which fields are required depends on it.
    if !matches!(type_name.as_str(), "exposure" | "goal" | "pageview") {
        return Err(invalid("type")(format!("unknown type {type_name:?}; expected exposure, goal or pageview")));
    }
    let id = key(fields, "id").map_err(invalid("id"))?;
    let ts = timestamp(fields.get("ts")).map_err(invalid("ts"))?;
    let visitor = key(fields, "visitor").map_err(invalid("visitor"))?;
    let session = key(fields, "session").map_err(invalid("session"))?;
    // Every page has a path ("/" at least): an empty url is a broken client, not a page.
    let url = match fields.remove("url") {
        Some(Json::String(url)) if url.is_empty() => return Err(invalid("url")("must not be empty".to_string())),
        Some(Json::String(url)) => url,
        Some(other) => return Err(invalid("url")(format!("expected a string, got {}", type_name_of(&other)))),
        None => return Err(invalid("url")("missing".to_string())),
    };
    let props = match fields.remove("props") {
        None => None,
        Some(props @ Json::Object(_)) => Some(props),
        Some(other) => return Err(invalid("props")(format!("expected an object, got {}", type_name_of(&other)))),
    };
    let experiments = match fields.remove("experiments") {
        None => Vec::new(),
        Some(Json::Object(map)) => map
            .into_iter()
            .map(|(experiment, variant)| match variant {
                Json::String(variant) => Ok((experiment, variant)),
                other => Err(invalid("experiments")(format!(
                    "variant of {experiment:?} must be a string, got {}",
                    type_name_of(&other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(invalid("experiments")(format!("expected an object, got {}", type_name_of(&other)))),
    };

    let kind = match type_name.as_str() {
        "exposure" => EventKind::Exposure {
            experiment: key(fields, "experiment").map_err(invalid("experiment"))?,
            variant: key(fields, "variant").map_err(invalid("variant"))?,
        },
        "goal" => EventKind::Goal {
            goal: key(fields, "goal").map_err(invalid("goal"))?,
            value: match fields.get("value") {
                None | Some(Json::Null) => None,
                Some(Json::Number(n)) => n.as_f64().filter(|v| v.is_finite()),
                Some(other) => return Err(invalid("value")(format!("expected a number, got {}", type_name_of(other)))),
            },
            experiments,
            props: props.map_or(Value::Object(Vec::new()), into_value),
        },
        _ => EventKind::Pageview {
            referrer: optional_string(fields, "referrer").map_err(invalid("referrer"))?,
            title: optional_string(fields, "title").map_err(invalid("title"))?,
        },
    };
    Ok(Event { id, ts, visitor, session, url, kind })
}

/// A required identifier: a non-empty string of at most `MAX_KEY_CHARS` characters.
fn key(fields: &mut Map<String, Json>, name: &str) -> Result<String, String> {
    match fields.remove(name) {
        Some(Json::String(s)) if s.is_empty() => Err("must not be empty".to_string()),
        Some(Json::String(s)) if s.chars().count() > MAX_KEY_CHARS => Err(format!("longer than {MAX_KEY_CHARS} characters")),
        Some(Json::String(s)) => Ok(s),
        Some(other) => Err(format!("expected a string, got {}", type_name_of(&other))),
        None => Err("missing".to_string()),
    }
}

fn optional_string(fields: &mut Map<String, Json>, name: &str) -> Result<Option<String>, String> {
    match fields.remove(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("expected a string, got {}", type_name_of(&other))),
    }
}

fn timestamp(value: Option<&Json>) -> Result<u64, String> {
    let Some(value) = value else {
        return Err("missing".to_string());
    };
    let Some(ms) = value.as_f64() else {
        return Err(format!("expected milliseconds since the epoch, got {}", type_name_of(value)));
    };
    if !(0.0..=MAX_TS as f64).contains(&ms) || ms.fract() != 0.0 {
        return Err(format!("{ms} is not a whole number of milliseconds since the epoch"));
    }
    Ok(ms as u64)
}

/// serde_json's value as core's (props of a goal). Depth is bounded by serde_json's parser.
fn into_value(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => n.as_f64().map_or(Value::Null, Value::Number),
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(items.into_iter().map(into_value).collect()),
        Json::Object(entries) => Value::Object(entries.into_iter().map(|(k, v)| (k, into_value(v))).collect()),
    }
}

/// "a string", "an object", … for messages.
pub fn type_name_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::base;

    fn read(text: &str) -> Result<Event, FieldError> {
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(fields)) => read_event(fields),
            other => panic!("test input is not an object: {other:?}"),
        }
    }


    #[test]
    fn every_kind_round_trips_through_the_snippets_json() {
        let events = [
            base(EventKind::Exposure { experiment: "e".into(), variant: "v".into() }),
            base(EventKind::Goal {
                goal: "purchase".into(),
                value: Some(-0.125),
                experiments: vec![("a".into(), "x".into()), ("b\u{e9}".into(), "y".into())],
                props: Value::Object(vec![("nested".into(), Value::Array(vec![Value::Null, Value::Bool(true), "\n".into()]))]),
            }),
            base(EventKind::Goal { goal: "signup".into(), value: None, experiments: vec![], props: Value::Object(vec![]) }),
            base(EventKind::Pageview { referrer: Some("https://example.com/?q=1".into()), title: None }),
        ];
        for event in events {
            assert_eq!(read(&event.to_json(&|n| n.to_string())), Ok(event));
        }
    }

    #[test]
    fn a_refusal_names_the_field() {
        let field = |text: &str| read(text).map_err(|e| e.field);
        assert_eq!(field(r#"{"id":"E1","type":"exposure","ts":1,"visitor":"v","session":"s","url":"/","experiment":"x"}"#), Err("variant"));
        assert_eq!(field(r#"{"id":"E2","type":"click","ts":1,"visitor":"v","session":"s","url":"/"}"#), Err("type"));
        assert_eq!(field(r#"{"id":"E3","type":"pageview","ts":1.5,"visitor":"v","session":"s","url":"/"}"#), Err("ts"));
        assert_eq!(field(r#"{"id":"E4","type":"goal","goal":"g","value":"12","ts":1,"visitor":"v","session":"s","url":"/"}"#), Err("value"));
        assert_eq!(field(r#"{"id":"E5","type":"goal","goal":"g","experiments":{"x":1},"ts":1,"visitor":"v","session":"s","url":"/"}"#), Err("experiments"));
    }

    #[test]
    fn an_empty_url_is_refused() {
        let refused = read(r#"{"id":"E1","type":"pageview","ts":1,"visitor":"v","session":"s","url":""}"#);
        assert_eq!(refused, Err(FieldError { field: "url", message: "must not be empty".into() }));
    }

    #[test]
    fn identifiers_longer_than_the_limit_are_refused() {
        let at_limit = "v".repeat(MAX_KEY_CHARS);
        let text = |visitor: &str| format!(r#"{{"id":"E1","type":"pageview","ts":1,"visitor":"{visitor}","session":"s","url":"/"}}"#);
        assert!(read(&text(&at_limit)).is_ok());
        assert_eq!(read(&text(&format!("{at_limit}v"))).map_err(|e| e.field), Err("visitor"));
    }

    #[test]
    fn timestamps_past_two_to_the_53_are_refused() {
        let text = |ts: &str| format!(r#"{{"id":"E1","type":"pageview","ts":{ts},"visitor":"v","session":"s","url":"/"}}"#);
        assert_eq!(read(&text(&MAX_TS.to_string())).map(|e| e.ts), Ok(MAX_TS));
        assert_eq!(read(&text("9007199254740993")).map_err(|e| e.field), Err("ts"));
        assert_eq!(read(&text("-1")).map_err(|e| e.field), Err("ts"));
    }
}
