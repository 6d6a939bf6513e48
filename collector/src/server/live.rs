//! The dashboard's live feed and its pictures over time, both behind the admin session:
//! - `GET /api/live`: server-sent events. `stored` (`{"experiments": [..], "any": bool}`) after
//!   the store committed events for those experiments, `config` after the experiments file
//!   changed. The dashboard refetches what it shows on each. A stream sends at most one notice per
//!   `COALESCE` (a flash sale's thousand commits a second become five notices), a comment every
//!   `KEEP_ALIVE` (proxies close silent connections), and ends when the server shuts down.
//!   Streams are capped (`Limits::max_live_streams`); past it 503, and the dashboard polls.
//! - `GET /api/experiments/{key}/results/over-time?granularity=hourly|daily` (`crate::over_time`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::api::now_ms;
use super::error::ApiError;
use super::live_config::CurrentConfig;
use super::AppState;
use crate::over_time::{self, Granularity, ResultsOverTime};
use crate::store::{NotSupported, StoredNotices};

/// Least time between two notices on one stream: bounds the fan-out, adds at most this much latency.
pub const COALESCE: Duration = Duration::from_millis(200);
/// A comment line this often keeps proxies and the browser from timing the stream out.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What EventSource waits before reconnecting after the stream ends (e.g. a restart).
const RETRY: Duration = Duration::from_secs(2);
/// Results-over-time computations at once: each is a pass over an experiment's events.
const OVER_TIME_AT_ONCE: usize = 1;
/// Series kept for reuse; past it the cache starts over (it holds the live config's experiments).
const OVER_TIME_CACHED: usize = 256;

/// The live feed's shared state: its stream cap, the config's generation and the shutdown flag.
pub struct Live {
    streams: Arc<Semaphore>,
    config: watch::Sender<u64>,
    closing: watch::Sender<bool>,
    over_time: Semaphore,
    /// The last series per (experiment, granularity): every open dashboard asks for it after each
    /// notice, and it only changes when events were stored, the config changed or a bucket began.
    series: Mutex<HashMap<(String, Granularity), CachedSeries>>,
}

struct CachedSeries {
    /// The store's generation (`StoredNotices`) it was computed at.
    generation: u64,
    config: Arc<CurrentConfig>,
    /// The bucket "now" fell in.
    bucket: i64,
    series: Arc<ResultsOverTime>,
}

impl Live {
    pub fn new(max_streams: usize) -> Live {
        Live {
            streams: Arc::new(Semaphore::new(max_streams.min(Semaphore::MAX_PERMITS))),
            config: watch::Sender::new(0),
            closing: watch::Sender::new(false),
            over_time: Semaphore::new(OVER_TIME_AT_ONCE),
            series: Mutex::new(HashMap::new()),
        }
    }

    /// A new config went live: open dashboards refetch.
    pub fn config_changed(&self) {
        self.config.send_modify(|generation| *generation += 1);
    }

    fn cached_series(&self, key: &(String, Granularity), generation: u64, config: &Arc<CurrentConfig>, bucket: i64) -> Option<Arc<ResultsOverTime>> {
        let cache = self.series.lock().ok()?;
        cache
            .get(key)
            .filter(|c| c.generation == generation && c.bucket == bucket && Arc::ptr_eq(&c.config, config))
            .map(|c| c.series.clone())
    }

    fn keep_series(&self, key: (String, Granularity), entry: CachedSeries) {
        if let Ok(mut cache) = self.series.lock() {
            if cache.len() >= OVER_TIME_CACHED && !cache.contains_key(&key) {
                cache.clear();
            }
            cache.insert(key, entry);
        }
    }

    /// The server is shutting down: every stream ends, so no open dashboard holds the shutdown.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/live", get(stream))
        .route("/api/experiments/{key}/results/over-time", get(results_over_time))
}

