//! JavaScript's coercions and comparisons, as GrowthBook's TypeScript gets them for free. Kept
//! beside the conditions because nothing else in splitbeam should compare like this.

use super::{deeper, Abort, Outcome};
use crate::js_engine::JsEngine;
use crate::json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// `Object.entries(condition)` in JavaScript's key order (see `key_order`); `null` throws. What
/// else JavaScript reads entries from (strings, arrays, numbers) `Condition::read` made objects.
pub fn entries(condition: &Value) -> Outcome<Vec<(&str, &Value)>> {
    Ok(match condition {
        Value::Null => return Err(Abort::JsTypeError),
        Value::Object(fields) => key_order(fields).into_iter().map(|(key, value)| (key.as_str(), value)).collect(),
        _ => Vec::new(),
    })
}

/// The conditions of `$or` / `$and`, read the way GrowthBook's loops read them: through
/// `.length` and `[i]`; `null` throws. `Condition::read` made every other list an array.
pub fn list(conditions: &Value) -> Outcome<&[Value]> {
    match conditions {
        Value::Null => Err(Abort::JsTypeError),
        Value::Array(items) => Ok(items),
        _ => Ok(&[]),
    }
}

/// An object's entries in JavaScript's property order: array-index keys ("0", "7") first in
/// ascending order, then the others in insertion order. `JSON.stringify` and `Object.entries`
/// both follow it, so `{"b": 1, "1": 2}` stringifies as `{"1":2,"b":1}`.
pub fn key_order(fields: &[(String, Value)]) -> Vec<&(String, Value)> {
    // Names rank after every index and keep their order: the sort is stable.
    let mut ranked: Vec<(u64, &(String, Value))> =
        fields.iter().map(|field| (array_index(&field.0).map_or(u64::MAX, u64::from), field)).collect();
    // Insertion sort: objects have few index keys, and slice::sort would add kilobytes to the wasm.
    for i in 1..ranked.len() {
        let mut j = i;
        while j > 0 && ranked[j - 1].0 > ranked[j].0 {
            ranked.swap(j - 1, j);
            j -= 1;
        }
    }
    ranked.into_iter().map(|(_, field)| field).collect()
}

/// The value of a canonical array index key ("0", "42"; not "01", "-1" or "1e3"), below 2^32 - 1.
pub fn array_index(key: &str) -> Option<u32> {
    let canonical = !key.is_empty()
        && key.len() <= 10
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !canonical {
        return None;
    }
    let n = key.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

/// GrowthBook's `getPath`: follows a dotted path through objects and arrays, `null` when a step
/// is missing. Arrays answer index keys and, as in JavaScript, `length` (`tags.length` is the count).
pub fn get_path<'v>(attributes: &'v Value, path: &str) -> Cow<'v, Value> {
    let mut current = attributes;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        current = match current {
            Value::Object(_) => match current.get(part) {
                Some(next) => next,
                None => return Cow::Owned(Value::Null),
            },
            Value::Array(items) if part == "length" => {
                // A further step would read a property of a number: there is none.
                let length = if parts.peek().is_none() { Value::Number(items.len() as f64) } else { Value::Null };
                return Cow::Owned(length);
            }
            Value::Array(items) => match array_index(part).and_then(|i| items.get(i as usize)) {
                Some(next) => next,
                None => return Cow::Owned(Value::Null),
            },
            _ => return Cow::Owned(Value::Null),
        };
    }
    Cow::Borrowed(current)
}

/// GrowthBook's `isOperatorObject`: a non-empty object whose keys all start with `$`.
pub fn is_operator_object(value: &Value) -> bool {
    match value {
        Value::Object(fields) => !fields.is_empty() && fields.iter().all(|(key, _)| key.starts_with('$')),
        _ => false,
    }
}

/// JavaScript truthiness (`!!value`).
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `===`. Arrays and objects compare by identity there; the condition's and the visitor's are
/// never the same object, so they are never equal (`{"$eq": [1]}` matches nobody).
pub fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// `Array.prototype.includes`' SameValueZero: `===`, except that NaN includes NaN.
fn same_value_zero(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan() => true,
        _ => strict_equal(a, b),
    }
}

