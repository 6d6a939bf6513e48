//! Results from stored snapshots plus the events since (servers with `enable_block_number_column`; 26.9 tested).
//!
//! A snapshot of one experiment (and funnel) is its per-variant totals as of a cut `W` of the
//! event log: every event stored in an insert block numbered `W` or lower (MergeTree numbers
//! insert blocks in commit order, and `_block_number`, kept per row with
//! `enable_block_number_column`, survives merges). With it are kept, per exposed visitor, the
//! contribution the totals hold for them (`result_visitors`, one row per visitor and cut at which
//! it was re-derived). A read then needs only the visitors with events after the latest snapshot (the
//! tail): their contribution is re-derived from their events with the same rules as SQLite
//! (`contribution`, at most `MAX_COUNTED_GOALS` goals), their old one is taken out of the totals
//! and the new one put in. A read in `serve` stores what it computed as the next snapshot, and a
//! background thread does the same every `REFRESH_EVERY` for the configured funnels, so the tail
//! stays a few seconds of events.
//!
//! Why this stays exact with many collectors: a snapshot at `W` holds exactly the events with
//! block number <= `W`, a deterministic set (events are never replaced, see `copy` in the events
//! key), so every collector computing a snapshot at `W` writes the same rows, whichever earlier
//! snapshot it started from; duplicates of those rows are identical and collapse. A snapshot is
//! one INSERT block with its `snapshot` marker row, so a reader sees all of it or none; the
//! per-visitor rows are written before it. Every per-visitor row is the visitor's true part at its
//! cut, and a snapshot from `base` to `cut` writes one for every visitor with events in between,
//! changed or not: so the latest row at or before a snapshot is that visitor's part in it, even
//! where rows of a snapshot whose totals never landed lie in between.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{literal, Client, FactRow};
use crate::store::contribution::{contribution, Contribution, GoalHit};
use crate::counting::MAX_COUNTED_GOALS;

/// How often `serve` brings the snapshots of the configured funnels up to date.
pub(super) const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Per-visitor rows per INSERT when a snapshot changes many visitors (the first one of a database).
const ROWS_PER_INSERT: usize = 100_000;
/// Above this many stored events, a read that finds no snapshot of its funnel answers from the
/// per-visitor aggregates instead of re-deriving every visitor (minutes at 10 M events, longer
/// than a request may take); the background thread builds the first snapshot meanwhile.
const FIRST_SNAPSHOT_IN_A_READ_MAX_EVENTS: u64 = 1_000_000;

pub(super) const CREATE_RESULT_VISITORS: &str = "CREATE TABLE IF NOT EXISTS {db}.result_visitors (\
    experiment String, funnel String, visitor String, as_of UInt64, \
    variant String, depth UInt32, goals Array(String), goal_values Array(Float64)\
) ENGINE = ReplacingMergeTree() ORDER BY (experiment, funnel, visitor, as_of)";
pub(super) const CREATE_RESULT_TOTALS: &str = "CREATE TABLE IF NOT EXISTS {db}.result_totals (\
    experiment String, funnel String, as_of UInt64, \
    variant String, kind String, key String, visitors Int64, value_sum Float64, value_sum_sq Float64\
) ENGINE = ReplacingMergeTree() ORDER BY (experiment, funnel, as_of, variant, kind, key)";

/// One group of a variant's totals: (variant, kind, key) as in `FactRow`.
type Facts = BTreeMap<(String, String, String), Tally>;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tally {
    visitors: i64,
    value_sum: f64,
    value_sum_sq: f64,
}

/// One exposed visitor's part of the totals.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    variant: String,
    contribution: Contribution,
}

#[derive(Deserialize)]
struct CutRow {
    cut: u64,
}

#[derive(Deserialize)]
struct TotalsRow {
    variant: String,
    kind: String,
    key: String,
    visitors: i64,
    value_sum: f64,
    value_sum_sq: f64,
}

