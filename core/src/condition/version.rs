//! GrowthBook's `paddedVersionString`, which makes version order plain string order: "v" and
//! "+build" dropped, split on "-" and ".", numeric parts left-padded to 5 with spaces ("9" < "10"),
//! and "~" (the largest printable ASCII) appended to a bare x.y.z so 1.0.0 sorts after 1.0.0-beta.

use super::js;
use crate::js_engine::JsEngine;
use crate::json::Value;
use std::cmp::Ordering;

/// Compares two attribute or condition values as versions, the way `$veq`...`$vlte` do.
pub fn compare(actual: &Value, expected: &Value, js: &dyn JsEngine) -> Ordering {
    js::compare_utf16(&padded(actual, js), &padded(expected, js))
}

pub fn padded(value: &Value, js: &dyn JsEngine) -> String {
    // Numbers are printed first (1.5 → "1.5"); empty strings and non-strings count as "0".
    let printed;
    let input = match value {
        Value::Number(n) => {
            printed = js.number_to_string(*n);
            printed.as_str()
        }
        Value::String(s) if !s.is_empty() => s.as_str(),
        _ => "0",
    };
    // `replace(/(^v|\+.*$)/g, "")`: one leading lowercase "v", and from the first "+" to the
    // end, but `.` stops at line terminators, so only a "+" after the last one can match.
    let input = input.strip_prefix('v').unwrap_or(input);
    let tail_start = input
        .rfind(['\n', '\r', '\u{2028}', '\u{2029}'])
        .map_or(0, |at| at + input.get(at..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8));
    let input = match input.get(tail_start..).and_then(|tail| tail.find('+')) {
        Some(plus) => input.get(..tail_start + plus).unwrap_or(input),
        None => input,
    };

    let mut parts: Vec<&str> = input.split(['-', '.']).collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let mut padded = String::with_capacity(input.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            padded.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                padded.push(' ');
            }
        }
        padded.push_str(part);
    }
    padded
}
