//! The SQLite writer thread: batches from the queue are committed in groups, one transaction per
//! group (a batch lands whole or not at all), and each batch's visitors' aggregates are brought up
//! to date.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use anyhow::Context;
use rusqlite::Connection;
use splitbeam_core::event::EventKind;
use tokio::sync::oneshot;

use super::aggregates::{self, NewExposure};
use super::checkpointer::WalWatch;
use super::{Job, MAX_GROUP_EVENTS};
use crate::ingest::Received;
use crate::store::notices::StoredNotices;
use crate::store::{EventRow, InsertOutcome, Unavailable};

/// Runs until the store is dropped: takes what is queued (up to `MAX_GROUP_EVENTS` events) and
/// commits it as one group; a funnel registration waits for the inserts queued before it.
pub(super) fn writer_loop(
    mut conn: Connection,
    mut funnels: HashMap<String, Vec<String>>,
    queue: Receiver<Job>,
    notices: Arc<StoredNotices>,
    wal: Arc<WalWatch>,
) {
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
                    commit_below_ceiling(&mut conn, &funnels, std::mem::take(&mut inserts), &notices, &wal);
                    let outcome = aggregates::rebuild_funnels(&mut conn, &mut funnels, wanted);
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
        commit_below_ceiling(&mut conn, &funnels, inserts, &notices, &wal);
    }
}

/// `commit_inserts`, unless the WAL is at its ceiling (a reader has kept it from starting over,
/// `checkpointer`): then nothing is written and every batch is answered 503 + Retry-After.
fn commit_below_ceiling(
    conn: &mut Connection,
    funnels: &HashMap<String, Vec<String>>,
    jobs: Vec<InsertJob>,
    notices: &StoredNotices,
    wal: &WalWatch,
) {
    if !wal.at_ceiling() {
        return commit_inserts(conn, funnels, jobs, notices);
    }
    if !jobs.is_empty() {
        tracing::warn!("the WAL is at its ceiling: {} batches refused with 503 until a checkpoint starts it over", jobs.len());
    }
    for (_, reply) in jobs {
        let _ = reply.send(Err(anyhow::Error::new(Unavailable(
            "the write-ahead log is full until a long read finishes".to_string(),
        ))));
    }
}

type InsertJob = (Vec<Received>, oneshot::Sender<anyhow::Result<InsertOutcome>>);

/// Why a group's transaction did not commit.
enum GroupFailure {
    /// A batch failed: the transaction was rolled back; the others can be tried again.
    Batch(usize, anyhow::Error),
    /// BEGIN or COMMIT failed: nothing was stored.
    Transaction(anyhow::Error),
}

/// One transaction for the whole group; a batch is stored whole or not at all, and every reply is
/// sent only after the commit returned. Batches rarely fail, so the group is first applied without
/// a savepoint per batch (each costs two statements parsed and a copy of every page it touches);
/// only if a batch fails is it rolled back and applied again batch by batch in savepoints, so that
/// the failing batch is refused alone.
fn commit_inserts(conn: &mut Connection, funnels: &HashMap<String, Vec<String>>, jobs: Vec<InsertJob>, notices: &StoredNotices) {
    if jobs.is_empty() {
        return;
    }
    // The replies stay out here, so that a group failing anywhere (even at BEGIN) answers every batch.
    let (batches, replies): (Vec<Vec<Received>>, Vec<_>) = jobs.into_iter().unzip();
    let committed = match commit_whole(conn, funnels, &batches) {
        Ok(outcomes) => Ok(outcomes.into_iter().map(Ok).collect()),
        Err(GroupFailure::Batch(index, e)) if batches.len() == 1 => {
            tracing::debug!("batch {index} of a group of one failed: {e:#}");
            Ok(vec![Err(e)])
        }
        Err(GroupFailure::Batch(index, e)) => {
            tracing::warn!("batch {index} of a group of {} failed, storing them one by one: {e:#}", batches.len());
            commit_in_savepoints(conn, funnels, &batches)
        }
        Err(GroupFailure::Transaction(e)) => Err(e),
    };
    // Live push (the dashboard's stream): after the commit, so a woken reader sees the rows; only
    // the batches that were stored.
    if let Ok(outcomes) = &committed {
        notices.committed(batches.iter().zip(outcomes).filter(|(_, o)| o.is_ok()).map(|(b, _)| b.as_slice()));
    }
    drop(batches);
    match committed {
        Ok(outcomes) => {
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
                    anyhow::Error::new(Unavailable(format!("the database is locked: {e:#}")))
                } else {
                    anyhow::anyhow!("the batch was not stored: {e:#}")
                };
                let _ = reply.send(Err(failure));
            }
        }
    }
}

