//! The assignment decision: which variant a visitor sees in each experiment, and why.
//! `assign_one` reads top to bottom as the spec's steps; every early exit is a `Reason`.

use std::borrow::Cow;

#[cfg(feature = "conditions")]
use crate::condition;
use crate::config::{Config, Experiment, Status};
use crate::hash;
use crate::json::Value;
use crate::url::Url;
use crate::js_engine::JsEngine;

/// A variant this browser was assigned earlier, kept while the experiment's variants are unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticky {
    pub experiment: String,
    pub variant: String,
    /// `Experiment::variants_fingerprint()` at the time of assignment.
    pub fingerprint: String,
}

/// Everything about the visitor and the moment that assignment depends on.
pub struct Visitor<'a> {
    /// The attribute map conditions are evaluated over (see `attributes::build`).
    pub attributes: &'a Value,
    pub href: &'a str,
    pub now_ms: f64,
    /// QA overrides from `?splitbeam=exp:variant`: (experiment key, variant key).
    pub forced: &'a [(String, String)],
    pub sticky: &'a [Sticky],
    pub regex: &'a dyn JsEngine,
}

/// Why a visitor got what they got. Printed by the debug log, the CLI and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The page rules do not match this URL: nothing of the experiment runs here.
    NotOnPage,
    /// `?splitbeam=exp:variant` chose the variant (QA; never tracked).
    Forced,
    /// A draft runs only through a forced QA variant.
    Draft,
    /// Stopped: everyone gets the winner, or control (not tracked).
    Stopped,
    /// Before the experiment's `start` date.
    NotStarted,
    /// After the experiment's `end` date.
    Ended,
    /// The visitor has no value for the experiment's `hashAttribute`.
    NoHashAttribute,
    /// A stored assignment from an earlier visit.
    Sticky,
    /// Another experiment of the same namespace owns this visitor.
    NamespaceExcluded,
    /// The audience condition does not match the visitor's attributes.
    NotInAudience,
    /// The visitor's hash fell outside the traffic share.
    NotInTraffic,
    /// Assigned by hash to a variant.
    Assigned,
}

impl Reason {
    /// Every reason, in the order of their codes (`Reason as u8`): how the first-paint module
    /// hands its decisions to the whole snippet (`first_paint::decisions`).
    pub const ALL: [Reason; 12] = [
        Reason::NotOnPage,
        Reason::Forced,
        Reason::Draft,
        Reason::Stopped,
        Reason::NotStarted,
        Reason::Ended,
        Reason::NoHashAttribute,
        Reason::Sticky,
        Reason::NamespaceExcluded,
        Reason::NotInAudience,
        Reason::NotInTraffic,
        Reason::Assigned,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::NotOnPage => "not-on-this-page",
            Reason::Forced => "forced",
            Reason::Draft => "draft",
            Reason::Stopped => "stopped",
            Reason::NotStarted => "not-started",
            Reason::Ended => "ended",
            Reason::NoHashAttribute => "no-hash-attribute",
            Reason::Sticky => "sticky",
            Reason::NamespaceExcluded => "in-namespace-excluded",
            Reason::NotInAudience => "not-in-audience",
            Reason::NotInTraffic => "not-in-traffic",
            Reason::Assigned => "assigned",
        }
    }
}

/// The outcome for one experiment.
#[derive(Debug, Clone)]
pub struct Decision<'c> {
    pub experiment: &'c Experiment,
    /// The variant whose changes to apply; `None` = leave the page as it is.
    pub variant: Option<usize>,
    pub reason: Reason,
    /// The visitor is really in the experiment: send an exposure, count them in results.
    pub tracked: bool,
    /// An assignment to persist for next time.
    pub sticky: Option<Sticky>,
}

impl<'c> Decision<'c> {
    /// The decision for `exp` that shows `variant` for `reason`: whether it is tracked and what it
    /// stores follow from the reason, so a decision travels as the variant and the reason alone.
    pub fn new(exp: &'c Experiment, variant: Option<usize>, reason: Reason) -> Decision<'c> {
        // Only a bucketed visitor is in the experiment; only a fresh bucketing is stored.
        let tracked = matches!(reason, Reason::Sticky | Reason::Assigned);
        let sticky = match (reason, variant.and_then(|i| exp.variants.get(i))) {
            (Reason::Assigned, Some(chosen)) => Some(Sticky {
                experiment: exp.key.clone(),
                variant: chosen.key.clone(),
                fingerprint: exp.variants_fingerprint(),
            }),
            _ => None,
        };
        Decision { experiment: exp, variant, reason, tracked, sticky }
    }

    pub fn variant_key(&self) -> Option<&str> {
        self.variant.and_then(|i| self.experiment.variants.get(i)).map(|v| v.key.as_str())
    }
    /// In the experiment (tracked), as the CLI's `in_experiment` reports it.
    pub fn in_experiment(&self) -> bool {
        self.tracked
    }
}

/// Decides every experiment of the config for one visitor, in config order.
pub fn assign<'c>(config: &'c Config, visitor: &Visitor) -> Vec<Decision<'c>> {
    let url = Url::parse(visitor.href);
    config.experiments.iter().map(|exp| assign_one(config, exp, visitor, &url)).collect()
}

