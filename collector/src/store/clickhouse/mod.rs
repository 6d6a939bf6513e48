//! The ClickHouse backend, for many stateless collectors in front of one ClickHouse cluster: each
//! batch is one JSONEachRow INSERT over HTTP. Results come from snapshots plus the events since
//! (`snapshot`, current ClickHouse) or, on servers without per-row block numbers (18.16), from
//! per-visitor aggregates kept by materialized views.

mod snapshot;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::{
    funnel_step_counts, EventRow, ExperimentTotals, GoalTotals, InsertOutcome, Overloaded, PendingInsert, Store, Unavailable,
    VariantCount,
};
use crate::ingest::Received;
use crate::store::notices::{Announcement, StoredNotices};

/// Inserts in flight at once; beyond this `/collect` answers 503 and the snippet retries, so a
/// slow ClickHouse does not pile up blocking threads.
const MAX_INFLIGHT_INSERTS: usize = 64;
/// How long one request to ClickHouse may take before the batch is refused (and retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest SQL text sent: the id lookup of the largest batch `/collect` accepts (1 MB of events)
/// quotes each id and visitor once, so it stays below twice the batch.
const MAX_QUERY_BYTES: usize = 4 * crate::ingest::MAX_BODY_BYTES;
/// How long aggregating the events stored before the aggregate tables existed may take (once).
const BACKFILL_TIMEOUT: Duration = Duration::from_secs(3600);
/// Answers larger than this are refused (results are a few rows; export streams instead).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// The raw event log. ReplacingMergeTree drops resent events (same visitor and id) when parts
/// merge; every read of it also keeps one row per id, so a resend is never counted before the merge.
const CREATE_EVENTS: &str = "CREATE TABLE IF NOT EXISTS {db}.events (\
    id String, type String, ts Int64, visitor String, session String, url String, \
    experiment Nullable(String), variant Nullable(String), goal Nullable(String), \
    value Nullable(Float64), body String, counted UInt8 DEFAULT 1, bot UInt8 DEFAULT 0\
) ENGINE = ReplacingMergeTree() ORDER BY (visitor, id)";
/// What an events table from before `counted`/`bot` gets (every old event counted, none a bot);
/// 18.16 has no `ADD COLUMN IF NOT EXISTS`, so the columns present are looked up first.
const COUNTING_COLUMNS: [(&str, &str); 2] = [("counted", "UInt8 DEFAULT 1"), ("bot", "UInt8 DEFAULT 0")];

// Results read these two aggregate tables, one row per (experiment, visitor) and per visitor, not
// the raw events. Their states (argMin, min, groupUniqArray) are idempotent and order-free: an
// event stored twice changes nothing, and an exposure or goal arriving late or out of order lands
// where it belongs. Reads use FINAL, which merges the rows of one key that background merges have
// not reached yet by a sorted merge (2-3x cheaper here than a hash GROUP BY on 18.16).

/// Each visitor's first exposure to each experiment: the variant of the earliest (ts, id).
const CREATE_FIRST_EXPOSURES: &str = "CREATE TABLE IF NOT EXISTS {db}.first_exposures (\
    experiment String, visitor String, \
    variant_state AggregateFunction(argMin, String, Tuple(Int64, String)), \
    first_ts_state AggregateFunction(min, Int64)\
) ENGINE = AggregatingMergeTree() ORDER BY (experiment, visitor)";
/// The rows of `first_exposures` for a set of events: its view's query and its backfill.
const FIRST_EXPOSURE_STATES: &str = "SELECT assumeNotNull(experiment) AS experiment, visitor, \
    argMinState(assumeNotNull(variant), (ts, id)) AS variant_state, minState(ts) AS first_ts_state \
    FROM {db}.events WHERE type = 'exposure' AND counted = 1 GROUP BY experiment, visitor";

/// Each visitor's goal events as (goal, ts, id, value): which goals count depends on the first
/// exposure of the experiment asked about, so the hits are kept, but gathered on one row.
const CREATE_VISITOR_GOALS: &str = "CREATE TABLE IF NOT EXISTS {db}.visitor_goals (\
    visitor String, hits_state AggregateFunction(groupUniqArray, Tuple(String, Int64, String, Float64))\
) ENGINE = AggregatingMergeTree() ORDER BY visitor";
const VISITOR_GOAL_STATES: &str = "SELECT visitor, \
    groupUniqArrayState((assumeNotNull(goal), ts, id, ifNull(value, 0))) AS hits_state \
    FROM {db}.events WHERE type = 'goal' AND isNotNull(goal) AND counted = 1 GROUP BY visitor";

