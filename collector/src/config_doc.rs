//! experiments.json as a text document to edit one experiment in: the other experiments, unknown
//! keys, formatting and key order outside that experiment stay byte for byte as they were (the file
//! is also edited by hand). Only the edited experiment is written anew, from a value that keeps its
//! own key order (`splitbeam_core::json::Value` objects are ordered lists).

use std::ops::Range;

use splitbeam_core::json::{self, Value};

/// A parsed experiments file with where each experiment stands in its text.
pub struct ConfigDoc {
    text: String,
    /// The top-level `experiments` array, brackets included.
    array: Range<usize>,
    /// Each element of that array, in order.
    elements: Vec<Range<usize>>,
    values: Vec<Value>,
}

impl ConfigDoc {
    /// Reads `text` (strict JSON); it must be an object with an `experiments` array.
    pub fn parse(text: &str) -> Result<ConfigDoc, String> {
        let (root, _) = json::parse(text).map_err(|e| format!("{e}"))?;
        let values = match root.get("experiments") {
            Some(Value::Array(items)) => items.clone(),
            _ => return Err("the file has no \"experiments\" array".into()),
        };
        let (array, elements) = experiments_span(text.as_bytes()).ok_or("the file has no \"experiments\" array")?;
        if elements.len() != values.len() {
            // Only with a duplicated "experiments" key, which validation refuses anyway.
            return Err("the file has more than one \"experiments\" array".into());
        }
        Ok(ConfigDoc { text: text.to_string(), array, elements, values })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first experiment whose `key` is `key`: its index and value.
    pub fn find(&self, key: &str) -> Option<(usize, &Value)> {
        self.values.iter().enumerate().find(|(_, v)| v.get("key").and_then(Value::as_str) == Some(key))
    }

    pub fn experiments(&self) -> &[Value] {
        &self.values
    }

    /// The text with experiment `index` replaced by `experiment`.
    pub fn replace(&self, index: usize, experiment: &Value) -> String {
        let span = &self.elements[index];
        let indent = indent_at(&self.text, span.start);
        let mut out = String::with_capacity(self.text.len() + 256);
        out.push_str(&self.text[..span.start]);
        write_pretty(&mut out, experiment, &indent);
        out.push_str(&self.text[span.end..]);
        out
    }

    /// The text with `experiment` appended to the array; returns it and the new experiment's index.
    pub fn append(&self, experiment: &Value) -> (String, usize) {
        let mut out = String::with_capacity(self.text.len() + 512);
        match self.elements.last() {
            Some(last) => {
                let indent = indent_at(&self.text, last.start);
                out.push_str(&self.text[..last.end]);
                out.push_str(",\n");
                out.push_str(&indent);
                write_pretty(&mut out, experiment, &indent);
                out.push_str(&self.text[last.end..]);
            }
            None => {
                // `[]` (maybe with blanks inside): one indent deeper than the line holding the `[`.
                let outer = indent_at(&self.text, self.array.start);
                let indent = format!("{outer}    ");
                out.push_str(&self.text[..self.array.start]);
                out.push_str("[\n");
                out.push_str(&indent);
                write_pretty(&mut out, experiment, &indent);
                out.push('\n');
                out.push_str(&outer);
                out.push(']');
                out.push_str(&self.text[self.array.end..]);
            }
        }
        (out, self.elements.len())
    }

    /// The text without experiment `index` (and the comma that separated it).
    pub fn remove(&self, index: usize) -> String {
        let span = &self.elements[index];
        let cut = if index > 0 {
            self.elements[index - 1].end..span.end
        } else if let Some(next) = self.elements.get(1) {
            span.start..next.start
        } else {
            self.array.start + 1..self.array.end - 1
        };
        format!("{}{}", &self.text[..cut.start], &self.text[cut.end..])
    }
}

/// The blanks that start the line holding byte `at` (how deep the original was indented).
fn indent_at(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].chars().take_while(|c| *c == ' ' || *c == '\t').collect()
}

/// Writes `value` as indented JSON, nested lines starting with `indent` plus two spaces per level;
/// arrays of plain values stay on one line (`"pages": ["/", "/cart"]`).
pub fn write_pretty(out: &mut String, value: &Value, indent: &str) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, *n),
        Value::String(s) => json::write_str(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) if items.iter().all(|v| !matches!(v, Value::Array(_) | Value::Object(_))) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_pretty(out, item, indent);
            }
            out.push(']');
        }
        Value::Array(items) => {
            let inner = format!("{indent}  ");
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i > 0 { ",\n" } else { "\n" });
                out.push_str(&inner);
                write_pretty(out, item, &inner);
            }
            out.push('\n');
            out.push_str(indent);
            out.push(']');
        }
        Value::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Value::Object(entries) => {
            let inner = format!("{indent}  ");
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                out.push_str(if i > 0 { ",\n" } else { "\n" });
                out.push_str(&inner);
                json::write_str(out, key);
                out.push_str(": ");
                write_pretty(out, item, &inner);
            }
            out.push('\n');
            out.push_str(indent);
            out.push('}');
        }
    }
}

