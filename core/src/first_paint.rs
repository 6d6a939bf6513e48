//! The first view's decision as one pure function. The loader reads what it needs from the page
//! (URL, storage, clock, random bytes), the first-paint module (`src/first_paint.rs`) hands it
//! here with the compiled config, and the answer goes back as one JSON text: the loader applies
//! the variants at once and writes storage once the page is revealed.

use crate::assign::{assign, Decision, Reason, Sticky, Visitor};
use crate::config::{Config, Experiment};
#[cfg(feature = "conditions")]
use crate::attributes::{self, PageContext};
use crate::identity;
use crate::json::{write_str, write_strs};
use crate::js_engine::JsEngine;
use crate::url::query_param;

/// What the loader read from the page.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    pub href: &'a str,
    /// `location.search`.
    pub search: &'a str,
    /// `identity::VISITOR_KEY` from localStorage.
    pub stored_visitor: Option<&'a str>,
    /// The rows of `identity::STICKY_KEY` that are three strings.
    pub sticky: Vec<Sticky>,
    /// `identity::FORCED_KEY` from sessionStorage.
    pub forced_earlier: &'a str,
    /// Read only by audience conditions.
    pub user_agent: &'a str,
    pub language: &'a str,
    pub now_ms: f64,
    /// For a new visitor's id.
    pub random: [u8; 16],
    /// `data-consent="required"`: nothing is stored until the page grants it.
    pub consent_required: bool,
    /// False once the timeout has revealed the original: decide, but change nothing and track nothing.
    pub apply: bool,
    /// The page's own attributes (`splitbeam.attributes({...})`) as `compiled::encode_value` wrote
    /// them; empty for none. Read only by audience conditions.
    pub custom: &'a [u8],
    /// `Some(new visitor)` when the whole snippet decides again (an SPA route change, new
    /// attributes) with the identity it holds: `stored_visitor` is the id the page decided with,
    /// `forced_earlier` its QA overrides, `search` empty. The answer is then the decisions' bytes.
    pub again: Option<bool>,
}

