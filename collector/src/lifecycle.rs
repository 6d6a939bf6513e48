//! The experiment lifecycle as edits of experiments.json: create, edit, start, stop, pick a winner,
//! archive, and restore an earlier version (revert). Each action changes one experiment's JSON;
//! the whole new file is then validated exactly as `splitbeam validate` does, and every problem is
//! answered with its JSON path, and its path inside the experiment for the form field it concerns.

use serde::Serialize;
use splitbeam_core::config::load_text;
use splitbeam_core::json::{join_index, Value};
use splitbeam_core::js_engine::NativeJs;

use crate::config_doc::ConfigDoc;
use crate::config_file::MAX_CONFIG_BYTES;

/// What a request asks of one experiment.
#[derive(Debug, Clone)]
pub enum Action {
    /// A new experiment (its JSON); `status` defaults to `draft`.
    Create(Value),
    /// The experiment's new JSON (its `key` cannot change).
    Edit(Value),
    /// `running`; a winner and the archived mark are dropped.
    Start,
    /// `stopped`: everyone gets control, or the winner if one was picked.
    Stop,
    /// `stopped` with `winner`: everyone gets that variant.
    Winner(String),
    /// Hidden from the dashboard's lists; only a stopped or draft experiment.
    Archive,
    /// Undoes one recorded change (`before` → `after`): the top-level fields that change touched
    /// get their `before` values back, later edits of other fields stay. A creation (`before` is
    /// null) is undone by removing the experiment, a removal by adding `before` back.
    Revert { before: Option<Value>, after: Option<Value> },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Edit(_) => "edit",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Winner(_) => "winner",
            Action::Archive => "archive",
            Action::Revert { .. } => "revert",
        }
    }
}

/// One validation problem, placed for the file and for the form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// The JSON path in the file (`experiments[2].variants[1].weight`).
    pub path: String,
    /// The path inside the edited experiment (`variants[1].weight`; `""` for the experiment as a
    /// whole), or null for a problem elsewhere in the file.
    pub field: Option<String>,
    pub message: String,
    pub line: u32,
    pub col: u32,
}

/// Why an action was not applied.
#[derive(Debug)]
pub enum Refusal {
    NotFound(String),
    /// The request itself is malformed (not an object, no key).
    BadRequest(String),
    Invalid(Vec<Problem>),
}

