//! A condition as `eval` takes it. GrowthBook's loops read whatever stands where a condition or a
//! list of them belongs: a string as a list of its UTF-16 units, an array as an object keyed by
//! index, a number or a boolean as an object without keys, and anything but an array or a string
//! as an empty list. Those readings depend on the condition alone, never on the visitor, so they
//! are made here once, when a config is read, and the compiled config carries conditions already
//! in the shape `Eval` walks. The browser's engine then has no code for them (682 B gzip of the
//! audience first-paint module).
//!
//! Each function mirrors the `Eval` method that reads its position, depth included: beyond
//! `MAX_DEPTH`, evaluation stops before it reads anything, so the rest is dropped (`null`): a
//! hostile config's 20 000 levels are neither copied (recursively, which could overflow the stack)
//! nor compiled into the snippet.

use super::{deeper, js, Condition};
use crate::json::Value;

impl Condition {
    /// A condition from a config or a caller, in the shape `eval` reads.
    pub fn read(condition: &Value) -> Condition {
        Condition(condition_at(condition, 0))
    }
}

/// Where `Eval::condition` reads: every entry is an attribute path (or a logical operator) and
/// the value condition it must meet.
fn condition_at(condition: &Value, depth: usize) -> Value {
    let Ok(depth) = deeper(depth) else { return Value::Null };
    match condition {
        // `Object.entries(null)` throws: left for `eval` to abort on.
        Value::Null => Value::Null,
        Value::Bool(_) | Value::Number(_) => Value::Object(Vec::new()),
        Value::Array(items) => Value::Object(items.iter().enumerate().map(|(i, item)| (index(i), value_at(item, depth))).collect()),
        Value::String(text) => {
            Value::Object(code_units(text).enumerate().map(|(i, unit)| (index(i), value_at(&Value::String(unit), depth))).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, argument)| {
                    let argument = match key.as_str() {
                        "$or" | "$nor" | "$and" => list_at(argument, depth),
                        "$not" => condition_at(argument, depth),
                        _ => value_at(argument, depth),
                    };
                    (key.clone(), argument)
                })
                .collect(),
        ),
    }
}

/// Where `Eval::any` and `Eval::all` read a list of conditions through `.length` and `[i]`.
fn list_at(list: &Value, depth: usize) -> Value {
    match list {
        // `null.length` throws: left for `eval` to abort on.
        Value::Null => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(|item| condition_at(item, depth)).collect()),
        Value::String(text) => Value::Array(code_units(text).map(|unit| condition_at(&Value::String(unit), depth)).collect()),
        // No `length`: an empty list.
        _ => Value::Array(Vec::new()),
    }
}

/// Where `Eval::value` reads: a literal, or an object of operators, some of which hold value
/// conditions or conditions in turn.
fn value_at(condition: &Value, depth: usize) -> Value {
    let Ok(depth) = deeper(depth) else { return Value::Null };
    let Value::Object(operators) = condition else { return condition.clone() };
    if !js::is_operator_object(condition) {
        return condition.clone();
    }
    let operators = operators.iter().map(|(operator, argument)| {
        let argument = match (operator.as_str(), argument) {
            ("$not" | "$size", _) => value_at(argument, depth),
            ("$elemMatch", _) if js::is_operator_object(argument) => value_at(argument, depth),
            ("$elemMatch", _) => condition_at(argument, depth),
            ("$all" | "$alli", Value::Array(wanted)) => Value::Array(wanted.iter().map(|item| value_at(item, depth)).collect()),
            _ => argument.clone(),
        };
        (operator.clone(), argument)
    });
    Value::Object(operators.collect())
}

/// An array index as a property key: its decimal digits (`digits`, not `usize::to_string`, which
/// would bring `core::fmt` into the snippet).
fn index(i: usize) -> String {
    crate::digits::unsigned(i as u64)
}

/// A string's UTF-16 units, each as a string (a lone surrogate cannot live in a Rust string: an
/// astral character gives two U+FFFD).
fn code_units(text: &str) -> impl Iterator<Item = String> + '_ {
    text.chars().flat_map(|c| {
        let astral = c.len_utf16() == 2;
        let unit = if astral { char::REPLACEMENT_CHARACTER } else { c };
        std::iter::repeat_n(String::from(unit), 1 + usize::from(astral))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn read(text: &str) -> Value {
        Condition::read(&parse(text).expect("test JSON parses").0).0
    }

    fn json(text: &str) -> Value {
        parse(text).expect("test JSON parses").0
    }

    #[test]
    fn arrays_become_objects_keyed_by_index_and_strings_by_utf16_unit() {
        let list = Value::Array((0..12).map(|i| Value::Number(f64::from(i))).collect());
        let read = Condition::read(&list).0;
        let keys: Vec<&str> = read.as_object().expect("an object").iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys.len(), 12);
        assert_eq!((keys[0], keys[10], keys[11]), ("0", "10", "11"));
        // "a😀": three UTF-16 units; the surrogate halves cannot be Rust strings.
        assert_eq!(Condition::read(&Value::from("a\u{1F600}")).0, json(r#"{"0": "a", "1": "\uFFFD", "2": "\uFFFD"}"#));
    }

    #[test]
    fn each_position_is_read_as_eval_reads_it() {
        assert_eq!(read("7"), json("{}"));
        assert_eq!(read("null"), json("null"));
        // Lists: a string is its units, each a condition; anything else without a length is empty.
        assert_eq!(read(r#"{"$or": "ab", "$and": 5, "$nor": {"x": 1}}"#), json(r#"{"$or": [{"0": "a"}, {"0": "b"}], "$and": [], "$nor": []}"#));
        assert_eq!(read(r#"{"$not": ["x"], "$or": null}"#), json(r#"{"$not": {"0": "x"}, "$or": null}"#));
        // Literals stay literals, however they look.
        assert_eq!(read(r#"{"tags": ["a", "b"], "name": "ab", "o": {"$or": "x", "k": 1}}"#), json(r#"{"tags": ["a", "b"], "name": "ab", "o": {"$or": "x", "k": 1}}"#));
        // Inside operators: `$elemMatch` holds a condition unless it is an operator object.
        assert_eq!(
            read(r#"{"a": {"$elemMatch": "xy", "$not": {"$elemMatch": {"$gt": 1}}, "$all": [{"$elemMatch": [1]}], "$in": ["q"]}}"#),
            json(r#"{"a": {"$elemMatch": {"0": "x", "1": "y"}, "$not": {"$elemMatch": {"$gt": 1}}, "$all": [{"$elemMatch": {"0": 1}}], "$in": ["q"]}}"#)
        );
    }

    #[test]
    fn beyond_the_depth_limit_the_condition_is_dropped() {
        // 64 levels of `$not`, then a string where a condition belongs: `eval` gives up before it.
        let mut text = String::from("\"abc\"");
        for _ in 0..super::super::MAX_DEPTH {
            text = format!(r#"{{"$not": {text}}}"#);
        }
        let mut inner = &read(&text);
        while let Some(next) = inner.get("$not") {
            inner = next;
        }
        assert_eq!(inner, &Value::Null);
    }
}