#[derive(Deserialize, Serialize)]
struct VisitorRow {
    #[serde(default)]
    experiment: String,
    #[serde(default)]
    funnel: String,
    visitor: String,
    #[serde(default)]
    as_of: u64,
    variant: String,
    depth: u32,
    goals: Vec<String>,
    goal_values: Vec<f64>,
}

#[derive(Deserialize)]
struct TailEvent {
    visitor: String,
    #[serde(rename = "type")]
    kind: String,
    ts: i64,
    variant: Option<String>,
    goal: Option<String>,
    value: Option<f64>,
}

#[derive(Serialize)]
struct TotalsInsert<'a> {
    experiment: &'a str,
    funnel: &'a str,
    as_of: u64,
    variant: &'a str,
    kind: &'a str,
    key: &'a str,
    visitors: i64,
    value_sum: f64,
    value_sum_sq: f64,
}

/// How a read may go when its funnel has no snapshot yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum First {
    /// Re-derive every exposed visitor, however many (the background thread).
    Build,
    /// Only on a small database; otherwise answer `None` (a request).
    IfSmall,
}

/// The totals of `experiment` under `funnel` as of now, as result facts. With `keep`, what was
/// computed is stored as the next snapshot (only `serve` writes; `results` only reads). `None`
/// when there is no snapshot of this funnel yet and `first` says not to build one now.
pub(super) fn current_facts(
    client: &Client,
    experiment: &str,
    funnel: &[String],
    keep: bool,
    first: First,
) -> anyhow::Result<Option<Vec<FactRow>>> {
    let funnel_key = serde_json::to_string(funnel).context("encoding the funnel")?;
    let db = &client.database;
    let x = literal(experiment);
    let f = literal(&funnel_key);
    // The cut first: every event in a block numbered up to it is committed and visible below.
    let cut: Vec<CutRow> = client
        .rows(&format!(
            "SELECT toUInt64(max(max_block_number)) AS cut FROM system.parts \
             WHERE database = {} AND table = 'events' AND active",
            literal(db)
        ))
        .context("reading the event log's last insert block")?;
    let cut = cut.first().map_or(0, |r| r.cut);
    let base: Vec<CutRow> = client
        .rows(&format!(
            "SELECT toUInt64(max(as_of)) AS cut FROM {db}.result_totals \
             WHERE experiment = {x} AND funnel = {f} AND kind = 'snapshot' AND as_of <= {cut}"
        ))
        .context("finding the latest results snapshot")?;
    let base = base.first().map_or(0, |r| r.cut);
    if base == 0 && first == First::IfSmall {
        let stored: Vec<CutRow> =
            client.rows(&format!("SELECT count() AS cut FROM {db}.events")).context("counting the stored events")?;
        if stored.first().is_some_and(|r| r.cut > FIRST_SNAPSHOT_IN_A_READ_MAX_EVENTS) {
            return Ok(None);
        }
    }
    let mut facts: Facts = BTreeMap::new();
    if base > 0 {
        let rows: Vec<TotalsRow> = client
            .rows(&format!(
                "SELECT variant, kind, key, visitors, value_sum, value_sum_sq FROM {db}.result_totals \
                 WHERE experiment = {x} AND funnel = {f} AND as_of = {base} AND kind <> 'snapshot' \
                 ORDER BY variant, kind, key LIMIT 1 BY variant, kind, key"
            ))
            .context("reading the latest results snapshot")?;
        for r in rows {
            facts.insert(
                (r.variant, r.kind, r.key),
                Tally { visitors: r.visitors, value_sum: r.value_sum, value_sum_sq: r.value_sum_sq },
            );
        }
    }
    if base < cut {
        let stored = apply_tail(client, experiment, funnel, &funnel_key, base, cut, &mut facts, keep)?;
        tracing::debug!("results of {experiment:?}: {stored} visitors' parts stored between blocks {base} and {cut}");
        if keep {
            store_snapshot(client, experiment, &funnel_key, cut, &facts)?;
        }
    }
    Ok(Some(facts
        .into_iter()
        .filter(|(_, t)| t.visitors != 0)
        .map(|((variant, kind, key), t)| FactRow {
            variant,
            kind,
            key,
            visitors: t.visitors.max(0) as u64,
            value_sum: t.value_sum,
            value_sum_sq: t.value_sum_sq,
        })
        .collect()))
}

