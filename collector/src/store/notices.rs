//! "Events were stored": what a store's writer announces after a commit, so that the dashboard's
//! live stream (`server::live`) can tell open dashboards to refetch instead of them polling.
//!
//! The writer only bumps counters under a short lock and wakes a `watch` channel: no allocation
//! per listener, no queue that a flash sale could fill. Each listener coalesces on its own side
//! (it asks `since` what changed after the generation it last saw), so a thousand commits a second
//! become at most a few notices a second per dashboard.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use splitbeam_core::event::EventKind;
use tokio::sync::watch;

use crate::ingest::Received;

/// Experiment keys remembered by name. Keys come from events (a goal's `experiments` map is the
/// caller's to fill), so past this many an unknown key is announced as "something changed".
const MAX_KEYS: usize = 1024;

/// Announces stored events to whoever listens; cheap when nobody does.
pub struct StoredNotices {
    seen: Mutex<Generations>,
    generation: watch::Sender<u64>,
}

#[derive(Default)]
struct Generations {
    current: u64,
    /// Experiment key → the generation of the last commit that stored an event naming it.
    by_experiment: HashMap<String, u64>,
    /// The last commit that stored a counted event naming no experiment, or a key past `MAX_KEYS`.
    unnamed: u64,
}

/// The experiments some batches name, to be announced once they are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    names: BTreeSet<String>,
    /// A counted goal named no experiment.
    unnamed: bool,
}

impl Announcement {
    /// `None` when nothing in `batches` counts toward results.
    pub fn of<'a>(batches: impl IntoIterator<Item = &'a [Received]>) -> Option<Announcement> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut unnamed = false;
        for received in batches.into_iter().flatten().filter(|r| r.counted) {
            match &received.event.kind {
                EventKind::Exposure { experiment, .. } => {
                    if !names.contains(experiment) {
                        names.insert(experiment.clone());
                    }
                }
                // A goal counts for the experiments its visitor was exposed to; the page's map is
                // a good guess (the snippet fills it) and "any" covers a goal sent without it.
                EventKind::Goal { experiments, .. } if !experiments.is_empty() => {
                    names.extend(experiments.iter().map(|(key, _)| key.clone()));
                }
                EventKind::Goal { .. } => unnamed = true,
                EventKind::Pageview { .. } => {}
            }
        }
        (!names.is_empty() || unnamed).then_some(Announcement { names, unnamed })
    }
}

/// What changed after a generation a listener saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The generation these changes run up to: pass it to the next `since`.
    pub generation: u64,
    pub experiments: BTreeSet<String>,
    /// Events were stored whose experiments are not known by name: every experiment may have changed.
    pub any: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.experiments.is_empty() && !self.any
    }
}

impl Default for StoredNotices {
    fn default() -> StoredNotices {
        StoredNotices { seen: Mutex::new(Generations::default()), generation: watch::Sender::new(0) }
    }
}

impl StoredNotices {
    /// Called by a store after its commit of `batches` returned (so a reader woken by it sees the
    /// rows). Only counted events are announced: the rest never reach results.
    pub fn committed<'a>(&self, batches: impl IntoIterator<Item = &'a [Received]>) {
        if let Some(announcement) = Announcement::of(batches) {
            self.announce(announcement);
        }
    }

    /// For a store that hands its batch over before it knows the outcome (ClickHouse): what to
    /// announce is taken from the batch first (`Announcement::of`), announced after the commit.
    pub fn announce(&self, announcement: Announcement) {
        let Announcement { names, mut unnamed } = announcement;
        let Ok(mut seen) = self.seen.lock() else { return };
        seen.current += 1;
        let generation = seen.current;
        for name in names {
            if let Some(at) = seen.by_experiment.get_mut(&name) {
                *at = generation;
            } else if seen.by_experiment.len() < MAX_KEYS {
                seen.by_experiment.insert(name, generation);
            } else {
                unnamed = true;
            }
        }
        if unnamed {
            seen.unnamed = generation;
        }
        drop(seen);
        self.generation.send_replace(generation);
    }

    /// A receiver that wakes after each announcing commit.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// What was stored after generation `seen`.
    pub fn since(&self, seen: u64) -> Changes {
        let Ok(state) = self.seen.lock() else {
            // A panicked writer: say "everything", the dashboard refetches and shows the error if any.
            return Changes { generation: seen, experiments: BTreeSet::new(), any: true };
        };
        Changes {
            generation: state.current,
            experiments: state.by_experiment.iter().filter(|(_, at)| **at > seen).map(|(key, _)| key.clone()).collect(),
            any: state.unnamed > seen,
        }
    }

    /// The generation now: a new listener starts from here.
    pub fn current(&self) -> u64 {
        *self.generation.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(json: &str, counted: bool) -> Received {
        let batch = format!(r#"{{"v":1,"sent_at":1,"events":[{json}]}}"#);
        let mut events = crate::ingest::parse_batch(batch.as_bytes()).expect("test event");
        let mut event = events.remove(0);
        event.counted = counted;
        event
    }

    fn exposure(experiment: &str) -> String {
        format!(r#"{{"id":"e-{experiment}-0123456789","type":"exposure","ts":1,"visitor":"v","session":"s","url":"/","experiment":"{experiment}","variant":"control"}}"#)
    }

    #[test]
    fn a_commit_names_its_counted_experiments_once_per_listener() {
        let notices = StoredNotices::default();
        let start = notices.current();
        let batch = vec![received(&exposure("hero"), true), received(&exposure("invented"), false)];
        notices.committed([batch.as_slice()]);
        let changes = notices.since(start);
        assert_eq!(changes.experiments, BTreeSet::from(["hero".to_string()]));
        assert!(!changes.any);
        assert!(notices.since(changes.generation).is_empty(), "seen once");
    }

    #[test]
    fn a_commit_with_nothing_counted_wakes_nobody() {
        let notices = StoredNotices::default();
        let listener = notices.subscribe();
        notices.committed([vec![received(&exposure("invented"), false)].as_slice()]);
        assert!(!listener.has_changed().expect("sender alive"));
        assert_eq!(notices.current(), 0);
    }

    #[test]
    fn keys_past_the_cap_are_announced_as_any() {
        let notices = StoredNotices::default();
        let many: Vec<Received> = (0..MAX_KEYS + 1).map(|i| received(&exposure(&format!("x{i}")), true)).collect();
        notices.committed([many.as_slice()]);
        let changes = notices.since(0);
        assert_eq!(changes.experiments.len(), MAX_KEYS);
        assert!(changes.any);
    }
}