/// Every batch of the group in one transaction, or none of them (dropping the transaction on a
/// failure rolls it back).
fn commit_whole(
    conn: &mut Connection,
    funnels: &HashMap<String, Vec<String>>,
    batches: &[Vec<Received>],
) -> Result<Vec<InsertOutcome>, GroupFailure> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| GroupFailure::Transaction(e.into()))?;
    let mut outcomes = Vec::with_capacity(batches.len());
    for (index, events) in batches.iter().enumerate() {
        outcomes.push(apply_batch(&tx, funnels, events).map_err(|e| GroupFailure::Batch(index, e))?);
    }
    tx.commit().map_err(|e| GroupFailure::Transaction(e.into()))?;
    Ok(outcomes)
}

/// One transaction, one savepoint per batch: a failing batch is rolled back alone. Returns each
/// batch's outcome, or the error that kept the transaction from committing.
fn commit_in_savepoints(
    conn: &mut Connection,
    funnels: &HashMap<String, Vec<String>>,
    batches: &[Vec<Received>],
) -> anyhow::Result<Vec<anyhow::Result<InsertOutcome>>> {
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batches.len());
    for events in batches {
        let savepoint = tx.savepoint()?;
        let outcome = match apply_batch(&savepoint, funnels, events) {
            Ok(done) => savepoint.commit().map(|_| done).map_err(anyhow::Error::from),
            // Dropping the savepoint rolls the batch back.
            Err(e) => Err(e),
        };
        outcomes.push(outcome);
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Stores one batch's new events and brings the aggregates of every visitor it touches up to date.
fn apply_batch(conn: &Connection, funnels: &HashMap<String, Vec<String>>, events: &[Received]) -> anyhow::Result<InsertOutcome> {
    let mut insert = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO events ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        EventRow::COLUMNS
    ))?;
    let mut outcome = InsertOutcome::default();
    // (experiment, visitor) → the earliest new exposure in this batch.
    let mut touched: BTreeMap<(String, String), Option<NewExposure>> = BTreeMap::new();
    let mut goal_visitors: BTreeSet<&str> = BTreeSet::new();
    for received in events {
        let row = EventRow::from(received);
        if insert.execute(row.sql_params().as_slice())? == 0 {
            outcome.duplicates += 1;
            continue;
        }
        outcome.stored += 1;
        let e = &received.event;
        match &e.kind {
            // Stored for export only; a bot's exposure is remembered to be counted as excluded.
            EventKind::Exposure { experiment, .. } if !received.counted => {
                if received.bot {
                    conn.prepare_cached("INSERT OR IGNORE INTO bot_exposures (experiment, visitor) VALUES (?1, ?2)")?
                        .execute([experiment, &e.visitor])?;
                }
            }
            _ if !received.counted => {}
            EventKind::Exposure { experiment, variant } => {
                let earliest = touched.entry((experiment.clone(), e.visitor.clone())).or_insert(None);
                match earliest {
                    Some(first) if row.ts > first.ts => {}
                    Some(first) if row.ts == first.ts => first.tied |= first.variant != *variant,
                    _ => *earliest = Some(NewExposure { ts: row.ts, variant: variant.clone(), tied: false }),
                }
            }
            EventKind::Goal { .. } => {
                goal_visitors.insert(&e.visitor);
            }
            EventKind::Pageview { .. } => {}
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
        aggregates::refresh_visitor(conn, funnel, &experiment, &visitor, exposure)
            .with_context(|| format!("updating experiment {experiment:?} for visitor {visitor:?}"))?;
    }
    Ok(outcome)
}


