//! The SQLite writer thread: batches from the queue are committed in groups, one transaction per
//! group and one savepoint per batch, and each batch's visitors' aggregates are brought up to date.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use anyhow::Context;
use rusqlite::Connection;
use splitbeam_core::event::EventKind;
use tokio::sync::oneshot;

use super::aggregates::{self, NewExposure};
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
                    commit_inserts(&mut conn, &funnels, std::mem::take(&mut inserts), &notices);
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
        commit_inserts(&mut conn, &funnels, inserts, &notices);
    }
}

type InsertJob = (Vec<Received>, oneshot::Sender<anyhow::Result<InsertOutcome>>);

/// One transaction for the whole group, one savepoint per batch: a failing batch is rolled back
/// alone; every reply is sent only after the commit returned.
fn commit_inserts(conn: &mut Connection, funnels: &HashMap<String, Vec<String>>, jobs: Vec<InsertJob>, notices: &StoredNotices) {
    if jobs.is_empty() {
        return;
    }
    // The replies stay out here, so that a group failing anywhere (even at BEGIN) answers every batch.
    let (batches, replies): (Vec<Vec<Received>>, Vec<_>) = jobs.into_iter().unzip();
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
    // Live push (the dashboard's stream): after the commit, so a woken reader sees the rows; only
    // the batches whose savepoint held.
    if committed.is_ok() {
        notices.committed(batches.iter().zip(&outcomes).filter(|(_, o)| o.is_ok()).map(|(b, _)| b.as_slice()));
    }
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
                    anyhow::Error::new(Unavailable(format!("the database is locked: {e:#}")))
                } else {
                    anyhow::anyhow!("the batch was not stored: {e:#}")
                };
                let _ = reply.send(Err(failure));
            }
        }
    }
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