/// The answer, `[visitor id, new visitor, exposures, variants, persist, forced, log]`:
/// - exposures `[[experiment, variant], …]`: what the whole snippet will record (the loader holds
///   them for the next page if this one closes first);
/// - variants `[[experiment, variant, [change, …]], …]`: for the loader's applier (`www/changes.js`),
///   each change an object as `compiled::write_changes` wrote it; split-URL variants are left to the whole
///   snippet, which navigates once their exposure is on its way;
/// - persist `0`, or `[visitor id to store or "", sticky rows to store]`, written once the page is
///   revealed (a fresh profile's first localStorage write took milliseconds before it);
/// - forced `0`, or the text to keep in sessionStorage (`identity::FORCED_KEY`);
/// - log: the `?splitbeam-debug` lines, one per experiment.
///
/// With `page.again`, the answer is the decisions alone, as bytes: per experiment of the config, in
/// order, the reason's code (`Reason as u8`) and the variant's index + 1 (0: none) as a u32
/// little-endian. The whole snippet rebuilds each with `Decision::new` (src/redecide.rs), so one
/// engine decides every view in the browser.
///
/// `None` when the compiled config cannot be read.
pub fn decide(compiled: &[u8], page: Page, regex: &dyn JsEngine) -> Option<Vec<u8>> {
    let config = crate::compiled::decode_without_goals(compiled)?;
    let may_store = !page.consent_required;
    let (visitor_id, stored_new) = identity::visitor_id(page.stored_visitor, &page.random);
    let new_visitor = page.again.unwrap_or(stored_new);
    let forced_query = query_param(page.search, "splitbeam");
    let forced = identity::forced(page.forced_earlier, forced_query.as_deref());
    let debug = query_param(page.search, "splitbeam-debug").is_some();

    // Without the condition engine nothing reads attributes but the hashed `id` (the compiler
    // picks the module with conditions for a config hashing another attribute).
    #[cfg(feature = "conditions")]
    let attributes = attributes::build(&PageContext {
        visitor_id: &visitor_id,
        href: page.href,
        user_agent: page.user_agent,
        language: page.language,
        new_visitor,
        custom: crate::compiled::decode_value(page.custom).as_ref(),
    });
    #[cfg(not(feature = "conditions"))]
    let attributes = crate::json::Value::Object(vec![("id".into(), crate::json::Value::String(visitor_id.clone()))]);
    let visitor = Visitor {
        attributes: &attributes,
        href: page.href,
        now_ms: page.now_ms,
        forced: &forced,
        sticky: &page.sticky,
        regex,
    };

    let mut exposures = String::from("[");
    let mut variants = String::from("[");
    let mut log = String::from("[");
    let mut assigned = Vec::new();
    let mut codes = Vec::new();
    for decision in assign(&config, &visitor) {
        if page.again.is_some() {
            codes.push(decision.reason as u8);
            codes.extend_from_slice(&decision.variant.map_or(0, |i| i as u32 + 1).to_le_bytes());
            continue;
        }
        let key = decision.experiment.key.as_str();
        if debug {
            let mut line = String::new();
            for part in [key, ": ", decision.variant_key().unwrap_or("(none)"), " (", decision.reason.as_str(), ")"] {
                line.push_str(part);
            }
            push_item(&mut log, |out| write_str(out, &line));
        }
        if let Some(sticky) = decision.sticky.clone() {
            assigned.push(sticky);
        }
        let Some(variant) = decision.variant.and_then(|i| decision.experiment.variants.get(i)) else { continue };
        if page.apply && decision.tracked {
            push_item(&mut exposures, |out| write_strs(out, &[key, &variant.key]));
        }
        if page.apply && variant.redirect.is_none() {
            push_item(&mut variants, |out| write_variant(out, key, &variant.key, &variant.applier_json));
        }
    }
    if page.again.is_some() {
        return Some(codes);
    }
    let mut sticky = page.sticky;
    let assigned = identity::note_sticky(&mut sticky, assigned);

    let mut out = String::from("[");
    write_str(&mut out, &visitor_id);
    out.push_str(if new_visitor { ",true," } else { ",false," });
    for list in [exposures, variants] {
        out.push_str(&list);
        out.push_str("],");
    }
    if may_store && (new_visitor || assigned) {
        out.push('[');
        write_str(&mut out, if new_visitor { &visitor_id } else { "" });
        out.push(',');
        identity::write_sticky(&mut out, &sticky);
        out.push_str("],");
    } else {
        out.push_str("0,");
    }
    if may_store && forced_query.is_some() {
        write_str(&mut out, &identity::forced_text(&forced));
    } else {
        out.push('0');
    }
    out.push(',');
    out.push_str(&log);
    out.push_str("]]");
    Some(out.into_bytes())
}

/// The decisions `decide` wrote with `Page::again`, rebuilt on `config` (the whole snippet's own
/// decoding of the same compiled config), or `None` for bytes it did not write for this config.
pub fn read_decisions<'c>(config: &'c Config, bytes: &[u8]) -> Option<Vec<Decision<'c>>> {
    if bytes.len() != 5 * config.experiments.len() {
        return None;
    }
    let decision = |(exp, code): (&'c Experiment, &[u8])| {
        let reason = *Reason::ALL.get(usize::from(code[0]))?;
        let variant = u32::from_le_bytes([code[1], code[2], code[3], code[4]]).checked_sub(1).map(|i| i as usize);
        if let Some(i) = variant {
            exp.variants.get(i)?;
        }
        Some(Decision::new(exp, variant, reason))
    };
    config.experiments.iter().zip(bytes.chunks_exact(5)).map(decision).collect()
}

/// `[experiment, variant, [change, …]]`, the changes as the compiler wrote them for the applier
/// (`compiled::write_changes`).
pub fn write_variant(out: &mut String, experiment: &str, variant: &str, applier_json: &str) {
    out.push('[');
    write_str(out, experiment);
    out.push(',');
    write_str(out, variant);
    out.push(',');
    out.push_str(if applier_json.is_empty() { "[]" } else { applier_json });
    out.push(']');
}