/// The file after an action.
#[derive(Debug)]
pub struct Applied {
    pub text: String,
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Applies `action` to the experiment `key` of `doc` (for `Create`, the key is the new one's) and
/// validates the result.
pub fn apply(doc: &ConfigDoc, key: &str, action: Action) -> Result<Applied, Refusal> {
    let found = doc.find(key).map(|(i, v)| (i, v.clone()));
    let (text, index, before, after) = match (action, found) {
        (Action::Create(mut experiment), _) => {
            if experiment.as_object().is_none() {
                return Err(Refusal::BadRequest("an experiment is a JSON object".into()));
            }
            if experiment.get("status").is_none() {
                experiment.set("status", Value::String("draft".into()));
            }
            let (text, index) = doc.append(&experiment);
            (text, Some(index), None, Some(experiment))
        }
        (Action::Revert { before: None, .. }, Some((index, current))) => (doc.remove(index), None, Some(current), None),
        (Action::Revert { before: None, .. }, None) => return Err(Refusal::NotFound(format!("no experiment {key:?} to remove"))),
        (Action::Revert { before: Some(earlier), .. }, None) => {
            let (text, index) = doc.append(&earlier);
            (text, Some(index), None, Some(earlier))
        }
        (_, None) => return Err(Refusal::NotFound(format!("no experiment {key:?} in experiments.json"))),
        (action, Some((index, current))) => {
            let next = changed(&current, key, action)?;
            (doc.replace(index, &next), Some(index), Some(current), Some(next))
        }
    };
    let problems = check(&text, index);
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    Ok(Applied { text, key: key.to_string(), before, after })
}

/// The experiment after an action that keeps it in the file.
fn changed(current: &Value, key: &str, action: Action) -> Result<Value, Refusal> {
    let mut next = current.clone();
    match action {
        Action::Revert { before: Some(before), after } => next = reverted(current, &before, after.as_ref()),
        Action::Edit(edited) => {
            if edited.as_object().is_none() {
                return Err(Refusal::BadRequest("an experiment is a JSON object".into()));
            }
            if edited.get("key").and_then(Value::as_str) != Some(key) {
                return Err(Refusal::Invalid(vec![Problem {
                    path: "key".into(),
                    field: Some("key".into()),
                    message: format!("the key stays \"{key}\": events and results are stored under it (create a new experiment instead)"),
                    line: 1,
                    col: 1,
                }]));
            }
            next = edited;
        }
        Action::Start => {
            next.set("status", Value::String("running".into()));
            remove_key(&mut next, "winner");
            remove_key(&mut next, "archived");
        }
        Action::Stop => next.set("status", Value::String("stopped".into())),
        Action::Winner(variant) => {
            next.set("status", Value::String("stopped".into()));
            next.set("winner", Value::String(variant));
        }
        Action::Archive => next.set("archived", Value::Bool(true)),
        Action::Create(_) | Action::Revert { before: None, .. } => {}
    }
    Ok(next)
}

/// `current` with the top-level fields that went from `before` to `after` set back to `before`
/// (removed where `before` had none); the whole of `before` when there is no `after`.
fn reverted(current: &Value, before: &Value, after: Option<&Value>) -> Value {
    let (Some(after), Some(before_fields)) = (after, before.as_object()) else { return before.clone() };
    let after_fields = after.as_object().unwrap_or(&[]);
    let mut next = current.clone();
    let touched = before_fields.iter().map(|(k, _)| k).chain(after_fields.iter().map(|(k, _)| k));
    let mut seen: Vec<&String> = Vec::new();
    for key in touched {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let was = before.get(key);
        if was == after.get(key) {
            continue;
        }
        match was {
            Some(value) => next.set(key, value.clone()),
            None => remove_key(&mut next, key),
        }
    }
    next
}

fn remove_key(object: &mut Value, key: &str) {
    if let Value::Object(entries) = object {
        entries.retain(|(k, _)| k != key);
    }
}

/// Every problem `splitbeam validate` would report for `text`; `index` is the edited experiment's.
pub fn check(text: &str, index: Option<usize>) -> Vec<Problem> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return vec![Problem {
            path: String::new(),
            field: None,
            message: format!("the file would be {} bytes, over the limit of {MAX_CONFIG_BYTES}", text.len()),
            line: 1,
            col: 1,
        }];
    }
    let (loaded, positions) = match load_text(text, &NativeJs) {
        Ok(parsed) => parsed,
        Err(e) => {
            return vec![Problem { path: String::new(), field: None, message: e.message, line: e.pos.line, col: e.pos.col }]
        }
    };
    let prefix = index.map(|i| join_index("experiments", i));
    loaded
        .issues
        .into_iter()
        .map(|issue| {
            let pos = positions.find(&issue.path);
            let field = prefix.as_deref().and_then(|p| field_of(&issue.path, p));
            Problem {
                field,
                message: issue.message,
                line: pos.map_or(1, |p| p.line),
                col: pos.map_or(1, |p| p.col),
                path: issue.path,
            }
        })
        .collect()
}

