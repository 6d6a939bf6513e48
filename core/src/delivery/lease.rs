//! Which tab may send the events shared in localStorage.

use super::policy::Policy;
use crate::json::{self, Value};

/// Which tab may send the shared, persisted events: the holder of an unexpired lease in
/// localStorage. Tabs renew it while sending; a closed tab's lease simply runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: u64,
}

impl Lease {
    /// A lease for `me` from `now`, for `policy.lease_ms`.
    pub fn take(me: &str, now: u64, policy: &Policy) -> Lease {
        Lease { owner: me.to_string(), until_ms: now.saturating_add(policy.lease_ms) }
    }

    /// Renew once half the lease has passed, so a busy tab never lets it lapse between sends.
    pub fn needs_renewal(&self, now: u64, policy: &Policy) -> bool {
        now.saturating_add(policy.lease_ms / 2) >= self.until_ms
    }

    /// `{"owner":"…","until":ms}`.
    pub fn encode(&self) -> String {
        let mut out = String::from("{\"owner\":");
        json::write_str(&mut out, &self.owner);
        out.push_str(",\"until\":");
        crate::digits::push_unsigned(&mut out, self.until_ms);
        out.push('}');
        out
    }

    /// A parsed lease (the browser's `JSON.parse`); `None` for anything unreadable: the lease is
    /// then free, as if absent.
    pub fn from_value(root: &Value) -> Option<Lease> {
        let owner = root.get("owner")?.as_str()?.to_string();
        let until = root.get("until")?.as_f64()?;
        (until >= 0.0 && !owner.is_empty()).then_some(Lease { owner, until_ms: until as u64 })
    }
}

/// Whether the tab `me` may send persisted events now: no lease, an expired one, or its own.
pub fn may_send(lease: Option<&Lease>, me: &str, now: u64) -> bool {
    match lease {
        None => true,
        Some(lease) => lease.owner == me || now >= lease.until_ms,
    }
}