/// Moves `facts` from the snapshot at `base` to the cut `cut`: re-derives every visitor with an
/// event of this experiment or a goal in a block after `base`, and (with `keep`) stores the part of
/// each at `cut`. Returns how many parts it stored.
#[allow(clippy::too_many_arguments)]
fn apply_tail(
    client: &Client,
    experiment: &str,
    funnel: &[String],
    funnel_key: &str,
    base: u64,
    cut: u64,
    facts: &mut Facts,
    keep: bool,
) -> anyhow::Result<usize> {
    let db = &client.database;
    let x = literal(experiment);
    let f = literal(funnel_key);
    let relevant = format!(
        "counted = 1 AND ((type = 'exposure' AND experiment = {x} AND isNotNull(variant)) OR (type = 'goal' AND isNotNull(goal)))"
    );
    // The visitors to re-derive; from the first snapshot on, every visitor.
    let visitors = if base == 0 {
        "1".to_string()
    } else {
        format!(
            "visitor IN (SELECT visitor FROM {db}.events WHERE _block_number > {base} AND _block_number <= {cut} \
             AND ((type = 'exposure' AND experiment = {x}) OR type = 'goal'))"
        )
    };

    // Their part in the snapshot at `base`: the latest row at or before it.
    let mut old: HashMap<String, Part> = HashMap::new();
    if base > 0 {
        let rows: Vec<VisitorRow> = client
            .rows(&format!(
                "SELECT visitor, variant, depth, goals, goal_values FROM {db}.result_visitors \
                 WHERE experiment = {x} AND funnel = {f} AND as_of <= {base} AND {visitors} \
                 ORDER BY visitor, as_of DESC LIMIT 1 BY visitor"
            ))
            .context("reading the snapshot's parts of the visitors with new events")?;
        for r in rows {
            let goals = r.goals.into_iter().zip(r.goal_values).collect();
            old.insert(r.visitor, Part { variant: r.variant, contribution: Contribution { goals, funnel_depth: r.depth } });
        }
    }

    // Their events up to the cut, one row per id, visitor by visitor in (ts, id) order.
    let sql = format!(
        "SELECT visitor, type, ts, variant, goal, value FROM {db}.events \
         WHERE {visitors} AND _block_number <= {cut} AND {relevant} \
         ORDER BY visitor, ts, id LIMIT 1 BY visitor, id"
    );
    let mut rederived: Vec<VisitorRow> = Vec::new();
    let mut pending: Vec<TailEvent> = Vec::new();
    let mut finish = |events: &mut Vec<TailEvent>, rederived: &mut Vec<VisitorRow>, facts: &mut Facts| {
        let Some(first) = events.first() else { return };
        let visitor = first.visitor.clone();
        let new = derive(events, funnel);
        events.clear();
        let before = old.remove(&visitor);
        if before != new {
            if let Some(part) = &before {
                add(facts, part, -1);
            }
            if let Some(part) = &new {
                add(facts, part, 1);
            }
        }
        // Stored even when unchanged since `base`: a row between `base` and `cut` may exist from a
        // snapshot whose totals never landed (killed between its two INSERTs, or still writing
        // them), holding a part this visitor has since left again; this row supersedes it.
        if let (true, Some(part)) = (keep, &new) {
            let (goals, goal_values) = part.contribution.goals.iter().cloned().unzip();
            rederived.push(VisitorRow {
                experiment: experiment.to_string(),
                funnel: funnel_key.to_string(),
                visitor,
                as_of: cut,
                variant: part.variant.clone(),
                depth: part.contribution.funnel_depth,
                goals,
                goal_values,
            });
        }
    };
    client
        .stream_up_to(&sql, u64::MAX, &mut |line| {
            let event: TailEvent =
                serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable event row {line:?}"))?;
            if pending.first().is_some_and(|p| p.visitor != event.visitor) {
                finish(&mut pending, &mut rederived, facts);
            }
            pending.push(event);
            Ok(())
        })
        .context("reading the events of the visitors with new events")?;
    finish(&mut pending, &mut rederived, facts);
    // Parts left in `old` belong to visitors whose exposure is no longer found: cannot happen
    // (events are never removed), so they are kept as they are.
    let count = rederived.len();
    for chunk in rederived.chunks(ROWS_PER_INSERT) {
        let mut body = client.sql("INSERT INTO {db}.result_visitors FORMAT JSONEachRow\n").into_bytes();
        for row in chunk {
            serde_json::to_writer(&mut body, row).context("encoding a visitor's part")?;
            body.push(b'\n');
        }
        client.post(body, "storing the visitors' parts of a results snapshot")?;
    }
    Ok(count)
}

