//! Targeting conditions: GrowthBook's MongoDB-style rules over a visitor's attributes, evaluated
//! with JavaScript's comparison rules so an audience holds exactly whom GrowthBook's SDK would pick.
//!
//! Closed on purpose: no I/O, no state, one `eval`, one `validate`, operators dispatched in one
//! place (`Eval::operator`). GrowthBook's semantics come from JavaScript's loose typing; each quirk
//! is reproduced where it happens and says so in a comment, because "same visitor, same variant as
//! any GrowthBook SDK" includes the odd cases. The helpers that imitate JavaScript (`js`) and the
//! version padding (`version`) are private modules at the end of this file.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::issue::Issue;
use crate::json::{join_index, join_key, Value};
use crate::js_engine::JsEngine;

/// Conditions (and attribute values they are compared with) nested deeper than this evaluate to
/// false and are reported by `validate`: a hostile config must not be able to overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// A condition, read (`Condition::read`, in `read.rs`) into the shape `eval` walks.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Value);

impl Condition {
    /// A condition as `compiled::encode` wrote it: it was read when the config was.
    pub(crate) fn compiled(condition: Value) -> Condition {
        Condition(condition)
    }

    pub fn value(&self) -> &Value {
        &self.0
    }
}

/// Whether `attributes` satisfy `condition`. `groups` holds named id lists for `$inGroup` /
/// `$notInGroup` (GrowthBook's saved groups: `{"beta": ["v_1", "v_2"]}`).
///
/// Where GrowthBook's JavaScript would throw (a `null` where a condition belongs) or the condition is
/// nested too deeply, the whole condition is false: the visitor is not in the audience. An enclosing
/// `$not` does not turn that into a match.
pub fn eval(attributes: &Value, condition: &Condition, groups: &Value, regex: &dyn JsEngine) -> bool {
    let eval = Eval { groups, js: regex };
    eval.condition(attributes, &condition.0, 0).unwrap_or(false)
}

/// The `type` of a saved group whose string ids are SHA-256 hashed (`secure_groups`).
const HASHED_GROUP: &str = "sha256";

/// A saved group's members: as written, or with the string ids hashed.
enum Group<'a> {
    Plain(&'a [Value]),
    /// `values` holds `sha256(salt + id)` in hex for each string id, other members as written.
    Hashed { salt: &'a str, values: &'a [Value] },
}

impl Group<'_> {
    /// GrowthBook's `$inGroup` test (`isIn`): the value, or any element of an array value, is listed.
    fn contains(&self, actual: &Value, js: &dyn JsEngine) -> bool {
        match self {
            Group::Plain(ids) => js::is_in(actual, ids, false, js),
            Group::Hashed { salt, values } => {
                let listed = |item: &Value| match item {
                    Value::String(id) => {
                        let hashed = salted_sha256_hex(salt, id);
                        values.iter().any(|v| v.as_str() == Some(hashed.as_str()))
                    }
                    // Never equal to a hash (a string): compared with the members kept as written.
                    other => js::is_in(other, values, false, js),
                };
                match actual {
                    Value::Array(items) => items.iter().any(listed),
                    _ => listed(actual),
                }
            }
        }
    }
}

/// `sha256(salt + text)` as 64 lowercase hex digits.
fn salted_sha256_hex(salt: &str, text: &str) -> String {
    crate::sha256::sha256_hex(&[salt.as_bytes(), text.as_bytes()])
}

/// Saved groups as browsers get them (GrowthBook's "secure attributes"): each group becomes
/// `{"type": "sha256", "salt": "splitbeam:<name>:", "values": [...]}` with every string id replaced
/// by `sha256(salt + id)` in hex, so `$inGroup` still tests membership but nobody can read the ids.
/// Members that are not strings (numbers, booleans) stay as written; a malformed group stays
/// malformed (it matches nobody either way).
pub fn secure_groups(groups: &Value) -> Value {
    let Value::Object(entries) = groups else {
        return Value::Object(Vec::new());
    };
    let hash = |name: &str, ids: &[Value]| {
        let salt = format!("splitbeam:{name}:");
        let values = ids
            .iter()
            .map(|id| match id {
                Value::String(text) => Value::String(salted_sha256_hex(&salt, text)),
                other => other.clone(),
            })
            .collect();
        Value::Object(vec![
            ("type".to_string(), Value::String(HASHED_GROUP.to_string())),
            ("salt".to_string(), Value::String(salt)),
            ("values".to_string(), Value::Array(values)),
        ])
    };
    let secured = entries
        .iter()
        .map(|(name, entry)| {
            let list = match entry {
                Value::Array(ids) => Some(ids.as_slice()),
                Value::Object(_) if entry.get("type").and_then(Value::as_str) == Some("list") => {
                    entry.get("values").and_then(Value::as_array)
                }
                _ => None,
            };
            (name.clone(), list.map_or(Value::Null, |ids| hash(name, ids)))
        })
        .collect();
    Value::Object(secured)
}

/// Why an evaluation stopped before reaching an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    /// GrowthBook's JavaScript throws a TypeError here (e.g. `Object.entries(null)`).
    JsTypeError,
    /// Deeper than `MAX_DEPTH`.
    TooDeep,
}

type Outcome<T = bool> = Result<T, Abort>;

/// One level further down, or `TooDeep`.
fn deeper(depth: usize) -> Outcome<usize> {
    if depth >= MAX_DEPTH {
        Err(Abort::TooDeep)
    } else {
        Ok(depth + 1)
    }
}

