//! The history of experiments.json edits made through the dashboard: who, when, which action, and
//! the experiment before and after (its JSON), so any change can be looked at and reverted. A
//! SQLite file next to the database (`splitbeam.db.history`), apart from the events so that it
//! works with either store and never waits on the ingest writer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Where `serve` keeps the history for the database at `db`.
pub fn default_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "splitbeam.db".into());
    name.push(".history");
    db.with_file_name(name)
}

/// The most changes one history answer lists (newest first).
pub const MAX_LISTED: u32 = 200;

/// One recorded change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// The admin session (its id) or `bearer token`.
    pub who: String,
    /// The client's address and User-Agent, as seen by the collector.
    pub client: String,
    /// create, edit, start, stop, winner, archive, revert.
    pub action: String,
    pub experiment: String,
    /// The experiment's JSON before (null when it was created) and after (null when it was removed).
    pub before: Option<String>,
    pub after: Option<String>,
    /// The file's ETag before and after the write.
    pub etag_before: String,
    pub etag_after: String,
    /// For a revert: the change it undid.
    pub reverts: Option<i64>,
}

/// What a new record holds (the id and time are given by `record`).
pub struct NewChange<'a> {
    pub who: &'a str,
    pub client: &'a str,
    pub action: &'a str,
    pub experiment: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub etag_before: &'a str,
    pub etag_after: &'a str,
    pub reverts: Option<i64>,
}

pub struct History {
    db: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    client TEXT NOT NULL,
    action TEXT NOT NULL,
    experiment TEXT NOT NULL,
    before TEXT,
    after TEXT,
    etag_before TEXT NOT NULL,
    etag_after TEXT NOT NULL,
    reverts INTEGER
);
CREATE INDEX IF NOT EXISTS changes_by_experiment ON changes (experiment, id);
";

impl History {
    pub fn open(path: &Path) -> anyhow::Result<History> {
        let db = Connection::open(path).with_context(|| format!("opening the edit history {}", path.display()))?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL").with_context(|| format!("{}: WAL", path.display()))?;
        // An acknowledged edit's record survives a power cut, like the file it describes.
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(SCHEMA).with_context(|| format!("{}: creating the changes table", path.display()))?;
        Ok(History { db: Mutex::new(db) })
    }

    /// Records `change` and, in the same transaction, runs `write` (the file write): the record is
    /// committed only when the write succeeded, so the history never lists an edit that did not
    /// happen. Returns the new change's id.
    pub fn record(&self, change: NewChange<'_>, at_ms: i64, write: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<i64> {
        let mut db = self.db.lock().map_err(|_| anyhow::anyhow!("the history lock is poisoned"))?;
        let tx = db.transaction().context("starting a history transaction")?;
        tx.execute(
            "INSERT INTO changes (at, who, client, action, experiment, before, after, etag_before, etag_after, reverts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                at_ms,
                change.who,
                change.client,
                change.action,
                change.experiment,
                change.before,
                change.after,
                change.etag_before,
                change.etag_after,
                change.reverts
            ],
        )
        .context("recording the change")?;
        let id = tx.last_insert_rowid();
        write()?;
        tx.commit().context("committing the change record")?;
        Ok(id)
    }

    /// The newest changes (of one experiment, or all), at most `MAX_LISTED`.
    pub fn list(&self, experiment: Option<&str>) -> anyhow::Result<Vec<Change>> {
        let db = self.db.lock().map_err(|_| anyhow::anyhow!("the history lock is poisoned"))?;
        let mut statement = db.prepare(
            "SELECT id, at, who, client, action, experiment, before, after, etag_before, etag_after, reverts
             FROM changes WHERE ?1 IS NULL OR experiment = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![experiment, MAX_LISTED], row_to_change)?;
        rows.collect::<Result<Vec<_>, _>>().context("reading the history")
    }

    pub fn get(&self, id: i64) -> anyhow::Result<Option<Change>> {
        let db = self.db.lock().map_err(|_| anyhow::anyhow!("the history lock is poisoned"))?;
        db.query_row(
            "SELECT id, at, who, client, action, experiment, before, after, etag_before, etag_after, reverts
             FROM changes WHERE id = ?1",
            params![id],
            row_to_change,
        )
        .optional()
        .context("reading a change")
    }
}

fn row_to_change(row: &rusqlite::Row<'_>) -> rusqlite::Result<Change> {
    Ok(Change {
        id: row.get(0)?,
        at: row.get(1)?,
        who: row.get(2)?,
        client: row.get(3)?,
        action: row.get(4)?,
        experiment: row.get(5)?,
        before: row.get(6)?,
        after: row.get(7)?,
        etag_before: row.get(8)?,
        etag_after: row.get(9)?,
        reverts: row.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change<'a>(experiment: &'a str, after: &'a str) -> NewChange<'a> {
        NewChange {
            who: "session abc",
            client: "127.0.0.1",
            action: "edit",
            experiment,
            before: None,
            after: Some(after),
            etag_before: "\"1\"",
            etag_after: "\"2\"",
            reverts: None,
        }
    }

    #[test]
    fn a_failed_write_leaves_no_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = History::open(&dir.path().join("h.db")).expect("open");
        let kept = history.record(change("a", "{}"), 1, || Ok(())).expect("recorded");
        assert!(history.record(change("a", "{\"x\":1}"), 2, || anyhow::bail!("disk full")).is_err());
        history.record(change("b", "{}"), 3, || Ok(())).expect("recorded");
        let of_a = history.list(Some("a")).expect("list");
        assert_eq!(of_a.iter().map(|c| c.id).collect::<Vec<_>>(), vec![kept]);
        assert_eq!(history.list(None).expect("list").len(), 2);
        assert_eq!(history.get(kept).expect("get").map(|c| c.after), Some(Some("{}".to_string())));
    }

    #[test]
    fn it_lives_next_to_the_database() {
        assert_eq!(default_path(Path::new("/var/lib/sb/splitbeam.db")), Path::new("/var/lib/sb/splitbeam.db.history"));
    }
}
