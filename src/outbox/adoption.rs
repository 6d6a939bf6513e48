//! Tab adoption: events a previous page or a closed tab left unsent in localStorage are taken over
//! by exactly one live page. A page claims a snapshot's lease, waits a short random pause and adopts
//! it only if its claim still stands, so two tabs that claimed at once never both send it.

use splitbeam_core::delivery::{may_send, Lease};
use splitbeam_core::json::Value;

use super::{now, with, LEASE_PREFIX, OUTBOX_PREFIX};
use crate::page_events::later;
use crate::storage::{self, Area};
use crate::{debug, js_value};

/// Finds snapshots no live tab holds (a previous page, a closed tab), claims their leases, and
/// adopts them after a short random pause if the claim still stands: a tab that claimed at the
/// same moment has overwritten it by then, so only one of the two sends them. Snapshots under
/// another tab's live lease are looked at again when that lease would run out (a tab that
/// vanished without `pagehide` releases nothing).
pub(super) fn claim_orphans() {
    let claimed = with(|d| {
        let now = now();
        let mut claimed = Vec::new();
        let mut recheck: Option<u64> = None;
        for key in storage::keys(OUTBOX_PREFIX) {
            let Some(tab) = key.strip_prefix(OUTBOX_PREFIX) else { continue };
            if tab == d.tab {
                continue;
            }
            let lease_key = [LEASE_PREFIX, tab].concat();
            let lease = read_lease(&lease_key);
            match lease {
                Some(lease) if !may_send(Some(&lease), &d.tab, now) => {
                    recheck = Some(recheck.map_or(lease.until_ms, |r| r.min(lease.until_ms)));
                }
                _ => {
                    storage::store(&lease_key, &Lease::take(&d.tab, now, d.outbox.policy()).encode());
                    claimed.push(tab.to_string());
                }
            }
        }
        if let (Some(at), false) = (recheck, d.recheck_pending) {
            d.recheck_pending = true;
            later(at.saturating_sub(now) + 50, || {
                with(|d| d.recheck_pending = false);
                claim_orphans();
            });
        }
        claimed
    })
    .unwrap_or_default();
    if claimed.is_empty() {
        return;
    }
    // Long enough for the other tab's claim to reach this tab's copy of localStorage: it is not
    // shared memory, and a write can take longer than 50-200 ms to show in another tab under load
    // (a clean-clone CI run saw both tabs adopt the same snapshot with that pause). Orphans are a
    // closed page's leftovers: half a second more before they go costs nothing.
    later(250 + u64::from(storage::random_u32() % 500), move || adopt(claimed));
}

fn adopt(claimed: Vec<String>) {
    with(|d| {
        let now = now();
        let mut adopted = Vec::new();
        for tab in claimed {
            let lease_key = [LEASE_PREFIX, &tab].concat();
            let lease = read_lease(&lease_key);
            if lease.is_none_or(|l| l.owner != d.tab) {
                continue;
            }
            let outbox_key = [OUTBOX_PREFIX, &tab].concat();
            let snapshot = storage::read(Area::Local, &outbox_key).unwrap_or_default();
            match parse_stored(&snapshot) {
                Ok(Some(root)) => {
                    if let Some(problem) = d.outbox.merge_value(&root, now).problem {
                        debug::warn(&problem);
                    }
                }
                Ok(None) => {}
                Err(why) => debug::warn(&["stored outbox ignored: ", &why].concat()),
            }
            adopted.push((outbox_key, lease_key));
        }
        // Ours first, then theirs removed: a crash in between duplicates (the collector keeps each
        // id once), it never loses.
        d.save();
        for (outbox_key, lease_key) in adopted {
            storage::remove(Area::Local, &outbox_key);
            storage::remove(Area::Local, &lease_key);
        }
        d.pump();
    });
}

/// A stored text through the browser's `JSON.parse` (core's text parser stays out of the wasm):
/// `None` when nothing is stored.
fn parse_stored(text: &str) -> Result<Option<Value>, String> {
    if text.trim_ascii().is_empty() {
        return Ok(None);
    }
    js_value::parse_json(text).map(Some).ok_or_else(|| String::from("not JSON"))
}

/// The lease stored under `key`; `None` (free) when absent or unreadable.
fn read_lease(key: &str) -> Option<Lease> {
    let text = storage::read(Area::Local, key)?;
    Lease::from_value(&parse_stored(&text).ok()??)
}
