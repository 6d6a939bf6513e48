//! The embedded SQLite backend: one writer thread that group-commits batches (each batch in its
//! own savepoint, so it lands whole or not at all) and keeps running aggregates; pooled readers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::contribution::{contribution, Contribution, GoalHit};
use super::{ExperimentTotals, FunnelCounts, GoalTotals, InsertOutcome, PendingInsert, Store, VariantCount};
use crate::ingest::{Event, EventType};

/// Batches waiting for the writer; beyond this `/collect` answers 503 and the snippet retries.
const QUEUE_CAPACITY: usize = 1024;
/// Most events committed in one transaction: bounds the latency of the first batch in a group.
const MAX_GROUP_EVENTS: usize = 20_000;
/// A visitor's goals that count toward results: the first this many after their first exposure.
/// Far above any shopper's, it bounds what one goal event can cost the writer (re-deriving the
/// visitor reads at most this many rows) however many a caller posts for one visitor id.
pub const MAX_COUNTED_GOALS: i64 = 1_000;

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

/// The writer queue is full: the caller should answer 503 with Retry-After.
#[derive(Debug)]
pub struct Overloaded;

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the collector is busy writing; retry shortly")
    }
}

impl std::error::Error for Overloaded {}

enum Job {
    Insert { events: Vec<Event>, reply: oneshot::Sender<anyhow::Result<InsertOutcome>> },
    RegisterFunnels { funnels: Vec<(String, Vec<String>)>, reply: mpsc::Sender<anyhow::Result<()>> },
}

pub struct SqliteStore {
    path: PathBuf,
    jobs: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its writer thread.
    pub fn open(path: &Path, durability: Durability) -> anyhow::Result<SqliteStore> {
        let conn = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=5000; \
             PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
        ))
        .with_context(|| format!("configuring database {}", path.display()))?;
        add_counting_columns(&conn).with_context(|| format!("upgrading the schema of {}", path.display()))?;
        conn.execute_batch(include_str!("schema.sql"))
            .with_context(|| format!("creating the schema in {}", path.display()))?;
        let funnels = stored_funnels(&conn)?;

        let (jobs, queue) = mpsc::sync_channel(QUEUE_CAPACITY);
        let writer = std::thread::Builder::new()
            .name("splitbeam-sqlite-writer".to_string())
            .spawn(move || writer_loop(conn, funnels, queue))
            .context("starting the SQLite writer thread")?;
        Ok(SqliteStore { path: path.to_path_buf(), jobs: Some(jobs), writer: Some(writer), readers: Mutex::new(Vec::new()) })
    }

    /// Opens an existing database (the CLI's `results` and `export` must not create one).
    pub fn open_existing(path: &Path) -> anyhow::Result<SqliteStore> {
        if !path.is_file() {
            anyhow::bail!("no database at {} (start `splitbeam serve --db {}` first)", path.display(), path.display());
        }
        SqliteStore::open(path, Durability::Normal)
    }

    /// `insert_batch` for callers without an async runtime (benchmarks, tools).
    pub fn insert_batch_blocking(&self, events: Vec<Event>) -> anyhow::Result<InsertOutcome> {
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
    }
}

fn writer_stopped() -> anyhow::Error {
    anyhow::anyhow!("the SQLite writer has stopped")
}

impl Store for SqliteStore {
    fn insert_batch(&self, events: Vec<Event>) -> PendingInsert {
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
        self.with_reader(|conn| read_totals(conn, experiment, funnel))
            .with_context(|| format!("reading the results of experiment {experiment:?}"))
    }

    fn visitor_counts(&self) -> anyhow::Result<Vec<VariantCount>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT experiment, variant, visitors FROM variant_totals ORDER BY experiment, variant",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(VariantCount { experiment: r.get(0)?, variant: r.get(1)?, visitors: r.get::<_, i64>(2)?.max(0) as u64 })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn export(&self, experiment: &str, each: &mut dyn FnMut(&Event) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                // Counted visitors and bots alike: bots are kept out of results, not out of export.
                "WITH exposed (visitor) AS (SELECT visitor FROM exposures WHERE experiment = ?1 \
                   UNION SELECT visitor FROM bot_exposures WHERE experiment = ?1) \
                 SELECT e.id, e.type, e.ts, e.visitor, e.session, e.url, e.experiment, e.variant, e.goal, e.value, e.body, \
                   e.counted, e.bot \
                 FROM exposed x JOIN events e ON e.visitor = x.visitor \
                 WHERE e.type <> 'exposure' OR e.experiment = ?1 \
                 ORDER BY x.visitor, e.ts, e.id",
            )?;
            let mut rows = stmt.query([experiment])?;
            let mut written = 0u64;
            while let Some(row) = rows.next()? {
                let kind: String = row.get(1)?;
                let event = Event {
                    id: row.get(0)?,
                    kind: EventType::parse(&kind).with_context(|| format!("stored event has unknown type {kind:?}"))?,
                    ts: row.get(2)?,
                    visitor: row.get(3)?,
                    session: row.get(4)?,
                    url: row.get(5)?,
                    experiment: row.get(6)?,
                    variant: row.get(7)?,
                    goal: row.get(8)?,
                    value: row.get(9)?,
                    body: row.get(10)?,
                    counted: row.get(11)?,
                    bot: row.get(12)?,
                };
                each(&event)?;
                written += 1;
            }
            Ok(written)
        })
        .with_context(|| format!("exporting experiment {experiment:?}"))
    }
}

