//! The first-paint module: everything that must be decided before the hidden elements are revealed
//! and nothing else. It decides from the compiled config and hands the variants' changes to the
//! loader, which applies them and keeps them applied (`www/changes.js`); the whole snippet later
//! takes them over as they are. Events, goals, sessions, SPA routes and the JS API belong to the whole
//! snippet, loaded after.

use std::cell::RefCell;

use js_sys::Array;
use splitbeam_core::assign::{assign, Visitor};
#[cfg(feature = "conditions")]
use splitbeam_core::attributes::{self, PageContext};
use splitbeam_core::json::Value;
use wasm_bindgen::prelude::*;

use crate::consent::Consent;
use crate::identity::{self, Identity};
use crate::{change_list, debug, regex};

thread_local! {
    /// What `decide` read and assigned, written to storage by `persist` once the page is revealed.
    static UNSAVED: RefCell<Option<(Identity, bool, Consent)>> = const { RefCell::new(None) };
}

/// Decides every experiment on this page from the compiled config. `options.consent == "required"`
/// keeps the identity in memory. Returns `[visitor id, new visitor, [[experiment, variant], …],
/// [[experiment, variant, [change, …]], …]]`: the identity for the whole snippet to decide with, the
/// exposures it will record (the loader holds them for the next page if this one closes first), and,
/// unless `options.apply` is false, the variants for the loader to apply (`change_list`); nothing
/// when the config cannot be read (one console line).
#[wasm_bindgen]
pub fn decide(compiled: &[u8], options: JsValue) -> Option<Array> {
    let option = |key: &str| js_sys::Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let Some(config) = splitbeam_core::compiled::decode(compiled) else {
        debug::error("the compiled experiments config is damaged (rebuild it with `splitbeam snippet`)");
        return None;
    };
    let window = web_sys::window()?;
    let location = window.location();
    let search = location.search().unwrap_or_default();
    let href = location.href().unwrap_or_default();
    let debug = debug::requested(&search);
    // Do-Not-Track stops sending, which this module never does.
    let consent = Consent::new(Consent::required_by(option("consent").as_string()), false);
    let mut identity = Identity::read(None);
    let forced = identity::forced(&search, consent);
    // Without the condition engine nothing reads attributes but the hashed `id` (the compiler
    // picks the module with conditions for a config hashing another attribute).
    #[cfg(feature = "conditions")]
    let attributes = attributes::build(&PageContext {
        visitor_id: &identity.visitor_id,
        href: &href,
        user_agent: &window.navigator().user_agent().unwrap_or_default(),
        language: &window.navigator().language().unwrap_or_default(),
        new_visitor: identity.new_visitor,
        custom: Some(&Value::Object(Vec::new())),
    });
    #[cfg(not(feature = "conditions"))]
    let attributes = Value::Object(vec![("id".into(), Value::String(identity.visitor_id.clone()))]);
    let visitor = Visitor {
        attributes: &attributes,
        href: &href,
        now_ms: js_sys::Date::now(),
        forced: &forced,
        sticky: &identity.sticky,
        regex: &regex::BrowserRegex,
    };
    let decisions = assign(&config, &visitor);
    let apply = option("apply").as_bool() != Some(false);
    let active = Array::new();
    let mut assigned = Vec::new();
    let exposures = Array::new();
    for decision in &decisions {
        let key = decision.experiment.key.as_str();
        debug::log(debug, &[key, ": ", decision.variant_key().unwrap_or("(none)"), " (", decision.reason.as_str(), ")"].concat());
        if let Some(sticky) = decision.sticky.clone() {
            assigned.push(sticky);
        }
        let Some(variant) = decision.variant.and_then(|i| decision.experiment.variants.get(i)) else { continue };
        // A split-URL test navigates only once its exposure is on its way: the whole snippet does it.
        if apply && decision.tracked {
            exposures.push(&Array::of2(&key.into(), &variant.key.as_str().into()));
        }
        if apply && !variant.changes.iter().any(|c| c.redirect.is_some()) {
            active.push(&change_list::variant(key, &variant.key, &variant.changes));
        }
    }
    let assigned = identity.note(assigned);
    let answer = Array::of4(&identity.visitor_id.as_str().into(), &identity.new_visitor.into(), &exposures, &active);
    UNSAVED.with(|cell| *cell.borrow_mut() = Some((identity, assigned, consent)));
    Some(answer)
}

/// Stores the visitor id of a new visitor and new assignments, once; the loader calls it after the
/// revealed frame is painted, or when the page is left before that.
#[wasm_bindgen]
pub fn persist() {
    if let Some((identity, assigned, consent)) = UNSAVED.with(|cell| cell.borrow_mut().take()) {
        identity.persist(assigned, consent);
    }
}
