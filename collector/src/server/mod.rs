//! The HTTP server behind `splitbeam serve`: routes, shared state, CORS, limits, security headers,
//! and the task that hot-reloads the experiments file. Handlers are small; the work is in
//! ingest/store/results.
//!
//! Two kinds of routes: public ones that a shop's pages on another origin use (`/collect`, the
//! snippet, its config and modules; CORS), and the dashboard, results API and metrics, for people
//! on this origin only (no CORS, a CSP that forbids framing), signed in as admin (see `admin`).

pub mod admin;
pub mod api;
pub mod assets;
pub mod collect;
mod committing;
pub mod compressed;
pub mod conn;
pub mod dashboard;
pub mod editor;
pub mod editor_link;
pub mod error;
pub mod every_response;
pub mod live;
pub mod live_config;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;
pub mod site;
pub mod static_guard;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::ingest::{self, MAX_BODY_BYTES};
use crate::preview::PreviewKey;
use crate::store::Store;
pub use conn::Limits;
use live_config::{LiveConfig, Reload};
use metrics::Metrics;
use rate_limit::{RateLimitOptions, RateLimiter};

/// The dashboard's own policy (it loads only its files from here and reads the API) plus
/// `frame-ancestors 'none'`: no other site may frame it (a `<meta>` CSP cannot say that).
const PRIVATE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How often the experiments file is checked for changes.
const CONFIG_POLL: Duration = Duration::from_secs(1);

/// What the server is started with.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    pub dist: PathBuf,
    pub site: Option<PathBuf>,
    /// Storefront origins allowed to post events and read the config; empty = any origin.
    pub allow_origins: Vec<String>,
    /// The key that signs preview links for drafts (created, mode 0600, when missing).
    pub preview_key: PathBuf,
    pub ingest: IngestOptions,
    /// Timeouts, the connection cap and the ingest memory budget.
    pub limits: Limits,
    pub access: AccessOptions,
    /// The history of the dashboard's edits of the config (a SQLite file, created when missing).
    pub history: PathBuf,
}

/// Who may read what: the admin token and which operational routes are open.
#[derive(Debug, Clone)]
pub struct AccessOptions {
    /// The admin token (created, mode 0600, when missing).
    pub admin_token: PathBuf,
    /// `/metrics` without signing in (else a session or `Authorization: Bearer <admin token>`).
    pub public_metrics: bool,
    /// `/healthz` only for admins (else public).
    pub private_healthz: bool,
}

impl AccessOptions {
    /// The defaults `serve` uses with the token at `admin_token`.
    pub fn with_token(admin_token: PathBuf) -> AccessOptions {
        AccessOptions { admin_token, public_metrics: false, private_healthz: false }
    }
}

/// What `/collect` accepts and counts, and how fast one client may post.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub limits: ingest::Limits,
    /// Count crawlers and automated browsers in results (they are always stored).
    pub count_bots: bool,
    pub rate_limit: RateLimitOptions,
}

/// Shared by every handler.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: LiveConfig,
    pub dist: PathBuf,
    pub metrics: Metrics,
    pub loader_cache: assets::LoaderCache,
    pub dist_cache: assets::DistCache,
    pub ingest: IngestOptions,
    pub rate_limiter: Option<RateLimiter>,
    pub preview_key: PreviewKey,
    pub admin: admin::Admin,
    /// Writes the experiments file for the dashboard's editor, and keeps their history.
    pub editor: editor::Editor,
    /// One-time editor links and the in-page editor's tokens (see `editor_link`).
    pub editor_grants: crate::editor_grant::EditorGrants,
    /// Bytes of `/collect` bodies that may be held at once, one permit per byte.
    pub ingest_memory: Arc<tokio::sync::Semaphore>,
    pub body_timeout: Duration,
    /// Large batches parsed at once: one per core.
    pub parse_slots: tokio::sync::Semaphore,
    /// The dashboard's live feed (`live`): stream cap, config notices, shutdown.
    pub live: live::Live,
}

/// Loads the config, tells the store its funnels and builds the router.
pub fn app(options: &Options, store: Arc<dyn Store>) -> anyhow::Result<(Router, Arc<AppState>)> {
    let config = LiveConfig::load(&options.config)?;
    store.register_funnels(funnels_of(&config)).context("building funnel aggregates")?;
    let preview_key = PreviewKey::load_or_create(&options.preview_key)?;
    let (admin_token, _) = crate::admin::AdminToken::load_or_create(&options.access.admin_token)?;
    let editor_grants = crate::editor_grant::EditorGrants::new(admin_token.derived_key(b"in-page editor"));
    let admin = admin::Admin::new(admin_token, options.ingest.rate_limit.trust_forwarded_for)?;
    let state = Arc::new(AppState {
        store,
        config,
        dist: options.dist.clone(),
        metrics: Metrics::default(),
        loader_cache: assets::LoaderCache::default(),
        dist_cache: assets::DistCache::default(),
        ingest: options.ingest.clone(),
        rate_limiter: RateLimiter::new(&options.ingest.rate_limit),
        preview_key,
        admin,
        editor: editor::Editor::open(options.config.clone(), &options.history)?,
        editor_grants,
        ingest_memory: Arc::new(tokio::sync::Semaphore::new(
            options.limits.ingest_memory.min(tokio::sync::Semaphore::MAX_PERMITS),
        )),
        body_timeout: options.limits.body_timeout,
        parse_slots: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        live: live::Live::new(options.limits.max_live_streams),
    });
    let router = router(options, state.clone())?;
    Ok((router, state))
}