/// GrowthBook's `isIn`: an array attribute matches when any element is listed (intersection).
/// `insensitive` lower-cases strings on both sides and then uses `===`, not `includes`.
pub fn is_in(actual: &Value, list: &[Value], insensitive: bool, js: &dyn JsEngine) -> bool {
    let listed = |item: &Value| {
        if insensitive {
            list.iter().any(|entry| match (item, entry) {
                (Value::String(x), Value::String(y)) => js.to_lower(x) == js.to_lower(y),
                _ => strict_equal(item, entry),
            })
        } else {
            list.iter().any(|entry| same_value_zero(item, entry))
        }
    };
    match actual {
        Value::Array(items) => items.iter().any(listed),
        _ => listed(actual),
    }
}

/// Whether `JSON.stringify(a) === JSON.stringify(b)`, without building the strings: same shape,
/// objects' keys in JavaScript order, and non-finite numbers written as `null` (as stringify does).
pub fn json_equal(a: &Value, b: &Value, depth: usize) -> Outcome {
    let depth = deeper(depth)?;
    let written_as_null = |v: &Value| matches!(v, Value::Null) || matches!(v, Value::Number(n) if !n.is_finite());
    if written_as_null(a) || written_as_null(b) {
        return Ok(written_as_null(a) && written_as_null(b));
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        // Distinct doubles print differently; 0 and -0 both print "0".
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(xs), Value::Array(ys)) => {
            if xs.len() != ys.len() {
                return Ok(false);
            }
            for (x, y) in xs.iter().zip(ys) {
                if !json_equal(x, y, depth)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Object(xs), Value::Object(ys)) => {
            if xs.len() != ys.len() {
                return Ok(false);
            }
            for ((kx, x), (ky, y)) in key_order(xs).into_iter().zip(key_order(ys)) {
                if kx != ky || !json_equal(x, y, depth)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// The abstract relational comparison behind `<`, `<=`, `>`, `>=`: two strings (arrays and
/// objects become strings first) compare by UTF-16 units; anything else compares as numbers,
/// with null as 0, so a missing attribute is "less than 5". `None` when a side is NaN.
pub fn compare(a: &Value, b: &Value, js: &dyn JsEngine, depth: usize) -> Outcome<Option<Ordering>> {
    let (a, b) = (to_primitive(a, js, depth)?, to_primitive(b, js, depth)?);
    if let (Primitive::String(x), Primitive::String(y)) = (&a, &b) {
        return Ok(Some(compare_utf16(x, y)));
    }
    Ok(a.to_number(js).partial_cmp(&b.to_number(js)))
}

/// JavaScript orders strings by UTF-16 code units; Rust's `str` order is by code point, which
/// differs between U+E000..U+FFFF and astral characters.
pub fn compare_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A JavaScript primitive: what `ToPrimitive` makes of a JSON value.
enum Primitive<'v> {
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'v, str>),
}

impl Primitive<'_> {
    /// `ToNumber` of a primitive.
    fn to_number(&self, js: &dyn JsEngine) -> f64 {
        match self {
            Primitive::Null => 0.0,
            Primitive::Bool(b) => f64::from(u8::from(*b)),
            Primitive::Number(n) => *n,
            Primitive::String(s) => js.string_to_number(s),
        }
    }
}

/// `ToPrimitive`: arrays join their elements (`[1, 2]` → "1,2"), objects are "[object Object]".
fn to_primitive<'v>(value: &'v Value, js: &dyn JsEngine, depth: usize) -> Outcome<Primitive<'v>> {
    Ok(match value {
        Value::Null => Primitive::Null,
        Value::Bool(b) => Primitive::Bool(*b),
        Value::Number(n) => Primitive::Number(*n),
        Value::String(s) => Primitive::String(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Primitive::String(to_string(value, js, depth)?),
    })
}

/// `ToNumber` (what `value * 1` does): null → 0, booleans → 0/1, strings parsed (`""` → 0),
/// arrays through their joined string (`[7]` → 7), objects NaN.
pub fn to_number(value: &Value, js: &dyn JsEngine, depth: usize) -> Outcome<f64> {
    Ok(to_primitive(value, js, depth)?.to_number(js))
}

/// `ToString` (what `value + ""` and `String(value)` do): null → "null", numbers as JavaScript
/// prints them, arrays joined with "," (null elements empty), objects "[object Object]".
pub fn to_string<'v>(value: &'v Value, js: &dyn JsEngine, depth: usize) -> Outcome<Cow<'v, str>> {
    Ok(match value {
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(js.number_to_string(*n)),
        Value::String(s) => Cow::Borrowed(s),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
        Value::Array(items) => {
            let depth = deeper(depth)?;
            let mut joined = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    joined.push(',');
                }
                if !item.is_null() {
                    joined.push_str(&to_string(item, js, depth)?);
                }
            }
            Cow::Owned(joined)
        }
    })
}