// ---- the writer thread ----

fn writer_loop(mut conn: Connection, mut funnels: HashMap<String, Vec<String>>, queue: Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut inserts = Vec::new();
        let mut group_events = 0usize;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Insert { events, reply } => {
                    group_events += events.len();
                    inserts.push((events, reply));
                }
                Job::RegisterFunnels { funnels: wanted, reply } => {
                    // Keep the order: batches queued before the registration commit first.
                    commit_inserts(&mut conn, &funnels, std::mem::take(&mut inserts));
                    let outcome = rebuild_funnels(&mut conn, &mut funnels, wanted);
                    if let Err(e) = &outcome {
                        tracing::error!("registering funnels failed: {e:#}");
                    }
                    let _ = reply.send(outcome);
                }
            }
            if group_events < MAX_GROUP_EVENTS {
                next = queue.try_recv().ok();
            }
        }
        commit_inserts(&mut conn, &funnels, inserts);
    }
}

type InsertJob = (Vec<Event>, oneshot::Sender<anyhow::Result<InsertOutcome>>);

/// One transaction for the whole group, one savepoint per batch: a failing batch is rolled back
/// alone; every reply is sent only after the commit returned.
fn commit_inserts(conn: &mut Connection, funnels: &HashMap<String, Vec<String>>, jobs: Vec<InsertJob>) {
    if jobs.is_empty() {
        return;
    }
    // The replies stay out here, so that a group failing anywhere (even at BEGIN) answers every batch.
    let (batches, replies): (Vec<Vec<Event>>, Vec<_>) = jobs.into_iter().unzip();
    let mut outcomes = Vec::with_capacity(batches.len());
    let committed = (|| -> anyhow::Result<()> {
        let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for events in &batches {
            let savepoint = tx.savepoint()?;
            let outcome = apply_batch(&savepoint, funnels, events);
            let outcome = match outcome {
                Ok(done) => savepoint.commit().map(|_| done).map_err(anyhow::Error::from),
                // Dropping the savepoint rolls the batch back.
                Err(e) => Err(e),
            };
            outcomes.push(outcome);
        }
        tx.commit()?;
        Ok(())
    })();
    drop(batches);
    match committed {
        Ok(()) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            // Another process holding the database (a backup, a `sqlite3` shell) past busy_timeout
            // is a reason to retry, not an internal error: 503 + Retry-After, nothing acknowledged.
            let locked = e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code).is_some_and(
                |code| matches!(code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked),
            );
            tracing::error!("committing a group of {} batches failed: {e:#}", replies.len());
            for reply in replies {
                let failure = if locked {
                    anyhow::Error::new(super::Unavailable(format!("the database is locked: {e:#}")))
                } else {
                    anyhow::anyhow!("the batch was not stored: {e:#}")
                };
                let _ = reply.send(Err(failure));
            }
        }
    }
}