/// Visitors whose exposures were kept out of results because they were bots ("N bot visitors excluded").
const CREATE_BOT_EXPOSURES: &str = "CREATE TABLE IF NOT EXISTS {db}.bot_exposures (experiment String, visitor String) \
    ENGINE = ReplacingMergeTree() ORDER BY (experiment, visitor)";
const BOT_EXPOSURE_ROWS: &str = "SELECT assumeNotNull(experiment) AS experiment, visitor \
    FROM {db}.events WHERE type = 'exposure' AND bot = 1 AND counted = 0";

/// Exists once the aggregate tables hold every event stored before their views were created
/// (a database from an earlier splitbeam is backfilled once; a crash midway backfills again).
/// `_v2`: the views keep out what does not count (bots, invented experiments); a database with
/// the first mark has its views and aggregate tables rebuilt once.
const BACKFILLED_MARK: &str = "aggregates_v2_backfilled";
/// Exists once the events table keeps block numbers and copies (`Dialect::Snapshots`) and the
/// snapshot tables exist: results are read from them.
const SNAPSHOTS_MARK: &str = "snapshots_v1";
const OLD_BACKFILLED_MARK: &str = "aggregates_backfilled";

/// Later than any event time (the ingest keeps them within ±2^53): "this funnel step was never reached".
const NEVER: &str = "toInt64(9223372036854775807)";

pub struct ClickHouseStore {
    client: Arc<Client>,
    inserts: Arc<Semaphore>,
    /// Whether results read snapshots (`Dialect::Snapshots` and a database `serve` prepared for them).
    snapshots: bool,
    /// `serve` only: a read stores what it computed as the next snapshot.
    keeps_snapshots: bool,
    /// The configured funnels, which the refresher keeps up to date.
    funnels: Arc<Mutex<Funnels>>,
    /// Dropped with the store: the refresher thread then stops.
    _stop_refresher: Option<mpsc::Sender<()>>,
    /// Batches this collector inserted, announced to its own live dashboards (others behind the
    /// same load balancer do not hear them; the dashboard's periodic check covers that).
    notices: Arc<StoredNotices>,
}

/// Each configured experiment with its funnel steps.
type Funnels = Vec<(String, Vec<String>)>;

/// Which SQL the server gets, chosen once from what it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// MergeTree keeps each row's insert block number (`enable_block_number_column`; 26.9
    /// tested): results from snapshots plus the events since.
    Snapshots,
    /// Older servers (18.16 tested): results from the per-visitor aggregates, one pass over the
    /// experiment's visitors per read.
    Aggregates,
}

/// A blocking HTTP client for one ClickHouse database.
struct Client {
    agent: ureq::Agent,
    /// e.g. `http://127.0.0.1:8123`, without a trailing slash.
    url: String,
    /// Checked to be a plain identifier, so it can be spliced into SQL.
    database: String,
    dialect: Dialect,
}

impl ClickHouseStore {
    /// Connects to ClickHouse at `url` and creates `database`, its tables and views if missing (for
    /// `serve`). Blocking: call it outside the async runtime's worker threads.
    pub fn open(url: &str, database: &str) -> anyhow::Result<ClickHouseStore> {
        let client = Client::connect(url, database)?;
        client.create_schema().with_context(|| format!("creating the tables of database {database:?} on ClickHouse at {url}"))?;
        let snapshots = client.dialect == Dialect::Snapshots;
        let mut store = ClickHouseStore::with(client, snapshots);
        if snapshots {
            store.keeps_snapshots = true;
            // The first snapshot of a large database reads all of it: longer than a batch may take.
            let slow = Arc::new(store.client.with_timeout(BACKFILL_TIMEOUT));
            store._stop_refresher = Some(refresher(slow, store.funnels.clone()));
        }
        Ok(store)
    }