/// JavaScript's `toLowerCase`: Unicode's default lower-case mapping, including "İ" → "i̇" and
/// the final sigma ("ΟΔΟΣ" → "οδος"). Our own table rather than `str::to_lowercase`, whose
/// tables cost about 11 KB of gzipped wasm; a test checks every character against std.
pub fn to_lower(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let mut lower = String::with_capacity(text.len());
    for (at, &c) in chars.iter().enumerate() {
        match c {
            '\u{130}' => lower.push_str("i\u{307}"),
            'Σ' => lower.push(if is_final_sigma(&chars, at) { 'ς' } else { 'σ' }),
            _ => lower.push(lower_char(c)),
        }
    }
    Cow::Owned(lower)
}

/// Unicode's Final_Sigma condition: a cased letter before, none after, skipping case-ignorable
/// characters. Approximated: "cased" is "has a case mapping either way", and only apostrophes,
/// periods, colons, the soft hyphen, the middle dot and combining diacritics are skipped.
fn is_final_sigma(chars: &[char], at: usize) -> bool {
    let ignorable = |c: &&char| {
        matches!(**c, '\'' | '.' | ':' | '^' | '`' | '\u{AD}' | '\u{B7}' | '\u{2019}' | '\u{300}'..='\u{36F}')
    };
    // `get` rather than indexing here and below: panicking slices pull formatting code into the wasm.
    let before = chars.get(..at).unwrap_or_default().iter().rev().find(|c| !ignorable(c));
    let after = chars.get(at + 1..).unwrap_or_default().iter().find(|c| !ignorable(c));
    before.is_some_and(|&c| is_cased(c)) && !after.is_some_and(|&c| is_cased(c))
}

fn is_cased(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (!c.is_ascii()
            && (lower_char(c) != c
                || LOWERCASE_RULES.iter().any(|&(start, span, delta, stride)| {
                    // Is `c` the lower case of some character of this rule?
                    let source = i64::from(u32::from(c)) - i64::from(delta);
                    let offset = source - i64::from(start);
                    (0..=i64::from(span)).contains(&offset) && offset % i64::from(stride) == 0
                })))
}

/// The single-character lower case of `c` (itself when it has none).
fn lower_char(c: char) -> char {
    let code = u32::from(c);
    let rule = match LOWERCASE_RULES.binary_search_by_key(&code, |rule| rule.0) {
        Ok(i) => LOWERCASE_RULES.get(i),
        Err(i) => i.checked_sub(1).and_then(|i| LOWERCASE_RULES.get(i)),
    };
    let Some(&(start, span, delta, stride)) = rule else { return c };
    let offset = code - start;
    if offset > u32::from(span) || offset % u32::from(stride) != 0 {
        return c;
    }
    code.checked_add_signed(delta).and_then(char::from_u32).unwrap_or(c)
}

