//! The whole snippet, loaded after the reveal: it takes over the page from the first-paint module
//! (same decisions, same variants), then sends exposures, page views and goals, follows SPA routes
//! and serves the JS API. The loader (www/loader.js) calls `start` with the compiled config.

use std::cell::RefCell;

use splitbeam_core::config::{Config, Status};
use splitbeam_core::event::EventKind;
use splitbeam_core::json::Value;

use crate::api::{self, Exposure};
use crate::consent::Consent;
use crate::host::{take, take_text};
use crate::js_value::take_value;
use crate::identity::{self, Identity};
use crate::{debug, goals, outbox, page, page_changes, page_events, redecide};

thread_local! {
    static SNIPPET: RefCell<Option<Snippet>> = const { RefCell::new(None) };
}

/// Everything the snippet knows on this page.
pub(crate) struct Snippet {
    config: Config,
    identity: Identity,
    forced: Vec<(String, String)>,
    /// Attributes set by the page with `splitbeam.attributes({...})`.
    custom: Value,
    debug: bool,
    /// False when the loader gave up waiting: the visitor already saw the original on this view.
    apply: bool,
    /// (experiment, variant) on the page now (applied by `page_changes`).
    active: Vec<(String, String)>,
    /// (experiment, variant) pairs exposed on this page load: one exposure each.
    exposed: Vec<(String, String)>,
    /// Where events go (`data-collector`), if anywhere; delivery starts once consent allows.
    collector: Option<String>,
    /// Whether this visitor's browser may be stored into and events sent (consent, Do-Not-Track).
    consent: Consent,
    /// The URL of the last page view (the referrer of the next SPA view).
    viewed: String,
}

/// Exposures to announce once the state is no longer borrowed.
pub(crate) type Announcements = Vec<Exposure>;

/// Runs `f` on the snippet if it started and is not already busy (a page callback re-entering the API).
pub(crate) fn with_snippet<R>(f: impl FnOnce(&mut Snippet) -> R) -> Option<R> {
    SNIPPET.with(|cell| cell.try_borrow_mut().ok()?.as_mut().map(f))
}

pub(crate) fn announce_all(announcements: Announcements) {
    for exposure in &announcements {
        api::announce(exposure);
    }
}

/// Starts the snippet with the compiled config (`splitbeam snippet`, turned into bytes by the loader)
/// and the loader's options `{consent, apply, collector, respectDnt, visitor, newVisitor, views,
/// held}`, as www/whole.js hands them over (text and values in `alloc`'s room, 0 when absent;
/// `respect_dnt` 2 when not given): `visitor`/`new_visitor` hand over the identity the first-paint
/// module decided with, so later views are decided alike even where storage fails; its `decide`
/// option stays in www/whole.js, which asks that module again (`redecide.rs`). Problems become one
/// console line, never a throw.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn start_snippet(compiled: *mut u8, collector: *mut u8, respect_dnt: u32, consent: *mut u8, visitor: *mut u8, new_visitor: u32, apply: u32, views: *mut u8, held: *mut u8) {
    let search = page::search();
    let (collector, consent, visitor) = (take_text(collector), take_text(consent), take_text(visitor));
    let list = |at| match take_value(at) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let (earlier_views, held) = (list(views), list(held));
    let Some(config) = take(compiled).and_then(|bytes| splitbeam_core::compiled::decode(&bytes)) else {
        return debug::error("the compiled experiments config is damaged (rebuild it with `splitbeam snippet`)");
    };
    let collector = collector.or_else(|| page::script_attribute("data-collector")).filter(|c| !c.is_empty());
    let respect_dnt = match respect_dnt {
        0 | 1 => respect_dnt == 1,
        _ => page::script_attribute("data-respect-dnt").is_some_and(|v| v != "false"),
    };
    let handover = visitor.map(|id| (id, new_visitor != 0));
    let consent = Consent::new(Consent::required_by(consent), respect_dnt && page::do_not_track());
    let identity = Identity::load(consent, handover);
    let forced = identity::forced(&search, consent);
    let snippet = Snippet {
        config,
        identity,
        forced,
        custom: Value::Object(Vec::new()),
        debug: debug::requested(&search),
        apply: apply != 0,
        active: Vec::new(),
        exposed: Vec::new(),
        collector,
        consent,
        viewed: String::new(),
    };
    let announcements = SNIPPET.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else { return Vec::new() };
        let snippet = slot.insert(snippet);
        snippet.start_delivery();
        // Exposures held from pages closed before this module started there, before this page's
        // own: an exposure counts once per session, and the earliest is the one.
        for record in &held {
            snippet.replay(record);
        }
        // Views of this tab before this module started (SPA route changes since the landing URL):
        // each with its own URL and time, in order, before the current one.
        for view in earlier_views.iter().filter_map(Value::as_array) {
            let text = |i| field_text(view, i);
            if let Some((url, ts)) = api::held_at(text(0), field_number(view, 1)) {
                snippet.view_at(&url, ts, text(2), text(3));
                snippet.viewed = url;
            }
        }
        snippet.page_view();
        let announcements = snippet.evaluate();
        snippet.page_goals();
        // Later route changes are new views: the visitor has not seen them yet.
        snippet.apply = true;
        announcements
    });
    announce_all(announcements);
    if let Err(why) = page_events::watch_page() {
        debug::error(&["cannot watch the page: ", &why].concat());
    }
}