    /// Connects to ClickHouse at `url` for reading (`results`, `export`): the database must already
    /// hold the tables `serve` creates; nothing is created, so a typo is an error, not an empty database.
    pub fn open_existing(url: &str, database: &str) -> anyhow::Result<ClickHouseStore> {
        let client = Client::connect(url, database)?;
        if !client.table_exists("events")? {
            anyhow::bail!(
                "ClickHouse at {url} has no table {database}.events (no events stored in database {database:?} yet): \
                 `splitbeam serve --store clickhouse --clickhouse-database {database}` creates it"
            );
        }
        if !client.table_exists(BACKFILLED_MARK)? {
            anyhow::bail!(
                "ClickHouse at {url} has no results tables in database {database:?} yet (first_exposures, visitor_goals): \
                 start `splitbeam serve --store clickhouse --clickhouse-database {database}` once to build them from its events"
            );
        }
        let snapshots = client.dialect == Dialect::Snapshots && client.table_exists(SNAPSHOTS_MARK)?;
        Ok(ClickHouseStore::with(client, snapshots))
    }

    fn with(client: Client, snapshots: bool) -> ClickHouseStore {
        ClickHouseStore {
            client: Arc::new(client),
            inserts: Arc::new(Semaphore::new(MAX_INFLIGHT_INSERTS)),
            snapshots,
            keeps_snapshots: false,
            funnels: Arc::new(Mutex::new(Vec::new())),
            _stop_refresher: None,
            notices: Arc::new(StoredNotices::default()),
        }
    }

    /// Brings the results snapshot of `experiment` under `funnel` up to the last insert, building
    /// the first one however long it takes (what `serve`'s background thread does for configured
    /// funnels); a no-op where results are not read from snapshots.
    pub fn refresh_snapshot(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<()> {
        if !self.snapshots {
            return Ok(());
        }
        snapshot::current_facts(&self.client.with_timeout(BACKFILL_TIMEOUT), experiment, funnel, true, snapshot::First::Build)
            .with_context(|| format!("refreshing the results snapshot of experiment {experiment:?}"))
            .map(|_| ())
    }

    /// `insert_batch` for callers without an async runtime (tests, tools).
    pub fn insert_batch_blocking(&self, events: Vec<Received>) -> anyhow::Result<InsertOutcome> {
        self.client.insert(events)
    }
}

impl Store for ClickHouseStore {
    fn insert_batch(&self, events: Vec<Received>) -> PendingInsert {
        let permit = self.inserts.clone().try_acquire_owned().map_err(|_| anyhow::Error::new(Overloaded));
        let client = self.client.clone();
        let notices = self.notices.clone();
        Box::pin(async move {
            let permit = permit?;
            let announcement = Announcement::of([events.as_slice()]);
            let outcome = tokio::task::spawn_blocking(move || client.insert(events))
                .await
                .context("the ClickHouse insert task failed")?;
            drop(permit);
            // Live push: once ClickHouse acknowledged the insert. With results read from
            // snapshots, the refetch shows it once the refresher has caught up.
            if let (Ok(_), Some(announcement)) = (&outcome, announcement) {
                notices.announce(announcement);
            }
            // Whatever ClickHouse did (unreachable, timeout, refusal), the batch was not
            // acknowledged and a resend is absorbed: the client retries rather than drop it.
            outcome.map_err(|e| anyhow::Error::new(Unavailable(format!("{e:#}"))))
        })
    }

    /// The refresher keeps the snapshots of these funnels up to date; any other funnel is
    /// computed (and, in `serve`, snapshotted) when asked for.
    fn register_funnels(&self, funnels: Vec<(String, Vec<String>)>) -> anyhow::Result<()> {
        *self.funnels.lock().map_err(|_| anyhow::anyhow!("the ClickHouse refresher panicked"))? = funnels;
        Ok(())
    }

    fn stored_notices(&self) -> Option<Arc<StoredNotices>> {
        Some(self.notices.clone())
    }

    fn experiment_totals(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
        let from_snapshot = if self.snapshots {
            snapshot::current_facts(&self.client, experiment, funnel, self.keeps_snapshots, snapshot::First::IfSmall)
                .with_context(|| format!("reading the results of experiment {experiment:?} from ClickHouse"))?
        } else {
            None
        };
        let facts = match from_snapshot {
            Some(facts) => facts,
            None => self
                .client
                .rows(&totals_sql(&self.client.database, experiment, funnel))
                .with_context(|| format!("reading the results of experiment {experiment:?} from ClickHouse"))?,
        };
        self.client
            .totals(experiment, funnel, facts)
            .with_context(|| format!("reading the results of experiment {experiment:?} from ClickHouse"))
    }