/// Unicode's single-character lower-case mappings as rules `(first, span, delta, stride)`: every
/// `stride`-th character from `first` to `first + span` maps to itself plus `delta` (stride 2
/// covers blocks of alternating capital/small pairs). Generated from Rust's `char::to_lowercase`.
#[rustfmt::skip]
const LOWERCASE_RULES: &[(u32, u16, i32, u8)] = &[
    (0x0041, 25, 32, 1), (0x00c0, 22, 32, 1), (0x00d8, 6, 32, 1), (0x0100, 46, 1, 2), (0x0132, 4, 1, 2),
    (0x0139, 14, 1, 2), (0x014a, 44, 1, 2), (0x0178, 0, -121, 1), (0x0179, 4, 1, 2), (0x0181, 0, 210, 1),
    (0x0182, 2, 1, 2), (0x0186, 0, 206, 1), (0x0187, 0, 1, 1), (0x0189, 1, 205, 1), (0x018b, 0, 1, 1),
    (0x018e, 0, 79, 1), (0x018f, 0, 202, 1), (0x0190, 0, 203, 1), (0x0191, 0, 1, 1), (0x0193, 0, 205, 1),
    (0x0194, 0, 207, 1), (0x0196, 0, 211, 1), (0x0197, 0, 209, 1), (0x0198, 0, 1, 1), (0x019c, 0, 211, 1),
    (0x019d, 0, 213, 1), (0x019f, 0, 214, 1), (0x01a0, 4, 1, 2), (0x01a6, 0, 218, 1), (0x01a7, 0, 1, 1),
    (0x01a9, 0, 218, 1), (0x01ac, 0, 1, 1), (0x01ae, 0, 218, 1), (0x01af, 0, 1, 1), (0x01b1, 1, 217, 1),
    (0x01b3, 2, 1, 2), (0x01b7, 0, 219, 1), (0x01b8, 0, 1, 1), (0x01bc, 0, 1, 1), (0x01c4, 0, 2, 1),
    (0x01c5, 0, 1, 1), (0x01c7, 0, 2, 1), (0x01c8, 0, 1, 1), (0x01ca, 0, 2, 1), (0x01cb, 16, 1, 2),
    (0x01de, 16, 1, 2), (0x01f1, 0, 2, 1), (0x01f2, 2, 1, 2), (0x01f6, 0, -97, 1), (0x01f7, 0, -56, 1),
    (0x01f8, 38, 1, 2), (0x0220, 0, -130, 1), (0x0222, 16, 1, 2), (0x023a, 0, 10795, 1), (0x023b, 0, 1, 1),
    (0x023d, 0, -163, 1), (0x023e, 0, 10792, 1), (0x0241, 0, 1, 1), (0x0243, 0, -195, 1), (0x0244, 0, 69, 1),
    (0x0245, 0, 71, 1), (0x0246, 8, 1, 2), (0x0370, 2, 1, 2), (0x0376, 0, 1, 1), (0x037f, 0, 116, 1),
    (0x0386, 0, 38, 1), (0x0388, 2, 37, 1), (0x038c, 0, 64, 1), (0x038e, 1, 63, 1), (0x0391, 16, 32, 1),
    (0x03a3, 8, 32, 1), (0x03cf, 0, 8, 1), (0x03d8, 22, 1, 2), (0x03f4, 0, -60, 1), (0x03f7, 0, 1, 1),
    (0x03f9, 0, -7, 1), (0x03fa, 0, 1, 1), (0x03fd, 2, -130, 1), (0x0400, 15, 80, 1), (0x0410, 31, 32, 1),
    (0x0460, 32, 1, 2), (0x048a, 52, 1, 2), (0x04c0, 0, 15, 1), (0x04c1, 12, 1, 2), (0x04d0, 94, 1, 2),
    (0x0531, 37, 48, 1), (0x10a0, 37, 7264, 1), (0x10c7, 0, 7264, 1), (0x10cd, 0, 7264, 1), (0x13a0, 79, 38864, 1),
    (0x13f0, 5, 8, 1), (0x1c89, 0, 1, 1), (0x1c90, 42, -3008, 1), (0x1cbd, 2, -3008, 1), (0x1e00, 148, 1, 2),
    (0x1e9e, 0, -7615, 1), (0x1ea0, 94, 1, 2), (0x1f08, 7, -8, 1), (0x1f18, 5, -8, 1), (0x1f28, 7, -8, 1),
    (0x1f38, 7, -8, 1), (0x1f48, 5, -8, 1), (0x1f59, 6, -8, 2), (0x1f68, 7, -8, 1), (0x1f88, 7, -8, 1),
    (0x1f98, 7, -8, 1), (0x1fa8, 7, -8, 1), (0x1fb8, 1, -8, 1), (0x1fba, 1, -74, 1), (0x1fbc, 0, -9, 1),
    (0x1fc8, 3, -86, 1), (0x1fcc, 0, -9, 1), (0x1fd8, 1, -8, 1), (0x1fda, 1, -100, 1), (0x1fe8, 1, -8, 1),
    (0x1fea, 1, -112, 1), (0x1fec, 0, -7, 1), (0x1ff8, 1, -128, 1), (0x1ffa, 1, -126, 1), (0x1ffc, 0, -9, 1),
    (0x2126, 0, -7517, 1), (0x212a, 0, -8383, 1), (0x212b, 0, -8262, 1), (0x2132, 0, 28, 1), (0x2160, 15, 16, 1),
    (0x2183, 0, 1, 1), (0x24b6, 25, 26, 1), (0x2c00, 47, 48, 1), (0x2c60, 0, 1, 1), (0x2c62, 0, -10743, 1),
    (0x2c63, 0, -3814, 1), (0x2c64, 0, -10727, 1), (0x2c67, 4, 1, 2), (0x2c6d, 0, -10780, 1), (0x2c6e, 0, -10749, 1),
    (0x2c6f, 0, -10783, 1), (0x2c70, 0, -10782, 1), (0x2c72, 0, 1, 1), (0x2c75, 0, 1, 1), (0x2c7e, 1, -10815, 1),
    (0x2c80, 98, 1, 2), (0x2ceb, 2, 1, 2), (0x2cf2, 0, 1, 1), (0xa640, 44, 1, 2), (0xa680, 26, 1, 2),
    (0xa722, 12, 1, 2), (0xa732, 60, 1, 2), (0xa779, 2, 1, 2), (0xa77d, 0, -35332, 1), (0xa77e, 8, 1, 2),
    (0xa78b, 0, 1, 1), (0xa78d, 0, -42280, 1), (0xa790, 2, 1, 2), (0xa796, 18, 1, 2), (0xa7aa, 0, -42308, 1),
    (0xa7ab, 0, -42319, 1), (0xa7ac, 0, -42315, 1), (0xa7ad, 0, -42305, 1), (0xa7ae, 0, -42308, 1), (0xa7b0, 0, -42258, 1),
    (0xa7b1, 0, -42282, 1), (0xa7b2, 0, -42261, 1), (0xa7b3, 0, 928, 1), (0xa7b4, 14, 1, 2), (0xa7c4, 0, -48, 1),
    (0xa7c5, 0, -42307, 1), (0xa7c6, 0, -35384, 1), (0xa7c7, 2, 1, 2), (0xa7cb, 0, -42343, 1), (0xa7cc, 14, 1, 2),
    (0xa7dc, 0, -42561, 1), (0xa7f5, 0, 1, 1), (0xff21, 25, 32, 1), (0x10400, 39, 40, 1), (0x104b0, 35, 40, 1),
    (0x10570, 10, 39, 1), (0x1057c, 14, 39, 1), (0x1058c, 6, 39, 1), (0x10594, 1, 39, 1), (0x10c80, 50, 64, 1),
    (0x10d50, 21, 32, 1), (0x118a0, 31, 32, 1), (0x16e40, 31, 32, 1), (0x16ea0, 24, 27, 1), (0x1e900, 33, 34, 1),
];