/// The steps, in order. Each exit says why.
pub fn assign_one<'c>(config: &Config, exp: &'c Experiment, visitor: &Visitor, url: &Url) -> Decision<'c> {
    let out = |reason| Decision::new(exp, None, reason);
    let shown = |variant, reason| Decision::new(exp, Some(variant), reason);

    // 1. Only on the experiment's pages.
    if !exp.pages.matches(url, visitor.regex) {
        return out(Reason::NotOnPage);
    }
    // 2. A QA link forces a variant, whatever the status; never tracked.
    if let Some(i) = forced_variant(exp, visitor.forced) {
        return shown(i, Reason::Forced);
    }
    // 3. Status: drafts are QA-only; stopped experiments show the winner (or control) to all.
    match exp.status {
        Status::Draft => return out(Reason::Draft),
        Status::Stopped => return shown(exp.winner.unwrap_or(0), Reason::Stopped),
        Status::Running => {}
    }
    // 4. Dates.
    if exp.start_ms.is_some_and(|start| visitor.now_ms < start) {
        return out(Reason::NotStarted);
    }
    if exp.end_ms.is_some_and(|end| visitor.now_ms >= end) {
        return out(Reason::Ended);
    }
    // 5. The value we hash; without it the visitor cannot be bucketed consistently.
    let Some(hash_value) = hash_value(visitor.attributes, &exp.hash_attribute) else {
        return out(Reason::NoHashAttribute);
    };
    // 6. A stored assignment wins while the variants are the same ones.
    if let Some(i) = sticky_variant(exp, visitor.sticky) {
        return shown(i, Reason::Sticky);
    }
    // 7. Namespace: mutually exclusive experiments share one hash space.
    if let Some(ns) = &exp.namespace {
        if !hash::in_namespace(&hash_value, &ns.id, ns.start, ns.end) {
            return out(Reason::NamespaceExcluded);
        }
    }
    // 8. Audience.
    // Without the condition engine (the first-paint module for configs that have no audience),
    // an audience is never taken as met: nobody outside it may see the variant.
    if let Some(audience) = &exp.audience {
        #[cfg(feature = "conditions")]
        let met = condition::eval(visitor.attributes, audience, &config.groups, visitor.regex);
        #[cfg(not(feature = "conditions"))]
        let met = {
            let _ = (audience, &config.groups);
            false
        };
        if !met {
            return out(Reason::NotInAudience);
        }
    }
    // 9. Hash → bucket ranges → variant. Raising traffic only widens each range, never moves anyone.
    let Some(n) = hash::hash(&exp.seed, &hash_value, exp.hash_version) else {
        return out(Reason::NoHashAttribute);
    };
    let weights = exp.normalized_weights();
    let ranges = hash::bucket_ranges(exp.variants.len() as i64, exp.traffic, Some(&weights));
    match hash::choose_variation(n, &ranges) {
        None => out(Reason::NotInTraffic),
        Some(i) => shown(i, Reason::Assigned),
    }
}

fn forced_variant(exp: &Experiment, forced: &[(String, String)]) -> Option<usize> {
    let (_, variant) = forced.iter().find(|(e, _)| *e == exp.key)?;
    exp.variants.iter().position(|v| v.key == *variant)
}

fn sticky_variant(exp: &Experiment, sticky: &[Sticky]) -> Option<usize> {
    let stored = sticky.iter().find(|s| s.experiment == exp.key && exp.has_fingerprint(&s.fingerprint))?;
    exp.variants.iter().position(|v| v.key == stored.variant)
}

/// The hash input: a non-empty string attribute, or an integer (ids are sometimes numeric).
fn hash_value<'v>(attributes: &'v Value, name: &str) -> Option<Cow<'v, str>> {
    match attributes.get(name)? {
        Value::String(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        // Integers only: formatting arbitrary floats would cost the wasm ~14 KB.
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(Cow::Owned(crate::digits::signed(*n as i64))),
        _ => None,
    }
}

/// Parses the value of the `splitbeam` query parameter: `exp:variant[,exp2:variant2]`, ASCII
/// spaces around each key ignored (what a hand-typed link carries; Unicode's whitespace table cost
/// the first-paint module 0.3 KB).
pub fn forced_from_query(query_value: &str) -> Vec<(String, String)> {
    query_value
        .split(',')
        .filter_map(|pair| {
            let (exp, variant) = pair.split_once(':')?;
            let (exp, variant) = (exp.trim_ascii(), variant.trim_ascii());
            (!exp.is_empty() && !variant.is_empty()).then(|| (exp.to_string(), variant.to_string()))
        })
        .collect()
}
