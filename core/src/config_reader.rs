//! Reads experiments.json (a `json::Value`) into the typed `Config`, collecting every problem at once.
//! Each experiment is read on its own: one with issues is dropped, the others still run.

#[cfg(feature = "validate")]
use crate::condition;
use crate::condition::Condition;
use crate::config::{Change, Experiment, Goal, GoalTrigger, Loaded, Move, Namespace, Status, Variant};
use crate::issue::Issue;
use crate::json::{join_index, join_key, Value};
use crate::pages::{self, PageRules};
use crate::js_engine::JsEngine;
#[cfg(feature = "validate")]
use crate::selector;
use crate::time;

const TOP_KEYS: &[&str] = &["$schema", "version", "experiments", "groups"];
const EXPERIMENT_KEYS: &[&str] = &[
    "key", "name", "description", "status", "pages", "audience", "traffic", "variants", "goals", "funnel", "seed",
    "hashAttribute", "hashVersion", "namespace", "start", "end", "winner", "archived",
];
const VARIANT_KEYS: &[&str] = &["key", "name", "weight", "changes"];
const CHANGE_KEYS: &[&str] =
    &["selector", "text", "html", "attr", "addClass", "removeClass", "style", "remove", "move", "css", "redirect"];
const GOAL_KEYS: &[&str] = &["key", "click", "pageview", "event", "value"];
/// Keys travel in URLs (`?splitbeam=exp:variant`), events and the dashboard: keep them plain.
const MAX_KEY_LEN: usize = 64;

pub(crate) fn read(root: &Value, regex: &dyn JsEngine) -> Loaded {
    let mut loaded = Loaded::default();
    let Some(entries) = root.as_object() else {
        loaded.issues.push(issue!("", "expected an object with \"version\" and \"experiments\", found {}", root.type_name()));
        return loaded;
    };
    unknown_keys(entries, "", TOP_KEYS, &mut loaded.issues);

    match root.get("version") {
        Some(Value::Number(n)) if *n == 1.0 => loaded.config.version = 1,
        Some(_) => loaded.issues.push(issue!("version", "unsupported version: this splitbeam reads version 1")),
        None => loaded.issues.push(issue!("", "missing \"version\": 1")),
    }

    match root.get("groups") {
        None => loaded.config.groups = Value::Object(Vec::new()),
        Some(groups @ Value::Object(list)) => {
            for (name, ids) in list {
                if ids.as_array().is_none() {
                    loaded.issues.push(issue!(&join_key("groups", name), "a group must be an array of ids"));
                }
            }
            loaded.config.groups = groups.clone();
        }
        Some(other) => loaded.issues.push(issue!("groups", "expected an object of id lists, found {}", other.type_name())),
    }

    let experiments = match root.get("experiments") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            loaded.issues.push(issue!("experiments", "expected an array, found {}", other.type_name()));
            &[]
        }
        None => {
            loaded.issues.push(issue!("", "missing \"experiments\" array"));
            &[]
        }
    };
    // Every key written so far, kept or dropped: a later experiment with one of them is the duplicate.
    // (A dropped experiment without a key is listed by its path, which no valid key can equal.)
    let mut seen_keys = SeenKeys::default();
    for (i, value) in experiments.iter().enumerate() {
        let path = join_index("experiments", i);
        let mut issues = Vec::new();
        let experiment = read_experiment(value, &path, regex, &mut issues);
        if let Some(exp) = &experiment {
            if seen_keys.contains(&exp.key) {
                issues.push(issue!(&join_key(&path, "key"), "duplicate experiment key \"{}\"", exp.key));
            }
        }
        if let Some(key) = value.get("key").and_then(Value::as_str) {
            seen_keys.insert(key);
        }
        match experiment {
            Some(exp) if issues.is_empty() => loaded.config.experiments.push(exp),
            other => {
                let key = other.map(|e| e.key).or_else(|| value.get("key").and_then(Value::as_str).map(String::from));
                loaded.dropped.push(key.unwrap_or_else(|| path.clone()));
                summarize(&mut issues, &path);
                loaded.issues.append(&mut issues);
            }
        }
    }
    loaded
}

