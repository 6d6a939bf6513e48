//! Reading the SQLite store: an experiment's totals from the running aggregates, visitor counts,
//! and export of raw events.

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension};

use super::aggregates::scan_funnel_depths;
use crate::store::{funnel_step_counts, EventRow, ExperimentTotals, FunnelCounts, GoalTotals, VariantCount};

pub(super) fn read_totals(conn: &Connection, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
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
        scan_funnel_depths(conn, experiment, steps)?.into_iter().map(|(_, variant, depth)| (variant, depth, 1)).collect()
    };
    Ok(funnel_step_counts(steps.len(), by_depth))
}

pub(super) fn visitor_counts(conn: &Connection) -> anyhow::Result<Vec<VariantCount>> {
    let mut stmt = conn.prepare_cached("SELECT experiment, variant, visitors FROM variant_totals ORDER BY experiment, variant")?;
    let rows = stmt.query_map([], |r| {
        Ok(VariantCount { experiment: r.get(0)?, variant: r.get(1)?, visitors: r.get::<_, i64>(2)?.max(0) as u64 })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The experiment's exposures and its exposed visitors' other events, visitor by visitor in time order.
pub(super) fn export(
    conn: &Connection,
    experiment: &str,
    each: &mut dyn FnMut(&EventRow) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let columns = EventRow::COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ");
    let mut stmt = conn.prepare(&format!(
        // Counted visitors and bots alike: bots are kept out of results, not out of export.
        "WITH exposed (visitor) AS (SELECT visitor FROM exposures WHERE experiment = ?1 \
           UNION SELECT visitor FROM bot_exposures WHERE experiment = ?1) \
         SELECT {columns} \
         FROM exposed x JOIN events e ON e.visitor = x.visitor \
         WHERE e.type <> 'exposure' OR e.experiment = ?1 \
         ORDER BY x.visitor, e.ts, e.id"
    ))?;
    let mut rows = stmt.query([experiment])?;
    let mut written = 0u64;
    while let Some(row) = rows.next()? {
        let event = EventRow::from_sql(row).context("reading a stored event")?;
        each(&event)?;
        written += 1;
    }
    Ok(written)
}