    fn visitor_counts(&self) -> anyhow::Result<Vec<VariantCount>> {
        let sql = self.client.sql(
            "SELECT experiment, variant, count() AS visitors FROM (\
                SELECT experiment, finalizeAggregation(variant_state) AS variant FROM {db}.first_exposures FINAL) \
             GROUP BY experiment, variant ORDER BY experiment, variant",
        );
        let rows: Vec<VariantRow> = self.client.rows(&sql).context("counting visitors per variant in ClickHouse")?;
        Ok(rows
            .into_iter()
            .map(|r| VariantCount { experiment: r.experiment, variant: r.variant, visitors: r.visitors })
            .collect())
    }

    fn export(&self, experiment: &str, each: &mut dyn FnMut(&EventRow) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        let x = literal(experiment);
        let db = &self.client.database;
        let columns = EventRow::COLUMNS;
        let sql = format!(
            "SELECT {columns} FROM {db}.events \
             WHERE visitor IN (SELECT visitor FROM {db}.events WHERE type = 'exposure' AND experiment = {x}) \
             AND (type <> 'exposure' OR experiment = {x}) \
             ORDER BY visitor, ts, id LIMIT 1 BY id"
        );
        let mut written = 0u64;
        self.client
            .stream(&sql, &mut |line| {
                let event: EventRow =
                    serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable event row {line:?}"))?;
                each(&event)?;
                written += 1;
                Ok(())
            })
            .with_context(|| format!("exporting experiment {experiment:?} from ClickHouse"))?;
        Ok(written)
    }
}

// ---- rows as ClickHouse sends and receives them (JSONEachRow) ----

/// An event as inserted: the stored row, plus on `Dialect::Snapshots` one random number per INSERT,
/// part of the sorting key, so a resent event is a second row rather than replacing the first
/// (which would move it to a later block).
#[derive(Serialize)]
struct InsertRow<'a> {
    #[serde(flatten)]
    row: EventRow<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    copy: Option<u64>,
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

#[derive(Deserialize)]
struct CountRow {
    n: u64,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct VariantRow {
    #[serde(default)]
    experiment: String,
    variant: String,
    visitors: u64,
}

/// One group of exposed visitors of an experiment: `kind` "visitor" with `key` = how many funnel
/// steps they reached, or `kind` "goal" with `key` = a goal they converted on after exposure.
#[derive(Deserialize)]
struct FactRow {
    variant: String,
    kind: String,
    key: String,
    visitors: u64,
    value_sum: f64,
    value_sum_sq: f64,
}

#[derive(Deserialize)]
struct VersionRow {
    version: String,
}

#[derive(Deserialize)]
struct ExistsRow {
    result: u8,
}

impl Client {
    fn new(url: &str, database: &str) -> anyhow::Result<Client> {
        if database.is_empty() || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            anyhow::bail!("ClickHouse database name {database:?} must be letters, digits and underscores");
        }
        Ok(Client {
            agent: agent(REQUEST_TIMEOUT),
            url: url.trim_end_matches('/').to_string(),
            database: database.to_string(),
            dialect: Dialect::Aggregates,
        })
    }

    /// The same connection with another timeout per request.
    fn with_timeout(&self, timeout: Duration) -> Client {
        Client { agent: agent(timeout), url: self.url.clone(), database: self.database.clone(), dialect: self.dialect }
    }

    /// `new`, then asks the server for its version and what it supports, once, and logs the dialect.
    fn connect(url: &str, database: &str) -> anyhow::Result<Client> {
        let mut client = Client::new(url, database)?;
        let version = client.version().with_context(|| format!("asking ClickHouse at {url} for its version"))?;
        let supported: Vec<CountRow> = client
            .rows("SELECT count() AS n FROM system.merge_tree_settings WHERE name = 'enable_block_number_column'")
            .with_context(|| format!("asking ClickHouse {version} at {url} which MergeTree settings it has"))?;
        if supported.first().is_some_and(|r| r.n > 0) {
            client.dialect = Dialect::Snapshots;
            tracing::info!(
                "ClickHouse {version} at {url}, database {database}: results from snapshots plus the events since (per-row block numbers)"
            );
        } else {
            tracing::info!(
                "ClickHouse {version} at {url}, database {database}: no per-row block numbers, results from per-visitor aggregates (one pass per read)"
            );
        }
        Ok(client)
    }