/// Without the `validate` feature (the browser snippet) issues carry no message: one line per dropped
/// experiment, at its path, points to `splitbeam validate` for the reasons.
#[cfg(feature = "validate")]
fn summarize(_issues: &mut Vec<Issue>, _experiment_path: &str) {}

#[cfg(not(feature = "validate"))]
fn summarize(issues: &mut Vec<Issue>, experiment_path: &str) {
    issues.clear();
    issues.push(Issue { path: experiment_path.to_string(), message: crate::issue::UNEXPLAINED.into() });
}

fn unknown_keys(entries: &[(String, Value)], path: &str, known: &[&str], issues: &mut Vec<Issue>) {
    for (key, _) in entries {
        if !known.contains(&key.as_str()) {
            issues.push(issue!(&join_key(path, key), "unknown field \"{key}\" (expected one of: {})", known.join(", ")));
        }
    }
}

/// Reads a required or optional string field.
fn string_field(obj: &Value, path: &str, key: &str, required: bool, issues: &mut Vec<Issue>) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(issue!(&join_key(path, key), "expected a string, found {}", other.type_name()));
            None
        }
        None => {
            if required {
                issues.push(issue!(path, "missing \"{key}\""));
            }
            None
        }
    }
}

/// The keys met so far in one list (experiments, variants or goals), to report duplicates.
/// Natively a hash set: a config with 30,000 experiments validates in linear time. The snippet keeps
/// the plain scan: a HashSet adds 2.6 KB gzip to the wasm, and the configs a browser reads are small.
#[derive(Default)]
struct SeenKeys<'a> {
    #[cfg(feature = "validate")]
    keys: std::collections::HashSet<&'a str>,
    #[cfg(not(feature = "validate"))]
    keys: Vec<&'a str>,
}

#[cfg(feature = "validate")]
impl<'a> SeenKeys<'a> {
    fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Adds `key`; false when it was already there.
    fn insert(&mut self, key: &'a str) -> bool {
        self.keys.insert(key)
    }
}

#[cfg(not(feature = "validate"))]
impl<'a> SeenKeys<'a> {
    fn contains(&self, key: &str) -> bool {
        self.keys.contains(&key)
    }

    /// Adds `key`; false when it was already there.
    fn insert(&mut self, key: &'a str) -> bool {
        let new = !self.contains(key);
        if new {
            self.keys.push(key);
        }
        new
    }
}

/// The text of `obj`'s "key" as written, borrowed from the document so a set of seen keys needs no
/// copies; once `key_field` accepted the key this is that same text.
fn written_key(obj: &Value) -> &str {
    obj.get("key").and_then(Value::as_str).unwrap_or_default()
}

fn key_field(obj: &Value, path: &str, what: &str, issues: &mut Vec<Issue>) -> Option<String> {
    let key = string_field(obj, path, "key", true, issues)?;
    let valid_chars = key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if key.is_empty() || key.len() > MAX_KEY_LEN || !valid_chars {
        issues.push(issue!(&join_key(path, "key"), "{what} key \"{key}\" must be 1-64 characters of letters, digits, '-', '_' or '.'"));
        return None;
    }
    Some(key)
}

