//! The compiled config: what the browser decides from. `splitbeam snippet` and the collector read
//! and validate experiments.json natively, then `encode` the valid experiments into this compact
//! binary form; the snippet only `decode`s it, so no JSON reader, date parser or validator ships.
//!
//! Layout: the magic `SB` and a format byte, then the config. Strings are a varint byte length and
//! UTF-8; numbers 8 bytes little-endian f64; options a 0/1 tag; lists a varint count. Names and
//! funnels are left out (only the dashboard shows them). The parts a module may not need are
//! prefixed with their byte length, so that it skips them unread and carries no code to read them:
//! goals (the first-paint module), saved groups and audiences (a module without the condition engine).
//! A variant's changes travel as the JSON the loader's applier takes (`write_changes`), and its
//! split-URL redirect on its own: the browser builds neither.

use crate::condition::Condition;
use crate::config::{Change, Config, Experiment, Goal, GoalTrigger, Move, Namespace, Status, Variant};
use crate::json::Value;
use crate::pages::{Glob, PageRules, Pattern};

/// The format byte changes with the layout or the meaning of what it holds (4: conditions arrive
/// read, `condition/read.rs`): a loader only ever decodes the config baked with it, and anything
/// else reads as damaged (one console line), never as a different config.
const MAGIC: [u8; 3] = *b"SB\x04";

/// The valid experiments of `config` in the compiled form.
pub fn encode(config: &Config) -> Vec<u8> {
    let mut out = Writer(MAGIC.to_vec());
    out.uint(config.version as usize);
    out.part(|out| out.value(&config.groups));
    out.uint(config.experiments.len());
    for exp in &config.experiments {
        out.experiment(exp);
    }
    out.0
}

/// The config `encode` wrote, or `None` for bytes it did not write (never panics). Without the
/// `conditions` feature, groups are left out and each audience is a `Value::Null` (only whether
/// there is one matters there: nobody is taken as inside it).
pub fn decode(bytes: &[u8]) -> Option<Config> {
    decode_parts::<true>(bytes)
}

/// `decode` without the goals: what the first view decides with.
pub fn decode_without_goals(bytes: &[u8]) -> Option<Config> {
    decode_parts::<false>(bytes)
}

/// Whether the length-prefixed parts are read or skipped is known when building: the reading code
/// of a skipped part is not in the module at all.
const CONDITIONS: bool = cfg!(feature = "conditions");

fn decode_parts<const GOALS: bool>(bytes: &[u8]) -> Option<Config> {
    let mut input = Reader { bytes, at: 0 };
    if input.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let version = u32::try_from(input.uint()?).ok()?;
    let groups = input.part(CONDITIONS, |r| r.value(0))?.unwrap_or(Value::Null);
    let experiments = input.list(Reader::experiment::<GOALS>)?;
    (input.at == bytes.len()).then_some(Config { version, experiments, groups })
}

/// One attribute value in the compiled form: how the whole snippet hands the page's own
/// attributes (`splitbeam.attributes({...})`) to the first-paint module, which decides for it.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Writer(Vec::new());
    out.value(value);
    out.0
}

/// The value `encode_value` wrote, or `None` for bytes it did not write.
pub fn decode_value(bytes: &[u8]) -> Option<Value> {
    let mut input = Reader { bytes, at: 0 };
    let value = input.value(0)?;
    (input.at == bytes.len()).then_some(value)
}