    /// Substitutes the database name for `{db}` in a constant statement (never one holding
    /// literals from events: those are formatted with the name directly).
    fn sql(&self, template: &str) -> String {
        template.replace("{db}", &self.database)
    }

    /// The database, the event log, the aggregate tables and the views feeding them. The views
    /// exist before the backfill reads the log, so an event inserted meanwhile is aggregated by
    /// both, which the idempotent states absorb.
    fn create_schema(&self) -> anyhow::Result<()> {
        self.execute(&format!("CREATE DATABASE IF NOT EXISTS {}", self.database))?;
        self.execute(&self.sql(CREATE_EVENTS))?;
        let present: Vec<NameRow> = self.rows(&format!(
            "SELECT name FROM system.columns WHERE database = {} AND table = 'events'",
            literal(&self.database)
        ))?;
        for (column, kind) in COUNTING_COLUMNS {
            if !present.iter().any(|c| c.name == column) {
                self.alter_adding(column, &format!("ALTER TABLE {}.events ADD COLUMN {column} {kind}", self.database))?;
            }
        }
        self.create_aggregates()?;
        if self.dialect == Dialect::Snapshots && !self.table_exists(SNAPSHOTS_MARK)? {
            self.prepare_snapshots(&present)?;
        }
        Ok(())
    }

    /// Runs an ALTER adding `column` to the events table; if it fails because another collector
    /// added it meanwhile, that is success.
    fn alter_adding(&self, column: &str, alter: &str) -> anyhow::Result<()> {
        let Err(e) = self.execute(alter) else { return Ok(()) };
        let present: Vec<NameRow> = self.rows(&format!(
            "SELECT name FROM system.columns WHERE database = {} AND table = 'events' AND name = {}",
            literal(&self.database),
            literal(column)
        ))?;
        if present.is_empty() {
            return Err(e.context(format!("adding column {column} to {}.events", self.database)));
        }
        Ok(())
    }

    /// `Dialect::Snapshots`: the events table keeps each row's insert block number and every copy
    /// of a resent event (`copy` in its key: a merge no longer replaces a row by a later copy), and
    /// the snapshot tables exist. Metadata changes only: nothing is rewritten, and rows stored
    /// before count as older than the first snapshot, which includes them.
    fn prepare_snapshots(&self, present: &[NameRow]) -> anyhow::Result<()> {
        let db = &self.database;
        if !present.iter().any(|c| c.name == "copy") {
            self.alter_adding("copy", &format!("ALTER TABLE {db}.events ADD COLUMN copy UInt64, MODIFY ORDER BY (visitor, id, copy)"))?;
        }
        self.execute(&format!("ALTER TABLE {db}.events MODIFY SETTING enable_block_number_column = 1"))
            .with_context(|| format!("keeping insert block numbers in {db}.events"))?;
        self.execute(&self.sql(snapshot::CREATE_RESULT_VISITORS))?;
        self.execute(&self.sql(snapshot::CREATE_RESULT_TOTALS))?;
        self.execute(&format!("CREATE TABLE IF NOT EXISTS {db}.{SNAPSHOTS_MARK} (done UInt8) ENGINE = TinyLog"))
    }