/// JavaScript's white space and line terminators, which `Number(" 12 ")` trims. Not Rust's
/// `char::is_whitespace`: JavaScript trims U+FEFF and keeps U+0085.
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// JavaScript's `Number(string)`: trimmed; "" → 0; decimal with optional sign, leading zeros,
/// ".5" and "5." allowed; "Infinity"; 0x/0o/0b integers; anything else NaN.
pub fn string_to_number(text: &str) -> f64 {
    let text = text.trim_matches(is_js_space);
    if text.is_empty() {
        return 0.0;
    }
    match text {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let radix = match text.get(..2) {
        Some("0x" | "0X") => 16,
        Some("0o" | "0O") => 8,
        Some("0b" | "0B") => 2,
        _ => 10,
    };
    if radix != 10 {
        return radix_integer(text.get(2..).unwrap_or_default(), radix);
    }
    decimal(text).unwrap_or(f64::NAN)
}

/// A 0x/0o/0b literal's digits. Accumulated in f64: exact up to 2^53, where JavaScript rounds
/// longer literals once and this may differ in the last bit (ids that long are not compared as numbers).
fn radix_integer(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut n = 0.0;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => n = n * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    n
}

/// A JavaScript decimal literal (sign, digits with at most one '.', optional exponent), read
/// exactly by `decimal::to_f64`; `None` when it is not one.
fn decimal(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer.len() + fraction.len() == 0 || !all_digits(integer) || !all_digits(fraction) {
        return None;
    }
    let exponent = match exponent {
        None => 0,
        Some(exponent) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => (-1, digits),
                None => (1, exponent.strip_prefix('+').unwrap_or(exponent)),
            };
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            // Saturating: "1e99999999999999999999" is Infinity in JavaScript, not an error.
            sign * digits.bytes().fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')))
        }
    };
    let digits = [integer, fraction].concat();
    // A fraction is at most the text's length: the cast and the subtraction cannot overflow.
    let magnitude = crate::decimal::to_f64(digits.as_bytes(), exponent.saturating_sub(fraction.len() as i64));
    Some(if negative { -magnitude } else { magnitude })
}

