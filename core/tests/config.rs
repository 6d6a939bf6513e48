//! experiments.json reading and validation: every rule of DESIGN.md, each with the JSON path
//! (and, through `load_text`, the line and column) of the problem.

use splitbeam_core::config::{load_text, GoalTrigger, Move, Status};
use splitbeam_core::json::Pos;
use splitbeam_core::js_engine::NativeJs;

const FULL: &str = include_str!("../../tests/fixtures/config/full.json");
const BROKEN: &str = include_str!("../../tests/fixtures/config/broken.json");

/// Wraps one experiment (JSON text) in a config and returns its issues as (path, message).
fn issues_of_experiment(experiment: &str) -> Vec<(String, String)> {
    let text = format!("{{\"version\": 1, \"experiments\": [{experiment}]}}");
    let (loaded, _) = load_text(&text, &NativeJs).expect("test config is valid JSON");
    loaded.issues.into_iter().map(|i| (i.path, i.message)).collect()
}

fn assert_issue(experiment: &str, path: &str, fragment: &str) {
    let issues = issues_of_experiment(experiment);
    assert!(
        issues.iter().any(|(p, m)| p == path && m.contains(fragment)),
        "expected an issue at {path} containing {fragment:?}, got {issues:#?}"
    );
}

const VARIANTS: &str = r#""variants": [{"key": "a"}, {"key": "b"}]"#;

#[test]
fn the_full_example_is_valid_and_read_completely() {
    let (loaded, _) = load_text(FULL, &NativeJs).unwrap();
    assert!(loaded.issues.is_empty(), "{:#?}", loaded.issues);
    let exps = &loaded.config.experiments;
    assert_eq!(exps.len(), 3);

    let hero = &exps[0];
    assert_eq!(hero.key, "hero-headline");
    assert_eq!(hero.seed, "hero-headline", "the seed defaults to the key");
    assert_eq!(hero.hash_attribute, "id");
    assert_eq!(hero.hash_version, 2);
    assert_eq!(hero.status, Status::Running);
    assert_eq!(hero.normalized_weights(), vec![0.5, 0.5]);
    let change = &hero.variants[1].changes[1];
    assert_eq!(change.selector.as_deref(), Some(".cta"));
    assert_eq!(change.attr, vec![("data-variant".to_string(), "b".to_string())]);
    assert_eq!(change.add_class.as_deref(), Some("cta--big"));
    assert_eq!(hero.variants[1].changes[2].css.as_deref(), Some(".cta { background: #e33 }"));
    assert!(matches!(hero.goals[0].trigger, GoalTrigger::Click(ref s) if s == ".add-to-cart"));
    assert!(matches!(hero.goals[1].trigger, GoalTrigger::Pageview(_)));
    assert_eq!(hero.goals[2].value_prop.as_deref(), Some("value"));
    assert_eq!(hero.funnel, vec!["add_to_cart", "checkout", "purchase"]);

    let cart = &exps[1];
    assert_eq!(cart.traffic, 0.5);
    assert_eq!(cart.seed, "cart-button-2026");
    assert_eq!(cart.normalized_weights(), vec![0.25, 0.5, 0.25]);
    let ns = cart.namespace.as_ref().unwrap();
    assert_eq!((ns.id.as_str(), ns.start, ns.end), ("checkout-tests", 0.0, 0.5));
    assert_eq!(cart.start_ms, Some(1_767_225_600_000.0));
    assert_eq!(cart.end_ms, Some(1_798_761_600_000.0));
    assert_eq!(cart.variants[1].changes[1].move_to, Some(Move::Before(".add-to-cart".into())));
    assert!(cart.variants[2].changes[0].remove);

    let checkout = &exps[2];
    assert_eq!(checkout.status, Status::Stopped);
    assert_eq!(checkout.winner, Some(1));
    assert_eq!(checkout.normalized_weights(), vec![0.5, 0.5], "no weights = equal split");
    assert_eq!(checkout.variants[1].changes[0].redirect.as_deref(), Some("/checkout/one-page"));
}

#[test]
fn an_invalid_experiment_is_dropped_and_the_valid_ones_still_run() {
    let (loaded, _) = load_text(BROKEN, &NativeJs).unwrap();
    let keys: Vec<_> = loaded.config.experiments.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, vec!["good"]);
    assert_eq!(loaded.dropped, vec!["bad-weights", "bad-bits", "good"]);
}