fn read_experiment(value: &Value, path: &str, regex: &dyn JsEngine, issues: &mut Vec<Issue>) -> Option<Experiment> {
    let Some(entries) = value.as_object() else {
        issues.push(issue!(path, "an experiment must be an object, found {}", value.type_name()));
        return None;
    };
    unknown_keys(entries, path, EXPERIMENT_KEYS, issues);
    let key = key_field(value, path, "experiment", issues);
    let name = string_field(value, path, "name", false, issues);
    string_field(value, path, "description", false, issues);

    let status = match string_field(value, path, "status", true, issues).as_deref() {
        Some("draft") => Some(Status::Draft),
        Some("running") => Some(Status::Running),
        Some("stopped") => Some(Status::Stopped),
        Some(other) => {
            issues.push(issue!(&join_key(path, "status"), "unknown status \"{other}\" (draft, running or stopped)"));
            None
        }
        None => None,
    };

    let pages = match value.get("pages") {
        None => Some(PageRules::default()),
        Some(rules) => pages::read_rules(rules, &join_key(path, "pages"), regex, issues),
    };

    let audience = match value.get("audience") {
        None => None,
        Some(cond @ Value::Object(_)) => {
            // Validated by `splitbeam validate` before publishing; the snippet skips the ~10 KB validator.
            #[cfg(feature = "validate")]
            issues.extend(condition::validate(cond, &join_key(path, "audience"), regex));
            Some(Condition::read(cond))
        }
        Some(other) => {
            issues.push(issue!(&join_key(path, "audience"), "expected a condition object, found {}", other.type_name()));
            None
        }
    };

    let traffic = match value.get("traffic") {
        None => 1.0,
        Some(Value::Number(n)) if (0.0..=1.0).contains(n) => *n,
        Some(Value::Number(_)) => {
            issues.push(issue!(&join_key(path, "traffic"), "traffic is a share of visitors between 0 and 1"));
            1.0
        }
        Some(other) => {
            issues.push(issue!(&join_key(path, "traffic"), "expected a number between 0 and 1, found {}", other.type_name()));
            1.0
        }
    };

    let variants = read_variants(value, path, issues);
    let goals = read_goals(value, path, regex, issues);
    let funnel = read_funnel(value, path, &goals, issues);

    let seed = string_field(value, path, "seed", false, issues);
    let hash_attribute = string_field(value, path, "hashAttribute", false, issues).unwrap_or_else(|| "id".into());
    let hash_version = match value.get("hashVersion") {
        None => 2,
        Some(Value::Number(n)) if *n == 1.0 => 1,
        Some(Value::Number(n)) if *n == 2.0 => 2,
        Some(_) => {
            issues.push(issue!(&join_key(path, "hashVersion"), "hashVersion must be 1 or 2"));
            2
        }
    };
    let namespace = value.get("namespace").and_then(|ns| read_namespace(ns, &join_key(path, "namespace"), issues));
    let start_ms = read_date(value, path, "start", issues);
    let end_ms = read_date(value, path, "end", issues);
    if let (Some(start), Some(end)) = (start_ms, end_ms) {
        if end <= start {
            issues.push(issue!(&join_key(path, "end"), "end must be after start"));
        }
    }

    let winner = match string_field(value, path, "winner", false, issues) {
        None => None,
        Some(w) => match variants.iter().position(|v| v.key == w) {
            Some(i) => Some(i),
            None => {
                issues.push(issue!(&join_key(path, "winner"), "winner \"{w}\" names no variant of this experiment"));
                None
            }
        },
    };

    // Dashboard bookkeeping only (hidden from its lists); delivery goes by `status`. A running
    // experiment cannot be put away.
    match value.get("archived") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) if status != Some(Status::Running) => {}
        Some(Value::Bool(true)) => {
            issues.push(issue!(&join_key(path, "archived"), "a running experiment cannot be archived (stop it first)"))
        }
        Some(other) => issues.push(issue!(&join_key(path, "archived"), "expected true or false, found {}", other.type_name())),
    }

    let key = key?;
    Some(Experiment {
        name: name.unwrap_or_else(|| key.clone()),
        seed: seed.unwrap_or_else(|| key.clone()),
        key,
        status: status?,
        pages: pages?,
        audience,
        traffic,
        variants,
        goals,
        funnel,
        hash_attribute,
        hash_version,
        namespace,
        start_ms,
        end_ms,
        winner,
    })
}

fn read_date(value: &Value, path: &str, key: &str, issues: &mut Vec<Issue>) -> Option<f64> {
    let text = string_field(value, path, key, false, issues)?;
    let parsed = time::parse_date(&text);
    if parsed.is_none() {
        issues.push(issue!(&join_key(path, key), "\"{text}\" is not a date like 2026-11-27 or 2026-11-27T09:00:00Z"));
    }
    parsed
}

fn read_namespace(value: &Value, path: &str, issues: &mut Vec<Issue>) -> Option<Namespace> {
    let parts = match value.as_array() {
        Some([Value::String(id), Value::Number(start), Value::Number(end)]) => Some((id, *start, *end)),
        _ => None,
    };
    match parts {
        Some((id, start, end)) if !id.is_empty() && 0.0 <= start && start < end && end <= 1.0 => {
            Some(Namespace { id: id.clone(), start, end })
        }
        _ => {
            issues.push(issue!(path, "namespace must be [id, start, end] with 0 <= start < end <= 1"));
            None
        }
    }
}