    /// The per-visitor aggregates and their views (results on `Dialect::Aggregates`, visitor
    /// counts and bot counts on both), built once from the events stored before them.
    fn create_aggregates(&self) -> anyhow::Result<()> {
        if self.table_exists(BACKFILLED_MARK)? {
            return Ok(());
        }
        if self.table_exists(OLD_BACKFILLED_MARK)? {
            // Views from before the counting rules: rebuilt with them from the event log.
            for table in ["first_exposures_mv", "visitor_goals_mv", "first_exposures", "visitor_goals", OLD_BACKFILLED_MARK] {
                self.execute(&format!("DROP TABLE IF EXISTS {}.{table}", self.database))?;
            }
        }
        self.execute(&self.sql(CREATE_FIRST_EXPOSURES))?;
        self.execute(&self.sql(CREATE_VISITOR_GOALS))?;
        self.execute(&self.sql(CREATE_BOT_EXPOSURES))?;
        // Aggregating a large existing log takes longer than one batch may.
        let backfill = self.with_timeout(BACKFILL_TIMEOUT);
        for (view, target, states) in [
            ("first_exposures_mv", "first_exposures", FIRST_EXPOSURE_STATES),
            ("visitor_goals_mv", "visitor_goals", VISITOR_GOAL_STATES),
            ("bot_exposures_mv", "bot_exposures", BOT_EXPOSURE_ROWS),
        ] {
            self.execute(&self.sql(&format!("CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{view} TO {{db}}.{target} AS {states}")))?;
            backfill
                .execute(&self.sql(&format!("INSERT INTO {{db}}.{target} {states}")))
                .with_context(|| format!("aggregating the stored events into {}.{target}", self.database))?;
        }
        self.execute(&format!("CREATE TABLE IF NOT EXISTS {}.{BACKFILLED_MARK} (done UInt8) ENGINE = TinyLog", self.database))
    }

    /// The server's `version()`, e.g. `18.16.1` or `26.9.2.1`.
    fn version(&self) -> anyhow::Result<String> {
        let rows: Vec<VersionRow> = self.rows("SELECT version() AS version")?;
        rows.into_iter().next().map(|r| r.version).context("ClickHouse sent no version")
    }

    fn table_exists(&self, table: &str) -> anyhow::Result<bool> {
        let rows: Vec<ExistsRow> = self
            .rows(&format!("EXISTS TABLE {}.{table}", self.database))
            .with_context(|| format!("looking for table {}.{table}", self.database))?;
        Ok(rows.first().is_some_and(|r| r.result == 1))
    }

    /// Stores the batch with one INSERT (one block: ClickHouse stores it whole or not at all) and
    /// returns only after ClickHouse acknowledged it. Events already stored are counted as
    /// duplicates but sent again: if an earlier attempt stored the events and then failed in a
    /// view (e.g. too many parts), this one completes the aggregates, whose states ignore repeats.
    fn insert(&self, events: Vec<Received>) -> anyhow::Result<InsertOutcome> {
        let copy = match self.dialect {
            Dialect::Snapshots => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source for an insert's copy number: {e}"))?;
                Some(u64::from_le_bytes(bytes))
            }
            Dialect::Aggregates => None,
        };
        let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
        let unique: Vec<&Received> = events.iter().filter(|e| seen.insert(e.event.id.as_str())).collect();
        let stored_before = self.existing_ids(&unique)?;
        let fresh = unique.iter().filter(|e| !stored_before.contains(&e.event.id)).count();
        let outcome = InsertOutcome { stored: fresh as u64, duplicates: (events.len() - fresh) as u64 };
        if unique.is_empty() {
            return Ok(outcome);
        }
        let mut body = self.sql("INSERT INTO {db}.events FORMAT JSONEachRow\n").into_bytes();
        for e in unique {
            let row = InsertRow { row: EventRow::from(e), copy };
            serde_json::to_writer(&mut body, &row).context("encoding an event for ClickHouse")?;
            body.push(b'\n');
        }
        self.post(body, "inserting a batch")?;
        Ok(outcome)
    }