/// One more item of a JSON array that `list` opened with `[`.
fn push_item(list: &mut String, write: impl FnOnce(&mut String)) {
    if list.len() > 1 {
        list.push(',');
    }
    write(list);
}

#[cfg(all(test, feature = "regex"))]
mod tests {
    use super::*;
    use crate::compiled;
    use crate::config::load;
    use crate::json::{self, Value};
    use crate::js_engine::NativeJs;

    const CONFIG: &str = r#"{"version": 1, "experiments": [
        {"key": "hero", "status": "running", "pages": ["/"],
         "variants": [{"key": "control"}, {"key": "b", "changes": [
            {"selector": "h1", "text": "New \"copy\"\n", "attr": {"data-x": "1"}, "move": {"before": "p"}},
            {"selector": "p", "remove": true, "addClass": "on"},
            {"css": "h1{color:red}"}]}]},
        {"key": "split", "status": "running", "pages": ["/"],
         "variants": [{"key": "control"}, {"key": "b", "changes": [{"redirect": "/b"}]}]},
        {"key": "draft", "status": "draft", "pages": ["/"],
         "variants": [{"key": "control"}, {"key": "b", "changes": [{"selector": "h2", "text": "x"}]}]},
        {"key": "elsewhere", "status": "running", "pages": ["/cart"],
         "variants": [{"key": "control"}, {"key": "b"}]}
    ]}"#;

    fn compiled() -> Vec<u8> {
        let loaded = load(&json::parse(CONFIG).expect("fixture parses").0);
        assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
        compiled::encode(&loaded.config)
    }

    fn page() -> Page<'static> {
        Page { href: "https://shop.example/", random: [0x5a; 16], apply: true, ..Page::default() }
    }

    fn answer(page: Page) -> Value {
        let bytes = decide(&compiled(), page, &NativeJs).expect("the compiled config decodes");
        json::parse(std::str::from_utf8(&bytes).expect("the answer is UTF-8")).expect("the answer is JSON").0
    }

    fn strings(value: &Value) -> Vec<&str> {
        value.as_array().expect("an array").iter().filter_map(Value::as_str).collect()
    }

    #[test]
    fn a_new_visitor_gets_an_id_variants_exposures_and_storage_writes() {
        let answer = answer(page());
        let items = answer.as_array().expect("an array");
        let id = "v_".to_string() + &"5a".repeat(16);
        assert_eq!(items[0].as_str(), Some(id.as_str()));
        assert_eq!(items[1].as_bool(), Some(true));
        // Both running experiments on this page are tracked; the draft and the cart's are not.
        let exposures: Vec<Vec<&str>> = items[2].as_array().expect("exposures").iter().map(strings).collect();
        let keys: Vec<&str> = exposures.iter().map(|e| e[0]).collect();
        assert_eq!(keys, ["hero", "split"]);
        // What is stored once revealed: the id and the two assignments.
        let persist = items[4].as_array().expect("a write");
        assert_eq!(persist[0].as_str(), Some(id.as_str()));
        let rows: Vec<Vec<&str>> = persist[1].as_array().expect("rows").iter().map(strings).collect();
        assert_eq!(rows.iter().map(|r| r[0]).collect::<Vec<_>>(), ["hero", "split"]);
        assert!(rows.iter().all(|r| r[2] == "control|b"));
        assert_eq!(items[5].as_f64(), Some(0.0));
        assert_eq!(items[6].as_array().map(<[Value]>::len), Some(0));
    }

    #[test]
    fn changes_are_written_as_the_applier_reads_them() {
        let page = Page { search: "?splitbeam=hero:b,split:b", ..page() };
        let answer = answer(page);
        let variants = answer.as_array().expect("an array")[3].as_array().expect("variants");
        // The split-URL variant is the whole snippet's (it navigates); only hero's is applied here.
        assert_eq!(variants.len(), 1);
        let hero = variants[0].as_array().expect("a variant");
        assert_eq!((hero[0].as_str(), hero[1].as_str()), (Some("hero"), Some("b")));
        let changes = hero[2].as_array().expect("changes");
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0].get("text").and_then(Value::as_str), Some("New \"copy\"\n"));
        let attr = changes[0].get("attr").and_then(Value::as_array).expect("attr");
        assert_eq!(strings(&attr[0]), ["data-x", "1"]);
        assert_eq!(changes[0].get("move").map(strings), Some(vec!["before", "p"]));
        assert_eq!(changes[1].get("remove").and_then(Value::as_bool), Some(true));
        assert_eq!(changes[1].get("addClass").and_then(Value::as_str), Some("on"));
        assert_eq!(changes[1].get("html"), None);
        assert_eq!(changes[2].get("css").and_then(Value::as_str), Some("h1{color:red}"));
        assert_eq!(changes[2].get("selector"), None);
        // Forced: shown, not tracked, not stored as an assignment; kept for the session.
        let items = answer.as_array().expect("an array");
        assert_eq!(items[2].as_array().map(<[Value]>::len), Some(0));
        assert_eq!(items[5].as_str(), Some("hero:b,split:b"));
    }

    #[test]
    fn a_returning_visitor_keeps_id_and_assignment_and_writes_nothing() {
        let first = answer(page());
        let rows = &first.as_array().expect("an array")[4].as_array().expect("a write")[1];
        let sticky: Vec<Sticky> = rows
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                let row = strings(row);
                Sticky { experiment: row[0].into(), variant: row[1].into(), fingerprint: row[2].into() }
            })
            .collect();
        let page = Page { stored_visitor: Some("v_returning"), sticky, random: [1; 16], ..page() };
        let again = answer(page);
        let items = again.as_array().expect("an array");
        assert_eq!(items[0].as_str(), Some("v_returning"));
        assert_eq!(items[1].as_bool(), Some(false));
        assert_eq!(items[2], first.as_array().expect("an array")[2]);
        assert_eq!(items[4].as_f64(), Some(0.0));
    }

    #[test]
    fn consent_required_stores_nothing_and_late_pages_change_nothing() {
        let page = Page { consent_required: true, search: "?splitbeam=hero:b", ..page() };
        let items = answer(page).as_array().expect("an array").to_vec();
        assert_eq!(items[4].as_f64(), Some(0.0));
        assert_eq!(items[5].as_f64(), Some(0.0));
        let late = answer(Page { apply: false, ..self::page() }).as_array().expect("an array").to_vec();
        assert_eq!(late[2].as_array().map(<[Value]>::len), Some(0));
        assert_eq!(late[3].as_array().map(<[Value]>::len), Some(0));
    }

    #[test]
    fn debug_says_why_for_every_experiment() {
        let items = answer(Page { search: "?splitbeam-debug", ..page() }).as_array().expect("an array").to_vec();
        let log = strings(&items[6]);
        assert_eq!(log.len(), 4);
        assert!(log[2].starts_with("draft: (none) (draft)"), "{log:?}");
        assert_eq!(log[3], "elsewhere: (none) (not-on-this-page)");
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let mut bytes = compiled();
        bytes.truncate(bytes.len() - 1);
        assert!(decide(&bytes, page(), &NativeJs).is_none());
        assert!(decide(b"", page(), &NativeJs).is_none());
    }

    /// What `decide` wrote with `again`, read back as the whole snippet reads it.
    fn rebuilt<'c>(config: &'c crate::config::Config, bytes: &[u8]) -> Vec<Decision<'c>> {
        read_decisions(config, bytes).expect("decisions for this config")
    }

    fn same(a: &[Decision], b: &[Decision]) {
        let parts = |d: &Decision| (d.experiment.key.clone(), d.variant, d.reason, d.tracked, d.sticky.clone());
        assert_eq!(a.iter().map(parts).collect::<Vec<_>>(), b.iter().map(parts).collect::<Vec<_>>());
    }

    #[test]
    fn reason_codes_are_their_place_in_all() {
        for (code, reason) in Reason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, code, "{}", reason.as_str());
        }
    }

    #[test]
    fn decisions_rebuild_to_what_assign_decides() {
        let bytes = compiled();
        let config = crate::compiled::decode(&bytes).expect("decodes");
        let sticky = vec![Sticky { experiment: "split".into(), variant: "b".into(), fingerprint: "control|b".into() }];
        for (search, forced) in [("", ""), ("?splitbeam=hero:b", "draft:b")] {
            let page = Page { stored_visitor: Some("v_returning"), sticky: sticky.clone(), search, forced_earlier: forced, ..page() };
            let forced = identity::forced(forced, query_param(search, "splitbeam").as_deref());
            let attributes = crate::json::Value::Object(vec![("id".into(), "v_returning".into())]);
            let visitor = Visitor { attributes: &attributes, href: page.href, now_ms: 0.0, forced: &forced, sticky: &sticky, regex: &NativeJs };
            let expected = assign(&config, &visitor);
            // The whole snippet passes the QA overrides it holds as `forced_earlier`, never a query.
            let whole = Page { search: "", forced_earlier: &identity::forced_text(&forced), ..page };
            let got = decide(&bytes, Page { again: Some(false), ..whole }, &NativeJs).expect("the compiled config decodes");
            same(&rebuilt(&config, &got), &expected);
        }
        assert!(expected_reasons_cover_sticky_and_assigned(&bytes, &config));
        assert!(decide(b"", Page { again: Some(false), ..page() }, &NativeJs).is_none());
        // Bytes not written for this config: another count, an unknown reason, a variant it lacks.
        let good = decide(&bytes, Page { again: Some(false), ..page() }, &NativeJs).expect("decodes");
        assert!(read_decisions(&config, &good[5..]).is_none());
        let mut unknown_reason = good.clone();
        unknown_reason[0] = Reason::ALL.len() as u8;
        assert!(read_decisions(&config, &unknown_reason).is_none());
        let mut no_such_variant = good;
        no_such_variant[1..5].copy_from_slice(&9u32.to_le_bytes());
        assert!(read_decisions(&config, &no_such_variant).is_none());
    }

    /// The fixture's visitor meets both reasons a stored assignment depends on.
    fn expected_reasons_cover_sticky_and_assigned(bytes: &[u8], config: &crate::config::Config) -> bool {
        let sticky = vec![Sticky { experiment: "split".into(), variant: "b".into(), fingerprint: "control|b".into() }];
        let page = Page { stored_visitor: Some("v_returning"), sticky, ..page() };
        let got = rebuilt(config, &decide(bytes, Page { again: Some(false), ..page }, &NativeJs).expect("decodes"));
        let reasons: Vec<Reason> = got.iter().map(|d| d.reason).collect();
        let hero = &got[0];
        reasons.contains(&Reason::Sticky) && reasons.contains(&Reason::Assigned) && hero.sticky.is_some() && got[1].variant == Some(1)
    }

    /// With the condition engine, the page's own attributes and the visitor's newness reach audiences.
    #[cfg(feature = "conditions")]
    #[test]
    fn decisions_read_the_pages_attributes_and_newness() {
        let text = r#"{"version": 1, "experiments": [
            {"key": "pro", "status": "running", "audience": {"plan": "pro"}, "variants": [{"key": "a"}, {"key": "b"}]},
            {"key": "fresh", "status": "running", "audience": {"new_visitor": true}, "variants": [{"key": "a"}, {"key": "b"}]}]}"#;
        let loaded = load(&json::parse(text).expect("fixture parses").0);
        let bytes = compiled::encode(&loaded.config);
        let config = compiled::decode(&bytes).expect("decodes");
        let reasons = |custom: &[u8], new_visitor| {
            let page = Page { stored_visitor: Some("v_returning"), custom, again: Some(new_visitor), ..page() };
            rebuilt(&config, &decide(&bytes, page, &NativeJs).expect("decodes")).iter().map(|d| d.reason).collect::<Vec<_>>()
        };
        let pro = compiled::encode_value(&json::parse(r#"{"plan": "pro"}"#).expect("parses").0);
        assert_eq!(reasons(&[], false), [Reason::NotInAudience, Reason::NotInAudience]);
        assert_eq!(reasons(&pro, true), [Reason::Assigned, Reason::Assigned]);
        // Bytes that are not a value read as no attributes of the page's own.
        assert_eq!(reasons(&[9, 9], false), [Reason::NotInAudience, Reason::NotInAudience]);
    }
}