/// One visitor's part from their relevant events in (ts, id) order: the first exposure decides
/// the variant; at most `MAX_COUNTED_GOALS` goals at or after it count, as in SQLite.
fn derive(events: &[TailEvent], funnel: &[String]) -> Option<Part> {
    let first = events.iter().find(|e| e.kind == "exposure")?;
    let variant = first.variant.clone()?;
    let hits: Vec<GoalHit> = events
        .iter()
        .filter(|e| e.kind == "goal" && e.ts >= first.ts)
        .filter_map(|e| Some(GoalHit { goal: e.goal.clone()?, ts: e.ts, value: e.value }))
        .take(MAX_COUNTED_GOALS as usize)
        .collect();
    Some(Part { variant, contribution: contribution(first.ts, &hits, funnel) })
}

fn add(facts: &mut Facts, part: &Part, sign: i64) {
    let s = sign as f64;
    let depth = facts.entry((part.variant.clone(), "visitor".to_string(), part.contribution.funnel_depth.to_string())).or_default();
    depth.visitors += sign;
    for (goal, value) in &part.contribution.goals {
        let t = facts.entry((part.variant.clone(), "goal".to_string(), goal.clone())).or_default();
        t.visitors += sign;
        t.value_sum += s * value;
        t.value_sum_sq += s * value * value;
    }
}

/// Stores the totals at `cut` with their marker, in one INSERT block (all or nothing).
fn store_snapshot(client: &Client, experiment: &str, funnel_key: &str, cut: u64, facts: &Facts) -> anyhow::Result<()> {
    let mut body = client.sql("INSERT INTO {db}.result_totals FORMAT JSONEachRow\n").into_bytes();
    let marker = TotalsInsert {
        experiment,
        funnel: funnel_key,
        as_of: cut,
        variant: "",
        kind: "snapshot",
        key: "",
        visitors: 0,
        value_sum: 0.0,
        value_sum_sq: 0.0,
    };
    serde_json::to_writer(&mut body, &marker).context("encoding a snapshot marker")?;
    body.push(b'\n');
    for ((variant, kind, key), t) in facts.iter().filter(|(_, t)| t.visitors != 0) {
        let row = TotalsInsert {
            experiment,
            funnel: funnel_key,
            as_of: cut,
            variant,
            kind,
            key,
            visitors: t.visitors,
            value_sum: t.value_sum,
            value_sum_sq: t.value_sum_sq,
        };
        serde_json::to_writer(&mut body, &row).context("encoding a snapshot total")?;
        body.push(b'\n');
    }
    client.post(body, "storing a results snapshot").map(|_| ())
}