/// `experiments[2].variants[1].weight` under `experiments[2]` → `variants[1].weight`.
fn field_of(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    match rest.as_bytes().first() {
        None => Some(String::new()),
        Some(b'.') => Some(rest[1..].to_string()),
        Some(b'[') => Some(rest.to_string()),
        // `experiments[20]` is not under `experiments[2]`.
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splitbeam_core::json;

    const FILE: &str = r#"{"version": 1, "experiments": [
  {"key": "a", "status": "running", "variants": [{"key": "c", "weight": 1}, {"key": "b", "weight": 1}]},
  {"key": "hero", "status": "draft", "variants": [{"key": "c"}, {"key": "b"}]}
]}"#;

    fn doc() -> ConfigDoc {
        ConfigDoc::parse(FILE).expect("parses")
    }

    fn value(text: &str) -> Value {
        json::parse(text).expect("JSON").0
    }

    #[test]
    fn a_bad_weight_is_placed_on_its_field() {
        let edited = value(r#"{"key": "hero", "status": "draft", "variants": [{"key": "c", "weight": 1}, {"key": "b", "weight": -5}]}"#);
        match apply(&doc(), "hero", Action::Edit(edited)) {
            Err(Refusal::Invalid(problems)) => {
                assert!(problems.iter().any(|p| p.path == "experiments[1].variants[1].weight"
                    && p.field.as_deref() == Some("variants[1].weight")), "{problems:?}");
            }
            other => panic!("a negative weight was accepted: {other:?}"),
        }
    }

    #[test]
    fn lifecycle_actions_set_status_winner_and_archived() {
        let started = apply(&doc(), "hero", Action::Start).expect("start");
        assert_eq!(started.after.as_ref().and_then(|e| e.get("status")).and_then(Value::as_str), Some("running"));
        let doc = ConfigDoc::parse(&started.text).expect("parses");
        let archived_running = apply(&doc, "hero", Action::Archive);
        assert!(matches!(archived_running, Err(Refusal::Invalid(ref p)) if p[0].field.as_deref() == Some("archived")), "{archived_running:?}");
        let won = apply(&doc, "hero", Action::Winner("b".into())).expect("winner");
        let after = won.after.expect("after");
        assert_eq!((after.get("status").and_then(Value::as_str), after.get("winner").and_then(Value::as_str)), (Some("stopped"), Some("b")));
        let doc = ConfigDoc::parse(&won.text).expect("parses");
        assert!(apply(&doc, "hero", Action::Winner("nope".into())).is_err(), "a winner that is no variant");
        let archived = apply(&doc, "hero", Action::Archive).expect("archive a stopped experiment");
        assert_eq!(archived.after.and_then(|e| e.get("archived").cloned()), Some(Value::Bool(true)));
    }

    #[test]
    fn a_key_cannot_change_and_a_duplicate_key_cannot_be_created() {
        let renamed = value(r#"{"key": "other", "status": "draft", "variants": [{"key": "c"}, {"key": "b"}]}"#);
        assert!(matches!(apply(&doc(), "hero", Action::Edit(renamed)), Err(Refusal::Invalid(_))));
        let duplicate = value(r#"{"key": "a", "variants": [{"key": "c"}, {"key": "b"}]}"#);
        match apply(&doc(), "a", Action::Create(duplicate)) {
            Err(Refusal::Invalid(problems)) => assert_eq!(problems[0].field.as_deref(), Some("key"), "{problems:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn restoring_nothing_removes_a_created_experiment() {
        let created = apply(&doc(), "new", Action::Create(value(r#"{"key": "new", "variants": [{"key": "c"}, {"key": "b"}]}"#))).expect("create");
        let doc = ConfigDoc::parse(&created.text).expect("parses");
        let removed = apply(&doc, "new", Action::Revert { before: None, after: created.after }).expect("revert the creation");
        assert_eq!(removed.text, FILE);
    }

    #[test]
    fn reverting_an_older_change_keeps_later_edits_of_other_fields() {
        let before = value(r#"{"key": "hero", "status": "draft", "name": "Old", "variants": [{"key": "c"}, {"key": "b"}]}"#);
        let after = value(r#"{"key": "hero", "status": "draft", "name": "New", "traffic": 0.5, "variants": [{"key": "c"}, {"key": "b"}]}"#);
        let later = value(r#"{"key": "hero", "status": "running", "name": "New", "traffic": 0.5, "variants": [{"key": "c"}, {"key": "b"}]}"#);
        let back = reverted(&later, &before, Some(&after));
        assert_eq!(back, value(r#"{"key": "hero", "status": "running", "name": "Old", "variants": [{"key": "c"}, {"key": "b"}]}"#));
    }

    #[test]
    fn fields_are_paths_inside_the_experiment() {
        assert_eq!(field_of("experiments[2].variants[1].weight", "experiments[2]").as_deref(), Some("variants[1].weight"));
        assert_eq!(field_of("experiments[2]", "experiments[2]").as_deref(), Some(""));
        assert_eq!(field_of("experiments[20].key", "experiments[2]"), None);
        assert_eq!(field_of("version", "experiments[2]"), None);
    }
}
