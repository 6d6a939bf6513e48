//! The visitor's session (core's 30-minute SessionClock) and which experiments were already exposed
//! in it, kept in localStorage so that an exposure is sent once per visitor per experiment per session.

use splitbeam_core::event::{Session, SessionClock};
use splitbeam_core::json::{write_strs, Value};

use crate::js_value;
use crate::storage::{self, random_bytes, Area};

const SESSION_KEY: &str = "splitbeam_session";
/// `[session id, experiment key, ...]`: the experiments exposed in that session.
const EXPOSED_KEY: &str = "splitbeam_exposed";

/// The stored last-activity time may lag this much behind (30-minute sessions): saves writes.
const STORE_EVERY_MS: u64 = 10_000;

pub struct Sessions {
    current: Option<Session>,
    /// `last_seen` as last written to storage.
    stored_last_seen: u64,
    exposed: Vec<String>,
    clock: SessionClock,
}

impl Sessions {
    /// The stored session and its exposures (nothing is read when `persist` is off).
    pub fn load(persist: bool) -> Sessions {
        let read = |key| if persist { storage::read(Area::Local, key) } else { None };
        let current = read(SESSION_KEY).and_then(|text| Session::decode(&text));
        let exposed = read(EXPOSED_KEY).map(|text| parse_exposed(&text)).unwrap_or_default();
        let stored_last_seen = current.as_ref().map_or(0, |s| s.last_seen_ms);
        let mut sessions = Sessions { current, stored_last_seen, exposed: Vec::new(), clock: SessionClock::default() };
        // Exposures of another (ended) session do not carry over.
        if let (Some(session), Some((id, keys))) = (&sessions.current, exposed.split_first()) {
            if *id == session.id {
                sessions.exposed = keys.to_vec();
            }
        }
        sessions
    }

    /// The session id for activity now (a new one after 30 minutes of inactivity), saved.
    pub fn touch(&mut self, now: u64, persist: bool) -> String {
        let (session, rotated) = self.clock.touch(self.current.take(), now, random_bytes());
        if rotated {
            self.exposed.clear();
        }
        let id = session.id.clone();
        if persist && (rotated || session.last_seen_ms >= self.stored_last_seen + STORE_EVERY_MS) {
            storage::store(SESSION_KEY, &session.encode());
            self.stored_last_seen = session.last_seen_ms;
        }
        self.current = Some(session);
        id
    }

    /// Which of `experiments` still need their exposure in the session `session_id` (in order);
    /// marks them as done, with one storage write for all of them.
    pub fn first_exposures<'a>(&mut self, session_id: &str, experiments: impl Iterator<Item = &'a str>, persist: bool) -> Vec<bool> {
        let before = self.exposed.len();
        let first: Vec<bool> = experiments
            .map(|experiment| {
                let first = !self.exposed.iter().any(|e| e == experiment);
                if first {
                    self.exposed.push(experiment.to_string());
                }
                first
            })
            .collect();
        if persist && self.exposed.len() > before {
            let mut rows: Vec<&str> = vec![session_id];
            rows.extend(self.exposed.iter().map(String::as_str));
            let mut text = String::new();
            write_strs(&mut text, &rows);
            storage::store(EXPOSED_KEY, &text);
        }
        first
    }
}

/// Anything malformed reads as "nothing exposed yet".
fn parse_exposed(text: &str) -> Vec<String> {
    let Some(Value::Array(rows)) = js_value::parse_json(text) else { return Vec::new() };
    rows.iter().filter_map(|row| row.as_str().map(String::from)).collect()
}
