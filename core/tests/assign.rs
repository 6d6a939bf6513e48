//! assign(): each step of the decision and its reason, in the order a reviewer checks them.

use splitbeam_core::assign::{assign, forced_from_query, Reason, Sticky, Visitor};
use splitbeam_core::config::{load_text, Config};
use splitbeam_core::hash;
use splitbeam_core::json::Value;
use splitbeam_core::js_engine::NativeJs;

fn config(experiment: &str) -> Config {
    let text = format!(r#"{{"version": 1, "groups": {{"vip": ["v_vip"]}}, "experiments": [{experiment}]}}"#);
    let (loaded, _) = load_text(&text, &NativeJs).unwrap();
    assert!(loaded.issues.is_empty(), "{:#?}", loaded.issues);
    loaded.config
}

fn attrs(id: &str, extra: &[(&str, Value)]) -> Value {
    let mut v = Value::Object(vec![("id".into(), id.into())]);
    for (k, x) in extra {
        v.set(k, x.clone());
    }
    v
}

struct Case<'a> {
    attributes: Value,
    href: &'a str,
    now_ms: f64,
    forced: Vec<(String, String)>,
    sticky: Vec<Sticky>,
}

impl<'a> Case<'a> {
    fn new(id: &str) -> Self {
        Case { attributes: attrs(id, &[]), href: "https://shop.example/", now_ms: 1.8e12, forced: vec![], sticky: vec![] }
    }
    /// (variant key, reason, tracked) of the only experiment.
    fn run(&self, cfg: &Config) -> (Option<String>, Reason, bool) {
        let visitor = Visitor {
            attributes: &self.attributes,
            href: self.href,
            now_ms: self.now_ms,
            forced: &self.forced,
            sticky: &self.sticky,
            regex: &NativeJs,
        };
        let d = &assign(cfg, &visitor)[0];
        (d.variant_key().map(String::from), d.reason, d.tracked)
    }
}

const AB: &str = r#""variants": [{"key": "control"}, {"key": "b"}]"#;

#[test]
fn a_page_the_experiment_does_not_target_gets_nothing() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", "pages": ["/cart*"], {AB}}}"#));
    assert_eq!(Case::new("v_1").run(&cfg), (None, Reason::NotOnPage, false));
    let mut on_cart = Case::new("v_1");
    on_cart.href = "https://shop.example/cart/";
    assert!(on_cart.run(&cfg).2);
}

#[test]
fn a_forced_variant_wins_and_is_never_tracked_even_for_drafts() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "draft", {AB}}}"#));
    let mut case = Case::new("v_1");
    assert_eq!(case.run(&cfg), (None, Reason::Draft, false));
    case.forced = forced_from_query("e:b");
    assert_eq!(case.run(&cfg), (Some("b".into()), Reason::Forced, false));
    case.forced = forced_from_query("e:nope");
    assert_eq!(case.run(&cfg).1, Reason::Draft, "an unknown forced variant is ignored");
}

#[test]
fn a_stopped_experiment_shows_the_winner_or_control_untracked() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "stopped", "winner": "b", {AB}}}"#));
    assert_eq!(Case::new("v_1").run(&cfg), (Some("b".into()), Reason::Stopped, false));
    let cfg = config(&format!(r#"{{"key": "e", "status": "stopped", {AB}}}"#));
    assert_eq!(Case::new("v_1").run(&cfg), (Some("control".into()), Reason::Stopped, false));
}

#[test]
fn dates_bound_when_an_experiment_runs() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", "start": "2026-01-01", "end": "2026-02-01", {AB}}}"#));
    let mut case = Case::new("v_1");
    case.now_ms = 1_767_225_599_999.0;
    assert_eq!(case.run(&cfg).1, Reason::NotStarted);
    case.now_ms = 1_767_225_600_000.0;
    assert!(case.run(&cfg).2);
    case.now_ms = 1_769_904_000_000.0;
    assert_eq!(case.run(&cfg).1, Reason::Ended);
}

#[test]
fn a_visitor_without_the_hash_attribute_is_not_bucketed() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", "hashAttribute": "company", {AB}}}"#));
    assert_eq!(Case::new("v_1").run(&cfg).1, Reason::NoHashAttribute);
    let mut case = Case::new("v_1");
    case.attributes = attrs("v_1", &[("company", "acme".into())]);
    assert!(case.run(&cfg).2);
}

