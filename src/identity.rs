//! Who this browser is: a random visitor id and its sticky assignments, kept in first-party
//! localStorage. With consent required, everything stays in memory until `consent(true)`.

use splitbeam_core::assign::Sticky;
use splitbeam_core::json::Value;
use splitbeam_core::identity::{self as rules, FORCED_KEY, STICKY_KEY, VISITOR_KEY};

use crate::consent::Consent;
use crate::js_value;
use crate::storage::{self, Area};

pub struct Identity {
    pub visitor_id: String,
    /// No id was stored before this page view.
    pub new_visitor: bool,
    pub sticky: Vec<Sticky>,
}

impl Identity {
    /// Reads the stored identity, or makes a new one; stores it only when allowed. `handover` is the
    /// (visitor id, new visitor) the first-paint module already decided with on this page.
    pub fn load(consent: Consent, handover: Option<(String, bool)>) -> Identity {
        let identity = Identity::read(handover);
        // A returning visitor's storage already holds what was just read: no write on every page load.
        if identity.new_visitor {
            identity.save(consent);
        }
        identity
    }

    fn read(handover: Option<(String, bool)>) -> Identity {
        let (visitor_id, new_visitor) = match handover.filter(|(id, _)| id.starts_with("v_")) {
            Some(handed) => handed,
            None => {
                let stored = storage::read(Area::Local, VISITOR_KEY);
                rules::visitor_id(stored.as_deref(), &storage::random_bytes())
            }
        };
        let sticky = storage::read(Area::Local, STICKY_KEY).map(|text| parse_sticky(&text)).unwrap_or_default();
        Identity { visitor_id, new_visitor, sticky }
    }

    /// Records new assignments (each replacing an older one for the same experiment) and saves them
    /// in one write: a page with 50 experiments must not rewrite storage 50 times.
    pub fn remember(&mut self, assigned: Vec<Sticky>, consent: Consent) {
        if rules::note_sticky(&mut self.sticky, assigned) {
            self.save_sticky(consent);
        }
    }

    /// `splitbeam.consent(granted)` (already set in `consent`): granting stores what was kept in
    /// memory; withdrawing erases it.
    pub fn consent_changed(&self, consent: Consent) {
        if consent.may_store() {
            self.save(consent);
        } else {
            storage::remove(Area::Local, VISITOR_KEY);
            storage::remove(Area::Local, STICKY_KEY);
            storage::remove(Area::Session, FORCED_KEY);
            // The inline tag's signed preview token (www/tag.js).
            storage::remove(Area::Session, "splitbeam_preview");
        }
    }

    fn save(&self, consent: Consent) {
        if !consent.may_store() {
            return;
        }
        // Storage may be full or blocked: the identity still holds for this page view.
        storage::write(Area::Local, VISITOR_KEY, &self.visitor_id);
        self.save_sticky(consent);
    }

    fn save_sticky(&self, consent: Consent) {
        if !consent.may_store() {
            return;
        }
        // Storage may be full or blocked: the assignment still holds for this page view.
        storage::write(Area::Local, STICKY_KEY, &sticky_json(&self.sticky));
    }
}

/// QA overrides: this URL's `?splitbeam=` (in `search`, the query string) plus earlier ones of this
/// session; kept for the session when storing is allowed.
pub fn forced(search: &str, consent: Consent) -> Vec<(String, String)> {
    let query_value = splitbeam_core::url::query_param(search, "splitbeam");
    let earlier = storage::read(Area::Session, FORCED_KEY).unwrap_or_default();
    let forced = rules::forced(&earlier, query_value.as_deref());
    if consent.may_store() && query_value.is_some() {
        storage::write(Area::Session, FORCED_KEY, &rules::forced_text(&forced));
    }
    forced
}

/// The rows as `STICKY_KEY` keeps them (`splitbeam_core::identity::write_sticky`).
fn sticky_json(sticky: &[Sticky]) -> String {
    let mut out = String::new();
    rules::write_sticky(&mut out, sticky);
    out
}

/// Anything malformed in storage is ignored row by row: the visitor is just assigned afresh.
fn parse_sticky(text: &str) -> Vec<Sticky> {
    let Some(Value::Array(rows)) = js_value::parse_json(text) else { return Vec::new() };
    rows.iter()
        .filter_map(|row| {
            let field = |i: usize| row.as_array()?.get(i)?.as_str().map(String::from);
            Some(Sticky { experiment: field(0)?, variant: field(1)?, fingerprint: field(2)? })
        })
        .collect()
}