/// Whether any experiment of `config` needs the condition engine and the visitor attributes (an
/// audience, or a hash attribute other than the visitor id): the browser then loads the
/// first-paint module that has them.
pub fn needs_conditions(config: &Config) -> bool {
    config.experiments.iter().any(|e| e.audience.is_some() || e.hash_attribute != "id")
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut n: usize) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }
    fn flag(&mut self, on: bool) {
        self.0.push(on as u8);
    }
    fn num(&mut self, n: f64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.uint(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: &Option<String>) {
        self.flag(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }
    /// `write`'s bytes, prefixed with their length (`Reader::part`).
    fn part(&mut self, write: impl FnOnce(&mut Writer)) {
        let mut part = Writer(Vec::new());
        write(&mut part);
        self.uint(part.0.len());
        self.0.extend_from_slice(&part.0);
    }
    fn opt_num(&mut self, n: Option<f64>) {
        self.flag(n.is_some());
        if let Some(n) = n {
            self.num(n);
        }
    }
    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.0.push(0),
            Value::Bool(b) => self.0.push(1 + *b as u8),
            Value::Number(n) => {
                self.0.push(3);
                self.num(*n);
            }
            Value::String(s) => {
                self.0.push(4);
                self.str(s);
            }
            Value::Array(items) => {
                self.0.push(5);
                self.uint(items.len());
                items.iter().for_each(|item| self.value(item));
            }
            Value::Object(entries) => {
                self.0.push(6);
                self.uint(entries.len());
                for (key, item) in entries {
                    self.str(key);
                    self.value(item);
                }
            }
        }
    }
    fn pages(&mut self, rules: &PageRules) {
        for list in [&rules.include, &rules.exclude] {
            self.uint(list.len());
            for pattern in list {
                match pattern {
                    // Parsed already: the browser carries no glob parser.
                    Pattern::Glob(glob) => {
                        self.0.push(0);
                        self.str(glob.as_str());
                        self.opt_str(&glob.host);
                        self.str(&glob.path);
                        self.uint(glob.query.len());
                        for (key, value) in &glob.query {
                            self.str(key);
                            self.opt_str(value);
                        }
                    }
                    Pattern::Regex(p) => {
                        self.0.push(1);
                        self.str(p);
                    }
                }
            }
        }
    }
    fn experiment(&mut self, exp: &Experiment) {
        self.str(&exp.key);
        self.0.push(match exp.status {
            Status::Draft => 0,
            Status::Running => 1,
            Status::Stopped => 2,
        });
        self.pages(&exp.pages);
        self.flag(exp.audience.is_some());
        if let Some(audience) = &exp.audience {
            self.part(|out| out.value(audience.value()));
        }
        self.num(exp.traffic);
        self.uint(exp.variants.len());
        for variant in &exp.variants {
            self.str(&variant.key);
            self.num(variant.weight);
            self.opt_str(&variant.redirect);
            let mut json = String::new();
            write_changes(&mut json, &variant.changes);
            self.str(&json);
        }
        self.part(|out| out.goals(&exp.goals));
        self.str(&exp.seed);
        self.str(&exp.hash_attribute);
        self.0.push(exp.hash_version);
        self.flag(exp.namespace.is_some());
        if let Some(ns) = &exp.namespace {
            self.str(&ns.id);
            self.num(ns.start);
            self.num(ns.end);
        }
        self.opt_num(exp.start_ms);
        self.opt_num(exp.end_ms);
        self.flag(exp.winner.is_some());
        if let Some(winner) = exp.winner {
            self.uint(winner);
        }
    }
    fn goals(&mut self, goals: &[Goal]) {
        self.uint(goals.len());
        for goal in goals {
            self.str(&goal.key);
            match &goal.trigger {
                GoalTrigger::Click(selector) => {
                    self.0.push(0);
                    self.str(selector);
                }
                GoalTrigger::Pageview(rules) => {
                    self.0.push(1);
                    self.pages(rules);
                }
                GoalTrigger::Event(name) => {
                    self.0.push(2);
                    self.str(name);
                }
            }
            self.opt_str(&goal.value_prop);
        }
    }
}

/// `[change, …]`, each change an object with the fields it sets:
/// `selector`, `text`, `html`, `attr` (`[[name, value], …]`), `addClass`, `removeClass`, `style`,
/// `remove` (true), `move` (`[before|after|into, selector]`), `css`. Only changes with a selector
/// or page CSS: a redirect is not the applier's.
pub fn write_changes(out: &mut String, changes: &[Change]) {
    let objects = changes.iter().filter(|c| c.selector.is_some() || c.css.is_some()).map(change_object).collect();
    // Changes hold no numbers; integers would be written as such.
    crate::event::write_value(out, &Value::Array(objects), &|n| crate::digits::signed(n as i64));
}