#[test]
fn a_sticky_assignment_wins_while_the_variants_are_unchanged() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", {AB}}}"#));
    let mut case = Case::new("v_1");
    let (fresh, _, _) = case.run(&cfg);
    let other = if fresh.as_deref() == Some("b") { "control" } else { "b" };
    case.sticky = vec![Sticky { experiment: "e".into(), variant: other.into(), fingerprint: "control|b".into() }];
    assert_eq!(case.run(&cfg), (Some(other.into()), Reason::Sticky, true));
    // Variants changed since: the stored assignment no longer applies.
    case.sticky[0].fingerprint = "control|b|c".into();
    assert_eq!(case.run(&cfg), (fresh, Reason::Assigned, true));
}

#[test]
fn a_new_assignment_is_returned_for_storing() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", {AB}}}"#));
    let attributes = attrs("v_1", &[]);
    let visitor = Visitor { attributes: &attributes, href: "/", now_ms: 0.0, forced: &[], sticky: &[], regex: &NativeJs };
    let d = &assign(&cfg, &visitor)[0];
    let sticky = d.sticky.as_ref().unwrap();
    assert_eq!((sticky.experiment.as_str(), sticky.fingerprint.as_str()), ("e", "control|b"));
    assert_eq!(Some(sticky.variant.as_str()), d.variant_key());
}

#[test]
fn namespaces_exclude_visitors_outside_their_range() {
    let cfg = config(&format!(r#"{{"key": "e", "status": "running", "namespace": ["ns", 0, 0.5], {AB}}}"#));
    let mut inside = 0;
    for i in 0..2000 {
        let id = format!("v_{i}");
        let (_, reason, _) = Case::new(&id).run(&cfg);
        let expected_in = hash::in_namespace(&id, "ns", 0.0, 0.5);
        assert_eq!(reason == Reason::NamespaceExcluded, !expected_in, "{id}");
        inside += expected_in as u32;
    }
    assert!((800..1200).contains(&inside), "about half are in the namespace: {inside}");
}

#[test]
fn the_audience_condition_filters_visitors() {
    let cfg = config(&format!(
        r#"{{"key": "e", "status": "running", "audience": {{"$or": [{{"device": "mobile"}}, {{"id": {{"$inGroup": "vip"}}}}]}}, {AB}}}"#
    ));
    assert_eq!(Case::new("v_1").run(&cfg).1, Reason::NotInAudience);
    assert!(Case::new("v_vip").run(&cfg).2, "saved groups are read from the config's groups");
    let mut mobile = Case::new("v_1");
    mobile.attributes = attrs("v_1", &[("device", "mobile".into())]);
    assert!(mobile.run(&cfg).2);
}

#[test]
fn the_variant_is_growthbooks_hash_bucket() {
    let cfg = config(r#"{"key": "e", "status": "running", "traffic": 0.8, "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 3}]}"#);
    let ranges = hash::bucket_ranges(2, 0.8, Some(&[0.25, 0.75]));
    for i in 0..1000 {
        let id = format!("visitor-{i}");
        let n = hash::hash("e", &id, 2).unwrap();
        let expected = hash::choose_variation(n, &ranges);
        let (variant, reason, tracked) = Case::new(&id).run(&cfg);
        match expected {
            Some(v) => assert_eq!((variant.as_deref(), reason, tracked), (Some(["a", "b"][v]), Reason::Assigned, true)),
            None => assert_eq!((variant, reason, tracked), (None, Reason::NotInTraffic, false)),
        }
    }
}

#[test]
fn forced_query_values_are_parsed_leniently() {
    assert_eq!(forced_from_query("a:b, c:d"), vec![("a".into(), "b".into()), ("c".into(), "d".into())]);
    assert_eq!(forced_from_query("nocolon,:x,y:,"), Vec::<(String, String)>::new());
}

#[test]
fn every_reason_has_a_stable_name() {
    assert_eq!(Reason::NotOnPage.as_str(), "not-on-this-page");
    assert_eq!(Reason::NamespaceExcluded.as_str(), "in-namespace-excluded");
    assert_eq!(Reason::NotInAudience.as_str(), "not-in-audience");
    assert_eq!(Reason::NotInTraffic.as_str(), "not-in-traffic");
}
