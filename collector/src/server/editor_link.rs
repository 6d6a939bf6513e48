//! The in-page visual editor's routes. An admin (session + CSRF) asks for an editor link for one
//! experiment: the shop page's URL with a one-time `splitbeam-editor` code. On that page the
//! loader fetches `splitbeam-editor.js`, which trades the code for an editor token (bearer, kept
//! in the tab's sessionStorage) and with it reads, saves, previews and starts that experiment only.
//!
//! The shop may be on another origin than the collector, so these `/api/editor/` routes (and only
//! they) answer CORS requests. They never read cookies: a bearer header is no ambient credential,
//! so another site cannot make a browser use it, and no CSRF token is needed.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use splitbeam_core::json::Value;
use tower_http::cors::CorsLayer;

use super::error::ApiError;
use super::{admin, editor, AppState};
use crate::editor_grant::{TooManyOpenCodes, CODE_SECONDS, TOKEN_SECONDS};
use crate::preview::now_secs;

/// The query parameter the loader looks for.
pub const PARAM: &str = "splitbeam-editor";
/// A preview link made from the editor works this long (the copywriter shares it with QA).
const PREVIEW_SECONDS: u64 = 24 * 3600;
/// A shop URL longer than this is not one a person pasted.
const MAX_PAGE_URL: usize = 2048;

/// Put in a request's extensions by `require_editor`: the one experiment its token may edit.
#[derive(Clone, Debug)]
pub struct EditorGrant {
    pub experiment: String,
}

#[derive(Deserialize)]
struct LinkBody {
    page: String,
}

/// `POST /api/experiments/{key}/editor-link` (admins only, with CSRF): `{page}` → `{url, expires}`.
pub async fn create_link(State(state): State<Arc<AppState>>, Path(key): Path<String>, body: Bytes) -> Response {
    let Ok(LinkBody { page }) = serde_json::from_slice(&body) else {
        return ApiError::BadRequest("expected {\"page\": \"https://your-shop.example/page\"}".into()).into_response();
    };
    if page_with_code(&page, "", None).is_none() {
        return ApiError::BadRequest(format!("the page to edit must be an http(s) URL of at most {MAX_PAGE_URL} characters, without spaces")).into_response();
    }
    let experiment = match editor::experiment_in_file(&state, &key).await {
        Ok(Some(experiment)) => experiment,
        Ok(None) => return ApiError::NotFound(format!("no experiment {key:?} in experiments.json")).into_response(),
        Err(response) => return response,
    };
    // The copywriter's tab is forced into the first variant (control) as a QA session: a running
    // experiment then shows the original page to edit on, and the tab is not counted in results.
    let control = experiment
        .get("variants")
        .and_then(Value::as_array)
        .and_then(|variants| variants.first())
        .and_then(|v| v.get("key"))
        .and_then(Value::as_str)
        .map(|variant| format!("{key}:{variant}"));
    let now = now_secs();
    let code = match state.editor_grants.issue_code(&key, now) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<TooManyOpenCodes>().is_some() => {
            return (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": e.to_string() }))).into_response()
        }
        Err(e) => return ApiError::Internal(e.context("making an editor link")).into_response(),
    };
    let url = page_with_code(&page, &code, control.as_deref()).unwrap_or_default();
    no_store(Json(json!({ "url": url, "expires": now + CODE_SECONDS })).into_response())
}