#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::ingest::parse_batch;

    fn writer_connection() -> Connection {
        let conn = Connection::open_in_memory().expect("an in-memory database");
        super::super::plan_once(&conn).expect("configuring the connection");
        conn.execute_batch(include_str!("schema.sql")).expect("the schema");
        conn
    }

    /// A visitor's exposure and goal, as the snippet posts them.
    fn visit(visitor: usize) -> Vec<Received> {
        let body = format!(
            r#"{{"events":[{{"id":"e{visitor}","type":"exposure","ts":1,"visitor":"v{visitor}","session":"s","url":"/","experiment":"hero","variant":"b"}},
                {{"id":"g{visitor}","type":"goal","ts":2,"visitor":"v{visitor}","session":"s","url":"/","goal":"buy","value":3}}]}}"#
        );
        parse_batch(body.as_bytes()).expect("a valid batch")
    }

    /// The visitor's next purchase, in a batch of its own.
    fn purchase(visitor: usize) -> Vec<Received> {
        let body = format!(
            r#"{{"events":[{{"id":"p{visitor}","type":"goal","ts":3,"visitor":"v{visitor}","session":"s","url":"/","goal":"buy","value":4}}]}}"#
        );
        parse_batch(body.as_bytes()).expect("a valid batch")
    }

    fn commit(conn: &mut Connection, batches: Vec<Vec<Received>>) -> Vec<anyhow::Result<InsertOutcome>> {
        let (jobs, answers): (Vec<InsertJob>, Vec<_>) = batches
            .into_iter()
            .map(|events| {
                let (reply, answer) = oneshot::channel();
                ((events, reply), answer)
            })
            .unzip();
        commit_inserts(conn, &HashMap::new(), jobs, &StoredNotices::default());
        answers.into_iter().map(|answer| answer.blocking_recv().expect("every batch is answered")).collect()
    }

    #[test]
    fn the_writers_reads_are_planned_once_not_per_batch() {
        let mut conn = writer_connection();
        for visitor in 0..5 {
            for batch in [visit(visitor), purchase(visitor)] {
                let outcomes = commit(&mut conn, vec![batch]);
                assert!(outcomes[0].as_ref().is_ok_and(|o| o.stored > 0), "stored");
            }
        }
        for sql in [aggregates::GOAL_HITS, aggregates::VISITOR_CONVERSIONS] {
            let stmt = conn.prepare_cached(sql).expect("the writer's statement");
            assert!(stmt.get_status(StatementStatus::Run) >= 4, "{sql} ran once per batch");
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql} was prepared again");
        }
    }

    #[test]
    fn a_failing_batch_is_refused_alone_and_the_rest_of_its_group_stored() {
        let mut conn = writer_connection();
        // A trigger makes one batch fail inside the group's transaction, as a disk error could.
        conn.execute_batch(
            "CREATE TRIGGER refuse AFTER INSERT ON events WHEN NEW.visitor = 'v1' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .expect("the trigger");
        let outcomes = commit(&mut conn, vec![visit(0), visit(1), visit(2)]);
        assert_eq!(outcomes[0].as_ref().expect("batch 0 stored").stored, 2);
        assert!(outcomes[1].as_ref().is_err_and(|e| format!("{e:#}").contains("refused")), "batch 1 refused");
        assert_eq!(outcomes[2].as_ref().expect("batch 2 stored").stored, 2);
        let stored: Vec<String> = conn
            .prepare("SELECT id FROM events ORDER BY id")
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
            .expect("reading the events");
        assert_eq!(stored, ["e0", "e2", "g0", "g2"]);
        let visitors: i64 = conn
            .query_row("SELECT visitors FROM variant_totals WHERE experiment = 'hero' AND variant = 'b'", [], |r| r.get(0))
            .expect("the totals");
        assert_eq!(visitors, 2, "the refused batch's visitor is not counted");
    }
}
