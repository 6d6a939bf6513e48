//! What storefront pages load: `/experiments.json` (the live config text), `/splitbeam.js` (the
//! loader with the config baked in) and the other built snippet files in `--dist` (wasm, glue).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::compressed::Compressed;
use super::error::ApiError;
use super::live_config::CurrentConfig;
use super::{static_guard, AppState};
use crate::snippet;

/// The config changes without the URL changing, so browsers must revalidate.
const NO_CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");
/// `/splitbeam.js`: a returning visitor's page uses the copy it has at once (no round trip before
/// the reveal) while the browser revalidates it in the background, so a config edit reaches them
/// from their next page view; a first visit always gets the current one.
const LOADER_CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "public, max-age=0, stale-while-revalidate=86400");
const VARY_ENCODING: (header::HeaderName, &str) = (header::VARY, "accept-encoding");
/// For files named by their content hash (`splitbeam_bg.<hash>.wasm`).
const IMMUTABLE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");


/// The config as anyone may read it: without drafts, saved groups hashed (the dashboard and the
/// CLI read the file itself).
pub async fn experiments_json(State(state): State<Arc<AppState>>) -> Response {
    let current = state.config.current();
    ([(header::CONTENT_TYPE, "application/json"), NO_CACHE], current.public_text.clone()).into_response()
}

#[derive(serde::Deserialize)]
pub struct LoaderQuery {
    /// A signed preview token (`splitbeam preview-link`): the loader then holds that draft too.
    preview: Option<String>,
}

/// A built file of `--dist` for the snippet, if it is there and inside the folder.
async fn built_file(state: &AppState, name: &str) -> Result<(std::path::PathBuf, std::fs::Metadata), ApiError> {
    let path = static_guard::file_inside(&state.dist, name)
        .await
        .map_err(|_| not_built(state, name, "missing, or a link out of the folder"))?;
    let meta = tokio::fs::metadata(&path).await.map_err(|e| not_built(state, name, e))?;
    Ok((path, meta))
}

/// Logged with the path; the caller is only told the snippet is not built here.
fn not_built(state: &AppState, name: &str, why: impl std::fmt::Display) -> ApiError {
    tracing::error!("the snippet is not built: {}: {why}; run `npm run build` or pass --dist DIR", state.dist.join(name).display());
    ApiError::Unavailable("the snippet is not built on this collector".into())
}

/// The stamp of a built file, by a direct stat on every request (a hop to the blocking pool costs
/// more than the call), so a deleted or rebuilt file is never hidden by a cache; the folder checks
/// and the read run only when the stamp is new.
fn stat(state: &AppState, name: &str) -> std::io::Result<DistStamp> {
    std::fs::metadata(state.dist.join(name)).map(|meta| dist_stamp(&meta))
}

pub async fn loader(
    State(state): State<Arc<AppState>>,
    Query(query): Query<LoaderQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let config = state.config.current();
    if let Some(token) = query.preview {
        return preview_loader(&state, &config, &token).await;
    }
    let rendered = current_loader(&state, config).await?;
    let etag = (header::ETAG, rendered.etag.clone());
    if if_none_match(&headers, &rendered.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [LOADER_CACHE, VARY_ENCODING], [etag]).into_response());
    }
    let response = ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), LOADER_CACHE], [etag]).into_response();
    Ok(rendered.body.answer(&headers, response))
}


/// The loader for `config`, rendered and compressed once per config and build of the loader file.
async fn current_loader(state: &AppState, config: Arc<CurrentConfig>) -> Result<Arc<RenderedLoader>, ApiError> {
    let name = snippet::loader_file(&config.public);
    let dist_stamp = stat(state, name).map_err(|e| not_built(state, name, e))?;
    if let Some(rendered) = state.loader_cache.get(&config, dist_stamp) {
        return Ok(rendered);
    }
    // One render per change: whoever waited here finds the cache filled.
    let _filling = state.loader_cache.filling.lock().await;
    if let Some(rendered) = state.loader_cache.get(&config, dist_stamp) {
        return Ok(rendered);
    }
    let (path, _) = built_file(state, name).await?;
    let loader = tokio::fs::read_to_string(&path).await.map_err(|e| not_built(state, name, e))?;
    let body = snippet::render(&loader, &config.public);
    state.metrics.snippet_renders.fetch_add(1, Ordering::Relaxed);
    // Compressing at the highest levels takes a while: off the async threads, once per render.
    let rendered = tokio::task::spawn_blocking(move || RenderedLoader::new(config, dist_stamp, body))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(state.loader_cache.store(rendered))
}

