//! The write API behind the dashboard's experiment editor (admins only; a session's writes carry
//! the CSRF token, see `admin`): read an experiment's JSON as the file has it, create, edit,
//! start, stop, pick a winner, archive, list the history and revert any change.
//!
//! Every write names the file version it was made against (`If-Match: <ETag>`, the ETag of the
//! file's exact bytes): the file may be edited by hand or in another tab meanwhile, and then the
//! write is refused with 412 and the current version, never applied over it. Writes are
//! validated as `splitbeam validate` does (422 with each problem's path), written atomically,
//! recorded in the history with the experiment before and after, and go live at once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use splitbeam_core::json::{self, Value};

use super::error::ApiError;
use super::rate_limit::client_address;
use super::AppState;
use crate::admin::Session;
use crate::config_doc::{to_compact, ConfigDoc};
use crate::config_file::MAX_CONFIG_BYTES;
use crate::config_write::{etag_of, if_match_accepts, write_atomically};
use crate::history::{History, NewChange};
use crate::lifecycle::{self, Action, Problem, Refusal};

/// An experiment's JSON is a few KB; this leaves room for long copy in `changes`.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The experiments file's writer: one edit at a time in this process, each recorded.
pub struct Editor {
    config: PathBuf,
    history: History,
    lock: Mutex<()>,
}

impl Editor {
    pub fn open(config: PathBuf, history: &std::path::Path) -> anyhow::Result<Editor> {
        Ok(Editor { config, history: History::open(history)?, lock: Mutex::new(()) })
    }
}