/// `page` with `?splitbeam-editor=<code>` (and `&splitbeam=<experiment:variant>`, a QA force)
/// added before any fragment, if it is an http(s) URL.
fn page_with_code(page: &str, code: &str, forced: Option<&str>) -> Option<String> {
    let page = page.trim();
    let scheme_ok = ["http://", "https://"].iter().any(|s| page.len() > s.len() && page[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok || page.len() > MAX_PAGE_URL || !page.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80) {
        return None;
    }
    let (base, fragment) = match page.split_once('#') {
        Some((base, fragment)) => (base, format!("#{fragment}")),
        None => (page, String::new()),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    // Keys and variant keys are 1-64 of A-Z a-z 0-9 - _ . (validated): nothing to escape.
    let forced = forced.map(|f| format!("&splitbeam={f}")).unwrap_or_default();
    Some(format!("{base}{separator}{PARAM}={code}{forced}{fragment}"))
}

#[derive(Deserialize)]
struct ExchangeBody {
    code: String,
}

/// `POST /api/editor/session` `{code}` → `{token, experiment, expires}`: the one-time code for an
/// editor token. Failures count as sign-in attempts (rate-limited like them).
async fn exchange(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let allowed = state.admin.attempt_allowed(request.headers(), admin::peer_of(&request));
    let body = match axum::body::to_bytes(request.into_body(), 4096).await {
        Ok(body) => body,
        Err(_) => return ApiError::BadRequest("the body is over 4 KB".into()).into_response(),
    };
    let Ok(ExchangeBody { code }) = serde_json::from_slice(&body) else {
        return ApiError::BadRequest("expected {\"code\": \"…\"}".into()).into_response();
    };
    if !allowed {
        return (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": "too many attempts from this address; retry later" }))).into_response();
    }
    let now = now_secs();
    let Some(experiment) = state.editor_grants.redeem(&code, now) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "this editor link was already used or has expired: open \"Edit on page\" in the dashboard again" })),
        )
            .into_response();
    };
    let expires = now + TOKEN_SECONDS;
    let token = state.editor_grants.token(&experiment, expires);
    no_store(Json(json!({ "token": token, "experiment": experiment, "expires": expires })).into_response())
}

/// `POST /api/editor/experiments/{key}/preview-link` → `{token, expires}`: a signed preview token
/// (as `splitbeam preview-link` makes) for the QA link to the draft.
async fn preview_link(State(state): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    let expires = now_secs() + PREVIEW_SECONDS;
    let token = state.preview_key.sign(&key, expires);
    no_store(Json(json!({ "token": token, "expires": expires })).into_response())
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// In front of the editor's experiment routes: a valid editor token for the experiment in the path.
async fn require_editor(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(experiment) = presented.and_then(|token| state.editor_grants.verify(token, now_secs())) else {
        let mut response = (StatusCode::UNAUTHORIZED, Json(json!({ "error": "the editor link has expired: open \"Edit on page\" in the dashboard again" }))).into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"splitbeam-editor\""));
        return response;
    };
    let in_path = request.uri().path().strip_prefix("/api/editor/experiments/").and_then(|rest| rest.split('/').next());
    if in_path != Some(experiment.as_str()) {
        return (StatusCode::FORBIDDEN, Json(json!({ "error": format!("this editor link is for experiment {experiment:?} only") }))).into_response();
    }
    request.extensions_mut().insert(EditorGrant { experiment });
    next.run(request).await
}

/// The editor's routes, with their own CORS (bearer header, no cookies) for the shop's origins.
pub fn routes(state: Arc<AppState>, allow_origins: &[String]) -> anyhow::Result<Router> {
    let scoped = Router::new()
        .route("/api/editor/experiments/{key}/definition", get(editor::definition).put(editor::edit))
        .route("/api/editor/experiments/{key}/start", post(editor::start))
        .route("/api/editor/experiments/{key}/preview-link", post(preview_link))
        .layer(DefaultBodyLimit::max(editor::MAX_BODY_BYTES))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), require_editor));
    Ok(Router::new()
        .route("/api/editor/session", post(exchange))
        .merge(scoped)
        .with_state(state)
        .layer(cors(allow_origins)?))
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    // No allow_credentials: cookies are never sent to, or read by, these routes from another origin.
    Ok(CorsLayer::new()
        .allow_origin(super::allowed_origins(origins)?)
        .allow_methods([Method::GET, Method::PUT, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_MATCH])
        .expose_headers([header::ETAG])
        .max_age(Duration::from_secs(600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_goes_into_the_query_before_the_fragment() {
        assert_eq!(page_with_code("https://shop.example/", "C", None).as_deref(), Some("https://shop.example/?splitbeam-editor=C"));
        assert_eq!(
            page_with_code("http://s.example/p?x=1#top", "C", Some("hero:control")).as_deref(),
            Some("http://s.example/p?x=1&splitbeam-editor=C&splitbeam=hero:control#top")
        );
        for bad in ["javascript:alert(1)", "/shop/", "https://a b", "ftp://x", "https://"] {
            assert_eq!(page_with_code(bad, "C", None), None, "{bad}");
        }
    }
}