/// JavaScript's `Number.prototype.toString()`: the shortest digits that read back as the same
/// double (closest, then even, when several do), laid out as ECMAScript's Number::toString says.
/// Written here because Rust's float formatting costs about 14 KB of wasm and uses another layout.
pub fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into(); // also -0
    }
    if x < 0.0 {
        // Concatenation, not `format!`: the formatting machinery costs the snippet kilobytes.
        return ["-", &number_to_string(-x)].concat();
    }
    if x.is_infinite() {
        return "Infinity".into();
    }
    let (digits, point) = if x.fract() == 0.0 && x < 9_007_199_254_740_992.0 {
        // Integers below 2^53 print all their digits; the cast is exact in that range.
        integer_digits(x as u64)
    } else {
        shortest::digits(x)
    };
    layout(&digits, point)
}

/// The decimal digits of a positive integer, trailing zeros dropped, and the decimal point's position.
fn integer_digits(mut n: u64) -> (Vec<u8>, i32) {
    let mut digits = Vec::with_capacity(20);
    while n > 0 {
        // `n % 10` is below 10: no truncation.
        digits.push((n % 10) as u8);
        n /= 10;
    }
    digits.reverse();
    // At most 20 digits: the cast cannot truncate.
    let point = digits.len() as i32;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    (digits, point)
}

/// Number::toString's layout for value = 0.d1d2...dk × 10^point (ECMAScript's n is `point`).
fn layout(digits: &[u8], point: i32) -> String {
    let text: String = digits.iter().map(|&d| char::from(b'0' + d)).collect();
    let k = digits.len() as i32;
    if k <= point && point <= 21 {
        // Whole number: the digits, then zeros.
        text + &"0".repeat((point - k) as usize)
    } else if 0 < point && point <= 21 {
        let (whole, fraction) = text.split_at_checked(point as usize).unwrap_or((&text, ""));
        [whole, ".", fraction].concat()
    } else if -6 < point && point <= 0 {
        ["0.", &"0".repeat((-point) as usize), &text].concat()
    } else {
        let exponent = point - 1;
        let sign = if exponent < 0 { "-" } else { "+" };
        let (first, rest) = text.split_at_checked(1).unwrap_or((&text, ""));
        let dot = if rest.is_empty() { "" } else { "." };
        // |exponent| <= 324: exact through f64, and printed as a whole number.
        let magnitude = integer_digits(u64::from(exponent.unsigned_abs()));
        let magnitude = layout(&magnitude.0, magnitude.1);
        [first, dot, rest, "e", sign, &magnitude].concat()
    }
}

