//! The outbox in localStorage: written after every change, restored (or merged from a closed
//! tab) on the next page load, whatever a script of the site may have left there.

use super::outbox::{Entry, Outbox, State};
use super::policy::Policy;
use crate::json::{self, Value};
use crate::digits::{push_unsigned, unsigned};

/// What a restore or merge found in a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Events taken into the outbox.
    pub restored: usize,
    /// Events lost: unreadable entries, or past the queue bounds (counted in the next batch's `dropped`).
    pub dropped: u64,
    /// Why some or all of the snapshot was ignored, for the debug log.
    pub problem: Option<String>,
}

impl Outbox {
    /// For localStorage: every event not yet acknowledged (in-flight ones and those left in an
    /// unconfirmed beacon too: the next page load sends them again), the unreported drop count,
    /// the backoff state and the last confirmation (a field older snippets ignore).
    /// `{"v":1,"dropped":N,"failures":N,"retry_at":ms,"hold_until":ms,"confirmed_at":ms,"events":[["id","json"],…]}`
    pub fn snapshot(&self) -> String {
        let mut out = String::with_capacity(self.stored_bytes + self.stored_bytes / 4 + 128);
        out.push_str("{\"v\":1,\"dropped\":");
        push_unsigned(&mut out, self.dropped_unreported());
        out.push_str(",\"failures\":");
        push_unsigned(&mut out, u64::from(self.failures));
        out.push_str(",\"retry_at\":");
        push_unsigned(&mut out, self.retry_at);
        out.push_str(",\"hold_until\":");
        push_unsigned(&mut out, self.hold_until);
        out.push_str(",\"confirmed_at\":");
        push_unsigned(&mut out, self.confirmed_at);
        out.push_str(",\"events\":[");
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            json::write_str(&mut out, &entry.id);
            out.push(',');
            json::write_str(&mut out, &entry.json);
            out.push(']');
        }
        out.push_str("]}");
        out
    }

    /// An outbox from a parsed snapshot (the browser parses with its own `JSON.parse`, so core's
    /// text parser stays out of the wasm). Anything unreadable restores as empty (or without the
    /// bad entries) and says why; restored events are due at once.
    pub fn restore_value(policy: Policy, snapshot: &Value, now: u64) -> (Outbox, RestoreReport) {
        let mut outbox = Outbox::new(policy);
        let report = outbox.merge_value(snapshot, now);
        (outbox, report)
    }

    /// Adopts the events of another snapshot (an earlier page load, a closed tab) that this
    /// outbox does not hold yet, with their drop count, the stricter backoff and the later
    /// confirmation. Every restored event is pending, those an unconfirmed beacon carried too:
    /// this is the later page load their doubt was held for.
    pub fn merge_value(&mut self, root: &Value, now: u64) -> RestoreReport {
        let mut report = RestoreReport::default();
        if root.get("v").and_then(Value::as_f64) != Some(1.0) {
            report.problem = Some("stored outbox ignored: not a version 1 outbox".to_string());
            return report;
        }
        let Some(stored) = root.get("events").and_then(Value::as_array) else {
            report.problem = Some("stored outbox ignored: no \"events\" array".to_string());
            return report;
        };
        let limit = self.policy.event_limit();
        let mut unreadable = 0u64;
        let mut too_large = 0u64;
        for item in stored {
            let (id, event_json) = match item.as_array() {
                Some([Value::String(id), Value::String(event_json)]) if !id.is_empty() && looks_like_object(event_json) => (id, event_json),
                _ => {
                    unreadable += 1;
                    continue;
                }
            };
            if event_json.len() > limit {
                too_large += 1;
            } else if !self.contains(id) {
                self.stored_bytes += event_json.len();
                // Overdue on arrival: restored events go out with the first poll.
                let queued_at = now.saturating_sub(self.policy.max_delay_ms);
                self.entries.push(Entry { id: id.clone(), json: event_json.clone(), queued_at, state: State::Pending, maybe_sent: true });
                report.restored += 1;
            }
        }
        let lost = unreadable + too_large;
        self.dropped_unreported += lost + read_count(root, "dropped");
        self.dropped_total += lost;
        // A clock that went backwards must not park the events: clamp how far ahead we wait.
        let horizon = now.saturating_add(self.policy.backoff_cap_ms.max(self.policy.max_retry_after_ms));
        self.failures = self.failures.max(read_count(root, "failures").min(64) as u32);
        self.retry_at = self.retry_at.max(read_count(root, "retry_at").min(horizon));
        self.hold_until = self.hold_until.max(read_count(root, "hold_until").min(horizon));
        // A missing field (an older snapshot) reads as 0: never confirmed, so no beacon is trusted.
        self.confirmed_at = self.confirmed_at.max(read_count(root, "confirmed_at"));
        let before = self.dropped_total;
        self.enforce_bounds();
        let evicted = self.dropped_total - before;
        report.restored -= (evicted as usize).min(report.restored);
        report.dropped = lost + evicted;
        if unreadable > 0 {
            report.problem = Some([&unsigned(unreadable), " stored events were unreadable and dropped"].concat());
        } else if too_large > 0 {
            report.problem = Some([&unsigned(too_large), " stored events exceeded the ", &unsigned(limit as u64), "-byte event limit and were dropped"].concat());
        }
        report
    }
}

fn looks_like_object(text: &str) -> bool {
    text.starts_with('{') && text.ends_with('}')
}

/// A non-negative whole number from a snapshot field; 0 when missing or malformed.
fn read_count(root: &Value, key: &str) -> u64 {
    match root.get(key) {
        // `as` saturates: a huge value becomes u64::MAX, callers clamp it.
        Some(Value::Number(n)) if *n >= 0.0 => *n as u64,
        _ => 0,
    }
}