fn change_object(change: &Change) -> Value {
    let texts = |fields: &[(&str, &Option<String>)]| -> Vec<(String, Value)> {
        fields.iter().filter_map(|(key, value)| value.as_deref().map(|v| (key.to_string(), Value::from(v)))).collect()
    };
    let pair = |a: &str, b: &str| Value::Array(vec![Value::from(a), Value::from(b)]);
    let mut fields = texts(&[("selector", &change.selector), ("text", &change.text), ("html", &change.html)]);
    if !change.attr.is_empty() {
        fields.push(("attr".into(), Value::Array(change.attr.iter().map(|(name, value)| pair(name, value)).collect())));
    }
    fields.extend(texts(&[("addClass", &change.add_class), ("removeClass", &change.remove_class), ("style", &change.style)]));
    if change.remove {
        fields.push(("remove".into(), Value::Bool(true)));
    }
    if let Some(to) = &change.move_to {
        let (place, selector) = match to {
            Move::Before(s) => ("before", s),
            Move::After(s) => ("after", s),
            Move::Into(s) => ("into", s),
        };
        fields.push(("move".into(), pair(place, selector)));
    }
    fields.extend(texts(&[("css", &change.css)]));
    Value::Object(fields)
}

/// Conditions nest; a compiled config never nests deeper than validation allows.
const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn uint(&mut self) -> Option<usize> {
        let mut n: usize = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            n |= ((b & 0x7f) as usize) << shift;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }
    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn num(&mut self) -> Option<f64> {
        let b = self.take(8)?;
        Some(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    fn str(&mut self) -> Option<String> {
        let len = self.uint()?;
        core::str::from_utf8(self.take(len)?).ok().map(String::from)
    }
    /// A part `Writer::part` wrote: read whole by `read` when `wanted`, else skipped (`Some(None)`).
    fn part<T>(&mut self, wanted: bool, read: impl FnOnce(&mut Reader<'a>) -> Option<T>) -> Option<Option<T>> {
        let len = self.uint()?;
        let bytes = self.take(len)?;
        if !wanted {
            return Some(None);
        }
        let mut part = Reader { bytes, at: 0 };
        let value = read(&mut part)?;
        (part.at == bytes.len()).then_some(Some(value))
    }
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.flag()? {
            read(self).map(Some)
        } else {
            Some(None)
        }
    }
    /// A counted list; the count is checked against the bytes left, so a corrupt count cannot
    /// make it allocate more than the input could hold.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.uint()?;
        if count > self.bytes.len() - self.at {
            return None;
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(item(self)?);
        }
        Some(items)
    }
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Number(self.num()?),
            4 => Value::String(self.str()?),
            5 => Value::Array(self.list(|r| r.value(depth + 1))?),
            6 => Value::Object(self.list(|r| Some((r.str()?, r.value(depth + 1)?)))?),
            _ => return None,
        })
    }
    fn pages(&mut self) -> Option<PageRules> {
        let pattern = |r: &mut Self| match r.byte()? {
            0 => Some(Pattern::Glob(Glob {
                text: r.str()?,
                host: r.opt(Self::str)?,
                path: r.str()?,
                query: r.list(|r| Some((r.str()?, r.opt(Self::str)?)))?,
            })),
            1 => r.str().map(Pattern::Regex),
            _ => None,
        };
        Some(PageRules { include: self.list(pattern)?, exclude: self.list(pattern)? })
    }
    fn experiment<const GOALS: bool>(&mut self) -> Option<Experiment> {
        let key = self.str()?;
        let status = match self.byte()? {
            0 => Status::Draft,
            1 => Status::Running,
            2 => Status::Stopped,
            _ => return None,
        };
        let pages = self.pages()?;
        let audience = self.opt(|r| Some(Condition::compiled(r.part(CONDITIONS, |r| r.value(0))?.unwrap_or(Value::Null))))?;
        let traffic = self.num()?;
        let variants = self.list(|r| {
            let (key, weight) = (r.str()?, r.num()?);
            let redirect = r.opt(Reader::str)?;
            Some(Variant { key, weight, changes: Vec::new(), applier_json: r.str()?, redirect })
        })?;
        let goals = self.part(GOALS, |r| r.list(Reader::goal))?.unwrap_or_default();
        let seed = self.str()?;
        let hash_attribute = self.str()?;
        let hash_version = self.byte()?;
        let namespace = self.opt(|r| Some(Namespace { id: r.str()?, start: r.num()?, end: r.num()? }))?;
        let start_ms = self.opt(Reader::num)?;
        let end_ms = self.opt(Reader::num)?;
        let winner = self.opt(Reader::uint)?;
        Some(Experiment {
            name: key.clone(),
            key,
            status,
            pages,
            audience,
            traffic,
            variants,
            goals,
            funnel: Vec::new(),
            seed,
            hash_attribute,
            hash_version,
            namespace,
            start_ms,
            end_ms,
            winner,
        })
    }
    fn goal(&mut self) -> Option<Goal> {
        let key = self.str()?;
        let trigger = match self.byte()? {
            0 => GoalTrigger::Click(self.str()?),
            1 => GoalTrigger::Pageview(self.pages()?),
            2 => GoalTrigger::Event(self.str()?),
            _ => return None,
        };
        Some(Goal { key, trigger, value_prop: self.opt(Reader::str)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

    const AUDIENCE: &str = r#"{"version": 1, "groups": {"staff": ["v_1"]}, "experiments": [
        {"key": "e", "status": "running", "audience": {"device": "mobile"}, "variants": [{"key": "a"}, {"key": "b"}]}]}"#;

    fn round_trip() -> Config {
        let loaded = load(&crate::json::parse(AUDIENCE).expect("fixture parses").0);
        decode(&encode(&loaded.config)).expect("decodes")
    }

    /// Without the engine an audience is only "there is one" (nobody is taken as inside it).
    #[cfg(not(feature = "conditions"))]
    #[test]
    fn without_the_condition_engine_audiences_and_groups_are_skipped_unread() {
        let config = round_trip();
        assert_eq!(config.experiments[0].audience.as_ref().map(Condition::value), Some(&Value::Null));
        assert_eq!(config.groups, Value::Null);
    }

    #[cfg(feature = "conditions")]
    #[test]
    fn with_the_condition_engine_audiences_and_groups_are_read() {
        let config = round_trip();
        assert!(config.experiments[0].audience.as_ref().and_then(|a| a.value().get("device")).is_some());
        assert!(config.groups.get("staff").is_some());
    }

    #[test]
    fn attribute_values_round_trip_and_damaged_ones_are_refused() {
        let text = r#"{"plan": "pro", "seats": 12.5, "beta": true, "tags": ["a", {"x": null}], "ünï": "ç"}"#;
        let value = crate::json::parse(text).expect("fixture parses").0;
        let bytes = encode_value(&value);
        assert_eq!(decode_value(&bytes), Some(value));
        // Cut short, or with bytes after the value: not what `encode_value` wrote.
        assert_eq!(decode_value(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_value(&[bytes.as_slice(), &[0]].concat()), None);
        assert_eq!(decode_value(&[]), None);
    }

    /// The whole snippet's page side writes these bytes for JavaScript values (www/whole.js
    /// `encodeValue`, checked against the same file by tests/e2e/whole-values.test.mjs): both
    /// sides agree on every type, multi-byte UTF-8 and two-byte lengths.
    #[test]
    fn the_page_side_writes_values_as_this_encoder_does() {
        let fixture = crate::json::parse(include_str!("../../tests/fixtures/values/compiled-value.json")).expect("fixture parses").0;
        let value = fixture.get("value").expect("a value").clone();
        let bytes: Vec<u8> = fixture.get("bytes").and_then(Value::as_array).expect("bytes").iter().map(|b| b.as_f64().expect("a byte") as u8).collect();
        assert_eq!(encode_value(&value), bytes);
        assert_eq!(decode_value(&bytes), Some(value));
    }
}
