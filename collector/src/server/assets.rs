//! What storefront pages load: `/experiments.json` (the live config text), `/splitbeam.js` (the
//! loader with the config baked in) and the other built snippet files in `--dist` (wasm, glue).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::snippet;

/// The config changes without the URL changing, so browsers must revalidate.
const NO_CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");

pub async fn experiments_json(State(state): State<Arc<AppState>>) -> Response {
    let current = state.config.current();
    ([(header::CONTENT_TYPE, "application/json"), NO_CACHE], current.text.clone()).into_response()
}

pub async fn loader(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let path = state.dist.join("splitbeam.js");
    let loader = tokio::fs::read_to_string(&path).await.map_err(|e| {
        ApiError::Unavailable(format!(
            "the snippet is not built ({}: {e}); run `npm run build` or pass --dist DIR",
            path.display()
        ))
    })?;
    let body = snippet::render(&loader, &state.config.current().text);
    Ok(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), NO_CACHE], body).into_response())
}

/// Any other built file by its plain name: no folders, no hidden files.
pub async fn dist_file(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let content_type = match name.rsplit('.').next() {
        Some("wasm") => "application/wasm",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
    let not_found = || ApiError::NotFound(format!("no file {name:?} here"));
    if !plain {
        return Err(not_found());
    }
    let path = state.dist.join(&name);
    // Revalidated on every page (the glue and the wasm must stay a matching pair after a rebuild),
    // so answer an unchanged file with 304 instead of its bytes.
    let modified = tokio::fs::metadata(&path).await.map_err(|_| not_found())?.modified().ok().map(httpdate::fmt_http_date);
    if let Some(modified) = &modified {
        let since = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok());
        if since == Some(modified.as_str()) {
            return Ok((StatusCode::NOT_MODIFIED, [NO_CACHE]).into_response());
        }
    }
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    let mut response = ([(header::CONTENT_TYPE, content_type), NO_CACHE], bytes).into_response();
    if let Some(value) = modified.and_then(|m| HeaderValue::from_str(&m).ok()) {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    Ok(response)
}
