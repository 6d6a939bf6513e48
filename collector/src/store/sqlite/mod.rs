//! The embedded SQLite backend: one writer thread (`writer`) that group-commits batches (each lands
//! whole or not at all; a failing batch alone is refused) and keeps running aggregates
//! (`aggregates`); a checkpointer thread (`checkpointer`) that copies the WAL back into the
//! database off the writer's commits; pooled readers (`reads`).

mod aggregates;
mod checkpointer;
mod reads;
mod timelines;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;
use rusqlite::Connection;
use tokio::sync::oneshot;

use self::checkpointer::WalLimits;
use super::notices::StoredNotices;
use super::{VisitorTimeline, EventRow, ExperimentTotals, InsertOutcome, Overloaded, PendingInsert, Store, VariantCount};
use crate::ingest::Received;

/// Batches waiting for the writer; beyond this `/collect` answers 503 and the snippet retries.
const QUEUE_CAPACITY: usize = 1024;
/// Most events committed in one transaction: bounds the latency of the first batch in a group.
const MAX_GROUP_EVENTS: usize = 20_000;

/// How a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: a commit is in the WAL file (the OS page cache) before
    /// the batch is acknowledged, so it survives the collector being killed; a power cut may lose
    /// the last commits since the previous checkpoint, never corrupt the database.
    #[default]
    Normal,
    /// `synchronous=FULL`: the WAL is fsynced on every commit (one fsync per group of batches),
    /// so acknowledged batches survive a power cut too.
    Full,
}

enum Job {
    Insert { events: Vec<Received>, reply: oneshot::Sender<anyhow::Result<InsertOutcome>> },
    RegisterFunnels { funnels: Vec<(String, Vec<String>)>, reply: mpsc::Sender<anyhow::Result<()>> },
}

pub struct SqliteStore {
    path: PathBuf,
    jobs: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    checkpointer: checkpointer::Checkpointer,
    readers: Mutex<Vec<Connection>>,
    notices: Arc<StoredNotices>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its writer and checkpointer threads.
    pub fn open(path: &Path, durability: Durability) -> anyhow::Result<SqliteStore> {
        SqliteStore::open_with(path, durability, WalLimits::default())
    }

    fn open_with(path: &Path, durability: Durability, limits: WalLimits) -> anyhow::Result<SqliteStore> {
        let mut conn = writer_connection(path, durability)?;
        plan_once(&conn).with_context(|| format!("configuring database {}", path.display()))?;
        add_counting_columns(&conn).with_context(|| format!("upgrading the schema of {}", path.display()))?;
        conn.execute_batch(include_str!("schema.sql"))
            .with_context(|| format!("creating the schema in {}", path.display()))?;
        let funnels = stored_funnels(&conn)?;

        let checkpointer = checkpointer::Checkpointer::start(path, limits)?;
        let wal = checkpointer.watch();
        let hook_wal = wal.clone();
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
            hook_wal.committed(u32::try_from(frames).unwrap_or(0));
            Ok(())
        }))
        .with_context(|| format!("configuring database {}", path.display()))?;
        let (jobs, queue) = mpsc::sync_channel(QUEUE_CAPACITY);
        let notices = Arc::new(StoredNotices::default());
        let announce = notices.clone();
        let writer = std::thread::Builder::new()
            .name("splitbeam-sqlite-writer".to_string())
            .spawn(move || writer::writer_loop(conn, funnels, queue, announce, wal))
            .context("starting the SQLite writer thread")?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            jobs: Some(jobs),
            writer: Some(writer),
            checkpointer,
            readers: Mutex::new(Vec::new()),
            notices,
        })
    }

    /// Opens an existing database (the CLI's `results` and `export` must not create one).
    pub fn open_existing(path: &Path) -> anyhow::Result<SqliteStore> {
        if !path.is_file() {
            anyhow::bail!("no database at {} (start `splitbeam serve --db {}` first)", path.display(), path.display());
        }
        SqliteStore::open(path, Durability::Normal)
    }

    /// `insert_batch` for callers without an async runtime (benchmarks, tools).
    pub fn insert_batch_blocking(&self, events: Vec<Received>) -> anyhow::Result<InsertOutcome> {
        let (reply, answer) = oneshot::channel();
        self.sender()?.send(Job::Insert { events, reply }).map_err(|_| writer_stopped())?;
        answer.blocking_recv().map_err(|_| writer_stopped())?
    }

    fn sender(&self) -> anyhow::Result<&SyncSender<Job>> {
        self.jobs.as_ref().ok_or_else(writer_stopped)
    }

    fn with_reader<T>(&self, read: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let pooled = self.readers.lock().map_err(|_| anyhow::anyhow!("reader pool poisoned"))?.pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open(&self.path)
                    .with_context(|| format!("opening a reader on {}", self.path.display()))?;
                conn.execute_batch("PRAGMA query_only=1; PRAGMA busy_timeout=5000; PRAGMA cache_size=-16384;")?;
                plan_once(&conn)?;
                conn
            }
        };
        let outcome = read(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            pool.push(conn);
        }
        outcome
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish the batches it holds, then stop.
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        // Once nothing more is written: a last checkpoint, and the thread ends.
        self.checkpointer.stop();
    }
}

