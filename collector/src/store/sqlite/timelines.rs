//! Reading an experiment's exposed visitors with their goal events, visitor by visitor, for the
//! results over time. One pass over the experiment's `exposures` rows and their visitors' counted
//! goals (the same partial index the writer re-derives a visitor from), so its cost grows with the
//! experiment's visitors and goals, not with the whole database.

use rusqlite::Connection;

use crate::counting::MAX_COUNTED_GOALS;
use crate::store::contribution::GoalHit;
use crate::store::VisitorTimeline;

pub(super) fn visitor_timelines(
    conn: &Connection,
    experiment: &str,
    each: &mut dyn FnMut(VisitorTimeline<'_>),
) -> anyhow::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT x.visitor, x.variant, x.first_ts, e.goal, e.ts, e.value \
         FROM exposures x LEFT JOIN events e INDEXED BY counted_goals_by_visitor \
           ON e.visitor = x.visitor AND e.ts >= x.first_ts AND e.type = 'goal' AND e.counted = 1 AND e.goal IS NOT NULL \
         WHERE x.experiment = ?1 \
         ORDER BY x.visitor, e.ts",
    )?;
    let mut rows = stmt.query([experiment])?;
    // The visitor being gathered: (visitor, variant, first_ts) and their hits so far.
    let mut current: Option<(String, String, i64)> = None;
    let mut hits: Vec<GoalHit> = Vec::new();
    while let Some(row) = rows.next()? {
        let visitor: String = row.get(0)?;
        if current.as_ref().is_none_or(|(v, _, _)| *v != visitor) {
            if let Some((_, variant, first_ts)) = current.take() {
                each(VisitorTimeline { variant: &variant, first_ts, hits: &hits });
            }
            hits.clear();
            current = Some((visitor, row.get(1)?, row.get(2)?));
        }
        let goal: Option<String> = row.get(3)?;
        // As the running aggregates: the first MAX_COUNTED_GOALS goals after the exposure.
        if let (Some(goal), true) = (goal, (hits.len() as i64) < MAX_COUNTED_GOALS) {
            hits.push(GoalHit { goal, ts: row.get(4)?, value: row.get(5)? });
        }
    }
    if let Some((_, variant, first_ts)) = current {
        each(VisitorTimeline { variant: &variant, first_ts, hits: &hits });
    }
    Ok(())
}