/// Stores one batch's new events and brings the aggregates of every visitor it touches up to date.
fn apply_batch(conn: &Connection, funnels: &HashMap<String, Vec<String>>, events: &[Event]) -> anyhow::Result<InsertOutcome> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO events (id, type, ts, visitor, session, url, experiment, variant, goal, value, body, counted, bot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut outcome = InsertOutcome::default();
    // (experiment, visitor) → the earliest new exposure in this batch.
    let mut touched: BTreeMap<(String, String), Option<(i64, String)>> = BTreeMap::new();
    let mut goal_visitors: BTreeSet<&str> = BTreeSet::new();
    for e in events {
        let inserted = insert.execute(params![
            e.id,
            e.kind.as_str(),
            e.ts,
            e.visitor,
            e.session,
            e.url,
            e.experiment,
            e.variant,
            e.goal,
            e.value,
            e.body,
            e.counted,
            e.bot
        ])?;
        if inserted == 0 {
            outcome.duplicates += 1;
            continue;
        }
        outcome.stored += 1;
        if !e.counted {
            // Stored for export only; a bot's exposure is remembered to be counted as excluded.
            if let (true, EventType::Exposure, Some(experiment)) = (e.bot, e.kind, &e.experiment) {
                conn.prepare_cached("INSERT OR IGNORE INTO bot_exposures (experiment, visitor) VALUES (?1, ?2)")?
                    .execute([experiment, &e.visitor])?;
            }
            continue;
        }
        match (e.kind, &e.experiment, &e.variant) {
            (EventType::Exposure, Some(experiment), Some(variant)) => {
                let earliest = touched.entry((experiment.clone(), e.visitor.clone())).or_insert(None);
                if earliest.as_ref().is_none_or(|(ts, _)| e.ts < *ts) {
                    *earliest = Some((e.ts, variant.clone()));
                }
            }
            (EventType::Goal, _, _) => {
                goal_visitors.insert(&e.visitor);
            }
            _ => {}
        }
    }
    if !goal_visitors.is_empty() {
        let mut exposed_in = conn.prepare_cached("SELECT experiment FROM exposures WHERE visitor = ?1")?;
        for visitor in goal_visitors {
            let experiments = exposed_in.query_map([visitor], |r| r.get::<_, String>(0))?;
            for experiment in experiments {
                touched.entry((experiment?, visitor.to_string())).or_insert(None);
            }
        }
    }
    let no_funnel = Vec::new();
    for ((experiment, visitor), exposure) in touched {
        let funnel = funnels.get(&experiment).unwrap_or(&no_funnel);
        refresh_visitor(conn, funnel, &experiment, &visitor, exposure)
            .with_context(|| format!("updating experiment {experiment:?} for visitor {visitor:?}"))?;
    }
    Ok(outcome)
}

struct ExposureRow {
    variant: String,
    first_ts: i64,
    funnel_depth: u32,
}