/// Renders the loader for the live config ahead of the first request for it (at start and after a
/// config reload), so that a burst of shop pages does not wait on the render and its compression.
pub async fn warm(state: &AppState) {
    // Not built yet: logged by `not_built`; the first request tries again.
    let _ = current_loader(state, state.config.current()).await;
}

/// `/splitbeam.js?preview=TOKEN`: the loader with the one draft a valid, unexpired preview token
/// names (403 otherwise). Never stored by caches: the token is the only thing that lets it out.
async fn preview_loader(state: &AppState, config: &CurrentConfig, token: &str) -> Result<Response, ApiError> {
    let experiment = state
        .preview_key
        .verify(token, crate::preview::now_secs())
        .map_err(|why| ApiError::Forbidden(why.to_string()))?;
    if !config.config.experiments.iter().any(|e| e.key == experiment) {
        return Err(ApiError::NotFound(format!("no experiment {experiment:?} in the config to preview")));
    }
    let public = snippet::public(&config.config, Some(&experiment));
    let name = snippet::loader_file(&public);
    let (path, _) = built_file(state, name).await?;
    let loader = tokio::fs::read_to_string(&path).await.map_err(|e| not_built(state, name, e))?;
    let body = snippet::render(&loader, &public);
    Ok(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response())
}

/// `/tag.html`: the inline tag for the current config, for shops whose HTML is rendered per request
/// (a server-side include or an edge worker fetches it and puts it at the top of `<head>`), so a
/// new element under test is hidden without re-pasting anything. It points at this collector, by
/// the `Host` the request came to.
pub async fn tag(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let body = render_tag(&state, &headers).await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8"), NO_CACHE], body).into_response())
}

/// The inline tag for the current config, pointing at this collector by the request's `Host`.
pub async fn render_tag(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let plain_host = !host.is_empty() && host.len() <= 255 && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !plain_host {
        return Err(ApiError::BadRequest("a Host header naming this collector is needed for the inline tag".into()));
    }
    let (template_path, _) = built_file(state, "tag.js").await?;
    let template = tokio::fs::read_to_string(&template_path).await.map_err(|e| not_built(state, "tag.js", e))?;
    let config = state.config.current();
    let loader_name = snippet::loader_file(&config.public);
    let (loader_path, _) = built_file(state, loader_name).await?;
    let loader = tokio::fs::read_to_string(&loader_path).await.map_err(|e| not_built(state, loader_name, e))?;
    let first = snippet::first_module(&loader).unwrap_or_default();
    let attributes = [("data-collector".to_string(), format!("//{host}/collect"))];
    Ok(snippet::tag(&template, &config.public, &format!("//{host}/splitbeam.js"), &first, 1000, &attributes))
}

/// `/splitbeam.js` as last rendered: every page of every shop asks for it (and revalidates it), while
/// its inputs (the built loader, the live config) change only on a rebuild or a config edit.
#[derive(Default)]
pub struct LoaderCache {
    last: Mutex<Option<Arc<RenderedLoader>>>,
    /// Held while rendering: a burst of requests after a config edit renders (and compresses) once.
    filling: tokio::sync::Mutex<()>,
}

/// The built files of `--dist` as last read and compressed, by name.
#[derive(Default)]
pub struct DistCache {
    files: Mutex<HashMap<String, Arc<DistFile>>>,
}

/// One version of a built file; the first request reads and compresses it, the others wait for that.
struct DistFile {
    stamp: DistStamp,
    body: tokio::sync::OnceCell<Compressed>,
}

/// More names than a `--dist` folder holds after many builds: past it the cache starts over.
const MAX_DIST_FILES: usize = 256;

impl DistCache {
    /// The entry for this version of `name`, a new empty one if the file changed or was not seen.
    fn entry(&self, name: &str, stamp: DistStamp) -> Arc<DistFile> {
        let mut files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(file) = files.get(name).filter(|f| f.stamp == stamp) {
            return file.clone();
        }
        if files.len() >= MAX_DIST_FILES {
            files.clear();
        }
        let file = Arc::new(DistFile { stamp, body: tokio::sync::OnceCell::new() });
        files.insert(name.to_string(), file.clone());
        file
    }
}