/// The URL changed without a page load (SPA): a new page view.
pub(crate) fn on_route() {
    let announcements = with_snippet(|s| {
        s.page_view();
        let announcements = s.evaluate();
        s.page_goals();
        announcements
    });
    announce_all(announcements.unwrap_or_default());
}

/// A click anywhere (www/whole.js holds the element): the `click` goals it reaches.
pub(crate) fn on_click() {
    with_snippet(|s| {
        if !outbox::running() {
            return;
        }
        let reached: Vec<String> = goals::clicked(&s.config).iter().map(|g| g.key.clone()).collect();
        for goal in reached {
            debug::log(s.debug, &["goal ", &goal, " (click)"].concat());
            s.record(api::goal_kind(goal, None, s.assignments(), Value::Object(Vec::new())));
        }
    });
}

impl Snippet {
    /// Decides every experiment for the current URL, reverts variants that no longer apply,
    /// applies the new ones and queues their exposures.
    fn evaluate(&mut self) -> Announcements {
        let href = page::href();
        let decided = redecide::decide(&self.config, &self.identity, &self.forced, &self.custom);
        let Some(decisions) = decided else {
            debug::error("cannot decide this view (the first-paint module did not answer): the page keeps what it shows");
            return Vec::new();
        };
        let mut announcements = Vec::new();
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        let mut assigned = Vec::new();
        for decision in &decisions {
            let key = decision.experiment.key.as_str();
            let variant = decision.variant_key();
            debug::log(self.debug, &[key, ": ", variant.unwrap_or("(none)"), " (", decision.reason.as_str(), ")"].concat());
            if let Some(sticky) = decision.sticky.clone() {
                assigned.push(sticky);
            }
            if let (Some(variant), true) = (variant, self.apply) {
                wanted.push((key, variant));
            }
        }
        self.identity.remember(assigned, self.consent);
        // What no longer applies (another route, or another variant after new attributes) is
        // reverted by `page_changes` below; what still does stays as it is.
        self.active.retain(|(experiment, variant)| wanted.contains(&(experiment.as_str(), variant.as_str())));
        let mut on_page = Vec::new();
        let mut exposures = Vec::new();
        let mut redirects = Vec::new();
        for decision in &decisions {
            let (Some(index), true) = (decision.variant, self.apply) else { continue };
            let Some(variant) = decision.experiment.variants.get(index) else { continue };
            let key = decision.experiment.key.as_str();
            if decision.tracked && !self.exposed.iter().any(|(e, v)| e == key && *v == variant.key) {
                self.exposed.push((key.to_string(), variant.key.clone()));
                announcements.push((key.to_string(), variant.key.clone(), self.identity.visitor_id.clone(), href.clone()));
                // Once per session for the collector (outbox's check); every page for listeners.
                exposures.push((key.to_string(), variant.key.clone()));
            }
            // A split-URL variant navigates, unless it is already on the page (nothing to do).
            match variant.redirect.as_deref() {
                Some(target) if !self.active.iter().any(|(experiment, _)| experiment == key) => redirects.push(target.to_string()),
                _ => on_page.push((key, variant)),
            }
        }
        for reverted in page_changes::set_variants(&on_page) {
            debug::log(self.debug, &reverted);
        }
        self.active = on_page.iter().map(|(experiment, variant)| (experiment.to_string(), variant.key.clone())).collect();
        drop(decisions);
        outbox::expose(&self.identity.visitor_id, &page::url(), None, &exposures);
        for target in redirects {
            // The exposures are queued above, so they leave first (DESIGN: delivered before
            // navigating, ~100 ms at most).
            let debug = self.debug;
            outbox::before_leaving(Box::new(move || redirect(&target, debug)));
        }
        announcements
    }

