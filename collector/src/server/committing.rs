//! A batch handed to the store, until its commit: holds the batch's share of the ingest memory
//! budget and counts it in the metrics once committed, even if its client hangs up meanwhile
//! (the store commits a batch it was given either way).
//!
//! The request awaits the commit itself; only when the request is dropped before the answer (the
//! client hung up) does the wait move to a task of its own. A task spawned for every batch cost
//! an allocation and a scheduling round per request, for the rare request that is abandoned.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use crate::store::{InsertOutcome, PendingInsert};

pub struct Committing {
    /// Both `Some` until the outcome is known.
    pending: Option<(PendingInsert, OwnedSemaphorePermit)>,
    state: Arc<AppState>,
    refused: u64,
}

impl Committing {
    /// `refused`: the batch's events refused one by one (counted with it).
    pub fn new(pending: PendingInsert, permit: OwnedSemaphorePermit, state: Arc<AppState>, refused: u64) -> Committing {
        Committing { pending: Some((pending, permit)), state, refused }
    }

    /// Waits for the commit; the memory is released and the batch counted before this returns.
    pub async fn outcome(mut self) -> anyhow::Result<InsertOutcome> {
        let Some((pending, _)) = self.pending.as_mut() else {
            return Err(anyhow::anyhow!("the batch's outcome was already taken"));
        };
        let outcome = pending.await;
        // Dropping the permit releases the batch's memory.
        self.pending = None;
        count(&self.state, self.refused, &outcome);
        outcome
    }
}

impl Drop for Committing {
    fn drop(&mut self) {
        let Some((pending, permit)) = self.pending.take() else { return };
        // The client hung up while its batch waited: keep its memory reserved and count it when
        // it is committed. Outside a runtime (the process is ending) nothing is left to count.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let state = self.state.clone();
        let refused = self.refused;
        runtime.spawn(async move {
            let outcome = pending.await;
            drop(permit);
            count(&state, refused, &outcome);
        });
    }
}

fn count(state: &AppState, refused: u64, outcome: &anyhow::Result<InsertOutcome>) {
    if let Ok(outcome) = outcome {
        let metrics = &state.metrics;
        metrics.batches_accepted.fetch_add(1, Ordering::Relaxed);
        metrics.events_ingested.fetch_add(outcome.stored, Ordering::Relaxed);
        metrics.events_duplicate.fetch_add(outcome.duplicates, Ordering::Relaxed);
        metrics.events_refused.fetch_add(refused, Ordering::Relaxed);
    }
}
