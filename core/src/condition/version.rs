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
    js.padded_version(input)
}

/// The Rust imitation behind `JsEngine::padded_version`: the padding of a version text, with
/// GrowthBook's regular expressions done by hand.
pub(crate) fn padded_text(input: &str) -> String {
    // `replace(/(^v|\+.*$)/g, "")`: one leading lowercase "v", and from the first "+" to the
    // end, but `.` stops at line terminators, so only a "+" after the last one can match. Bytes:
    // every character looked for is ASCII, and U+2028/U+2029 are E2 80 A8/A9 in UTF-8.
    let input = input.strip_prefix('v').unwrap_or(input);
    let bytes = input.as_bytes();
    let mut cut = bytes.len();
    for (at, &b) in bytes.iter().enumerate().rev() {
        let line_end = matches!(b, b'\n' | b'\r') || (matches!(b, 0xA8 | 0xA9) && at >= 2 && bytes[at - 2..at] == [0xE2, 0x80]);
        if line_end {
            break;
        }
        if b == b'+' {
            cut = at;
        }
    }
    let input = input.get(..cut).unwrap_or(input);

    let mut padded = String::with_capacity(input.len() + 16);
    let mut parts = 0;
    for part in input.split(['-', '.']) {
        if parts > 0 {
            padded.push('-');
        }
        parts += 1;
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                padded.push(' ');
            }
        }
        padded.push_str(part);
    }
    if parts == 3 {
        padded.push_str("-~");
    }
    padded
}