/// What tells a rebuilt file (the loader, the wasm) from the one seen before: mtime and length,
/// plus (on Unix) the inode and the change time, which a copy that keeps mtimes (`cp -p`, rsync,
/// normalised build dates) still moves.
type DistStamp = (Option<SystemTime>, u64, u64, i64, i64);

/// A weak validator for a file as it is on disk (weak: the compression layer re-encodes the bytes).
fn stamp_etag((modified, len, inode, ctime, ctime_ns): &DistStamp) -> HeaderValue {
    let mtime_ns = modified.and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let tag = format!("W/\"{len:x}-{mtime_ns:x}-{inode:x}-{ctime:x}.{ctime_ns:x}\"");
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""))
}

fn dist_stamp(meta: &std::fs::Metadata) -> DistStamp {
    #[cfg(unix)]
    let (inode, ctime, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (inode, ctime, ctime_ns) = (0, 0, 0);
    (meta.modified().ok(), meta.len(), inode, ctime, ctime_ns)
}

pub struct RenderedLoader {
    /// Held, not just compared by address: while cached, a reloaded config cannot reuse this one's.
    config: Arc<CurrentConfig>,
    dist_stamp: DistStamp,
    body: Compressed,
    etag: HeaderValue,
}

impl RenderedLoader {
    fn new(config: Arc<CurrentConfig>, dist_stamp: DistStamp, body: String) -> RenderedLoader {
        // Weak: the compression layer may send these bytes gzip- or brotli-encoded under the same tag.
        // A hash is enough to tell two renders apart; it only has to be stable while this server runs.
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("W/\"{:x}-{:016x}\"", body.len(), hasher.finish());
        RenderedLoader {
            config,
            dist_stamp,
            body: Compressed::new(Bytes::from(body)),
            etag: HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("W/\"0\"")),
        }
    }
}

impl LoaderCache {
    /// The cached render when it was made from this very config and this version of the loader file.
    fn get(&self, config: &Arc<CurrentConfig>, dist_stamp: DistStamp) -> Option<Arc<RenderedLoader>> {
        let last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.as_ref().filter(|r| Arc::ptr_eq(&r.config, config) && r.dist_stamp == dist_stamp).cloned()
    }

    fn store(&self, rendered: RenderedLoader) -> Arc<RenderedLoader> {
        let rendered = Arc::new(rendered);
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(rendered.clone());
        rendered
    }
}

/// Whether the client's `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for GET).
fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().map(|t| t.trim_start_matches("W/")).unwrap_or_default();
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|tag| {
        let tag = tag.trim();
        tag == "*" || tag.trim_start_matches("W/") == ours
    })
}

/// Any other built file by its plain name: no folders, no hidden files, no links out of `--dist`.
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
    let stamp = stat(&state, &name).map_err(|_| not_found())?;
    let file = state.dist_cache.entry(&name, stamp);
    // Checked (inside the folder, no link out) and read once per version of the file.
    let body = file
        .body
        .get_or_try_init(|| async {
            let path = static_guard::file_inside(&state.dist, &name).await.map_err(|_| not_found())?;
            let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
            tokio::task::spawn_blocking(move || Compressed::new(Bytes::from(bytes))).await.map_err(|e| ApiError::Internal(e.into()))
        })
        .await?;
    // Revalidated on every page (the glue and the wasm must stay a matching pair after a rebuild),
    // so an unchanged file is answered 304. By an ETag from the whole stamp, not Last-Modified:
    // a date has one-second resolution, and copies that keep mtimes would pass as unchanged.
    let etag = stamp_etag(&stamp);
    if if_none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [NO_CACHE], [(header::ETAG, etag)]).into_response());
    }
    // A file named by its content hash never changes: cached for good, no revalidation per page.
    let caching = if snippet::is_content_hashed(&name) { IMMUTABLE } else { NO_CACHE };
    let response = ([(header::CONTENT_TYPE, content_type), caching], [(header::ETAG, etag)]).into_response();
    Ok(body.answer(&headers, response))
}