fn read_variants(value: &Value, path: &str, issues: &mut Vec<Issue>) -> Vec<Variant> {
    let vpath = join_key(path, "variants");
    let items = match value.get("variants") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            issues.push(issue!(&vpath, "expected an array of variants, found {}", other.type_name()));
            return Vec::new();
        }
        None => {
            issues.push(issue!(path, "missing \"variants\""));
            return Vec::new();
        }
    };
    if items.len() < 2 {
        issues.push(issue!(&vpath, "an experiment needs at least two variants (the first is the control)"));
    }
    let weighted = items.iter().filter(|v| v.get("weight").is_some()).count();
    if weighted != 0 && weighted != items.len() {
        issues.push(issue!(&vpath, "give every variant a weight, or none (equal split)"));
    }
    let mut variants: Vec<Variant> = Vec::new();
    let mut seen_keys = SeenKeys::default();
    for (i, item) in items.iter().enumerate() {
        let path = join_index(&vpath, i);
        let Some(entries) = item.as_object() else {
            issues.push(issue!(&path, "a variant must be an object, found {}", item.type_name()));
            continue;
        };
        unknown_keys(entries, &path, VARIANT_KEYS, issues);
        string_field(item, &path, "name", false, issues);
        let weight = match item.get("weight") {
            None => 1.0,
            Some(Value::Number(w)) if *w >= 0.0 => *w,
            Some(Value::Number(_)) => {
                issues.push(issue!(&join_key(&path, "weight"), "weight must not be negative"));
                0.0
            }
            Some(other) => {
                issues.push(issue!(&join_key(&path, "weight"), "expected a number, found {}", other.type_name()));
                0.0
            }
        };
        let changes = read_changes(item, &path, issues);
        if let Some(key) = key_field(item, &path, "variant", issues) {
            if !seen_keys.insert(written_key(item)) {
                issues.push(issue!(&join_key(&path, "key"), "duplicate variant key \"{key}\""));
            }
            let redirect = changes.iter().find_map(|c| c.redirect.clone());
            variants.push(Variant { key, weight, changes, applier_json: String::new(), redirect });
        }
    }
    if !items.is_empty() && variants.iter().map(|v| v.weight).sum::<f64>() <= 0.0 {
        issues.push(issue!(&vpath, "variant weights add up to zero"));
    }
    variants
}

fn read_changes(variant: &Value, path: &str, issues: &mut Vec<Issue>) -> Vec<Change> {
    let cpath = join_key(path, "changes");
    let items = match variant.get("changes") {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            issues.push(issue!(&cpath, "expected an array of changes, found {}", other.type_name()));
            return Vec::new();
        }
    };
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = join_index(&cpath, i);
        if let Some(change) = read_change(item, &path, issues) {
            changes.push(change);
        }
    }
    changes
}