/// `GET /api/live`.
async fn stream(State(state): State<Arc<AppState>>) -> Response {
    let live = &state.live;
    if *live.closing.borrow() {
        return busy("the collector is shutting down");
    }
    let Ok(permit) = live.streams.clone().try_acquire_owned() else {
        return busy("too many live dashboards open; this one polls instead");
    };
    let notices = state.store.stored_notices();
    let listener = Listener {
        seen: notices.as_ref().map_or(0, |n| n.current()),
        stored: notices.map(|n| {
            let changed = n.subscribe();
            (n, changed)
        }),
        config: live.config.subscribe(),
        closing: live.closing.subscribe(),
        last_sent: None,
        greeted: false,
        _permit: permit,
    };
    let events = futures_util::stream::unfold(listener, |mut listener| async move {
        let event = listener.next_event().await?;
        Some((Ok::<Event, Infallible>(event), listener))
    });
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    // Reverse proxies (nginx) must pass each event on at once, not buffer the stream.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn busy(message: &str) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// One open stream: what it has told its dashboard so far.
struct Listener {
    stored: Option<(Arc<StoredNotices>, watch::Receiver<u64>)>,
    /// The store's generation already announced on this stream.
    seen: u64,
    config: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    last_sent: Option<Instant>,
    greeted: bool,
    /// Held while the stream is open: the stream cap.
    _permit: OwnedSemaphorePermit,
}

impl Listener {
    /// The next event to send, or `None` when the stream ends (shutdown).
    async fn next_event(&mut self) -> Option<Event> {
        if !self.greeted {
            self.greeted = true;
            return Some(Event::default().retry(RETRY).event("ready").data("{}"));
        }
        // Coalesce: whatever arrives meanwhile goes out as one notice when the interval is over.
        if let Some(sent) = self.last_sent {
            tokio::select! {
                _ = tokio::time::sleep_until(sent + COALESCE) => {}
                _ = self.closing.wait_for(|closing| *closing) => return None,
            }
        }
        loop {
            let stored_changed = async {
                match &mut self.stored {
                    Some((_, changed)) => changed.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing) => return None,
                changed = self.config.changed() => {
                    changed.ok()?;
                    self.last_sent = Some(Instant::now());
                    return Some(Event::default().event("config").data("{}"));
                }
                alive = stored_changed => {
                    if !alive {
                        self.stored = None; // the store went away; config notices still work
                        continue;
                    }
                    let Some((notices, _)) = &self.stored else { continue };
                    let changes = notices.since(self.seen);
                    self.seen = changes.generation;
                    if changes.is_empty() {
                        continue;
                    }
                    self.last_sent = Some(Instant::now());
                    let data = json!({ "experiments": changes.experiments, "any": changes.any });
                    return Some(Event::default().event("stored").data(data.to_string()));
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct OverTimeQuery {
    granularity: Option<String>,
}

/// `GET /api/experiments/{key}/results/over-time`.
async fn results_over_time(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    query: Result<Query<OverTimeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let granularity = match query.granularity.as_deref() {
        None => Granularity::Daily,
        Some(text) => Granularity::parse(text)
            .ok_or_else(|| ApiError::BadRequest(format!("granularity must be hourly or daily, not {text:?}")))?,
    };
    let current = state.config.current();
    let Some(experiment) = current.config.experiments.iter().find(|e| e.key == key).cloned() else {
        return Err(ApiError::NotFound(format!("no experiment {key:?} in the config")));
    };
    // Unchanged since the last computation (no event stored, same config, same bucket): reuse it.
    // Stores that announce nothing (none today) are never cached.
    let generation = state.store.stored_notices().map(|n| n.current());
    let bucket = now_ms().div_euclid(granularity.millis());
    let cache_key = (key.clone(), granularity);
    let cached = || generation.and_then(|g| state.live.cached_series(&cache_key, g, &current, bucket));
    if let Some(series) = cached() {
        return Ok(series_response(&series));
    }
    // One pass over an experiment's events at a time; others wait their turn (the request timeout
    // bounds it), then likely find the series their predecessor computed.
    let _slot = state.live.over_time.acquire().await.map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(series) = cached() {
        return Ok(series_response(&series));
    }
    // The generation is read before the pass: events committed during it make the next request recompute.
    let generation = state.store.stored_notices().map(|n| n.current());
    let store = state.store.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let mut points = over_time::Accumulator::new(&experiment, granularity, now);
        store.visitor_timelines(&experiment.key, &mut |visitor| points.add(visitor))?;
        Ok::<_, anyhow::Error>(points.finish(now))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    match computed {
        Ok(series) => {
            let series = Arc::new(series);
            if let Some(generation) = generation {
                let entry = CachedSeries { generation, config: current.clone(), bucket, series: series.clone() };
                state.live.keep_series(cache_key, entry);
            }
            Ok(series_response(&series))
        }
        Err(e) if e.downcast_ref::<NotSupported>().is_some() => {
            Ok((StatusCode::NOT_IMPLEMENTED, Json(json!({ "error": e.to_string() }))).into_response())
        }
        Err(e) => Err(ApiError::Internal(e)),
    }
}

fn series_response(series: &ResultsOverTime) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(series)).into_response()
}
