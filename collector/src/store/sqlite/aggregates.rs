//! The running aggregates of the SQLite store: each exposed visitor's contribution (variant of
//! their first exposure, goals after it, funnel depth), re-derived when their events arrive, and
//! the per-variant totals moved by the difference.

use std::collections::HashMap;

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use crate::counting::MAX_COUNTED_GOALS;
use crate::store::contribution::{contribution, Contribution, GoalHit};

/// The earliest new exposure of a visitor to an experiment in one batch.
pub(super) struct NewExposure {
    pub ts: i64,
    pub variant: String,
    /// Another exposure of the batch at the same `ts` names another variant: the ids decide.
    pub tied: bool,
}

/// A visitor's stored conversions in one experiment.
pub(super) const VISITOR_CONVERSIONS: &str =
    "SELECT goal, value_sum FROM conversions WHERE experiment = ?1 AND visitor = ?2 ORDER BY goal";
/// A visitor's counted goals from a time on (`goal_hits`).
pub(super) const GOAL_HITS: &str = "SELECT goal, ts, value FROM events INDEXED BY counted_goals_by_visitor \
     WHERE visitor = ?1 AND ts >= ?2 AND type = 'goal' AND counted = 1 AND goal IS NOT NULL ORDER BY ts LIMIT ?3";

struct ExposureRow {
    variant: String,
    first_ts: i64,
    funnel_depth: u32,
}

/// Re-derives one visitor's contribution to one experiment from their stored events and moves
/// the aggregates by the difference. Out-of-order arrival is why it re-derives: an exposure that
/// arrives late can make earlier-stored goals count, or move the visitor to another variant.
pub(super) fn refresh_visitor(
    conn: &Connection,
    funnel: &[String],
    experiment: &str,
    visitor: &str,
    new_exposure: Option<NewExposure>,
) -> anyhow::Result<()> {
    let old = conn
        .prepare_cached("SELECT variant, first_ts, funnel_depth FROM exposures WHERE experiment = ?1 AND visitor = ?2")?
        .query_row([experiment, visitor], |r| {
            Ok(ExposureRow { variant: r.get(0)?, first_ts: r.get(1)?, funnel_depth: r.get::<_, i64>(2)?.max(0) as u32 })
        })
        .optional()?;
    let (variant, first_ts, tied) = match (&old, new_exposure) {
        (None, None) => return Ok(()),
        (None, Some(new)) => (new.variant, new.ts, new.tied),
        (Some(row), Some(new)) if new.ts < row.first_ts => (new.variant, new.ts, new.tied),
        (Some(row), Some(new)) if new.ts == row.first_ts && new.variant != row.variant => (row.variant.clone(), row.first_ts, true),
        (Some(row), _) => (row.variant.clone(), row.first_ts, false),
    };
    // Exposures to different variants in the same millisecond: the lower event id is the first,
    // as in ClickHouse's argMin by (ts, id). Rare, so looked up only then.
    let variant = if tied { first_variant_at(conn, experiment, visitor, first_ts)?.unwrap_or(variant) } else { variant };

    let old_contribution = match &old {
        None => Contribution::default(),
        Some(row) => {
            let mut stmt = conn.prepare_cached(VISITOR_CONVERSIONS)?;
            let goals = stmt.query_map([experiment, visitor], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Contribution { goals: goals.collect::<Result<Vec<_>, _>>()?, funnel_depth: row.funnel_depth }
        }
    };
    let new_contribution = contribution(first_ts, &goal_hits(conn, visitor, first_ts)?, funnel);

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

/// Recomputes the funnel depth of every exposed visitor of each experiment whose funnel changed.
/// This scans the experiment once; it runs when a config with a new funnel is loaded.
pub(super) fn rebuild_funnels(
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
pub(super) fn scan_funnel_depths(conn: &Connection, experiment: &str, steps: &[String]) -> anyhow::Result<Vec<(String, String, u32)>> {
    let exposed: Vec<(String, String, i64)> = {
        let mut stmt = conn.prepare("SELECT visitor, variant, first_ts FROM exposures WHERE experiment = ?1")?;
        let rows = stmt.query_map([experiment], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let mut depths = Vec::with_capacity(exposed.len());
    for (visitor, variant, first_ts) in exposed {
        let depth = contribution(first_ts, &goal_hits(conn, &visitor, first_ts)?, steps).funnel_depth;
        depths.push((visitor, variant, depth));
    }
    Ok(depths)
}


/// The visitor's counted goal events from `first_ts` on, the first `MAX_COUNTED_GOALS` of them.
fn goal_hits(conn: &Connection, visitor: &str, first_ts: i64) -> rusqlite::Result<Vec<GoalHit>> {
    let mut stmt = conn.prepare_cached(GOAL_HITS)?;
    let rows = stmt.query_map(params![visitor, first_ts, MAX_COUNTED_GOALS], |r| {
        Ok(GoalHit { goal: r.get(0)?, ts: r.get(1)?, value: r.get(2)? })
    })?;
    rows.collect()
}

/// The variant of the visitor's counted exposure with the lowest id at `ts`.
fn first_variant_at(conn: &Connection, experiment: &str, visitor: &str, ts: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT variant FROM events WHERE visitor = ?1 AND ts = ?2 AND type = 'exposure' AND experiment = ?3 \
         AND counted = 1 AND variant IS NOT NULL ORDER BY id LIMIT 1",
    )?
    .query_row(params![visitor, ts, experiment], |r| r.get(0))
    .optional()
}