fn read_change(item: &Value, path: &str, issues: &mut Vec<Issue>) -> Option<Change> {
    let Some(entries) = item.as_object() else {
        issues.push(issue!(path, "a change must be an object, found {}", item.type_name()));
        return None;
    };
    unknown_keys(entries, path, CHANGE_KEYS, issues);
    let mut change = Change {
        selector: string_field(item, path, "selector", false, issues),
        text: string_field(item, path, "text", false, issues),
        html: string_field(item, path, "html", false, issues),
        add_class: string_field(item, path, "addClass", false, issues),
        remove_class: string_field(item, path, "removeClass", false, issues),
        style: string_field(item, path, "style", false, issues),
        css: string_field(item, path, "css", false, issues),
        redirect: string_field(item, path, "redirect", false, issues),
        ..Change::default()
    };
    if let Some(selector) = &change.selector {
        check_selector(selector, &join_key(path, "selector"), issues);
    }
    if let Some(attr) = item.get("attr") {
        match attr.as_object() {
            Some(pairs) => {
                for (name, value) in pairs {
                    let valid_name = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
                        && !name.to_ascii_lowercase().starts_with("on");
                    if !valid_name {
                        issues.push(issue!(&join_key(&join_key(path, "attr"), name), "\"{name}\" is not an attribute splitbeam sets (event handlers are refused)"));
                    }
                    match value.as_str() {
                        Some(v) => change.attr.push((name.clone(), v.to_string())),
                        None => issues.push(issue!(&join_key(&join_key(path, "attr"), name), "attribute values must be strings")),
                    }
                }
            }
            None => issues.push(issue!(&join_key(path, "attr"), "expected an object of attribute names to values")),
        }
    }
    for class_key in ["addClass", "removeClass"] {
        let classes = if class_key == "addClass" { &change.add_class } else { &change.remove_class };
        if classes.as_deref().is_some_and(|c| c.trim().is_empty()) {
            issues.push(issue!(&join_key(path, class_key), "empty class list"));
        }
    }
    match item.get("remove") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => change.remove = true,
        Some(_) => issues.push(issue!(&join_key(path, "remove"), "remove must be true or false")),
    }
    if let Some(target) = item.get("move") {
        let mpath = join_key(path, "move");
        let parsed = match target.as_object() {
            Some([(side, Value::String(sel))]) => match side.as_str() {
                "before" => Some(Move::Before(sel.clone())),
                "after" => Some(Move::After(sel.clone())),
                "into" => Some(Move::Into(sel.clone())),
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some(m) => {
                let (Move::Before(sel) | Move::After(sel) | Move::Into(sel)) = &m;
                check_selector(sel, &mpath, issues);
                change.move_to = Some(m);
            }
            None => issues.push(issue!(&mpath, "move takes one of {{\"before\": sel}}, {{\"after\": sel}}, {{\"into\": sel}}")),
        }
    }
    if let Some(url) = &change.redirect {
        if url.trim().is_empty() || url.contains(char::is_whitespace) || url.to_ascii_lowercase().starts_with("javascript:") {
            issues.push(issue!(&join_key(path, "redirect"), "redirect needs an http(s) or relative URL"));
        }
    }

    let element_ops = change.text.is_some()
        || change.html.is_some()
        || !change.attr.is_empty()
        || change.add_class.is_some()
        || change.remove_class.is_some()
        || change.style.is_some()
        || change.remove
        || change.move_to.is_some();
    let page_ops = change.css.is_some() || change.redirect.is_some();
    if element_ops && change.selector.is_none() {
        issues.push(issue!(path, "this change edits elements: add a \"selector\""));
    }
    if page_ops && change.selector.is_some() {
        issues.push(issue!(path, "\"css\" and \"redirect\" apply to the page: put them in a change without \"selector\""));
    }
    if !element_ops && !page_ops {
        issues.push(issue!(path, "this change changes nothing (text, html, attr, addClass, removeClass, style, remove, move, css or redirect)"));
    }
    Some(change)
}

/// Selector syntax is checked by `splitbeam validate`; in the snippet an invalid selector matches
/// nothing (the DOM layer catches querySelectorAll's SyntaxError), which costs no bytes.
#[cfg(not(feature = "validate"))]
fn check_selector(_selector: &str, _path: &str, _issues: &mut [Issue]) {}

#[cfg(feature = "validate")]
fn check_selector(selector: &str, path: &str, issues: &mut Vec<Issue>) {
    if let Err(why) = selector::check(selector) {
        issues.push(issue!(path, "invalid selector \"{selector}\": {why}"));
    }
}

