//! A small JSON value and a strict parser that remembers where each value stood.
//! Ours rather than serde_json's so the browser build stays small (no float formatting
//! or serde error paths) and so validation can report `line:column` for any JSON path.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

/// A JSON value. Objects keep their keys in document order (duplicates are reported by the parser).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(entries) => Some(entries),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The JSON type name, as used in error messages and by `$type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    /// Sets `key` on an object (replacing an existing entry); does nothing on other values.
    pub fn set(&mut self, key: &str, value: Value) {
        if let Value::Object(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

/// Where a value starts in the source text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Positions of every value by JSON path (`experiments[0].variants[1].key`; the root is `""`).
#[derive(Debug, Clone, Default)]
pub struct Positions {
    by_path: HashMap<String, Pos>,
    /// Duplicate object keys found while parsing: (path of the duplicate, where).
    pub duplicate_keys: Vec<(String, Pos)>,
}

impl Positions {
    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn find(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.by_path.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }
}

fn parent_path(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

/// Joins a JSON path and an object key: `a` + `b` → `a.b`.
pub fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a JSON path and an array index: `a` + 3 → `a[3]`.
pub fn join_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Deeper documents are refused rather than risk the stack (the config needs fewer than 20).
pub const MAX_DEPTH: usize = 128;

/// Parses strict JSON (RFC 8259): no comments, no trailing commas, finite numbers only.
pub fn parse(text: &str) -> Result<(Value, Positions), ParseError> {
    let mut parser =
        Parser { src: text.as_bytes(), i: 0, line: 1, line_start: 0, column: Cell::new((0, 1)), positions: Positions::default() };
    parser.skip_ws();
    let value = parser.value(String::new(), 0)?;
    parser.skip_ws();
    if parser.i < parser.src.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok((value, parser.positions))
}

struct Parser<'a> {
    src: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    /// (byte index, its column) last computed on the current line: columns are counted on from
    /// there, so a minified one-line file is read in linear time, not quadratic.
    column: Cell<(usize, u32)>,
    positions: Positions,
}

impl Parser<'_> {
    fn pos(&self) -> Pos {
        let end = self.i.min(self.src.len());
        let (mut from, mut col) = self.column.get();
        if from < self.line_start || from > end {
            (from, col) = (self.line_start, 1);
        }
        // Columns count characters, not bytes, so editors agree with us on non-ASCII lines.
        col += self.src[from..end].iter().filter(|b| (**b & 0xC0) != 0x80).count() as u32;
        self.column.set((end, col));
        Pos { line: self.line, col }
    }

    fn error(&self, message: &str) -> ParseError {
        ParseError { pos: self.pos(), message: message.to_string() }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                _ => break,
            }
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    fn value(&mut self, path: String, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let pos = self.pos();
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.object(&path, depth)?,
            Some(b'[') => self.array(&path, depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(_) => return Err(self.error("expected a value (object, array, string, number, true, false or null)")),
        };
        self.positions.by_path.insert(path, pos);
        Ok(value)
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        if self.src[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value (object, array, string, number, true, false or null)"))
        }
    }

    fn object(&mut self, path: &str, depth: usize) -> Result<Value, ParseError> {
        self.i += 1;
        let mut entries: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(entries));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted object key"));
            }
            let key_pos = self.pos();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "':' after the object key")?;
            self.skip_ws();
            let child = join_key(path, &key);
            let value = self.value(child.clone(), depth + 1)?;
            if let Some(entry) = entries.iter_mut().find(|(k, _)| *k == key) {
                // Last one wins, as in JavaScript's JSON.parse; the duplicate is reported by validation.
                self.positions.duplicate_keys.push((child, key_pos));
                entry.1 = value;
            } else {
                entries.push((key, value));
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(entries));
                }
                _ => return Err(self.error("expected ',' or '}' in object")),
            }
        }
    }

    fn array(&mut self, path: &str, depth: usize) -> Result<Value, ParseError> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(join_index(path, items.len()), depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in array")),
            }
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str, and we only stop on ASCII bytes, so this slice is valid UTF-8.
            out.push_str(std::str::from_utf8(&self.src[start..self.i]).map_err(|_| self.error("invalid UTF-8"))?);
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("control character in string (escape it)")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let c = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
        self.i += 1;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if self.src[self.i..].starts_with(b"\\u") {
                        self.i += 2;
                        let second = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&second) {
                            return Err(self.error("unpaired surrogate in \\u escape"));
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    } else {
                        return Err(self.error("unpaired surrogate in \\u escape"));
                    }
                } else if (0xDC00..0xE000).contains(&first) {
                    return Err(self.error("unpaired surrogate in \\u escape"));
                } else {
                    first
                };
                out.push(char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))?);
            }
            _ => return Err(self.error("invalid escape sequence")),
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.src.get(self.i..self.i + 4).ok_or_else(|| self.error("truncated \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("invalid \\u escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.i += 4;
        Ok(code)
    }

    fn number(&mut self) -> Result<f64, ParseError> {
        let start = self.i;
        let start_pos = self.pos();
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: digits expected after '.'"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number: digits expected in exponent"));
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.src[start..self.i]).map_err(|_| self.error("invalid number"))?;
        let n = number_value(text);
        if !n.is_finite() {
            return Err(ParseError { pos: start_pos, message: format!("number {text} is out of range") });
        }
        Ok(n)
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }
}