fn writer_stopped() -> anyhow::Error {
    anyhow::anyhow!("the SQLite writer has stopped")
}

impl Store for SqliteStore {
    fn insert_batch(&self, events: Vec<Received>) -> PendingInsert {
        let (reply, answer) = oneshot::channel();
        let queued = match self.sender() {
            Ok(jobs) => jobs.try_send(Job::Insert { events, reply }).map_err(|e| match e {
                TrySendError::Full(_) => anyhow::Error::new(Overloaded),
                TrySendError::Disconnected(_) => writer_stopped(),
            }),
            Err(e) => Err(e),
        };
        Box::pin(async move {
            queued?;
            answer.await.map_err(|_| writer_stopped())?
        })
    }

    fn register_funnels(&self, funnels: Vec<(String, Vec<String>)>) -> anyhow::Result<()> {
        let (reply, answer) = mpsc::channel();
        self.sender()?.send(Job::RegisterFunnels { funnels, reply }).map_err(|_| writer_stopped())?;
        answer.recv().map_err(|_| writer_stopped())?
    }

    fn experiment_totals(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
        self.with_reader(|conn| reads::read_totals(conn, experiment, funnel))
            .with_context(|| format!("reading the results of experiment {experiment:?}"))
    }

    fn visitor_counts(&self) -> anyhow::Result<Vec<VariantCount>> {
        self.with_reader(reads::visitor_counts).context("reading the visitor counts")
    }

    fn export(&self, experiment: &str, each: &mut dyn FnMut(&EventRow) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        self.with_reader(|conn| reads::export(conn, experiment, each))
            .with_context(|| format!("exporting experiment {experiment:?}"))
    }

    fn stored_notices(&self) -> Option<Arc<StoredNotices>> {
        Some(self.notices.clone())
    }

    fn visitor_timelines(&self, experiment: &str, each: &mut dyn FnMut(VisitorTimeline<'_>)) -> anyhow::Result<()> {
        self.with_reader(|conn| timelines::visitor_timelines(conn, experiment, each))
            .with_context(|| format!("reading experiment {experiment:?} over time"))
    }
}

/// The writer's connection. SQLite's automatic checkpoint is off: it would run inside the commit
/// that crosses 1,000 WAL frames, fsyncs and all, while the queue waits; `checkpointer` does it.
fn writer_connection(path: &Path, durability: Durability) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    // journal_size_limit: once the WAL starts over after a reader made it grow, the file is
    // truncated back to this (64 MiB) instead of keeping its largest size.
    // cache_size: 16 MiB. Every commit that split a b-tree page walks the whole page cache
    // (SQLite's balance swaps two page numbers through the locking page's number, far beyond the
    // end of the file; the end of the transaction then truncates the cache past the file's end
    // by scanning all of it): at 64 MiB that walk was a sixth of the writer's time. Pages not in
    // the cache come from the OS's page cache.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=5000; \
         PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0; \
         PRAGMA journal_size_limit=67108864;"
    ))
    .with_context(|| format!("configuring database {}", path.display()))?;
    Ok(conn)
}

/// Every statement keeps the plan it was prepared with, whatever values are bound later. Without
/// this, SQLite marks a statement whose plan might depend on a bound value (an ORDER BY next to a
/// bound term, a bound LIMIT) to be prepared again once that parameter is rebound, and rusqlite's
/// statement cache clears the bindings of every statement handed back to it: such statements were
/// parsed and planned again on every use (`writer`'s goal and conversion reads: a third of the
/// writer's CPU per batch under a flash sale's load). Our statements have one good plan (their indexes).
pub(super) fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map(|_| ())
}

/// Databases from before `counted`/`bot` get both columns (every old event counted, none a bot).
fn add_counting_columns(conn: &Connection) -> anyhow::Result<()> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('events')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if columns.is_empty() || columns.iter().any(|c| c == "counted") {
        return Ok(()); // a new database (the schema creates them) or already upgraded
    }
    conn.execute_batch(
        "ALTER TABLE events ADD COLUMN counted INTEGER NOT NULL DEFAULT 1; \
         ALTER TABLE events ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;",
    )?;
    Ok(())
}

fn stored_funnels(conn: &Connection) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let mut stmt = conn.prepare("SELECT experiment, steps FROM funnels")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut funnels = HashMap::new();
    for row in rows {
        let (experiment, steps) = row?;
        let steps: Vec<String> = serde_json::from_str(&steps)
            .with_context(|| format!("stored funnel of experiment {experiment:?} is not a JSON array"))?;
        funnels.insert(experiment, steps);
    }
    Ok(funnels)
}