/// The write API's routes (merged behind `require_admin`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/definitions", get(definitions))
        .route("/api/experiments/{key}/definition", get(definition).put(edit))
        .route("/api/experiments/{key}/start", post(start))
        .route("/api/experiments/{key}/stop", post(stop))
        .route("/api/experiments/{key}/winner", post(winner))
        .route("/api/experiments/{key}/archive", post(archive))
        .route("/api/history", get(history))
        .route("/api/history/{id}/revert", post(revert))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `POST /api/experiments` (the route is shared with the list's GET, see `server::router`).
pub async fn create(State(state): State<Arc<AppState>>, who: Who, headers: HeaderMap, body: Bytes) -> Response {
    let experiment = match parse_experiment(&body) {
        Ok(v) => v,
        Err(message) => return ApiError::BadRequest(message).into_response(),
    };
    let Some(key) = experiment.get("key").and_then(Value::as_str).map(String::from) else {
        return problems_response(vec![Problem {
            path: "key".into(),
            field: Some("key".into()),
            message: "an experiment needs a key: 1-64 of A-Z a-z 0-9 - _ .".into(),
            line: 1,
            col: 1,
        }]);
    };
    save(state, who, &headers, key, Action::Create(experiment), None, StatusCode::CREATED).await
}

pub(super) async fn edit(State(state): State<Arc<AppState>>, who: Who, Path(key): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    match parse_experiment(&body) {
        Ok(experiment) => save(state, who, &headers, key, Action::Edit(experiment), None, StatusCode::OK).await,
        Err(message) => ApiError::BadRequest(message).into_response(),
    }
}

pub(super) async fn start(State(state): State<Arc<AppState>>, who: Who, Path(key): Path<String>, headers: HeaderMap) -> Response {
    save(state, who, &headers, key, Action::Start, None, StatusCode::OK).await
}

async fn stop(State(state): State<Arc<AppState>>, who: Who, Path(key): Path<String>, headers: HeaderMap) -> Response {
    save(state, who, &headers, key, Action::Stop, None, StatusCode::OK).await
}

async fn archive(State(state): State<Arc<AppState>>, who: Who, Path(key): Path<String>, headers: HeaderMap) -> Response {
    save(state, who, &headers, key, Action::Archive, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct WinnerBody {
    variant: String,
}

async fn winner(State(state): State<Arc<AppState>>, who: Who, Path(key): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(WinnerBody { variant }) = serde_json::from_slice(&body) else {
        return ApiError::BadRequest("expected {\"variant\": \"<variant key>\"}".into()).into_response();
    };
    save(state, who, &headers, key, Action::Winner(variant), None, StatusCode::OK).await
}

/// `POST /api/history/{id}/revert`: undoes change `id` (the fields it changed get their earlier
/// values; a creation is removed). Itself a recorded change, validated, under If-Match.
async fn revert(State(state): State<Arc<AppState>>, who: Who, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let editor = state.clone();
    let change = match tokio::task::spawn_blocking(move || editor.editor.history.get(id)).await {
        Ok(Ok(Some(change))) => change,
        Ok(Ok(None)) => return ApiError::NotFound(format!("no change {id} in the history")).into_response(),
        Ok(Err(e)) => return ApiError::Internal(e).into_response(),
        Err(e) => return ApiError::Internal(e.into()).into_response(),
    };
    let stored = |text: Option<&str>| match text.map(json::parse) {
        None => Ok(None),
        Some(Ok((value, _))) => Ok(Some(value)),
        Some(Err(e)) => Err(anyhow::anyhow!("change {id}: stored JSON does not parse: {e}")),
    };
    let (before, after) = match (stored(change.before.as_deref()), stored(change.after.as_deref())) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(e), _) | (_, Err(e)) => return ApiError::Internal(e).into_response(),
    };
    save(state, who, &headers, change.experiment, Action::Revert { before, after }, Some(id), StatusCode::OK).await
}

/// Who made a change, for the history: the session (or the bearer token) and the client.
pub struct Who {
    who: String,
    client: String,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for Who {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, app: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        // `require_admin` puts the session there; a bearer request has none.
        let who = match (parts.extensions.get::<Session>(), parts.extensions.get::<super::editor_link::EditorGrant>()) {
            (Some(session), _) => format!("session {}", session.id.chars().take(16).collect::<String>()),
            (None, Some(grant)) => format!("in-page editor link for {}", grant.experiment),
            (None, None) => "bearer token".to_string(),
        };
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let address = client_address(&parts.headers, peer, app.ingest.rate_limit.trust_forwarded_for)
            .map_or_else(|| "unknown address".to_string(), |a| a.to_string());
        let agent: String = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no User-Agent")
            .chars()
            .take(160)
            .collect();
        Ok(Who { who, client: format!("{address} · {agent}") })
    }
}

/// A request body as an experiment: strict JSON (our parser: key order kept, duplicates found).
fn parse_experiment(body: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let (value, positions) = json::parse(text).map_err(|e| format!("the body is not JSON: {e}"))?;
    if let Some((path, _)) = positions.duplicate_keys.first() {
        return Err(format!("duplicate key {path} in the body"));
    }
    if value.as_object().is_none() {
        return Err("an experiment is a JSON object".into());
    }
    Ok(value)
}

/// Why a save did not happen, beyond validation.
enum Failed {
    Refused(Refusal),
    /// No If-Match (428) or a stale one (412): the current ETag and experiment.
    Precondition { status: StatusCode, etag: String, experiment: Option<Value> },
    /// The file on disk cannot be edited (unreadable, not JSON): fix it by hand (409).
    FileBroken(String),
    Internal(anyhow::Error),
}

/// The file changed between our read and our write (a hand edit in that instant).
#[derive(Debug)]
struct ChangedMeanwhile;

impl std::fmt::Display for ChangedMeanwhile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("experiments.json changed while saving")
    }
}

impl std::error::Error for ChangedMeanwhile {}

struct Saved {
    etag: String,
    change: i64,
    experiment: Option<Value>,
}