/// Whole numbers as integers (`50`, not `50.0`); others in Rust's shortest round-trip form.
fn write_number(out: &mut String, n: f64) {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        out.push_str(&format!("{}", n as i64));
    } else {
        out.push_str(&format!("{n}"));
    }
}

/// Compact JSON of a core value (for history records and API answers).
pub fn to_compact(value: &Value) -> String {
    let mut out = String::new();
    write_compact(&mut out, value);
    out
}

fn write_compact(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(out, item);
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
                write_compact(out, item);
            }
            out.push('}');
        }
        scalar => write_pretty(out, scalar, ""),
    }
}

// A scanner over text that already parsed as strict JSON: it only needs to find where values end.

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index after the closing one.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// `i` at the first byte of a value; returns the index after it.
fn skip_value(b: &[u8], mut i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => {
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            i
        }
    }
}

/// The first top-level `experiments` array and its elements.
fn experiments_span(b: &[u8]) -> Option<(Range<usize>, Vec<Range<usize>>)> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i);
        let key: String = serde_json::from_slice(&b[i..key_end]).ok()?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let value_end = skip_value(b, i);
        if key == "experiments" && b.get(i) == Some(&b'[') {
            return Some((i..value_end, array_elements(b, i)));
        }
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

fn array_elements(b: &[u8], open: usize) -> Vec<Range<usize>> {
    let mut elements = Vec::new();
    let mut i = skip_ws(b, open + 1);
    while i < b.len() && b[i] != b']' {
        let end = skip_value(b, i);
        elements.push(i..end);
        i = skip_ws(b, end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
    }
    elements
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "{\n  \"$schema\": \"x\",\n  \"version\": 1,\n  \"experiments\": [\n    { \"key\": \"a\", \"status\": \"running\", \"note\": \"[}\\\"\" },\n    {\"key\":\"b\",\"traffic\":0.50}\n  ],\n  \"extra\": {\"kept\": true}\n}\n";

    fn value(text: &str) -> Value {
        json::parse(text).expect("test JSON").0
    }

    #[test]
    fn replacing_one_experiment_keeps_every_other_byte() {
        let doc = ConfigDoc::parse(FILE).expect("parses");
        let (index, _) = doc.find("b").expect("b is there");
        let text = doc.replace(index, &value(r#"{"key":"b","traffic":0.25,"z":1,"a":2}"#));
        assert!(text.starts_with(&FILE[..FILE.find("    {\"key\":\"b\"").expect("b")]), "{text}");
        assert!(text.contains("    {\n      \"key\": \"b\",\n      \"traffic\": 0.25,\n      \"z\": 1,\n      \"a\": 2\n    }\n  ],\n  \"extra\": {\"kept\": true}\n}\n"), "{text}");
        assert!(json::parse(&text).is_ok());
    }

    #[test]
    fn appending_and_removing() {
        let doc = ConfigDoc::parse(FILE).expect("parses");
        let (text, index) = doc.append(&value(r#"{"key":"c","pages":["/","/cart"]}"#));
        assert_eq!(index, 2);
        assert!(text.contains("{\"key\":\"b\",\"traffic\":0.50},\n    {\n      \"key\": \"c\",\n      \"pages\": [\"/\", \"/cart\"]\n    }\n  ]"), "{text}");
        let doc = ConfigDoc::parse(&text).expect("parses");
        assert_eq!(doc.remove(2), FILE);
        let first_gone = ConfigDoc::parse(FILE).expect("parses").remove(0);
        assert_eq!(first_gone, FILE.replace("{ \"key\": \"a\", \"status\": \"running\", \"note\": \"[}\\\"\" },\n    ", ""));
    }

    #[test]
    fn appending_to_an_empty_array() {
        let doc = ConfigDoc::parse("{\"version\": 1, \"experiments\": [ ]}").expect("parses");
        let (text, _) = doc.append(&value(r#"{"key":"c"}"#));
        assert_eq!(text, "{\"version\": 1, \"experiments\": [\n    {\n      \"key\": \"c\"\n    }\n]}");
        assert_eq!(ConfigDoc::parse(&text).expect("parses").remove(0), "{\"version\": 1, \"experiments\": []}");
    }

    #[test]
    fn numbers_are_written_as_people_write_them() {
        assert_eq!(to_compact(&value(r#"[50, 0.5, -1, 1e-7, 12345678901234567890]"#)), "[50,0.5,-1,0.0000001,12345678901234567000]");
    }
}