fn router(options: &Options, state: Arc<AppState>) -> anyhow::Result<Router> {
    // What a shop's pages (on another origin) load and post to: with CORS.
    let public = Router::new()
        .route(
            "/collect",
            // The per-client rate limit is checked first thing by the handler.
            post(collect::collect).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        // The snippet and the built files are compressed once per version (`compressed`), and
        // `/collect` answers a few bytes: no compression layer on them (it costs every request).
        .route("/experiments.json", get(assets::experiments_json).layer(CompressionLayer::new()))
        .route("/splitbeam.js", get(assets::loader))
        .route("/tag.html", get(assets::tag).layer(CompressionLayer::new()))
        .route("/{file}", get(assets::dist_file))
        .with_state(state.clone())
        .layer(cors(&options.allow_origins)?);
    // For people on this origin: no CORS, so another site's script cannot read them; no framing.
    // Admins only: every route added here is behind `require_admin` (session + CSRF on writes).
    let mut admins_only = Router::new()
        .route(
            "/api/experiments",
            get(api::experiments).post(editor::create).layer(DefaultBodyLimit::max(editor::MAX_BODY_BYTES)),
        )
        .route("/api/experiments/{key}/results", get(api::experiment_results))
        .route("/api/experiments/{key}/editor-link", post(editor_link::create_link).layer(DefaultBodyLimit::max(4096)))
        .route("/api/session", get(admin::session_info))
        .route("/signout", post(admin::sign_out))
        .merge(editor::routes())
        .merge(live::routes());
    let mut open = Router::new().route("/healthz", get(|| async { "ok\n" }));
    if options.access.private_healthz {
        admins_only = admins_only.route("/healthz", get(|| async { "ok\n" }));
        open = Router::new();
    }
    if options.access.public_metrics {
        open = open.route("/metrics", get(metrics_text));
    } else {
        admins_only = admins_only.route("/metrics", get(metrics_text));
    }
    let admins_only = admins_only
        .with_state(state.clone())
        .merge(dashboard::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin::require_admin));
    let private = Router::new()
        .route("/signin", get(admin::sign_in_page).post(admin::sign_in).layer(DefaultBodyLimit::max(4096)))
        .route("/signin.css", get(admin::sign_in_css))
        .with_state(state.clone())
        .merge(admins_only)
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PRIVATE_CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(CompressionLayer::new());
    let open = open.with_state(state.clone()).layer(CompressionLayer::new());
    // The in-page editor's bearer routes: CORS for the shop's origins, no cookies (see `editor_link`).
    let page_editor = editor_link::routes(state.clone(), &options.allow_origins)?.layer(CompressionLayer::new());
    let mut router = Router::new().merge(open).merge(public).merge(private).merge(page_editor);
    if let Some(site) = &options.site {
        // `/shop` must become `/shop/`, or the shop's relative links resolve against `/`.
        let pages = Router::new()
            .fallback_service(ServeDir::new(site))
            .layer(axum::middleware::from_fn_with_state(state.clone(), site::include_tag))
            .layer(CompressionLayer::new())
            // In front: hidden, odd and out-of-folder paths never reach ServeDir.
            .layer(axum::middleware::from_fn_with_state(Arc::new(site.clone()), static_guard::guard_site));
        router = router
            .route("/shop", get(|| async { axum::response::Redirect::permanent("/shop/") }))
            .nest_service("/shop/", pages);
    }
    Ok(router
        // Request id, duration metric and nosniff, in one layer.
        .layer(axum::middleware::from_fn_with_state(state, every_response::stamp))
        // A request that takes longer than this, from its headers to its answer, is answered 408.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, options.limits.request_timeout)))
}

async fn metrics_text(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> impl axum::response::IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// `--allow-origin`: the listed origins, or any origin when none is given.
pub(crate) fn allowed_origins(origins: &[String]) -> anyhow::Result<AllowOrigin> {
    if origins.is_empty() {
        return Ok(AllowOrigin::any());
    }
    let values = origins
        .iter()
        .map(|o| HeaderValue::from_str(o.trim_end_matches('/')).with_context(|| format!("--allow-origin {o:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AllowOrigin::list(values))
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    Ok(CorsLayer::new()
        .allow_origin(allowed_origins(origins)?)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        // The snippet honours Retry-After; a cross-origin page can read it only when it is exposed.
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(86_400)))
}

fn funnels_of(config: &LiveConfig) -> Vec<(String, Vec<String>)> {
    config.current().config.experiments.iter().map(|e| (e.key.clone(), e.funnel.clone())).collect()
}

/// Polls the experiments file every second; a good edit goes live (and its funnels are
/// registered), a bad one is logged and the last good config stays.
pub fn spawn_config_watcher(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CONFIG_POLL);
        loop {
            tick.tick().await;
            reload_config(&state).await;
        }
    })
}

/// Re-reads the experiments file if it changed (the watcher's tick, and right after the
/// dashboard's editor wrote it, so an edit is live for the next page view).
pub async fn reload_config(state: &Arc<AppState>) {
    let watched = state.clone();
    let reload = tokio::task::spawn_blocking(move || {
        let outcome = watched.config.reload_if_changed();
        if outcome == Reload::Reloaded {
            if let Err(e) = watched.store.register_funnels(funnels_of(&watched.config)) {
                tracing::error!("registering the funnels of the new config: {e:#}");
            }
        }
        outcome
    })
    .await;
    let path = state.config.path().display();
    match reload {
        Ok(Reload::Unchanged) => {}
        Ok(Reload::Reloaded) => {
            tracing::info!("{path}: reloaded");
            assets::warm(state).await;
            state.live.config_changed();
        }
        Ok(Reload::Rejected(reasons)) => {
            tracing::warn!("{path}: edit refused, the last good config stays live");
            for reason in reasons {
                tracing::warn!("{path}: {reason}");
            }
        }
        Err(e) => tracing::error!("{path}: reload task failed: {e}"),
    }
}