/// Re-derives one visitor's contribution to one experiment from their stored events and moves
/// the aggregates by the difference. Out-of-order arrival is why it re-derives: an exposure that
/// arrives late can make earlier-stored goals count, or move the visitor to another variant.
fn refresh_visitor(
    conn: &Connection,
    funnel: &[String],
    experiment: &str,
    visitor: &str,
    new_exposure: Option<(i64, String)>,
) -> anyhow::Result<()> {
    let old = conn
        .prepare_cached("SELECT variant, first_ts, funnel_depth FROM exposures WHERE experiment = ?1 AND visitor = ?2")?
        .query_row([experiment, visitor], |r| {
            Ok(ExposureRow { variant: r.get(0)?, first_ts: r.get(1)?, funnel_depth: r.get::<_, i64>(2)?.max(0) as u32 })
        })
        .optional()?;
    let (variant, first_ts) = match (&old, new_exposure) {
        (None, None) => return Ok(()),
        (None, Some((ts, variant))) => (variant, ts),
        (Some(row), Some((ts, variant))) if ts < row.first_ts => (variant, ts),
        (Some(row), _) => (row.variant.clone(), row.first_ts),
    };

    let old_contribution = match &old {
        None => Contribution::default(),
        Some(row) => {
            let mut stmt = conn.prepare_cached(
                "SELECT goal, value_sum FROM conversions WHERE experiment = ?1 AND visitor = ?2 ORDER BY goal",
            )?;
            let goals = stmt.query_map([experiment, visitor], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Contribution { goals: goals.collect::<Result<Vec<_>, _>>()?, funnel_depth: row.funnel_depth }
        }
    };
    let hits = {
        let mut stmt = conn.prepare_cached(
            "SELECT goal, ts, value FROM events INDEXED BY counted_goals_by_visitor \
             WHERE visitor = ?1 AND ts >= ?2 AND type = 'goal' AND counted = 1 AND goal IS NOT NULL ORDER BY ts LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![visitor, first_ts, MAX_COUNTED_GOALS], |r| {
            Ok(GoalHit { goal: r.get(0)?, ts: r.get(1)?, value: r.get(2)? })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let new_contribution = contribution(first_ts, &hits, funnel);

    let same_variant = old.as_ref().is_some_and(|row| row.variant == variant);
    let same_start = old.as_ref().is_some_and(|row| row.first_ts == first_ts);
    if same_variant && same_start && old_contribution == new_contribution {
        return Ok(());
    }

    conn.prepare_cached(
        "INSERT INTO exposures (experiment, visitor, variant, first_ts, funnel_depth) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (experiment, visitor) DO UPDATE SET variant = excluded.variant, first_ts = excluded.first_ts, \
         funnel_depth = excluded.funnel_depth",
    )?
    .execute(params![experiment, visitor, variant, first_ts, new_contribution.funnel_depth])?;

    if !same_variant {
        if let Some(row) = &old {
            add_visitors(conn, experiment, &row.variant, -1)?;
        }
        add_visitors(conn, experiment, &variant, 1)?;
    }

    // Take the old contribution out of the old variant and put the new one into the new variant;
    // unchanged goals of a visitor who stays in their variant are left alone.
    let old_variant = old.as_ref().map(|row| row.variant.as_str());
    for (goal, value) in &old_contribution.goals {
        let unchanged = same_variant && new_contribution.goals.iter().any(|(g, v)| g == goal && v == value);
        if let (Some(old_variant), false) = (old_variant, unchanged) {
            add_goal(conn, experiment, old_variant, goal, -1, -value, -value * value)?;
            conn.prepare_cached("DELETE FROM conversions WHERE experiment = ?1 AND visitor = ?2 AND goal = ?3")?
                .execute([experiment, visitor, goal])?;
        }
    }
    for (goal, value) in &new_contribution.goals {
        let unchanged = same_variant && old_contribution.goals.iter().any(|(g, v)| g == goal && v == value);
        if !unchanged {
            add_goal(conn, experiment, &variant, goal, 1, *value, value * value)?;
            conn.prepare_cached(
                "INSERT INTO conversions (experiment, visitor, goal, value_sum) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (experiment, visitor, goal) DO UPDATE SET value_sum = excluded.value_sum",
            )?
            .execute(params![experiment, visitor, goal, value])?;
        }
    }
    if !(same_variant && old_contribution.funnel_depth == new_contribution.funnel_depth) {
        if let (Some(old_variant), true) = (old_variant, old_contribution.funnel_depth > 0) {
            add_funnel(conn, experiment, old_variant, old_contribution.funnel_depth, -1)?;
        }
        if new_contribution.funnel_depth > 0 {
            add_funnel(conn, experiment, &variant, new_contribution.funnel_depth, 1)?;
        }
    }
    Ok(())
}

fn add_visitors(conn: &Connection, experiment: &str, variant: &str, delta: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO variant_totals (experiment, variant, visitors) VALUES (?1, ?2, ?3) \
         ON CONFLICT (experiment, variant) DO UPDATE SET visitors = visitors + excluded.visitors",
    )?
    .execute(params![experiment, variant, delta])
}

fn add_goal(
    conn: &Connection,
    experiment: &str,
    variant: &str,
    goal: &str,
    conversions: i64,
    value_sum: f64,
    value_sum_sq: f64,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO goal_totals (experiment, variant, goal, conversions, value_sum, value_sum_sq) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (experiment, variant, goal) DO UPDATE SET \
         conversions = conversions + excluded.conversions, value_sum = value_sum + excluded.value_sum, \
         value_sum_sq = value_sum_sq + excluded.value_sum_sq",
    )?
    .execute(params![experiment, variant, goal, conversions, value_sum, value_sum_sq])
}

fn add_funnel(conn: &Connection, experiment: &str, variant: &str, depth: u32, delta: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO funnel_totals (experiment, variant, depth, visitors) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (experiment, variant, depth) DO UPDATE SET visitors = visitors + excluded.visitors",
    )?
    .execute(params![experiment, variant, depth, delta])
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

/// Recomputes the funnel depth of every exposed visitor of each experiment whose funnel changed.
/// This scans the experiment once; it runs when a config with a new funnel is loaded.
fn rebuild_funnels(
    conn: &mut Connection,
    funnels: &mut HashMap<String, Vec<String>>,
    wanted: Vec<(String, Vec<String>)>,
) -> anyhow::Result<()> {
    for (experiment, steps) in wanted {
        if funnels.get(&experiment) == Some(&steps) {
            continue;
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM funnel_totals WHERE experiment = ?1", [&experiment])?;
        let depths = scan_funnel_depths(&tx, &experiment, &steps)?;
        let mut totals: HashMap<(String, u32), i64> = HashMap::new();
        {
            let mut update =
                tx.prepare_cached("UPDATE exposures SET funnel_depth = ?3 WHERE experiment = ?1 AND visitor = ?2")?;
            for (visitor, variant, depth) in depths {
                update.execute(params![experiment, visitor, depth])?;
                if depth > 0 {
                    *totals.entry((variant, depth)).or_default() += 1;
                }
            }
        }
        for ((variant, depth), visitors) in totals {
            add_funnel(&tx, &experiment, &variant, depth, visitors)?;
        }
        let encoded = serde_json::to_string(&steps)?;
        tx.execute(
            "INSERT INTO funnels (experiment, steps) VALUES (?1, ?2) ON CONFLICT (experiment) DO UPDATE SET steps = excluded.steps",
            params![experiment, encoded],
        )?;
        tx.commit().with_context(|| format!("storing the funnel of experiment {experiment:?}"))?;
        funnels.insert(experiment, steps);
    }
    Ok(())
}

/// (visitor, variant, funnel depth) of every visitor exposed to `experiment`, from raw events.
fn scan_funnel_depths(conn: &Connection, experiment: &str, steps: &[String]) -> anyhow::Result<Vec<(String, String, u32)>> {
    let exposed: Vec<(String, String, i64)> = {
        let mut stmt = conn.prepare("SELECT visitor, variant, first_ts FROM exposures WHERE experiment = ?1")?;
        let rows = stmt.query_map([experiment], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let mut hits_of = conn.prepare_cached(
        "SELECT goal, ts, value FROM events INDEXED BY counted_goals_by_visitor \
         WHERE visitor = ?1 AND ts >= ?2 AND type = 'goal' AND counted = 1 AND goal IS NOT NULL ORDER BY ts LIMIT ?3",
    )?;
    let mut depths = Vec::with_capacity(exposed.len());
    for (visitor, variant, first_ts) in exposed {
        let hits = hits_of
            .query_map(params![visitor, first_ts, MAX_COUNTED_GOALS], |r| Ok(GoalHit { goal: r.get(0)?, ts: r.get(1)?, value: r.get(2)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let depth = contribution(first_ts, &hits, steps).funnel_depth;
        depths.push((visitor, variant, depth));
    }
    Ok(depths)
}

// ---- reading ----

fn read_totals(conn: &Connection, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
    let variants = {
        let mut stmt = conn.prepare_cached(
            "SELECT variant, visitors FROM variant_totals WHERE experiment = ?1 AND visitors > 0 ORDER BY variant",
        )?;
        let rows = stmt.query_map([experiment], |r| {
            Ok(VariantCount {
                experiment: experiment.to_string(),
                variant: r.get(0)?,
                visitors: r.get::<_, i64>(1)?.max(0) as u64,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let goals = {
        let mut stmt = conn.prepare_cached(
            "SELECT variant, goal, conversions, value_sum, value_sum_sq FROM goal_totals \
             WHERE experiment = ?1 AND conversions > 0 ORDER BY variant, goal",
        )?;
        let rows = stmt.query_map([experiment], |r| {
            Ok(GoalTotals {
                variant: r.get(0)?,
                goal: r.get(1)?,
                conversions: r.get::<_, i64>(2)?.max(0) as u64,
                value_sum: r.get(3)?,
                value_sum_sq: r.get(4)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let funnel_counts = if funnel.is_empty() { Vec::new() } else { read_funnel(conn, experiment, funnel)? };
    let bot_visitors = conn
        .prepare_cached("SELECT count(*) FROM bot_exposures WHERE experiment = ?1")?
        .query_row([experiment], |r| r.get::<_, i64>(0))?
        .max(0) as u64;
    Ok(ExperimentTotals { variants, goals, funnel: funnel_counts, bot_visitors })
}

fn read_funnel(conn: &Connection, experiment: &str, steps: &[String]) -> anyhow::Result<Vec<FunnelCounts>> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT steps FROM funnels WHERE experiment = ?1")?
        .query_row([experiment], |r| r.get(0))
        .optional()?;
    let by_depth: Vec<(String, u32, u64)> = if stored == Some(serde_json::to_string(steps)?) {
        let mut stmt = conn.prepare_cached(
            "SELECT variant, depth, visitors FROM funnel_totals WHERE experiment = ?1 AND visitors > 0",
        )?;
        let rows = stmt.query_map([experiment], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64)))?;
        rows.collect::<Result<Vec<_>, _>>()?
    } else {
        // No running aggregate for this funnel (e.g. the CLI with another config): scan.
        scan_funnel_depths(conn, experiment, steps)?
            .into_iter()
            .filter(|(_, _, depth)| *depth > 0)
            .map(|(_, variant, depth)| (variant, depth, 1))
            .collect()
    };
    let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (variant, depth, visitors) in by_depth {
        let row = counts.entry(variant).or_insert_with(|| vec![0; steps.len()]);
        for step in row.iter_mut().take(depth as usize) {
            *step += visitors;
        }
    }
    Ok(counts.into_iter().map(|(variant, counts)| FunnelCounts { variant, counts }).collect())
}