/// The evaluation context: what stays the same while a condition is walked.
struct Eval<'a> {
    groups: &'a Value,
    js: &'a dyn JsEngine,
}

impl Eval<'_> {
    /// A condition object (GrowthBook's `evalCondition`): every entry must hold. Keys are the
    /// logical operators or dotted attribute paths; any other `$key` is an attribute path too.
    fn condition(&self, attributes: &Value, condition: &Value, depth: usize) -> Outcome {
        let depth = deeper(depth)?;
        for (key, argument) in js::entries(condition)? {
            let holds = match key {
                "$or" => self.any(attributes, argument, depth)?,
                "$nor" => !self.any(attributes, argument, depth)?,
                "$and" => self.all(attributes, argument, depth)?,
                "$not" => !self.condition(attributes, argument, depth)?,
                path => {
                    let value = js::get_path(attributes, path);
                    self.value(argument, &value, false, depth)?
                }
            };
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `$or`: an empty list holds (GrowthBook: `if (!conditions.length) return true`).
    fn any(&self, attributes: &Value, list: &Value, depth: usize) -> Outcome {
        let conditions = js::list(list)?;
        if conditions.is_empty() {
            return Ok(true);
        }
        for condition in conditions {
            if self.condition(attributes, condition, depth)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `$and`: every listed condition holds.
    fn all(&self, attributes: &Value, list: &Value, depth: usize) -> Outcome {
        for condition in js::list(list)? {
            if !self.condition(attributes, condition, depth)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A value condition (GrowthBook's `evalConditionValue`): a literal to compare with, or an
    /// object of `$operators` that must all hold. `insensitive` is set by `$alli`.
    fn value(&self, condition: &Value, value: &Value, insensitive: bool, depth: usize) -> Outcome {
        let depth = deeper(depth)?;
        match condition {
            // JavaScript: `value + "" === condition`, so 10 matches "10" and a missing attribute matches "null".
            Value::String(expected) => {
                let actual = js::to_string(value, self.js, depth)?;
                Ok(if insensitive {
                    self.js.to_lower(&actual) == self.js.to_lower(expected)
                } else {
                    actual == expected.as_str()
                })
            }
            // JavaScript: `value * 1 === condition`, so "10" matches 10, and null, "" and false match 0.
            Value::Number(expected) => Ok(js::to_number(value, self.js, depth)? == *expected),
            // JavaScript: `value !== null && !!value === condition` (truthiness: "yes" matches true).
            Value::Bool(expected) => Ok(!value.is_null() && js::truthy(value) == *expected),
            Value::Null => Ok(value.is_null()),
            // Arrays and objects without operators compare as `JSON.stringify` output.
            Value::Array(_) => js::json_equal(value, condition, depth),
            Value::Object(operators) => {
                if !js::is_operator_object(condition) {
                    return js::json_equal(value, condition, depth);
                }
                for (operator, argument) in operators {
                    if !self.operator(operator, value, argument, depth)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Every operator, in one place (GrowthBook's `evalOperatorCondition`). Unknown operators are false.
    fn operator(&self, operator: &str, actual: &Value, expected: &Value, depth: usize) -> Outcome {
        Ok(match operator {
            "$veq" => version::compare(actual, expected, self.js) == Ordering::Equal,
            "$vne" => version::compare(actual, expected, self.js) != Ordering::Equal,
            "$vgt" => version::compare(actual, expected, self.js) == Ordering::Greater,
            "$vgte" => version::compare(actual, expected, self.js) != Ordering::Less,
            "$vlt" => version::compare(actual, expected, self.js) == Ordering::Less,
            "$vlte" => version::compare(actual, expected, self.js) != Ordering::Greater,
            "$eq" => js::strict_equal(actual, expected),
            "$ne" => !js::strict_equal(actual, expected),
            "$lt" => js::compare(actual, expected, self.js, depth)? == Some(Ordering::Less),
            "$lte" => matches!(js::compare(actual, expected, self.js, depth)?, Some(Ordering::Less | Ordering::Equal)),
            "$gt" => js::compare(actual, expected, self.js, depth)? == Some(Ordering::Greater),
            "$gte" => matches!(js::compare(actual, expected, self.js, depth)?, Some(Ordering::Greater | Ordering::Equal)),
            // JavaScript's loose `!= null`: the argument only counts by its truthiness.
            "$exists" => js::truthy(expected) != actual.is_null(),
            "$in" => expected.as_array().is_some_and(|list| js::is_in(actual, list, false, self.js)),
            "$ini" => expected.as_array().is_some_and(|list| js::is_in(actual, list, true, self.js)),
            "$nin" => expected.as_array().is_some_and(|list| !js::is_in(actual, list, false, self.js)),
            "$nini" => expected.as_array().is_some_and(|list| !js::is_in(actual, list, true, self.js)),
            "$inGroup" => self.group(expected, depth)?.is_some_and(|group| group.contains(actual, self.js)),
            // A malformed group matches nobody either way; an unknown one is an empty list.
            "$notInGroup" => self.group(expected, depth)?.is_some_and(|group| !group.contains(actual, self.js)),
            "$not" => !self.value(expected, actual, false, depth)?,
            "$size" => match actual {
                Value::Array(items) => self.value(expected, &Value::Number(items.len() as f64), false, depth)?,
                _ => false,
            },
            "$elemMatch" => self.elem_match(actual, expected, depth)?,
            "$all" => self.all_match(actual, expected, false, depth)?,
            "$alli" => self.all_match(actual, expected, true, depth)?,
            "$regex" | "$regexi" => match expected {
                // JavaScript's `RegExp.test` reads its argument as a string: 42 is tested as "42".
                Value::String(pattern) => {
                    let text = js::to_string(actual, self.js, depth)?;
                    // An invalid pattern throws inside GrowthBook's try/catch: false.
                    self.js.is_match(pattern, &text, operator == "$regexi").unwrap_or(false)
                }
                // A non-string pattern has no `.replace` there: a caught TypeError, false.
                _ => false,
            },
            "$type" => expected.as_str() == Some(actual.type_name()),
            _ => false,
        })
    }

    /// The id list of a saved group, GrowthBook's `getSavedGroupArrayValues`: `Some(&[])` for an
    /// unknown name, `None` for a malformed entry (so `$notInGroup` cannot pass everyone).
    /// Names are property keys there, so a number argument 1 names group "1".
    fn group(&self, name: &Value, depth: usize) -> Outcome<Option<Group<'_>>> {
        let name = js::to_string(name, self.js, depth)?;
        Ok(match self.groups.get(&name) {
            None => Some(Group::Plain(&[])),
            Some(Value::Array(ids)) => Some(Group::Plain(ids)),
            Some(entry @ Value::Object(_)) => match entry.get("type").and_then(Value::as_str) {
                Some("list") => entry.get("values").and_then(Value::as_array).map(Group::Plain),
                Some(HASHED_GROUP) => match (entry.get("salt"), entry.get("values").and_then(Value::as_array)) {
                    (Some(Value::String(salt)), Some(values)) => Some(Group::Hashed { salt, values }),
                    _ => None,
                },
                _ => None,
            },
            Some(_) => None,
        })
    }

    /// `$elemMatch`: some non-null element satisfies `expected`, read as a value condition when it
    /// is an operator object and as a condition on the element's fields otherwise.
    fn elem_match(&self, actual: &Value, expected: &Value, depth: usize) -> Outcome {
        let Value::Array(items) = actual else {
            return Ok(false);
        };
        // `Object.keys(null)` throws in GrowthBook, even before looking at an empty array.
        if expected.is_null() {
            return Err(Abort::JsTypeError);
        }
        let as_value_condition = js::is_operator_object(expected);
        for item in items.iter().filter(|item| !item.is_null()) {
            let hit = if as_value_condition {
                self.value(expected, item, false, depth)?
            } else {
                self.condition(item, expected, depth)?
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `$all` / `$alli`: every listed value condition is met by some element of the attribute array.
    fn all_match(&self, actual: &Value, expected: &Value, insensitive: bool, depth: usize) -> Outcome {
        let (Some(wanted), Some(items)) = (expected.as_array(), actual.as_array()) else {
            return Ok(false);
        };
        for condition in wanted {
            let mut met = false;
            for item in items {
                if self.value(condition, item, insensitive, depth)? {
                    met = true;
                    break;
                }
            }
            if !met {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Every operator `eval` knows.
const OPERATORS: &[&str] = &[
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$ini",
    "$nini",
    "$all",
    "$alli",
    "$elemMatch",
    "$size",
    "$exists",
    "$type",
    "$not",
    "$regex",
    "$regexi",
    "$or",
    "$nor",
    "$and",
    "$inGroup",
    "$notInGroup",
    "$veq",
    "$vne",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
];

/// The operators that combine whole conditions at the top level of a condition object.
const LOGICAL: &[&str] = &["$or", "$nor", "$and", "$not"];

/// The names `$type` can match.
const TYPE_NAMES: &[&str] = &["string", "number", "boolean", "object", "array", "null"];

/// Problems in a condition found before any visitor is evaluated: unknown `$operators`, operator
/// arguments of the wrong type, invalid regular expressions, nesting beyond `MAX_DEPTH`. Each issue
/// carries the JSON path below `path` (e.g. `experiments[0].audience.device.$foo`).
pub fn validate(condition: &Value, path: &str, regex: &dyn JsEngine) -> Vec<Issue> {
    let mut validator = Validator { regex, issues: Vec::new() };
    validator.condition(condition, path, 0);
    validator.issues
}

struct Validator<'a> {
    regex: &'a dyn JsEngine,
    issues: Vec<Issue>,
}

impl Validator<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.issues.push(Issue { path: path.to_string(), message: message.into() });
    }

    /// The next depth, or `None` after reporting that the limit is crossed here.
    fn deeper(&mut self, path: &str, depth: usize) -> Option<usize> {
        match deeper(depth) {
            Ok(next) => Some(next),
            Err(_) => {
                self.report(path, format!("condition nested too deeply (the limit is {MAX_DEPTH} levels)"));
                None
            }
        }
    }

    fn condition(&mut self, condition: &Value, path: &str, depth: usize) {
        let Some(depth) = self.deeper(path, depth) else { return };
        let Some(entries) = condition.as_object() else {
            self.report(path, format!("a condition must be an object, not {}", an(condition)));
            return;
        };
        for (key, argument) in entries {
            let at = join_key(path, key);
            match key.as_str() {
                "$or" | "$nor" | "$and" => self.condition_list(key, argument, &at, depth),
                "$not" => self.condition(argument, &at, depth),
                // GrowthBook reads any other top-level `$key` as an attribute name (its own tests use
                // `$groups`), so only near-misses of the logical operators are reported.
                _ if key.starts_with('$') => {
                    if let Some(meant) = nearest(key, LOGICAL) {
                        self.report(&at, format!("unknown operator `{key}` (did you mean `{meant}`?)"));
                    }
                }
                _ => self.value(argument, &at, depth),
            }
        }
    }

    fn condition_list(&mut self, operator: &str, list: &Value, path: &str, depth: usize) {
        match list.as_array() {
            Some(conditions) => {
                for (i, condition) in conditions.iter().enumerate() {
                    self.condition(condition, &join_index(path, i), depth);
                }
            }
            None => self.report(path, format!("`{operator}` expects an array of conditions, not {}", an(list))),
        }
    }

    /// A value condition: literals are always valid; operator objects are checked operator by operator.
    fn value(&mut self, condition: &Value, path: &str, depth: usize) {
        let Some(depth) = self.deeper(path, depth) else { return };
        let Some(entries) = condition.as_object() else { return };
        let operators = entries.iter().filter(|(key, _)| key.starts_with('$')).count();
        if operators == 0 {
            return;
        }
        if operators < entries.len() {
            self.report(
                path,
                "mixes `$operators` with plain keys, so it would be compared as a literal object; use only operators",
            );
            return;
        }
        for (operator, argument) in entries {
            self.operator(operator, argument, &join_key(path, operator), depth);
        }
    }

    fn operator(&mut self, operator: &str, argument: &Value, path: &str, depth: usize) {
        let problem: Option<Cow<str>> = match operator {
            "$eq" | "$ne" => matches!(argument, Value::Array(_) | Value::Object(_)).then(|| {
                format!(
                    "`{operator}` compares by identity, so {} never matches; use $in, $elemMatch or a plain value",
                    an(argument)
                )
                .into()
            }),
            "$lt" | "$lte" | "$gt" | "$gte" => (!matches!(argument, Value::Number(_) | Value::String(_)))
                .then(|| format!("`{operator}` expects a number or a string, not {}", an(argument)).into()),
            "$veq" | "$vne" | "$vgt" | "$vgte" | "$vlt" | "$vlte" => {
                (!matches!(argument, Value::String(_) | Value::Number(_))).then(|| {
                    format!("`{operator}` expects a version string such as \"1.2.3\", not {}", an(argument)).into()
                })
            }
            "$in" | "$nin" | "$ini" | "$nini" => argument
                .as_array()
                .is_none()
                .then(|| format!("`{operator}` expects an array, not {}", an(argument)).into()),
            "$all" | "$alli" => match argument.as_array() {
                Some(conditions) => {
                    for (i, condition) in conditions.iter().enumerate() {
                        self.value(condition, &join_index(path, i), depth);
                    }
                    None
                }
                None => Some(format!("`{operator}` expects an array, not {}", an(argument)).into()),
            },
            "$inGroup" | "$notInGroup" => (!matches!(argument, Value::String(_)))
                .then(|| format!("`{operator}` expects a group name (a string), not {}", an(argument)).into()),
            "$exists" => (!matches!(argument, Value::Bool(_)))
                .then(|| format!("`$exists` expects true or false, not {}", an(argument)).into()),
            "$type" => match argument.as_str() {
                Some(name) if TYPE_NAMES.contains(&name) => None,
                _ => Some(format!("`$type` expects one of {}", TYPE_NAMES.join(", ")).into()),
            },
            "$size" => match argument {
                Value::Number(_) => None,
                Value::Object(_) if js::is_operator_object(argument) => {
                    self.value(argument, path, depth);
                    None
                }
                _ => Some(
                    format!("`$size` expects a number or a condition such as {{\"$gt\": 2}}, not {}", an(argument))
                        .into(),
                ),
            },
            "$elemMatch" => match argument {
                Value::Object(_) if js::is_operator_object(argument) => {
                    self.value(argument, path, depth);
                    None
                }
                Value::Object(_) => {
                    self.condition(argument, path, depth);
                    None
                }
                _ => Some(format!("`$elemMatch` expects a condition object, not {}", an(argument)).into()),
            },
            "$not" => match argument {
                Value::Object(_) => {
                    self.value(argument, path, depth);
                    None
                }
                _ => Some(
                    format!(
                        "`$not` expects a condition such as {{\"$in\": [...]}}, not {}; use $ne to exclude one value",
                        an(argument)
                    )
                    .into(),
                ),
            },
            "$regex" | "$regexi" => match argument {
                Value::String(pattern) => match self.regex.is_match(pattern, "", operator == "$regexi") {
                    Ok(_) => None,
                    Err(why) => Some(format!("invalid regular expression: {}", last_line(&why)).into()),
                },
                _ => Some(format!("`{operator}` expects a regular expression (a string), not {}", an(argument)).into()),
            },
            "$or" | "$nor" | "$and" => Some(
                format!("`{operator}` combines whole conditions; put it beside the attribute names, not under one")
                    .into(),
            ),
            _ => Some(match nearest(operator, OPERATORS) {
                Some(meant) => format!("unknown operator `{operator}` (did you mean `{meant}`?)").into(),
                None => format!("unknown operator `{operator}`").into(),
            }),
        };
        if let Some(message) = problem {
            self.report(path, message);
        }
    }
}

/// "an array", "a string"...: the JSON type with its article, for messages.
fn an(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Regex engines explain errors over several lines (pattern, caret, reason): keep the reason.
fn last_line(message: &str) -> &str {
    let line = message.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(message).trim();
    line.strip_prefix("error: ").unwrap_or(line)
}

/// The known name closest to a misspelled one: the same letters in another case, or one edit away
/// (two for names longer than five characters, so `$foo` is not taken for `$not`).
fn nearest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let allowed = if name.chars().count() > 5 { 2 } else { 1 };
    known
        .iter()
        .map(|candidate| (edit_distance(&name.to_ascii_lowercase(), candidate), *candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters (names here are a few characters long).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------------------------
// JavaScript semantics

// Without the condition engine nothing evaluates a condition and `JsEngine`'s provided methods are
// stubs (`js_engine.rs`): the imitations of JavaScript's coercions below are then unused.
#[cfg_attr(not(any(feature = "conditions", test)), allow(dead_code))]
mod js;
// The Rust imitations behind `JsEngine`'s provided methods (the platform's own where there is one).
#[cfg(any(feature = "conditions", test))]
pub(crate) use js::{number_to_string, string_to_number, to_lower};

// ---------------------------------------------------------------------------------------------
// Versions

#[cfg_attr(not(any(feature = "conditions", test)), allow(dead_code))]
mod version;
#[cfg(any(feature = "conditions", test))]
pub(crate) use version::padded_text as padded_version;

// ---------------------------------------------------------------------------------------------
// Reading a condition once, for every evaluation

mod read;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    /// A regex stand-in with predictable answers: patterns containing "((" are invalid,
    /// anything else matches when it is a substring (case-insensitively on request).
    struct SubstringRegex;

    impl JsEngine for SubstringRegex {
        fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
            if pattern.contains("((") {
                return Err("regex parse error:\n    ((\n    ^\nerror: unclosed group".to_string());
            }
            Ok(if ignore_case { text.to_lowercase().contains(&pattern.to_lowercase()) } else { text.contains(pattern) })
        }
    }

    fn json(text: &str) -> Value {
        match parse(text) {
            Ok((value, _)) => value,
            Err(e) => panic!("test JSON {text:?} does not parse: {e}"),
        }
    }

    fn matches(condition: &str, attributes: &str) -> bool {
        eval(&json(attributes), &read(condition), &Value::Null, &SubstringRegex)
    }

    fn read(condition: &str) -> Condition {
        Condition::read(&json(condition))
    }

    fn issues(condition: &str) -> Vec<Issue> {
        validate(&json(condition), "experiments[0].audience", &SubstringRegex)
    }

    fn issue_paths(condition: &str) -> Vec<String> {
        issues(condition).into_iter().map(|issue| issue.path).collect()
    }

    /// `{"$not": {"$not": ... {"a": 1} ...}}` with `levels` nots.
    fn nested_nots(levels: usize) -> Value {
        let mut condition = json(r#"{"a": 1}"#);
        for _ in 0..levels {
            condition = Value::Object(vec![("$not".to_string(), condition)]);
        }
        condition
    }

    // --- evaluation: JavaScript's comparison rules ---

    #[test]
    fn a_number_condition_matches_numeric_strings_and_null_matches_zero() {
        assert!(matches(r#"{"n": 10}"#, r#"{"n": "10"}"#));
        assert!(matches(r#"{"n": 10}"#, r#"{"n": " 1e1 "}"#));
        // `null * 1 === 0`: a missing attribute matches 0, as in GrowthBook.
        assert!(matches(r#"{"n": 0}"#, r#"{}"#));
        assert!(!matches(r#"{"n": 10}"#, r#"{"n": "ten"}"#));
    }

    #[test]
    fn a_string_condition_matches_the_printed_attribute() {
        assert!(matches(r#"{"price": "9.5"}"#, r#"{"price": 9.5}"#));
        assert!(matches(r#"{"tags": "a,b"}"#, r#"{"tags": ["a", "b"]}"#));
        assert!(matches(r#"{"missing": "null"}"#, r#"{}"#));
        assert!(!matches(r#"{"price": "9.50"}"#, r#"{"price": 9.5}"#));
    }

    #[test]
    fn a_boolean_condition_uses_truthiness_but_never_matches_null() {
        assert!(matches(r#"{"member": true}"#, r#"{"member": "yes"}"#));
        assert!(matches(r#"{"member": false}"#, r#"{"member": 0}"#));
        assert!(!matches(r#"{"member": false}"#, r#"{}"#));
    }

    #[test]
    fn eq_never_matches_arrays_or_objects_because_javascript_compares_identity() {
        assert!(!matches(r#"{"tags": {"$eq": ["a"]}}"#, r#"{"tags": ["a"]}"#));
        assert!(matches(r#"{"tags": {"$ne": ["a"]}}"#, r#"{"tags": ["a"]}"#));
        assert!(matches(r#"{"tags": ["a"]}"#, r#"{"tags": ["a"]}"#));
    }

    #[test]
    fn relational_operators_compare_strings_by_utf16_units() {
        // U+FF5E (one unit, 0xFF5E) sorts after U+1F984 (units 0xD83E 0xDD84) in JavaScript,
        // although its code point is smaller.
        assert!(matches(r#"{"s": {"$gt": "🦄"}}"#, r#"{"s": "～"}"#));
        assert!(!matches(r#"{"s": {"$lt": "🦄"}}"#, r#"{"s": "～"}"#));
    }

    #[test]
    fn relational_operators_compare_missing_attributes_as_zero() {
        assert!(matches(r#"{"age": {"$lt": 5}}"#, r#"{}"#));
        assert!(!matches(r#"{"age": {"$gt": 0}}"#, r#"{}"#));
        assert!(!matches(r#"{"age": {"$gt": 0}}"#, r#"{"age": "old"}"#), "NaN compares false");
    }

    #[test]
    fn dotted_paths_read_array_indexes_and_length() {
        assert!(matches(r#"{"items.1.sku": "B"}"#, r#"{"items": [{"sku": "A"}, {"sku": "B"}]}"#));
        assert!(matches(r#"{"items.length": {"$gte": 2}}"#, r#"{"items": [1, 2]}"#));
        assert!(!matches(r#"{"items.01": 2}"#, r#"{"items": [1, 2]}"#));
    }

    #[test]
    fn literal_objects_compare_in_javascript_key_order() {
        // JSON.stringify puts array-index keys first, so these two print the same.
        assert!(matches(r#"{"o": {"b": 1, "1": 2}}"#, r#"{"o": {"1": 2, "b": 1}}"#));
        assert!(!matches(r#"{"o": {"b": 1, "a": 2}}"#, r#"{"o": {"a": 2, "b": 1}}"#));
    }

    #[test]
    fn in_with_an_array_attribute_matches_any_listed_element() {
        assert!(matches(r#"{"tags": {"$in": ["sale"]}}"#, r#"{"tags": ["new", "sale"]}"#));
        assert!(!matches(r#"{"tags": {"$in": ["1"]}}"#, r#"{"tags": [1]}"#), "includes() is strict");
    }

    #[test]
    fn groups_resolve_bare_lists_and_list_entries_and_refuse_malformed_ones() {
        let groups = json(r#"{"beta": ["v1"], "vip": {"type": "list", "values": ["v2"]}, "broken": 3}"#);
        let check = |condition: &str, id: &str| {
            let attributes = Value::Object(vec![("id".to_string(), Value::from(id))]);
            eval(&attributes, &read(condition), &groups, &SubstringRegex)
        };
        assert!(check(r#"{"id": {"$inGroup": "beta"}}"#, "v1"));
        assert!(check(r#"{"id": {"$inGroup": "vip"}}"#, "v2"));
        assert!(check(r#"{"id": {"$notInGroup": "nobody-knows"}}"#, "v1"));
        assert!(!check(r#"{"id": {"$notInGroup": "broken"}}"#, "v1"), "a malformed group must not pass everyone");
    }

    #[test]
    fn hashed_groups_hide_the_ids_and_decide_exactly_as_the_clear_ones() {
        let clear = json(r#"{"beta": ["v_alice", "v_bob", 7], "vip": {"type": "list", "values": ["v_carol"]}, "broken": 3}"#);
        let hashed = secure_groups(&clear);
        let mut text = String::new();
        fn strings(v: &Value, out: &mut String) {
            match v {
                Value::String(s) => out.push_str(s),
                Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
                Value::Object(entries) => entries.iter().for_each(|(k, i)| {
                    out.push_str(k);
                    strings(i, out)
                }),
                _ => {}
            }
        }
        strings(&hashed, &mut text);
        assert!(!text.contains("v_alice") && !text.contains("v_carol"), "{text}");
        let conditions = [
            r#"{"id": {"$inGroup": "beta"}}"#,
            r#"{"id": {"$notInGroup": "beta"}}"#,
            r#"{"id": {"$inGroup": "vip"}}"#,
            r#"{"id": {"$notInGroup": "broken"}}"#,
            r#"{"id": {"$inGroup": "nobody-knows"}}"#,
        ];
        let ids = [json(r#""v_alice""#), json(r#""v_bob""#), json(r#""v_carol""#), json(r#""v_dave""#), json("7"), json(r#""7""#),
            json(r#"["v_x", "v_bob"]"#), json("null")];
        for condition in conditions {
            for id in &ids {
                let attributes = Value::Object(vec![("id".to_string(), id.clone())]);
                assert_eq!(
                    eval(&attributes, &read(condition), &hashed, &SubstringRegex),
                    eval(&attributes, &read(condition), &clear, &SubstringRegex),
                    "{condition} with id {id:?}"
                );
            }
        }
        // A member is `sha256("splitbeam:<group>:" + id)`.
        let alice = crate::sha256::sha256_hex(&[b"splitbeam:beta:v_alice"]);
        assert!(hashed.get("beta").and_then(|g| g.get("values")).and_then(Value::as_array).is_some_and(|v| v[0].as_str() == Some(alice.as_str())));
    }

    #[test]
    fn regex_tests_the_printed_attribute_and_invalid_patterns_are_false() {
        assert!(matches(r#"{"n": {"$regex": "42"}}"#, r#"{"n": 1426}"#));
        assert!(!matches(r#"{"n": {"$regex": "(("}}"#, r#"{"n": "(("}"#));
        assert!(!matches(r#"{"n": {"$regex": 42}}"#, r#"{"n": 42}"#));
    }

    #[test]
    fn a_null_condition_where_javascript_throws_is_false_even_under_not() {
        assert!(!matches(r#"{"$or": null}"#, r#"{}"#));
        assert!(!matches(r#"{"$not": {"$and": [null]}}"#, r#"{}"#));
        assert!(!matches(r#"{"tags": {"$not": {"$elemMatch": null}}}"#, r#"{"tags": []}"#));
    }

    #[test]
    fn versions_ignore_build_metadata_only_up_to_a_line_break() {
        assert!(matches(r#"{"v": {"$veq": "1.2.3"}}"#, r#"{"v": "1.2.3+build"}"#));
        // JavaScript's `.` does not cross "\n", so "+a\nb" is not stripped.
        assert!(!matches(r#"{"v": {"$veq": "1.2.3"}}"#, r#"{"v": "1.2.3+a\nb"}"#));
        assert!(matches(r#"{"v": {"$vgt": "1.4"}}"#, r#"{"v": 1.5}"#));
    }

    // --- depth bounding ---

    #[test]
    fn conditions_within_the_depth_limit_evaluate_normally() {
        let attributes = json(r#"{"a": 1}"#);
        assert!(eval(&attributes, &Condition::read(&nested_nots(60)), &Value::Null, &SubstringRegex));
        assert!(!eval(&attributes, &Condition::read(&nested_nots(61)), &Value::Null, &SubstringRegex));
    }

    #[test]
    fn conditions_nested_beyond_the_limit_evaluate_to_false() {
        // An even number of nots around a true condition would be true if evaluated.
        let attributes = json(r#"{"a": 1}"#);
        assert!(!eval(&attributes, &Condition::read(&nested_nots(100)), &Value::Null, &SubstringRegex));
        assert!(!eval(&attributes, &Condition::read(&nested_nots(101)), &Value::Null, &SubstringRegex));
    }

    #[test]
    fn very_deep_conditions_neither_overflow_the_stack_nor_validate() {
        let deep = nested_nots(20_000);
        assert!(!eval(&json(r#"{"a": 1}"#), &Condition::read(&deep), &Value::Null, &SubstringRegex));
        let found = validate(&deep, "audience", &SubstringRegex);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("nested too deeply"), "{found:?}");
        // Dropping a 20 000-level value recursively could itself overflow; unwind it iteratively.
        let mut current = deep;
        while let Value::Object(mut fields) = current {
            current = fields.pop().map_or(Value::Null, |(_, inner)| inner);
        }
    }

    #[test]
    fn deeply_nested_attribute_arrays_are_bounded_too() {
        let mut attribute = Value::from("x");
        for _ in 0..200 {
            attribute = Value::Array(vec![attribute]);
        }
        let attributes = Value::Object(vec![("a".to_string(), attribute)]);
        assert!(!eval(&attributes, &read(r#"{"a": "x"}"#), &Value::Null, &SubstringRegex));
    }

    // --- validation ---

    #[test]
    fn a_valid_condition_has_no_issues() {
        let condition = r#"{
            "device": "mobile",
            "utm_source": {"$in": ["newsletter", "ads"]},
            "$or": [{"country": {"$nin": ["US"]}}, {"age": {"$gte": 18, "$lt": 65}}],
            "tags": {"$elemMatch": {"$regexi": "sale"}, "$size": {"$gt": 0}},
            "cart": {"$not": {"$elemMatch": {"sku": "X"}}},
            "appVersion": {"$vgte": "2.1.0"},
            "id": {"$inGroup": "beta"},
            "email": {"$exists": true, "$type": "string"},
            "$groups": ["a", "b"]
        }"#;
        assert_eq!(issues(condition), Vec::<Issue>::new());
    }

    #[test]
    fn unknown_operators_are_reported_at_their_json_path() {
        let found = issues(r#"{"device": {"$foo": "mobile"}}"#);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "experiments[0].audience.device.$foo");
        assert_eq!(found[0].message, "unknown operator `$foo`");
    }

    #[test]
    fn misspelled_operators_suggest_the_nearest_one() {
        let found = issues(r#"{"ua": {"$regx": "Mobile"}, "$OR": []}"#);
        let messages: Vec<&str> = found.iter().map(|issue| issue.message.as_str()).collect();
        assert_eq!(
            messages,
            ["unknown operator `$regx` (did you mean `$regex`?)", "unknown operator `$OR` (did you mean `$or`?)"]
        );
    }

    #[test]
    fn list_operators_need_arrays() {
        for operator in ["$in", "$nin", "$ini", "$nini", "$all", "$alli"] {
            let found = issues(&format!(r#"{{"country": {{"{operator}": "US"}}}}"#));
            assert_eq!(found.len(), 1, "{operator}: {found:?}");
            assert_eq!(found[0].message, format!("`{operator}` expects an array, not a string"));
        }
    }

    #[test]
    fn size_elem_match_and_not_need_conditions() {
        let paths =
            issue_paths(r#"{"a": {"$size": "3"}, "b": {"$elemMatch": 1}, "c": {"$not": "x"}, "d": {"$size": 2}}"#);
        assert_eq!(
            paths,
            [
                "experiments[0].audience.a.$size",
                "experiments[0].audience.b.$elemMatch",
                "experiments[0].audience.c.$not"
            ]
        );
    }

    #[test]
    fn operators_inside_nested_conditions_are_checked() {
        let paths = issue_paths(
            r#"{"$and": [{"x": 1}, {"cart": {"$elemMatch": {"qty": {"$gtt": 1}}}}], "$not": {"t": {"$size": {"$bad": 1}}}}"#,
        );
        assert_eq!(
            paths,
            ["experiments[0].audience.$and[1].cart.$elemMatch.qty.$gtt", "experiments[0].audience.$not.t.$size.$bad"]
        );
    }

    #[test]
    fn invalid_regular_expressions_are_reported_with_the_reason() {
        let found = issues(r#"{"ua": {"$regexi": "(("}}"#);
        assert_eq!(
            found,
            vec![Issue {
                path: "experiments[0].audience.ua.$regexi".to_string(),
                message: "invalid regular expression: unclosed group".to_string()
            }]
        );
    }

    #[cfg(feature = "regex")]
    #[test]
    fn invalid_regular_expressions_are_reported_by_the_native_engine() {
        let found = validate(&json(r#"{"ua": {"$regex": "/???***[)"}}"#), "audience", &crate::js_engine::NativeJs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.starts_with("invalid regular expression: "), "{found:?}");
        assert!(!found[0].message.contains('\n'), "one line: {found:?}");
    }

    #[test]
    fn wrongly_typed_arguments_are_reported() {
        let paths = issue_paths(
            r#"{"a": {"$gt": [1]}, "b": {"$exists": "yes"}, "c": {"$type": "integer"}, "d": {"$inGroup": 7},
                "e": {"$vgt": null}, "f": {"$eq": {"x": 1}}, "g": {"$regex": 5}}"#,
        );
        let expected: Vec<String> = ["a.$gt", "b.$exists", "c.$type", "d.$inGroup", "e.$vgt", "f.$eq", "g.$regex"]
            .iter()
            .map(|p| format!("experiments[0].audience.{p}"))
            .collect();
        assert_eq!(paths, expected);
    }

    #[test]
    fn logical_operators_need_arrays_of_condition_objects() {
        let found = issues(r#"{"$or": {"a": 1}, "$and": [{"a": 1}, "b"], "$not": 3}"#);
        let paths: Vec<&str> = found.iter().map(|issue| issue.path.as_str()).collect();
        assert_eq!(
            paths,
            ["experiments[0].audience.$or", "experiments[0].audience.$and[1]", "experiments[0].audience.$not"]
        );
        assert_eq!(found[0].message, "`$or` expects an array of conditions, not an object");
        assert_eq!(found[1].message, "a condition must be an object, not a string");
    }

    #[test]
    fn operator_objects_mixed_with_plain_keys_are_reported() {
        let found = issues(r#"{"cart": {"$size": 2, "total": 10}}"#);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "experiments[0].audience.cart");
        assert!(found[0].message.contains("mixes"), "{found:?}");
    }

    // --- JavaScript helpers ---

    #[test]
    fn numbers_print_like_javascript() {
        // Expected strings are what Node 20 prints for `String(x)`.
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (123_456_789.125, "123456789.125"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (2f64.powi(60), "1152921504606847000"),
            (1.5e-7, "1.5e-7"),
            (0.000_001, "0.000001"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (9_007_199_254_740_993.0, "9007199254740992"),
            (1.0 / 3.0, "0.3333333333333333"),
            (-0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(x, printed) in cases {
            assert_eq!(js::number_to_string(x), printed, "for {x:e}");
        }
    }

    #[test]
    fn strings_read_as_numbers_like_javascript() {
        let cases: &[(&str, f64)] = &[
            ("", 0.0),
            ("  \u{FEFF}12\n", 12.0),
            ("+5", 5.0),
            ("-0.5e1", -5.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("007", 7.0),
            ("0x1F", 31.0),
            ("0b101", 5.0),
            ("1e400", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
        ];
        for &(text, number) in cases {
            assert_eq!(js::string_to_number(text), number, "for {text:?}");
        }
        for not_a_number in ["abc", "1_000", "1e", ".", "0x", "-0x1", "\u{85}1", "1 2", "infinity"] {
            assert!(js::string_to_number(not_a_number).is_nan(), "{not_a_number:?} should be NaN");
        }
    }

    #[test]
    fn lower_case_matches_unicode_for_every_character() {
        let mut checked = 0;
        for c in (0u32..0x11_0000).filter_map(char::from_u32) {
            if c == 'Σ' {
                continue; // contextual, tested below
            }
            let text = c.to_string();
            assert_eq!(js::to_lower(&text), text.to_lowercase(), "for U+{:04X}", u32::from(c));
            checked += 1;
        }
        assert!(checked > 1_000_000);
    }

    #[test]
    fn lower_case_ends_greek_words_with_final_sigma() {
        for word in ["ΟΔΟΣ", "ΟΔΟΣ ΚΑΙ", "Σ", "ΣΑ", "ΑΣ.", "ΜΑΣ'Α", "Άρης Σμιθ", "ὈΔΥΣΣΕΎΣ"]
        {
            assert_eq!(js::to_lower(word), word.to_lowercase(), "for {word:?}");
        }
        assert!(matches(r#"{"city": {"$ini": ["ΑΘΗΝΑΣ"]}}"#, r#"{"city": "αθηνας"}"#));
    }

    #[test]
    fn versions_are_padded_like_growthbook() {
        assert_eq!(version::padded(&Value::from("v1.2.3+build"), &SubstringRegex), "    1-    2-    3-~");
        assert_eq!(version::padded(&Value::from("1.0.0-rc.1"), &SubstringRegex), "    1-    0-    0-rc-    1");
        assert_eq!(version::padded(&Value::Null, &SubstringRegex), "    0");
        assert_eq!(version::padded(&Value::from(""), &SubstringRegex), "    0");
        assert_eq!(version::padded(&Value::from("123456.1"), &SubstringRegex), "123456-    1");
        // Only a "+" after the last line terminator starts the dropped build metadata.
        assert_eq!(version::padded(&Value::from("1+a\n2.0+b"), &SubstringRegex), "1+a\n2-    0");
        assert_eq!(version::padded(&Value::from("1.0+a\u{2028}2"), &SubstringRegex), "    1-0+a\u{2028}2");
        assert_eq!(version::padded(&Value::from("1.2.3+x+y"), &SubstringRegex), "    1-    2-    3-~");
    }
}
