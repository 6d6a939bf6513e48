//! `POST /collect`: validate the whole batch, store it, and answer only once it is committed.
//!
//! Every request may be hostile, so the work it can cost is bounded before the body is read: a
//! `Content-Length` over the limit is answered 413 at once (no `100 Continue` is sent), the body's
//! bytes are reserved from the ingest memory budget before it is read (503 + Retry-After when it
//! is spent), then the parsed events' size instead, held until the store answers; and the body
//! must arrive within the body timeout (408).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;

use super::committing::Committing;
use super::error::ApiError;
use super::{rate_limit, AppState};
use crate::ingest::{self, BatchError, MAX_BODY_BYTES};
use crate::counting;

/// What a batch's events hold per byte of its body, foreseen before parsing (the reservation is
/// corrected after): small events hold about 2.5 times their JSON (`Event::approx_bytes`).
const PARSED_PER_BODY_BYTE: usize = 3;
/// Bodies up to this are parsed on the async worker; larger ones on the blocking pool.
const PARSE_IN_PLACE_BYTES: usize = 64 * 1024;

#[derive(Serialize)]
pub struct Stored {
    pub stored: u64,
    pub duplicates: u64,
    /// Well-formed events refused one by one, each naming its index and field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<ingest::Refused>,
}

/// Accepts `application/json` and `text/plain` alike (the snippet sends text/plain so that no
/// preflight is needed).
pub async fn collect(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if let Some(too_many) = rate_limit::refuse(&state, &request) {
        return too_many;
    }
    stored(state, request).await.into_response()
}

async fn stored(state: Arc<AppState>, request: Request) -> Result<Json<Stored>, ApiError> {
    let (outcome, refused) = accept(state.clone(), request).await.inspect_err(|e| match e {
        ApiError::BadBatch(_) | ApiError::BadRequest(_) => {
            state.metrics.batches_rejected.fetch_add(1, Ordering::Relaxed);
        }
        ApiError::Overloaded => {
            state.metrics.batches_overloaded.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    })?;
    Ok(Json(Stored { stored: outcome.stored, duplicates: outcome.duplicates, refused }))
}

async fn accept(shared: Arc<AppState>, request: Request) -> Result<(crate::store::InsertOutcome, Vec<ingest::Refused>), ApiError> {
    let state = shared.as_ref();
    let announced = announced_length(request.headers())?;
    let user_agent = request.headers().get(header::USER_AGENT).and_then(|ua| ua.to_str().ok()).map(str::to_owned);
    // Reserve before reading a byte, for what the batch will hold once parsed (its events take
    // more than its body): a chunked body (no Content-Length) reserves for the largest batch.
    // The reservation is corrected to the events' size after parsing.
    let reserve = announced.unwrap_or(MAX_BODY_BYTES).max(1).saturating_mul(PARSED_PER_BODY_BYTE);
    let reserved = u32::try_from(reserve).ok().and_then(|n| state.ingest_memory.clone().try_acquire_many_owned(n).ok());
    let Some(mut permit) = reserved else {
        // Read the body and throw it away, holding no memory for it, so that the 503 is not lost
        // to a connection reset (closing a socket with unread data resets it). A client that
        // asked `Expect: 100-continue` has sent nothing yet and gets the 503 at once.
        if !expects_continue(request.headers()) {
            let _ = tokio::time::timeout(state.body_timeout, drain(request.into_body())).await;
        }
        return Err(ApiError::Overloaded);
    };
    let body = tokio::time::timeout(state.body_timeout, read_body(request.into_body(), announced))
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_timeout))??;
    // Parsing a large batch takes milliseconds of CPU: off the async workers, which keep reading
    // sockets meanwhile (a snippet's batch, under 60 KB, is parsed in place). The body is
    // dropped as soon as it is parsed.
    let limits = state.ingest.limits;
    let ingest::Parsed { mut events, refused, automated } = if body.len() > PARSE_IN_PLACE_BYTES {
        // One large parse per core at a time: more would not finish sooner, and each holds a
        // JSON tree several times its body while it runs.
        let _slot = state.parse_slots.acquire().await.map_err(|e| ApiError::Internal(e.into()))?;
        tokio::task::spawn_blocking(move || ingest::parse_batch_with(&body, &limits))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("parsing a batch: {e}")))??
    } else {
        ingest::parse_batch_with(&body, &limits)?
    };
    // What of it enters the results (`crate::counting`): bots and invented names are stored only.
    let bot = counting::is_bot_request(user_agent.as_deref(), automated);
    state.config.current().counting.mark(&mut events, bot, state.ingest.count_bots);
    if bot {
        state.metrics.events_from_bots.fetch_add(events.len() as u64, Ordering::Relaxed);
    }
    let held = events.iter().map(ingest::Received::approx_bytes).sum::<usize>().max(1);
    let have = permit.num_permits();
    if held > have {
        // More than foreseen (a body of many tiny events): the rest must fit too.
        let extra = u32::try_from(held - have)
            .ok()
            .and_then(|n| state.ingest_memory.clone().try_acquire_many_owned(n).ok())
            .ok_or(ApiError::Overloaded)?;
        permit.merge(extra);
    } else if held < have {
        drop(permit.split(have - held));
    }
    // The store keeps a batch it was given even if the client hangs up meanwhile: its memory
    // stays reserved and it is counted when committed (`committing`).
    let pending = state.store.insert_batch(events);
    let outcome = Committing::new(pending, permit, shared.clone(), refused.len() as u64).outcome().await;
    Ok((outcome.map_err(ApiError::from_store)?, refused))
}

/// The body's announced length; one over the limit is refused before anything is read.
fn announced_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else { return Ok(None) };
    // hyper has already refused a malformed Content-Length; anything unparsable here is too large.
    let length = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(u64::MAX);
    if length > MAX_BODY_BYTES as u64 {
        return Err(ApiError::BadBatch(BatchError::TooLarge {
            index: None,
            message: format!("the batch is {length} bytes; the limit is {MAX_BODY_BYTES}"),
        }));
    }
    Ok(usize::try_from(length).ok())
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads at most `MAX_BODY_BYTES` of a body, keeping none of it.
async fn drain(body: Body) {
    let mut body = Limited::new(body, MAX_BODY_BYTES);
    while let Some(Ok(_)) = body.frame().await {}
}

/// Reads the body into one buffer sized by its Content-Length, refusing more than the limit.
async fn read_body(body: Body, announced: Option<usize>) -> Result<Vec<u8>, ApiError> {
    let mut body = Limited::new(body, MAX_BODY_BYTES);
    let mut bytes = Vec::with_capacity(announced.unwrap_or(16 * 1024));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.is::<LengthLimitError>() {
                ApiError::BadBatch(BatchError::TooLarge {
                    index: None,
                    message: format!("the batch is over the limit of {MAX_BODY_BYTES} bytes"),
                })
            } else {
                ApiError::BadRequest("the body could not be read".to_string())
            }
        })?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
