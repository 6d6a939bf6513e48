//! Every way a request can fail, as one enum: each variant maps to one status code and a JSON
//! body `{"error": ..}` (plus `index` and `field` for a refused event). Internal errors and store
//! failures are logged with the request id and answered with the id only: what failed inside
//! (SQLite's or ClickHouse's message, paths) never reaches the client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::request_id;
use crate::ingest::BatchError;
use crate::store::Overloaded;
use crate::store::Unavailable as StoreUnavailable;

#[derive(Debug)]
pub enum ApiError {
    /// The batch was refused whole (400, or 413 when over a size limit).
    BadBatch(BatchError),
    /// The writer queue or the ingest memory budget is full: the client should retry (503 + Retry-After).
    Overloaded,
    /// The request body did not arrive within the body timeout (408).
    BodyTimeout(std::time::Duration),
    /// The store cannot take the batch now (ClickHouse unreachable): retry (503 + Retry-After).
    StoreUnavailable(String),
    NotFound(String),
    /// Refused for who is asking, e.g. a preview link with a bad or expired signature (403).
    Forbidden(String),
    /// A request this route cannot answer as asked (400).
    BadRequest(String),
    /// Something the server needs is missing, e.g. the built snippet (503).
    Unavailable(String),
    Internal(anyhow::Error),
}

impl ApiError {
    /// Maps a storage failure: a full queue is retryable, anything else is internal.
    pub fn from_store(err: anyhow::Error) -> ApiError {
        if err.downcast_ref::<Overloaded>().is_some() {
            ApiError::Overloaded
        } else if let Some(unavailable) = err.downcast_ref::<StoreUnavailable>() {
            ApiError::StoreUnavailable(unavailable.to_string())
        } else {
            ApiError::Internal(err)
        }
    }
}

impl From<BatchError> for ApiError {
    fn from(err: BatchError) -> ApiError {
        ApiError::BadBatch(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadBatch(err) => {
                let message = err.to_string();
                match err {
                    BatchError::Malformed(_) => (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response(),
                    BatchError::TooLarge { index, .. } => {
                        (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({ "error": message, "index": index }))).into_response()
                    }
                    BatchError::InvalidEvent { index, field, .. } => (
                        StatusCode::BAD_REQUEST,
                        Json(json!({ "error": message, "index": index, "field": field })),
                    )
                        .into_response(),
                }
            }
            ApiError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                Json(json!({ "error": Overloaded.to_string() })),
            )
                .into_response(),
            ApiError::BodyTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                Json(json!({ "error": format!("the body did not arrive within {} s", limit.as_secs()) })),
            )
                .into_response(),
            ApiError::StoreUnavailable(message) => {
                let request_id = request_id::current();
                tracing::warn!(request_id = %request_id, "{message}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "1")],
                    Json(json!({ "error": "the store is unavailable; retry shortly", "request_id": request_id })),
                )
                    .into_response()
            }
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response(),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response(),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response(),
            ApiError::Unavailable(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response()
            }
            ApiError::Internal(err) => {
                let request_id = request_id::current();
                tracing::error!(request_id = %request_id, "internal error: {err:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "internal error", "request_id": request_id })))
                    .into_response()
            }
        }
    }
}