    /// Which of these events' ids are already stored. Looked up by (visitor, id), the table's key:
    /// a resent event carries the same visitor.
    fn existing_ids(&self, events: &[&Received]) -> anyhow::Result<HashSet<String>> {
        if events.is_empty() {
            return Ok(HashSet::new());
        }
        let visitors: HashSet<&str> = events.iter().map(|e| e.event.visitor.as_str()).collect();
        let visitors: Vec<String> = visitors.into_iter().map(literal).collect();
        let ids: Vec<String> = events.iter().map(|e| literal(&e.event.id)).collect();
        let db = &self.database;
        let sql = format!(
            "SELECT DISTINCT id FROM {db}.events WHERE visitor IN ({}) AND id IN ({})",
            visitors.join(","),
            ids.join(",")
        );
        let rows: Vec<IdRow> = self.rows(&sql).context("looking up already stored event ids")?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// The results of one experiment from its facts: per variant, visitors by funnel depth and
    /// each goal converted after exposure with its summed value.
    fn totals(&self, experiment: &str, funnel: &[String], facts: Vec<FactRow>) -> anyhow::Result<ExperimentTotals> {

        let mut visitors: BTreeMap<&str, u64> = BTreeMap::new();
        // (variant, funnel steps reached, visitors)
        let mut depths: Vec<(String, u32, u64)> = Vec::new();
        let mut goals = Vec::new();
        for fact in &facts {
            match fact.kind.as_str() {
                "visitor" => {
                    *visitors.entry(&fact.variant).or_default() += fact.visitors;
                    let depth: u32 = fact
                        .key
                        .parse()
                        .ok()
                        .filter(|d| *d as usize <= funnel.len())
                        .with_context(|| format!("ClickHouse sent a funnel depth {:?} for {} steps", fact.key, funnel.len()))?;
                    depths.push((fact.variant.clone(), depth, fact.visitors));
                }
                "goal" => goals.push(GoalTotals {
                    variant: fact.variant.clone(),
                    goal: fact.key.clone(),
                    conversions: fact.visitors,
                    value_sum: fact.value_sum,
                    value_sum_sq: fact.value_sum_sq,
                }),
                other => anyhow::bail!("ClickHouse sent a result row of unknown kind {other:?}"),
            }
        }
        let variants = visitors
            .into_iter()
            .map(|(variant, visitors)| VariantCount { experiment: experiment.to_string(), variant: variant.to_string(), visitors })
            .collect();
        let funnel = funnel_step_counts(funnel.len(), depths);
        let bots: Vec<CountRow> = self.rows(&format!(
            "SELECT uniqExact(visitor) AS n FROM {}.bot_exposures WHERE experiment = {}",
            self.database,
            literal(experiment)
        ))?;
        let bot_visitors = bots.first().map_or(0, |r| r.n);
        Ok(ExperimentTotals { variants, goals, funnel, bot_visitors })
    }

    /// Runs a statement that returns nothing of interest.
    fn execute(&self, sql: &str) -> anyhow::Result<()> {
        self.post(sql.as_bytes().to_vec(), "running a statement").map(|_| ())
    }

    /// Runs a query and parses every row of its JSONEachRow answer.
    fn rows<T: DeserializeOwned>(&self, sql: &str) -> anyhow::Result<Vec<T>> {
        let mut rows = Vec::new();
        self.stream(sql, &mut |line| {
            rows.push(serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable row {line:?}"))?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Runs a query and hands each line of its JSONEachRow answer to `each` as it arrives.
    fn stream(&self, sql: &str, each: &mut dyn FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.stream_up_to(sql, MAX_ANSWER_BYTES, each)
    }

    /// `stream` with another limit on the answer's size (a snapshot's events are read line by
    /// line, however many: the first snapshot of a 10 M database reads about 500 MB).
    fn stream_up_to(&self, sql: &str, limit: u64, each: &mut dyn FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let body = format!("{sql} FORMAT JSONEachRow");
        let response = self.post(body.into_bytes(), "running a query")?;
        let reader = BufReader::new(response.into_body().into_with_config().limit(limit).reader());
        for line in reader.lines() {
            let line = line.context("reading ClickHouse's answer")?;
            if !line.is_empty() {
                each(&line)?;
            }
        }
        Ok(())
    }

    /// POSTs `body` (a statement, or an INSERT followed by its rows) and fails with ClickHouse's
    /// own message unless it answers 200.
    fn post(&self, body: Vec<u8>, what: &str) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        // 64-bit integers as JSON numbers (18.x quotes them by default). The duplicate-id lookup of
        // a full 1 MB batch lists every id and visitor, more than the default 256 KiB of SQL.
        // insert_deduplicate=0: on Replicated* tables an identical block resent after a failure in
        // a view would otherwise be dropped before reaching the views (a no-op on plain MergeTree).
        let url = format!(
            "{}/?output_format_json_quote_64bit_integers=0&max_query_size={MAX_QUERY_BYTES}&insert_deduplicate=0",
            self.url
        );
        let mut response = self
            .agent
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(&body[..])
            .with_context(|| format!("{what}: ClickHouse at {} did not answer", self.url))?;
        if response.status() != 200 {
            let status = response.status();
            let message = response.body_mut().read_to_string().unwrap_or_default();
            anyhow::bail!("{what}: ClickHouse at {} answered {status}: {}", self.url, message.trim());
        }
        Ok(response)
    }
}

/// The results query of one experiment, one text for 18.16 and 26.x. ClickHouse 18.16 does not see
/// columns used only inside a lambda, so a lambda gets outside values as a second array argument
/// (`replicate(x, array)`). Joined subqueries carry aliases: current ClickHouse (26.9 tested) refuses them
/// without (ALIAS_REQUIRED, `joined_subquery_requires_alias`), 18.16 accepts them.
fn totals_sql(database: &str, experiment: &str, funnel: &[String]) -> String {
    let db = database;
    let x = literal(experiment);
    // Step k is reached at the first hit of its goal at or after step k-1 was (the exposure for
    // the first step), as in `contribution`: a later step hit before an earlier one does not count.
    let mut steps = String::new();
    let mut reached = Vec::new();
    let mut previous = "first_ts".to_string();
    for (k, step) in funnel.iter().enumerate() {
        let at = format!("step{k}_at");
        steps.push_str(&format!(
            "arrayReduce('min', arrayPushBack(arrayMap(h -> tupleElement(h, 2), \
                arrayFilter((h, since) -> tupleElement(h, 1) = {goal} AND tupleElement(h, 2) >= since, \
                            after, replicate({previous}, after))), {NEVER})) AS {at}, ",
            goal = literal(step)
        ));
        reached.push(format!("({at} < {NEVER})"));
        previous = at;
    }
    let depth = if reached.is_empty() { "0".to_string() } else { reached.join(" + ") };
    format!(
        "SELECT variant, kind, key, count() AS visitors, sum(value) AS value_sum, sum(value * value) AS value_sum_sq FROM (\
            SELECT variant, tupleElement(fact, 1) AS kind, tupleElement(fact, 2) AS key, tupleElement(fact, 3) AS value FROM (\
                SELECT variant, \
                    arrayFilter((h, since) -> tupleElement(h, 2) >= since, hits, replicate(first_ts, hits)) AS after, \
                    arrayDistinct(arrayMap(h -> tupleElement(h, 1), after)) AS converted, \
                    arrayMap((g, g_hits) -> arraySum(arrayMap(h -> if(tupleElement(h, 1) = g, tupleElement(h, 4), 0), g_hits)), \
                             converted, replicate(after, converted)) AS converted_values, \
                    {steps}{depth} AS depth, \
                    arrayConcat([('visitor', toString(depth), 0.)], \
                                arrayMap((g, v) -> ('goal', g, v), converted, converted_values)) AS facts \
                FROM (SELECT visitor, finalizeAggregation(variant_state) AS variant, finalizeAggregation(first_ts_state) AS first_ts \
                      FROM {db}.first_exposures FINAL WHERE experiment = {x}) AS exposed \
                ANY LEFT JOIN (SELECT visitor, finalizeAggregation(hits_state) AS hits FROM {db}.visitor_goals FINAL) AS goals \
                USING visitor\
            ) ARRAY JOIN facts AS fact\
         ) GROUP BY variant, kind, key ORDER BY variant, kind, key"
    )
}

/// `serve`'s background thread: every `REFRESH_EVERY`, brings the snapshot of each configured
/// funnel up to the last insert, so a read finds only seconds of events to add. Stops once the
/// returned sender is dropped (with the store). Errors are logged and retried next time.
fn refresher(client: Arc<Client>, funnels: Arc<Mutex<Funnels>>) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(snapshot::REFRESH_EVERY) {
            let funnels = match funnels.lock() {
                Ok(funnels) => funnels.clone(),
                Err(_) => return,
            };
            for (experiment, funnel) in funnels {
                if let Err(e) = snapshot::current_facts(&client, &experiment, &funnel, true, snapshot::First::Build) {
                    tracing::warn!("refreshing the results snapshot of experiment {experiment:?}: {e:#}");
                }
            }
        }
    });
    stop
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into()
}

/// A ClickHouse string literal: quotes and backslashes escaped (18.x has no query parameters).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal(r"it's a\b"), r"'it\'s a\\b'");
    }
}
