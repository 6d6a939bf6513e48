//! Storage behind one trait: the collector writes validated batches and reads per-experiment
//! aggregates through `Store`; `sqlite` is the embedded default backend.

pub mod clickhouse;
pub mod contribution;
pub mod event_row;
pub mod notices;
pub mod sqlite;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::ingest::Received;

pub use event_row::EventRow;
pub use notices::StoredNotices;

use contribution::GoalHit;

pub use clickhouse::ClickHouseStore;
pub use sqlite::SqliteStore;

/// What a committed batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Events stored for the first time.
    pub stored: u64,
    /// Events whose id was already stored (a resent batch): ignored.
    pub duplicates: u64,
}

/// Visitors exposed to one variant (first exposure wins).
#[derive(Debug, Clone, PartialEq)]
pub struct VariantCount {
    pub experiment: String,
    pub variant: String,
    pub visitors: u64,
}

/// One goal in one variant: visitors converting after their first exposure, and the per-visitor
/// value (sum of that visitor's goal values after exposure) summed and summed in squares.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalTotals {
    pub variant: String,
    pub goal: String,
    pub conversions: u64,
    pub value_sum: f64,
    pub value_sum_sq: f64,
}

/// Visitors reaching each funnel step in order, per variant.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelCounts {
    pub variant: String,
    pub counts: Vec<u64>,
}

/// Everything the results need for one experiment, as aggregates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentTotals {
    pub variants: Vec<VariantCount>,
    pub goals: Vec<GoalTotals>,
    pub funnel: Vec<FunnelCounts>,
    /// Visitors exposed whose exposures were not counted because they were bots.
    pub bot_visitors: u64,
}

/// Turns visitors per funnel depth into visitors per funnel step, per variant: step k counts the
/// visitors who reached at least k + 1 of the `steps` steps. `by_depth` holds (variant, depth,
/// visitors) rows in any order; a variant where nobody reached the first step gets no row.
pub fn funnel_step_counts(steps: usize, by_depth: impl IntoIterator<Item = (String, u32, u64)>) -> Vec<FunnelCounts> {
    let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (variant, depth, visitors) in by_depth {
        if depth == 0 || visitors == 0 {
            continue;
        }
        let row = counts.entry(variant).or_insert_with(|| vec![0; steps]);
        for step in row.iter_mut().take(depth as usize) {
            *step += visitors;
        }
    }
    counts.into_iter().map(|(variant, counts)| FunnelCounts { variant, counts }).collect()
}

/// The store's writer is full (the SQLite queue, or ClickHouse inserts in flight): the caller
/// answers 503 with Retry-After and the snippet retries.
#[derive(Debug)]
pub struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the collector is busy writing; retry shortly")
    }
}

impl std::error::Error for Overloaded {}

/// The store could not take a batch right now (e.g. ClickHouse unreachable or refusing it): nothing
/// was acknowledged, so the client retries (503 with Retry-After) instead of seeing a 500.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the store is unavailable, retry later: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

/// One exposed visitor of an experiment as the results over time need them: the variant and time
/// of their first exposure, and their counted goal events from then on in time order (at most
/// `counting::MAX_COUNTED_GOALS`, as in the running aggregates).
#[derive(Debug, Clone, Copy)]
pub struct VisitorTimeline<'a> {
    pub variant: &'a str,
    pub first_ts: i64,
    pub hits: &'a [GoalHit],
}

/// This backend cannot answer that (yet): the API says 501 rather than 500.
#[derive(Debug)]
pub struct NotSupported(pub &'static str);

impl std::fmt::Display for NotSupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for NotSupported {}

/// A batch write that completes once the batch is durably committed (or refused).
pub type PendingInsert = Pin<Box<dyn Future<Output = anyhow::Result<InsertOutcome>> + Send>>;

/// The storage backend. Writes are asynchronous because a backend batches them (SQLite group
/// commit; a ClickHouse backend would send JSONEachRow inserts over HTTP); reads are blocking
/// calls that the server runs on its blocking pool.
///
/// Every backend attributes goals by one rule (`contribution`'s module): a visitor belongs to
/// the variant of their first exposure to the experiment, by (ts, id), and their goals count from
/// that moment on. A goal's own `experiments` map is not consulted (README "Events").
pub trait Store: Send + Sync {
    /// Stores a validated batch atomically: all of it or none. Event ids already stored are
    /// skipped, so a resent batch is never counted twice.
    fn insert_batch(&self, events: Vec<Received>) -> PendingInsert;

    /// Tells the store which funnels (goal keys in order) to keep running aggregates for.
    fn register_funnels(&self, funnels: Vec<(String, Vec<String>)>) -> anyhow::Result<()>;

    /// Per-variant aggregates of one experiment; `funnel` is its steps in order.
    fn experiment_totals(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals>;

    /// Exposed visitors per experiment and variant, for every experiment with data.
    fn visitor_counts(&self) -> anyhow::Result<Vec<VariantCount>>;

    /// Streams the raw events of an experiment (its exposures and the goal and page-view events of
    /// its exposed visitors), visitor by visitor in time order. Returns how many were written.
    fn export(&self, experiment: &str, each: &mut dyn FnMut(&EventRow) -> anyhow::Result<()>) -> anyhow::Result<u64>;

    /// Where this store announces committed events (the dashboard's live stream); `None` when it
    /// cannot tell.
    fn stored_notices(&self) -> Option<Arc<StoredNotices>> {
        None
    }

    /// Calls `each` once per visitor exposed to `experiment` (counted exposures only), for the
    /// results over time (`crate::over_time`).
    fn visitor_timelines(&self, _experiment: &str, _each: &mut dyn FnMut(VisitorTimeline<'_>)) -> anyhow::Result<()> {
        Err(anyhow::Error::new(NotSupported("results over time are computed by the SQLite store only")))
    }
}