async fn save(
    state: Arc<AppState>,
    who: Who,
    headers: &HeaderMap,
    key: String,
    action: Action,
    reverts: Option<i64>,
    ok: StatusCode,
) -> Response {
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(String::from);
    let writer = state.clone();
    let saved = tokio::task::spawn_blocking(move || write_change(&writer.editor, &who, if_match.as_deref(), &key, action, reverts)).await;
    match saved {
        Ok(Ok(saved)) => {
            // Live now, not at the next poll of the file.
            super::reload_config(&state).await;
            let body = format!(
                "{{\"etag\":{},\"change\":{},\"experiment\":{}}}",
                json_string(&saved.etag),
                saved.change,
                saved.experiment.as_ref().map_or_else(|| "null".to_string(), to_compact)
            );
            json_response(ok, body, Some(&saved.etag))
        }
        Ok(Err(Failed::Refused(Refusal::Invalid(problems)))) => problems_response(problems),
        Ok(Err(Failed::Refused(Refusal::NotFound(message)))) => ApiError::NotFound(message).into_response(),
        Ok(Err(Failed::Refused(Refusal::BadRequest(message)))) => ApiError::BadRequest(message).into_response(),
        Ok(Err(Failed::Precondition { status, etag, experiment })) => {
            let message = if status == StatusCode::PRECONDITION_REQUIRED {
                "send If-Match with the ETag of the experiments file you edited"
            } else {
                "experiments.json changed since you loaded it (by hand or in another tab): review the current version and save again"
            };
            let body = format!(
                "{{\"error\":{},\"etag\":{},\"experiment\":{}}}",
                json_string(message),
                json_string(&etag),
                experiment.as_ref().map_or_else(|| "null".to_string(), to_compact)
            );
            json_response(status, body, Some(&etag))
        }
        Ok(Err(Failed::FileBroken(message))) => json_response(
            StatusCode::CONFLICT,
            format!("{{\"error\":{}}}", json_string(&format!("experiments.json cannot be edited here until it is fixed by hand: {message}"))),
            None,
        ),
        Ok(Err(Failed::Internal(e))) => ApiError::Internal(e).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

/// Reads the file, checks If-Match, applies and validates the action, writes and records it.
fn write_change(editor: &Editor, who: &Who, if_match: Option<&str>, key: &str, action: Action, reverts: Option<i64>) -> Result<Saved, Failed> {
    let _one_at_a_time = editor.lock.lock().map_err(|_| Failed::Internal(anyhow::anyhow!("the editor lock is poisoned")))?;
    let (text, etag) = read_file(&editor.config)?;
    let doc = ConfigDoc::parse(&text).map_err(Failed::FileBroken)?;
    let accepted = if_match.is_some_and(|m| if_match_accepts(m, &etag));
    if !accepted {
        let status = if if_match.is_none() { StatusCode::PRECONDITION_REQUIRED } else { StatusCode::PRECONDITION_FAILED };
        return Err(Failed::Precondition { status, etag, experiment: doc.find(key).map(|(_, v)| v.clone()) });
    }
    let action_name = action.name();
    let applied = lifecycle::apply(&doc, key, action).map_err(Failed::Refused)?;
    let new_etag = etag_of(applied.text.as_bytes());
    let before = applied.before.as_ref().map(to_compact);
    let after = applied.after.as_ref().map(to_compact);
    let change = NewChange {
        who: &who.who,
        client: &who.client,
        action: action_name,
        experiment: &applied.key,
        before: before.as_deref(),
        after: after.as_deref(),
        etag_before: &etag,
        etag_after: &new_etag,
        reverts,
    };
    let recorded = editor.history.record(change, super::api::now_ms(), || {
        // A hand edit since our read would be lost: look once more, right before the rename.
        let (_, current) = read_file(&editor.config).map_err(|_| anyhow::Error::new(ChangedMeanwhile))?;
        if current != etag {
            return Err(anyhow::Error::new(ChangedMeanwhile));
        }
        write_atomically(&editor.config, applied.text.as_bytes())
    });
    match recorded {
        Ok(change) => Ok(Saved { etag: new_etag, change, experiment: applied.after }),
        Err(e) if e.downcast_ref::<ChangedMeanwhile>().is_some() => {
            let (text, etag) = read_file(&editor.config)?;
            let experiment = ConfigDoc::parse(&text).ok().and_then(|d| d.find(key).map(|(_, v)| v.clone()));
            Err(Failed::Precondition { status: StatusCode::PRECONDITION_FAILED, etag, experiment })
        }
        Err(e) => Err(Failed::Internal(e.context("saving experiments.json"))),
    }
}

/// The file's text and ETag.
fn read_file(path: &std::path::Path) -> Result<(String, String), Failed> {
    let meta = std::fs::metadata(path).map_err(|e| Failed::FileBroken(format!("cannot read: {e}")))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(Failed::FileBroken(format!("{} bytes is over the limit of {MAX_CONFIG_BYTES}", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| Failed::FileBroken(format!("cannot read: {e}")))?;
    let etag = etag_of(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| Failed::FileBroken("invalid UTF-8".into()))?;
    Ok((text, etag))
}

/// Experiment `key` as experiments.json has it, if it is there (for handing out an editor link).
pub(super) async fn experiment_in_file(state: &Arc<AppState>, key: &str) -> Result<Option<Value>, Response> {
    let path = state.editor.config.clone();
    let read = tokio::task::spawn_blocking(move || read_file(&path)).await;
    let (text, _) = match read {
        Ok(Ok(file)) => file,
        Ok(Err(failed)) => return Err(read_failure(failed)),
        Err(e) => return Err(ApiError::Internal(e.into()).into_response()),
    };
    match ConfigDoc::parse(&text) {
        Ok(doc) => Ok(doc.find(key).map(|(_, experiment)| experiment.clone())),
        Err(message) => Err(read_failure(Failed::FileBroken(message))),
    }
}

/// experiments.json read off the async workers and parsed, with its ETag; or the answer saying why not.
async fn read_doc(state: &AppState) -> Result<(ConfigDoc, String), Response> {
    let path = state.editor.config.clone();
    let (text, etag) = match tokio::task::spawn_blocking(move || read_file(&path)).await {
        Ok(Ok(file)) => file,
        Ok(Err(failed)) => return Err(read_failure(failed)),
        Err(e) => return Err(ApiError::Internal(e.into()).into_response()),
    };
    let doc = ConfigDoc::parse(&text).map_err(|message| read_failure(Failed::FileBroken(message)))?;
    Ok((doc, etag))
}

/// `GET /api/definitions`: every experiment as the file has it (drafts, archived, unknown keys),
/// with the file's ETag, for the editor and for creating one.
async fn definitions(State(state): State<Arc<AppState>>) -> Response {
    let (doc, etag) = match read_doc(&state).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let list: Vec<String> = doc.experiments().iter().map(to_compact).collect();
    let body = format!("{{\"etag\":{},\"experiments\":[{}]}}", json_string(&etag), list.join(","));
    json_response(StatusCode::OK, body, Some(&etag))
}

/// `GET /api/experiments/{key}/definition`: its JSON as in the file, the file's ETag, and the
/// problems validation finds in it now (a hand edit may have broken it).
pub(super) async fn definition(State(state): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    let (doc, etag) = match read_doc(&state).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some((index, experiment)) = doc.find(&key) else {
        return ApiError::NotFound(format!("no experiment {key:?} in experiments.json")).into_response();
    };
    let problems: Vec<Problem> = lifecycle::check(doc.text(), Some(index)).into_iter().filter(|p| p.field.is_some()).collect();
    let body = format!(
        "{{\"etag\":{},\"experiment\":{},\"problems\":{}}}",
        json_string(&etag),
        to_compact(experiment),
        serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into())
    );
    json_response(StatusCode::OK, body, Some(&etag))
}

#[derive(Deserialize)]
struct HistoryQuery {
    experiment: Option<String>,
}

/// `GET /api/history[?experiment=KEY]`: the newest changes first (at most 200).
async fn history(State(state): State<Arc<AppState>>, query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let experiment = query.ok().and_then(|Query(q)| q.experiment);
    let reader = state.clone();
    match tokio::task::spawn_blocking(move || reader.editor.history.list(experiment.as_deref())).await {
        Ok(Ok(changes)) => {
            let body = serde_json::json!({ "changes": changes }).to_string();
            json_response(StatusCode::OK, body, None)
        }
        Ok(Err(e)) => ApiError::Internal(e).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

fn read_failure(failed: Failed) -> Response {
    match failed {
        Failed::FileBroken(message) => json_response(
            StatusCode::CONFLICT,
            format!("{{\"error\":{}}}", json_string(&format!("experiments.json cannot be read: {message}"))),
            None,
        ),
        Failed::Internal(e) => ApiError::Internal(e).into_response(),
        Failed::Refused(_) | Failed::Precondition { .. } => ApiError::Internal(anyhow::anyhow!("unexpected read failure")).into_response(),
    }
}

fn problems_response(problems: Vec<Problem>) -> Response {
    let body = serde_json::json!({ "error": "the experiment does not validate", "problems": problems }).to_string();
    json_response(StatusCode::UNPROCESSABLE_ENTITY, body, None)
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    json::write_str(&mut out, s);
    out
}

/// A JSON answer built as text (experiments keep their key order, which serde_json's map would sort).
fn json_response(status: StatusCode, body: String, etag: Option<&str>) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response();
    if let Some(value) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