/// Writes a JSON string literal (used by the CLI and by event encoding).
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // `\u00XX` by hand: `format!` would bring formatting machinery into the wasm.
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `["a","b",…]`.
pub fn write_strs(out: &mut String, items: &[&str]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { "," });
        write_str(out, item);
    }
    out.push(']');
}

/// A number already checked against JSON's grammar, read exactly by `decimal::to_f64` (not
/// `str::parse`, whose tables cost the snippet ~15 KB); out of range is infinite.
fn number_value(text: &str) -> f64 {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let (sign, exponent_digits) = match exponent.strip_prefix('-') {
        Some(digits) => (-1, digits),
        None => (1, exponent.strip_prefix('+').unwrap_or(exponent)),
    };
    let exponent =
        sign * exponent_digits.bytes().fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d.wrapping_sub(b'0'))));
    let digits = [integer, fraction].concat();
    // The fraction is at most the text's length: the cast cannot overflow.
    let magnitude = crate::decimal::to_f64(digits.as_bytes(), exponent.saturating_sub(fraction.len() as i64));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_as_u_escapes_that_read_back() {
        let text: String = (0u8..0x20).map(char::from).chain("é\"\\".chars()).collect();
        let mut out = String::new();
        write_str(&mut out, &text);
        assert!(out.starts_with(r#""\u0000\u0001"#) && out.contains(r"\u001f"), "{out}");
        assert_eq!(parse(&out).unwrap().0, Value::String(text));
    }

    #[test]
    fn parses_nested_values_and_records_positions() {
        let (v, pos) = parse("{\n  \"a\": [1, {\"b\": \"x\"}],\n  \"c\": null\n}").unwrap();
        assert_eq!(v.get("a").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(pos.find("a[1].b"), Some(Pos { line: 2, col: 18 }));
        assert_eq!(pos.find("c"), Some(Pos { line: 3, col: 8 }));
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(pos.find("a[1].zzz"), Some(Pos { line: 2, col: 12 }));
    }

    #[test]
    fn rejects_out_of_range_numbers() {
        let err = parse("[1e400]").unwrap_err();
        assert!(err.message.contains("out of range"), "{err}");
        assert_eq!(err.pos, Pos { line: 1, col: 2 });
    }

    #[test]
    fn rejects_deep_nesting_without_overflowing_the_stack() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
    }

    #[test]
    fn rejects_trailing_commas_comments_and_garbage() {
        for bad in ["[1,]", "{\"a\":1,}", "// x\n{}", "{} x", "", "{\"a\" 1}", "\"abc", "01", "1.", "-", "tru"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let (v, _) = parse(r#""a\"\\\/\n\u00e9\ud83e\udd84""#).unwrap();
        assert_eq!(v.as_str(), Some("a\"\\/\né🦄"));
        assert!(parse(r#""\ud83e""#).is_err());
    }

    #[test]
    fn reports_duplicate_keys_with_their_position() {
        let (v, pos) = parse("{\"k\": 1,\n \"k\": 2}").unwrap();
        assert_eq!(v.get("k"), Some(&Value::Number(2.0)));
        assert_eq!(pos.duplicate_keys, vec![("k".to_string(), Pos { line: 2, col: 2 })]);
    }

    #[test]
    fn a_minified_one_line_document_keeps_exact_columns() {
        // 100 000 values on one line: positions are counted on from the last one (linear work).
        let text = format!("[{}]", vec!["\"é\""; 100_000].join(","));
        let (_, positions) = parse(&text).unwrap();
        assert_eq!(positions.find("[0]"), Some(Pos { line: 1, col: 2 }));
        assert_eq!(positions.find("[99999]"), Some(Pos { line: 1, col: 2 + 99_999 * 4 }));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let err = parse("[\"é\", x]").unwrap_err();
        assert_eq!(err.pos, Pos { line: 1, col: 7 });
    }
}
