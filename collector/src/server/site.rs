//! The demo storefront (`--site`), served as a shop whose HTML is rendered per request would be:
//! `<!--#splitbeam-->` in a page becomes the current inline tag, so an experiment that changes
//! another element or page is hidden correctly without anyone re-pasting the tag.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{assets, AppState};

/// Where a page wants the inline tag.
pub const MARKER: &str = "<!--#splitbeam-->";
/// Pages larger than this are passed through untouched.
const MAX_PAGE_BYTES: usize = 5 << 20;

pub async fn include_tag(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    // The tag follows the live config: a 304 for a page would keep an old one in the browser.
    request.headers_mut().remove(header::IF_MODIFIED_SINCE);
    request.headers_mut().remove(header::IF_NONE_MATCH);
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let is_html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if response.status() != StatusCode::OK || !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large to serve").into_response();
    };
    let Ok(page) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if !page.contains(MARKER) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let tag = match assets::render_tag(&state, &headers).await {
        Ok(tag) => tag,
        Err(err) => {
            tracing::warn!("the demo shop's pages are served without the inline tag: {err:?}");
            String::new()
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::LAST_MODIFIED);
    parts.headers.remove(header::ETAG);
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Response::from_parts(parts, Body::from(page.replacen(MARKER, &tag, 1)))
}