#[test]
fn all_problems_are_reported_at_once_with_line_and_column() {
    let (loaded, positions) = load_text(BROKEN, &NativeJs).unwrap();
    let at = |path: &str| positions.find(path).unwrap();
    let paths: Vec<_> = loaded.issues.iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "colour",
        "experiments[1].traffic",
        "experiments[1].variants[0].weight",
        "experiments[1].variants[1].key",
        "experiments[1].variants",
        "experiments[1].funnel[1]",
        "experiments[2].status",
        "experiments[2].pages[0]",
        "experiments[2].audience.device.$like",
        "experiments[2].winner",
        "experiments[2].variants[1].colour",
        "experiments[2].variants[1].changes[0].selector",
        "experiments[2].variants[1].changes[1]",
        "experiments[3].key",
    ] {
        assert!(paths.contains(&expected), "no issue at {expected}; issues: {paths:#?}");
    }
    assert_eq!(at("colour"), Pos { line: 3, col: 13 });
    assert_eq!(at("experiments[1].traffic"), Pos { line: 13, col: 18 });
    assert_eq!(at("experiments[2].variants[1].changes[0].selector"), Pos { line: 26, col: 80 });
}

#[test]
fn unknown_fields_are_errors_that_name_the_known_ones() {
    let issues = issues_of_experiment(&format!(r#"{{"key": "e", "status": "running", "trafic": 0.5, {VARIANTS}}}"#));
    assert!(issues[0].0 == "experiments[0].trafic" && issues[0].1.contains("traffic"), "{issues:?}");
}

#[test]
fn duplicate_json_keys_are_reported() {
    let text = r#"{"version": 1, "experiments": [{"key": "e", "key": "f", "status": "running", "variants": [{"key": "a"}, {"key": "b"}]}]}"#;
    let (loaded, _) = load_text(text, &NativeJs).unwrap();
    assert!(loaded.issues.iter().any(|i| i.path == "experiments[0].key" && i.message.contains("duplicate key")));
}

#[test]
fn duplicate_variant_and_goal_keys_are_errors() {
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a"}, {"key": "a"}]}"#, "experiments[0].variants[1].key", "duplicate variant key");
    assert_issue(
        &format!(r#"{{"key": "e", "status": "running", {VARIANTS}, "goals": [{{"key": "g", "event": "x"}}, {{"key": "g", "event": "y"}}]}}"#),
        "experiments[0].goals[1].key",
        "duplicate goal key",
    );
}

#[test]
fn one_duplicate_among_twenty_thousand_experiments_is_the_only_issue() {
    let experiment = |key: &str| format!(r#"{{"key": "{key}", "status": "running", {VARIANTS}}}"#);
    let mut experiments: Vec<String> = (0..20_000).map(|i| experiment(&format!("exp-{i}"))).collect();
    experiments.push(experiment("exp-12345"));
    let text = format!(r#"{{"version": 1, "experiments": [{}]}}"#, experiments.join(","));
    let (loaded, _) = load_text(&text, &NativeJs).expect("test config is valid JSON");
    let issues: Vec<_> = loaded.issues.iter().map(|i| (i.path.as_str(), i.message.as_str())).collect();
    assert_eq!(issues, vec![("experiments[20000].key", "duplicate experiment key \"exp-12345\"")]);
    assert_eq!(loaded.config.experiments.len(), 20_000, "the first exp-12345 still runs");
}

#[test]
fn weights_must_be_non_negative_and_not_all_zero() {
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a", "weight": -1}, {"key": "b", "weight": 1}]}"#, "experiments[0].variants[0].weight", "negative");
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a", "weight": 0}, {"key": "b", "weight": 0}]}"#, "experiments[0].variants", "zero");
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a", "weight": 1}, {"key": "b"}]}"#, "experiments[0].variants", "every variant a weight");
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a", "weight": "50%"}, {"key": "b", "weight": 1}]}"#, "experiments[0].variants[0].weight", "expected a number");
}

#[test]
fn an_experiment_needs_two_variants() {
    assert_issue(r#"{"key": "e", "status": "running", "variants": [{"key": "a"}]}"#, "experiments[0].variants", "at least two");
}

#[test]
fn traffic_must_be_a_share_between_zero_and_one() {
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "traffic": -0.1, {VARIANTS}}}"#), "experiments[0].traffic", "between 0 and 1");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "traffic": "all", {VARIANTS}}}"#), "experiments[0].traffic", "expected a number");
}

#[test]
fn selectors_must_parse() {
    for bad in ["", "   ", "#hero >", "div[", ".", "a,"] {
        let exp = format!(r#"{{"key": "e", "status": "running", "variants": [{{"key": "a"}}, {{"key": "b", "changes": [{{"selector": "{bad}", "text": "x"}}]}}]}}"#);
        assert_issue(&exp, "experiments[0].variants[1].changes[0].selector", "invalid selector");
    }
    assert_issue(
        &format!(r#"{{"key": "e", "status": "running", {VARIANTS}, "goals": [{{"key": "g", "click": "button:("}}]}}"#),
        "experiments[0].goals[0].click",
        "invalid selector",
    );
}

#[test]
fn changes_must_change_something_and_have_a_selector_where_needed() {
    let variant = |change: &str| format!(r#"{{"key": "e", "status": "running", "variants": [{{"key": "a"}}, {{"key": "b", "changes": [{change}]}}]}}"#);
    assert_issue(&variant(r#"{"selector": "h1"}"#), "experiments[0].variants[1].changes[0]", "changes nothing");
    assert_issue(&variant(r#"{"text": "x"}"#), "experiments[0].variants[1].changes[0]", "add a \"selector\"");
    assert_issue(&variant(r#"{"selector": "h1", "css": "h1{}"}"#), "experiments[0].variants[1].changes[0]", "apply to the page");
    assert_issue(&variant(r#"{"selector": "h1", "move": {"beside": "h2"}}"#), "experiments[0].variants[1].changes[0].move", "before");
    assert_issue(&variant(r#"{"selector": "h1", "attr": {"onclick": "alert(1)"}}"#), "experiments[0].variants[1].changes[0].attr.onclick", "event handlers");
    assert_issue(&variant(r#"{"redirect": "javascript:alert(1)"}"#), "experiments[0].variants[1].changes[0].redirect", "URL");
}

#[test]
fn page_patterns_and_regexes_are_checked() {
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "pages": [""], {VARIANTS}}}"#), "experiments[0].pages[0]", "");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "pages": [{{"regex": "(unclosed"}}], {VARIANTS}}}"#), "experiments[0].pages[0].regex", "unclosed group");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "pages": 42, {VARIANTS}}}"#), "experiments[0].pages", "");
}

#[test]
fn funnel_steps_must_name_goals() {
    assert_issue(
        &format!(r#"{{"key": "e", "status": "running", {VARIANTS}, "goals": [{{"key": "g", "event": "x"}}], "funnel": ["g", "h"]}}"#),
        "experiments[0].funnel[1]",
        "names no goal",
    );
}

#[test]
fn goals_need_exactly_one_trigger() {
    assert_issue(&format!(r#"{{"key": "e", "status": "running", {VARIANTS}, "goals": [{{"key": "g"}}]}}"#), "experiments[0].goals[0]", "needs one trigger");
    assert_issue(
        &format!(r#"{{"key": "e", "status": "running", {VARIANTS}, "goals": [{{"key": "g", "event": "x", "click": "a"}}]}}"#),
        "experiments[0].goals[0]",
        "exactly one trigger",
    );
}

#[test]
fn unknown_condition_operators_are_errors() {
    assert_issue(
        &format!(r#"{{"key": "e", "status": "running", "audience": {{"country": {{"$within": ["DE"]}}}}, {VARIANTS}}}"#),
        "experiments[0].audience.country.$within",
        "",
    );
}

#[test]
fn winner_must_name_a_variant() {
    assert_issue(&format!(r#"{{"key": "e", "status": "stopped", "winner": "c", {VARIANTS}}}"#), "experiments[0].winner", "names no variant");
}

#[test]
fn only_a_stopped_or_draft_experiment_can_be_archived() {
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "archived": true, {VARIANTS}}}"#), "experiments[0].archived", "stop it first");
    assert_issue(&format!(r#"{{"key": "e", "status": "stopped", "archived": "yes", {VARIANTS}}}"#), "experiments[0].archived", "true or false");
    for status in ["stopped", "draft"] {
        let issues = issues_of_experiment(&format!(r#"{{"key": "e", "status": "{status}", "archived": true, {VARIANTS}}}"#));
        assert!(issues.is_empty(), "{status}: {issues:?}");
    }
}

#[test]
fn status_dates_namespace_and_hash_settings_are_checked() {
    assert_issue(&format!(r#"{{"key": "e", "status": "paused", {VARIANTS}}}"#), "experiments[0].status", "draft, running or stopped");
    assert_issue(r#"{"key": "e", "variants": [{"key": "a"}, {"key": "b"}]}"#, "experiments[0]", "missing \"status\"");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "start": "next monday", {VARIANTS}}}"#), "experiments[0].start", "not a date");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "start": "2026-02-01", "end": "2026-01-01", {VARIANTS}}}"#), "experiments[0].end", "after start");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "namespace": ["ns", 0.6, 0.2], {VARIANTS}}}"#), "experiments[0].namespace", "start < end");
    assert_issue(&format!(r#"{{"key": "e", "status": "running", "hashVersion": 3, {VARIANTS}}}"#), "experiments[0].hashVersion", "1 or 2");
    assert_issue(&format!(r#"{{"key": "has space", "status": "running", {VARIANTS}}}"#), "experiments[0].key", "letters, digits");
}

#[test]
fn the_top_level_must_be_a_versioned_object() {
    let (loaded, _) = load_text("[]", &NativeJs).unwrap();
    assert_eq!(loaded.issues.len(), 1);
    let (loaded, _) = load_text(r#"{"version": 2, "experiments": []}"#, &NativeJs).unwrap();
    assert_eq!(loaded.issues[0].path, "version");
    let (loaded, _) = load_text(r#"{"version": 1, "experiments": {}}"#, &NativeJs).unwrap();
    assert_eq!(loaded.issues[0].path, "experiments");
    let (loaded, _) = load_text(r#"{"version": 1, "experiments": [], "groups": {"g": "x"}}"#, &NativeJs).unwrap();
    assert_eq!(loaded.issues[0].path, "groups.g");
}
