//! The first-paint module: everything that must run before the hidden elements are revealed and
//! nothing else. It decides from the compiled config, applies the variants and keeps them applied
//! (a framework re-render, lazy content) until the whole snippet takes the page over with `release`.
//! Events, goals, sessions, SPA routes and the JS API belong to the whole snippet, loaded after.

use std::cell::RefCell;

use js_sys::Array;
use splitbeam_core::assign::{assign, Visitor};
#[cfg(feature = "conditions")]
use splitbeam_core::attributes::{self, PageContext};
use splitbeam_core::json::Value;
use wasm_bindgen::prelude::*;

use crate::consent::Consent;
use crate::identity::{self, Identity};
use crate::variant::ActiveVariant;
use crate::{debug, observer, regex};

thread_local! {
    static ACTIVE: RefCell<Vec<ActiveVariant>> = const { RefCell::new(Vec::new()) };
    /// What `decide` read and assigned, written to storage by `persist` once the page is revealed.
    static UNSAVED: RefCell<Option<(Identity, bool, Consent)>> = const { RefCell::new(None) };
}

/// Decides every experiment on this page from the compiled config and applies the variants when
/// `options.apply` is not false. `options.consent == "required"` keeps the identity in memory.
/// Returns `[visitor id, new visitor, [[experiment, variant], …]]`: the identity for the whole
/// snippet to decide with, and the exposures it will record (the loader holds them for the next page
/// if this one closes first); nothing when the config cannot be read (one console line).
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
    let mut active = Vec::new();
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
            active.push(ActiveVariant::new(key, variant));
        }
    }
    let assigned = identity.note(assigned);
    let watching = !active.is_empty();
    ACTIVE.with(|cell| *cell.borrow_mut() = active);
    if watching {
        reconcile();
        if let Err(err) = observer::watch(reconcile) {
            debug::error(&["cannot watch the page: ", &err.as_string().unwrap_or_default()].concat());
        }
    }
    let answer = Array::of3(&identity.visitor_id.as_str().into(), &identity.new_visitor.into(), &exposures);
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

/// The whole snippet takes over: every change made here is undone (it applies them again in the
/// same task, so no frame shows the original) and the page is no longer watched from here.
#[wasm_bindgen]
pub fn release() {
    observer::stop();
    let active = ACTIVE.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    for variant in active {
        variant.revert();
    }
}

/// `splitbeam.variant(experiment)` until the whole snippet has started.
#[wasm_bindgen]
pub fn variant(experiment: String) -> Option<String> {
    ACTIVE.with(|cell| cell.borrow().iter().find(|a| a.experiment == experiment).map(|a| a.variant.clone()))
}

/// Reaches elements that appeared since, and re-applies overwritten changes within budget.
fn reconcile() {
    let now = js_sys::Date::now();
    let retry = ACTIVE.with(|cell| cell.try_borrow_mut().ok().and_then(|mut active| active.iter_mut().filter_map(|a| a.reconcile(now)).reduce(f64::min)));
    observer::discard_own_records();
    if let Some(at) = retry {
        observer::retry_at(at, reconcile);
    }
}