fn read_goals(value: &Value, path: &str, regex: &dyn JsEngine, issues: &mut Vec<Issue>) -> Vec<Goal> {
    let gpath = join_key(path, "goals");
    let items = match value.get("goals") {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            issues.push(issue!(&gpath, "expected an array of goals, found {}", other.type_name()));
            return Vec::new();
        }
    };
    let mut goals: Vec<Goal> = Vec::new();
    let mut seen_keys = SeenKeys::default();
    for (i, item) in items.iter().enumerate() {
        let path = join_index(&gpath, i);
        let Some(entries) = item.as_object() else {
            issues.push(issue!(&path, "a goal must be an object, found {}", item.type_name()));
            continue;
        };
        unknown_keys(entries, &path, GOAL_KEYS, issues);
        let key = key_field(item, &path, "goal", issues);
        let value_prop = string_field(item, &path, "value", false, issues);
        let mut triggers = Vec::new();
        if let Some(sel) = string_field(item, &path, "click", false, issues) {
            check_selector(&sel, &join_key(&path, "click"), issues);
            triggers.push(GoalTrigger::Click(sel));
        }
        if let Some(rules) = item.get("pageview") {
            if let Some(rules) = pages::read_rules(rules, &join_key(&path, "pageview"), regex, issues) {
                triggers.push(GoalTrigger::Pageview(rules));
            }
        }
        if let Some(name) = string_field(item, &path, "event", false, issues) {
            if name.is_empty() {
                issues.push(issue!(&join_key(&path, "event"), "empty event name"));
            }
            triggers.push(GoalTrigger::Event(name));
        }
        let trigger = match triggers.len() {
            1 => triggers.pop(),
            0 if entries.iter().any(|(k, _)| k == "pageview") => None, // its issues are already reported
            0 => {
                issues.push(issue!(&path, "a goal needs one trigger: \"click\", \"pageview\" or \"event\""));
                None
            }
            _ => {
                issues.push(issue!(&path, "a goal has exactly one trigger: \"click\", \"pageview\" or \"event\""));
                None
            }
        };
        if let (Some(key), Some(trigger)) = (key, trigger) {
            if !seen_keys.insert(written_key(item)) {
                issues.push(issue!(&join_key(&path, "key"), "duplicate goal key \"{key}\""));
            }
            goals.push(Goal { key, trigger, value_prop });
        }
    }
    goals
}

fn read_funnel(value: &Value, path: &str, goals: &[Goal], issues: &mut Vec<Issue>) -> Vec<String> {
    let fpath = join_key(path, "funnel");
    let items = match value.get("funnel") {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            issues.push(issue!(&fpath, "expected an array of goal keys, found {}", other.type_name()));
            return Vec::new();
        }
    };
    let mut funnel = Vec::new();
    for (i, step) in items.iter().enumerate() {
        let spath = join_index(&fpath, i);
        match step.as_str() {
            Some(key) if goals.iter().any(|g| g.key == key) => {
                if funnel.iter().any(|k| k == key) {
                    issues.push(issue!(&spath, "goal \"{key}\" appears twice in the funnel"));
                }
                funnel.push(key.to_string());
            }
            Some(key) => issues.push(issue!(&spath, "funnel step \"{key}\" names no goal of this experiment")),
            None => issues.push(issue!(&spath, "funnel steps are goal keys (strings)")),
        }
    }
    funnel
}

/// The browser build's reader (no `validate` feature): run with
/// `cargo test -p splitbeam-core --no-default-features --lib config_reader`.
#[cfg(all(test, not(feature = "validate")))]
mod browser_tests {
    use crate::config::load;
    use crate::issue::UNEXPLAINED;
    use crate::json::parse;

    fn loaded(text: &str) -> crate::config::Loaded {
        let (root, _) = parse(text).expect("test config is JSON");
        load(&root)
    }

    #[test]
    fn a_structurally_invalid_experiment_is_dropped_with_one_generic_line() {
        let l = loaded(
            r#"{"version": 1, "experiments": [
                {"key": "ok", "status": "running", "variants": [{"key": "a"}, {"key": "b"}]},
                {"key": "bad", "status": "running", "traffic": 7, "colour": 1, "variants": [{"key": "a", "weight": -1}, {"key": "a"}]}
            ]}"#,
        );
        let keys: Vec<_> = l.config.experiments.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["ok"]);
        assert_eq!(l.dropped, ["bad"]);
        assert_eq!(l.issues.len(), 1, "one line per dropped experiment: {:?}", l.issues);
        assert_eq!((l.issues[0].path.as_str(), l.issues[0].message.as_str()), ("experiments[1]", UNEXPLAINED));
    }

    #[test]
    fn selector_and_condition_checks_are_left_to_the_cli() {
        let l = loaded(
            r##"{"version": 1, "experiments": [
                {"key": "e", "status": "running", "audience": {"device": {"$like": "x"}},
                 "variants": [{"key": "a"}, {"key": "b", "changes": [{"selector": "#hero >", "text": "x"}]}]}
            ]}"##,
        );
        assert_eq!(l.config.experiments.len(), 1, "{:?}", l.issues);
        assert!(l.issues.is_empty());
    }
}
