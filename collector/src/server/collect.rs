//! `POST /collect`: validate the whole batch, store it, and answer only once it is committed.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::Serialize;

use super::error::ApiError;
use super::AppState;
use crate::{counting, ingest};

#[derive(Serialize)]
pub struct Stored {
    pub stored: u64,
    pub duplicates: u64,
    /// Well-formed events refused one by one, each naming its index and field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<ingest::Refused>,
}

/// Accepts `application/json` and `text/plain` alike (the snippet sends text/plain so that no
/// preflight is needed); the body limit is enforced by the route's `DefaultBodyLimit`.
pub async fn collect(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Json<Stored>, ApiError> {
    let ingest::Parsed { mut events, refused, automated } = ingest::parse_batch_with(&body, &state.ingest.limits)
        .inspect_err(|_| {
            state.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
        })?;
    state.metrics.events_refused.fetch_add(refused.len() as u64, Ordering::Relaxed);
    let user_agent = headers.get(header::USER_AGENT).and_then(|ua| ua.to_str().ok());
    let bot = counting::is_bot_request(user_agent, automated);
    state.config.current().counting.mark(&mut events, bot, state.ingest.count_bots);
    if bot {
        state.metrics.events_from_bots.fetch_add(events.len() as u64, Ordering::Relaxed);
    }
    let outcome = state.store.insert_batch(events).await.map_err(|e| {
        let err = ApiError::from_store(e);
        if matches!(err, ApiError::Overloaded) {
            state.metrics.batches_overloaded.fetch_add(1, Ordering::Relaxed);
        }
        err
    })?;
    state.metrics.batches_accepted.fetch_add(1, Ordering::Relaxed);
    state.metrics.events_ingested.fetch_add(outcome.stored, Ordering::Relaxed);
    state.metrics.events_duplicate.fetch_add(outcome.duplicates, Ordering::Relaxed);
    Ok(Json(Stored { stored: outcome.stored, duplicates: outcome.duplicates, refused }))
}
