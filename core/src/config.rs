//! experiments.json as typed Rust: the schema, read from a `json::Value` and validated strictly.
//! An invalid experiment is dropped with its issues; the valid ones still run.

use crate::condition::Condition;
use crate::json::{self, ParseError, Positions, Value};
use crate::issue::Issue;
use crate::pages::PageRules;
use crate::js_engine::JsEngine;

/// A loaded configuration: only experiments that passed validation.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub version: u32,
    pub experiments: Vec<Experiment>,
    /// Named id lists for `$inGroup` / `$notInGroup` (GrowthBook's saved groups).
    pub groups: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Running,
    Stopped,
}

#[derive(Debug, Clone)]
pub struct Experiment {
    pub key: String,
    pub name: String,
    pub status: Status,
    pub pages: PageRules,
    /// A GrowthBook/MongoDB-style condition over the visitor's attributes; `None` = everyone.
    pub audience: Option<Condition>,
    /// Share of visitors in the experiment, in [0, 1].
    pub traffic: f64,
    pub variants: Vec<Variant>,
    pub goals: Vec<Goal>,
    /// Goal keys in funnel order.
    pub funnel: Vec<String>,
    /// Hash seed; the experiment key when not set.
    pub seed: String,
    /// The attribute hashed for bucketing; `id` (the visitor id) by default.
    pub hash_attribute: String,
    /// 1 (legacy) or 2 (default).
    pub hash_version: u8,
    pub namespace: Option<Namespace>,
    /// Active window in milliseconds since the Unix epoch.
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
    /// For stopped experiments: index of the variant everyone gets (control when `None`).
    pub winner: Option<usize>,
}

impl Experiment {
    /// Variant weights normalised to sum to 1 (experiments.json weights are relative).
    pub fn normalized_weights(&self) -> Vec<f64> {
        let total: f64 = self.variants.iter().map(|v| v.weight).sum();
        self.variants.iter().map(|v| v.weight / total).collect()
    }

    /// A fingerprint of the variant keys: a sticky assignment is kept only while this is unchanged.
    pub fn variants_fingerprint(&self) -> String {
        let mut fingerprint = String::with_capacity(self.variants.iter().map(|v| v.key.len() + 1).sum());
        for (i, variant) in self.variants.iter().enumerate() {
            if i > 0 {
                fingerprint.push('|');
            }
            fingerprint.push_str(&variant.key);
        }
        fingerprint
    }

    /// Whether `fingerprint` is this experiment's `variants_fingerprint()`, without building it
    /// (assignment checks it for every experiment on every page view).
    pub fn has_fingerprint(&self, fingerprint: &str) -> bool {
        let mut parts = fingerprint.split('|');
        self.variants.iter().all(|v| parts.next() == Some(v.key.as_str())) && parts.next().is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub id: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub key: String,
    pub weight: f64,
    /// As read from experiments.json; empty in a config from `compiled::decode` (the browser's),
    /// which has `applier_json` and `redirect` instead.
    pub changes: Vec<Change>,
    /// The changes as the loader's applier takes them (`compiled::write_changes`), written by the
    /// compiler so the browser never builds them; empty in a config read from experiments.json.
    pub applier_json: String,
    /// A split-URL test's target (the first `redirect` of `changes`): the whole snippet navigates
    /// there, so the first paint leaves such a variant alone.
    pub redirect: Option<String>,
}

/// One entry of a variant's `changes`: several operations may target the same selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub selector: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attr: Vec<(String, String)>,
    pub add_class: Option<String>,
    pub remove_class: Option<String>,
    /// Inline style declarations, e.g. `"color: red; font-weight: bold"`.
    pub style: Option<String>,
    pub remove: bool,
    pub move_to: Option<Move>,
    /// Page-level CSS (no selector).
    pub css: Option<String>,
    /// Split-URL test: navigate to this URL (the current query string is kept).
    pub redirect: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Move {
    Before(String),
    After(String),
    Into(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub key: String,
    pub trigger: GoalTrigger,
    /// Name of the event property that carries the goal's value (e.g. revenue).
    pub value_prop: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GoalTrigger {
    /// A click on an element matching this selector.
    Click(String),
    /// A page view whose URL matches these rules.
    Pageview(PageRules),
    /// A custom `splitbeam.track(name)` call.
    Event(String),
}

/// The outcome of loading a configuration: what runs, and what was wrong.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub issues: Vec<Issue>,
    /// Keys of experiments dropped because they were invalid.
    pub dropped: Vec<String>,
}

/// Reads and validates a parsed experiments.json, checking regexes with the platform's engine
/// (natively the `regex` crate; without the `regex` feature, regexes are checked where they run).
pub fn load(root: &Value) -> Loaded {
    #[cfg(feature = "regex")]
    {
        load_with(root, &crate::js_engine::NativeJs)
    }
    #[cfg(not(feature = "regex"))]
    {
        load_with(root, &AcceptAnyRegex)
    }
}

/// Reads and validates a parsed experiments.json with the given regex engine.
pub fn load_with(root: &Value, regex: &dyn JsEngine) -> Loaded {
    crate::config_reader::read(root, regex)
}

/// experiments.json text → loaded config plus where each JSON path stands in the text.
/// Duplicate object keys (which JSON.parse silently resolves) are reported as issues here.
pub fn load_text(text: &str, regex: &dyn JsEngine) -> Result<(Loaded, Positions), ParseError> {
    let (root, positions) = json::parse(text)?;
    let mut loaded = load_with(&root, regex);
    for (path, _) in &positions.duplicate_keys {
        loaded.issues.push(Issue { path: path.clone(), message: "duplicate key (the last one wins in browsers)".into() });
    }
    Ok((loaded, positions))
}

#[cfg(not(feature = "regex"))]
struct AcceptAnyRegex;

#[cfg(not(feature = "regex"))]
impl JsEngine for AcceptAnyRegex {
    fn is_match(&self, _pattern: &str, _text: &str, _ignore_case: bool) -> Result<bool, String> {
        Ok(false)
    }
}