    /// Starts sending events if there is a collector and the visitor's choices allow it.
    fn start_delivery(&mut self) {
        if let (Some(collector), true) = (&self.collector, self.consent.may_send()) {
            outbox::start(collector.clone());
        }
    }

    /// Queues an event for this visitor on this page (nothing while delivery is off).
    fn record(&self, kind: EventKind) {
        outbox::record(&self.identity.visitor_id, &page::url(), None, kind);
    }

    /// The page view event for the current URL (on load and after each SPA route change).
    fn page_view(&mut self) {
        let url = page::url();
        let referrer = if self.viewed.is_empty() { page::referrer() } else { self.viewed.clone() };
        let title = page::title();
        self.viewed = url;
        self.record(EventKind::Pageview {
            referrer: (!referrer.is_empty()).then_some(referrer),
            title: (!title.is_empty()).then_some(title),
        });
    }

    /// A page view that happened before this module started (held by the loader): its event and
    /// the `pageview` goals of its URL, at its own time.
    fn view_at(&self, url: &str, ts: u64, referrer: Option<String>, title: Option<String>) {
        let limit = |v: Option<String>| v.filter(|v| !v.is_empty()).map(|v| v.chars().take(api::MAX_HELD_URL).collect::<String>());
        outbox::record(&self.identity.visitor_id, url, Some(ts), EventKind::Pageview { referrer: limit(referrer), title: limit(title) });
        let origin = page::origin();
        for goal in goals::viewed(&self.config, &[origin.as_str(), url].concat()) {
            debug::log(self.debug, &["goal ", &goal.key, " (page view)"].concat());
            outbox::record(&self.identity.visitor_id, url, Some(ts), api::goal_kind(goal.key.clone(), None, self.assignments(), Value::Object(Vec::new())));
        }
    }

    /// The `pageview` goals the current URL reaches.
    fn page_goals(&self) {
        let href = page::href();
        for goal in goals::viewed(&self.config, &href) {
            debug::log(self.debug, &["goal ", &goal.key, " (page view)"].concat());
            self.record(api::goal_kind(goal.key.clone(), None, self.assignments(), Value::Object(Vec::new())));
        }
    }

    /// The visitor's current assignments, for goal events: running experiments they were bucketed
    /// into (stored, unchanged variants), never a QA override.
    fn assignments(&self) -> Vec<(String, String)> {
        self.identity
            .sticky
            .iter()
            .filter(|s| !self.forced.iter().any(|(e, _)| *e == s.experiment))
            .filter(|s| {
                self.config.experiments.iter().any(|e| {
                    e.key == s.experiment && e.status == Status::Running && e.has_fingerprint(&s.fingerprint)
                })
            })
            .map(|s| (s.experiment.clone(), s.variant.clone()))
            .collect()
    }
}

