//! Goals from experiments.json: which ones a click, a page view or a `splitbeam.track(name)` call
//! reaches (the document's clicks come from `page_events`; `track`'s props are read, within
//! bounds, by www/whole.js `encodeValue`).

use splitbeam_core::config::{Config, Goal, GoalTrigger};
use splitbeam_core::url::Url;

use crate::js_engine::BrowserJs;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    /// Whether the element last clicked, or an ancestor, matches `selector` (0 also for a
    /// selector the browser refuses).
    fn clicked_closest(selector: *const u8, len: usize) -> u32;
}

/// Every goal of the config, each key once (several experiments may share a goal).
fn goals(config: &Config) -> impl Iterator<Item = &Goal> {
    let all = || config.experiments.iter().flat_map(|e| e.goals.iter());
    all().enumerate().filter(move |(i, goal)| !all().take(*i).any(|g| g.key == goal.key)).map(|(_, goal)| goal)
}

/// Whether `key` names a `click` goal of the config.
pub fn is_click_goal(config: &Config, key: &str) -> bool {
    goals(config).any(|g| g.key == key && matches!(g.trigger, GoalTrigger::Click(_)))
}

/// The `click` goals whose selector the clicked element (www/whole.js holds it) or one of its
/// ancestors matches.
pub fn clicked(config: &Config) -> Vec<&Goal> {
    goals(config)
        .filter(|goal| match &goal.trigger {
            // SAFETY: a live `str`; the import only reads it.
            GoalTrigger::Click(selector) => unsafe { clicked_closest(selector.as_ptr(), selector.len()) != 0 },
            _ => false,
        })
        .collect()
}

/// The `pageview` goals whose URL rules match `href`.
pub fn viewed<'c>(config: &'c Config, href: &str) -> Vec<&'c Goal> {
    let url = Url::parse(href);
    goals(config)
        .filter(|goal| match &goal.trigger {
            GoalTrigger::Pageview(rules) => rules.matches(&url, &BrowserJs),
            _ => false,
        })
        .collect()
}

/// The goal a custom `track(name)` reaches: the one with `"event": name`, if any.
pub fn for_event<'c>(config: &'c Config, name: &str) -> Option<&'c Goal> {
    goals(config).find(|goal| matches!(&goal.trigger, GoalTrigger::Event(event) if event == name))
}
