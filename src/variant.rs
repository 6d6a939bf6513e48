//! The changes of one experiment's variant as they stand on this page: which elements got which
//! change, page CSS, and a per-element budget of re-applies so a page that fights back cannot hang.

use splitbeam_core::config::{Change, Variant};

use crate::dom::{self, Applied, PageCss};

/// How often a single element's change is re-applied within one second before backing off.
pub const MAX_REAPPLIES_PER_SECOND: u8 = 3;
const WINDOW_MS: f64 = 1000.0;

/// A variant in effect on the page.
pub struct ActiveVariant {
    pub experiment: String,
    pub variant: String,
    changes: Vec<(Change, Vec<Tracked>)>,
    css: Vec<PageCss>,
}

/// One element under one change.
struct Tracked {
    applied: Applied,
    window_start: f64,
    reapplies: u8,
}

impl ActiveVariant {
    /// Starts a variant: page CSS now, element changes on `reconcile`.
    pub fn new(experiment: &str, variant: &Variant) -> ActiveVariant {
        let css = variant.changes.iter().filter_map(|c| c.css.as_deref()).filter_map(|css| PageCss::apply(css, experiment)).collect();
        let changes = variant.changes.iter().filter(|c| c.selector.is_some()).map(|c| (c.clone(), Vec::new())).collect();
        ActiveVariant { experiment: experiment.to_string(), variant: variant.key.clone(), changes, css }
    }

    /// Applies each change to matching elements it has not reached yet, and re-applies where the page
    /// overwrote it, within budget. Returns when a throttled element should be checked again (ms).
    pub fn reconcile(&mut self, now_ms: f64) -> Option<f64> {
        let mut retry_at: Option<f64> = None;
        for (change, tracked) in &mut self.changes {
            let Some(selector) = change.selector.as_deref() else { continue };
            for element in dom::select(selector) {
                match tracked.iter_mut().find(|t| t.applied.element == element) {
                    None => tracked.push(Tracked { applied: dom::apply(change, &element), window_start: now_ms, reapplies: 0 }),
                    Some(t) => {
                        if let Some(at) = t.reapply_within_budget(now_ms) {
                            retry_at = Some(retry_at.map_or(at, |r: f64| r.min(at)));
                        }
                    }
                }
            }
            // Removed or moved elements no longer match their selector but may have been put back.
            for t in tracked.iter_mut() {
                if let Some(at) = t.reapply_within_budget(now_ms) {
                    retry_at = Some(retry_at.map_or(at, |r: f64| r.min(at)));
                }
            }
        }
        retry_at
    }

    /// Puts every element and the page CSS back as they were (latest originals).
    pub fn revert(self) {
        for (_, tracked) in self.changes.into_iter().rev() {
            for t in tracked.into_iter().rev() {
                t.applied.revert();
            }
        }
        for css in self.css {
            css.revert();
        }
    }
}

impl Tracked {
    /// Re-applies if the page undid the change and the budget allows; otherwise says when to retry.
    fn reapply_within_budget(&mut self, now_ms: f64) -> Option<f64> {
        if self.applied.holds() {
            return None;
        }
        if now_ms - self.window_start >= WINDOW_MS {
            self.window_start = now_ms;
            self.reapplies = 0;
        }
        if self.reapplies >= MAX_REAPPLIES_PER_SECOND {
            return Some(self.window_start + WINDOW_MS);
        }
        self.reapplies += 1;
        self.applied.reapply();
        None
    }
}