/// A held record's or view's field `i` as text, if it is a string.
fn field_text(record: &[Value], i: usize) -> Option<String> {
    record.get(i)?.as_str().map(String::from)
}

/// A held record's or view's field `i`, if it is a number.
fn field_number(record: &[Value], i: usize) -> Option<f64> {
    record.get(i)?.as_f64()
}

/// Split-URL test: go to `target`, keeping this URL's query string and fragment; never to itself.
fn redirect(target: &str, debug: bool) {
    let Some(url) = splitbeam_core::url::redirect_target(target, &page::href()) else { return };
    debug::log(debug, &["redirecting to ", &url].concat());
    if !page::navigate(&url) {
        debug::error(&["cannot redirect to ", &url].concat());
    }
}

/// What the JS API (`api.rs`) asks of the running snippet.
impl Snippet {
    /// A goal from `splitbeam.track`, or one held from an earlier page (`at`: its URL and time).
    pub(crate) fn track(&self, goal: Option<String>, props: Option<Value>, trimmed: bool, at: Option<(String, u64)>) {
        if !outbox::running() {
            return debug::log(self.debug, "track(): not sent (no collector, no consent or Do-Not-Track)");
        }
        if let Some(kind) = api::goal_from_track(&self.config, goal, props, trimmed, self.assignments()) {
            debug::log(self.debug, "tracked a goal");
            match at {
                Some((url, ts)) => outbox::record(&self.identity.visitor_id, &url, Some(ts), kind),
                None => self.record(kind),
            }
        }
    }

    /// A record the loader held for the next page (`api::replay_held` says which).
    pub(crate) fn replay(&mut self, record: &Value) {
        let Some(record) = record.as_array() else { return };
        let text = |i| field_text(record, i);
        let at = |url: Option<String>, i| api::held_at(url, field_number(record, i));
        if !outbox::running() {
            return;
        }
        match text(0).as_deref() {
            Some("goal") => {
                let (Some(goal), Some((url, ts))) = (text(1), at(text(2), 3)) else { return };
                if goals::is_click_goal(&self.config, &goal) {
                    outbox::record(&self.identity.visitor_id, &url, Some(ts), api::goal_kind(goal, None, self.assignments(), Value::Object(Vec::new())));
                }
            }
            Some("view") => {
                let Some((url, ts)) = at(text(1), 2) else { return };
                self.view_at(&url, ts, text(3), text(4));
            }
            Some("exposure") => {
                // With the time of the page that showed the variant: goals held from that page (and
                // later ones) count only after the visitor's first exposure.
                let (Some(experiment), Some(variant), Some((url, ts))) = (text(1), text(2), at(text(3), 4)) else { return };
                let known = self.config.experiments.iter().any(|e| e.key == experiment && e.variants.iter().any(|v| v.key == variant));
                if known {
                    outbox::expose(&self.identity.visitor_id, &url, Some(ts), &[(experiment, variant)]);
                }
            }
            _ => {}
        }
    }

    /// The variant key shown on this page for `experiment`.
    pub(crate) fn variant(&self, experiment: &str) -> Option<String> {
        self.active.iter().find(|(key, _)| key == experiment).map(|(_, variant)| variant.clone())
    }

    /// Merges custom targeting attributes and decides again.
    pub(crate) fn add_attributes(&mut self, entries: Vec<(String, Value)>) -> Announcements {
        for (key, item) in entries {
            self.custom.set(&key, item);
        }
        self.evaluate()
    }

    /// Granting starts delivery with this page's view and exposures; withdrawing stops it and
    /// erases what was stored.
    pub(crate) fn set_consent(&mut self, granted: bool) {
        self.consent.set(granted);
        self.identity.consent_changed(self.consent);
        if !granted {
            return outbox::stop();
        }
        if outbox::running() {
            return;
        }
        self.start_delivery();
        self.viewed.clear();
        self.page_view();
        outbox::expose(&self.identity.visitor_id, &page::url(), None, &self.exposed);
        self.page_goals();
    }
}