/// Shortest round-trip digits by exact big-integer arithmetic (Steele & White / Burger &
/// Dybvig's free-format algorithm, as in V8's bignum fallback). Slow but small and exact; it
/// only runs when a non-integer number is compared with a string.
mod shortest {
    use std::cmp::Ordering;

    use crate::decimal::Big;

    /// The shortest digits of a finite positive `x` and the decimal point's position:
    /// x ≈ 0.d1d2...dk × 10^point.
    pub fn digits(x: f64) -> (Vec<u8>, i32) {
        let bits = x.to_bits();
        let biased_exponent = ((bits >> 52) & 0x7ff) as i32; // 11 bits
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, exponent) = if biased_exponent == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), biased_exponent - 1075)
        };
        // Round-half-even reading accepts the boundaries themselves when the mantissa is even.
        let even = mantissa % 2 == 0;
        // At a power of two the gap below is half the gap above (except at the smallest normal).
        let unequal_gaps = fraction == 0 && biased_exponent > 1;

        // value = r / s; the halfway points to the neighbours are (r ± m) / s.
        let (mut r, mut s, mut m_plus, mut m_minus);
        if exponent >= 0 {
            let mut unit = Big::from_u64(1);
            unit.shl(exponent.unsigned_abs());
            r = Big::from_u64(mantissa);
            r.shl(exponent.unsigned_abs());
            if unequal_gaps {
                r.shl(2);
                s = Big::from_u64(4);
                m_plus = unit.clone();
                m_plus.shl(1);
            } else {
                r.shl(1);
                s = Big::from_u64(2);
                m_plus = unit.clone();
            }
            m_minus = unit;
        } else {
            r = Big::from_u64(mantissa);
            s = Big::from_u64(1);
            if unequal_gaps {
                r.shl(2);
                s.shl(2 + exponent.unsigned_abs());
                m_plus = Big::from_u64(2);
            } else {
                r.shl(1);
                s.shl(1 + exponent.unsigned_abs());
                m_plus = Big::from_u64(1);
            }
            m_minus = Big::from_u64(1);
        }

        // An estimate of the decimal exponent that is exact or one too small; fixed below.
        let bit_length = 64 - mantissa.leading_zeros() as i32;
        let mut point = (f64::from(exponent + bit_length - 1) * std::f64::consts::LOG10_2 - 1e-10).ceil() as i32;
        if point >= 0 {
            s.mul_pow10(point.unsigned_abs());
        } else {
            let scale = point.unsigned_abs();
            r.mul_pow10(scale);
            m_plus.mul_pow10(scale);
            m_minus.mul_pow10(scale);
        }
        let high = r.add(&m_plus);
        if if even { high >= s } else { high > s } {
            point += 1;
            s.mul_small(10);
        }

        let mut digits = Vec::with_capacity(17);
        loop {
            r.mul_small(10);
            m_plus.mul_small(10);
            m_minus.mul_small(10);
            let mut digit = 0u8;
            while r >= s {
                r.sub_assign(&s);
                digit += 1;
            }
            let low_ok = if even { r <= m_minus } else { r < m_minus };
            let high = r.add(&m_plus);
            let high_ok = if even { high >= s } else { high > s };
            match (low_ok, high_ok) {
                (false, false) => digits.push(digit),
                (true, false) => {
                    digits.push(digit);
                    break;
                }
                (false, true) => {
                    digits.push(digit + 1);
                    break;
                }
                (true, true) => {
                    // Both neighbours read back: take the closer one, the even one on a tie.
                    let mut twice = r.clone();
                    twice.shl(1);
                    let round_up = match twice.cmp(&s) {
                        Ordering::Less => false,
                        Ordering::Greater => true,
                        Ordering::Equal => digit % 2 == 1,
                    };
                    digits.push(digit + u8::from(round_up));
                    break;
                }
            }
        }
        (digits, point)
    }
}
