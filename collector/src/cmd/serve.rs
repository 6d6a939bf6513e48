//! `splitbeam serve`: the collector. Opens the store (SQLite or ClickHouse), loads the config,
//! serves until Ctrl-C or SIGTERM, and prints the URLs it serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::store_args::{OpenMode, StoreArgs};
use crate::ingest;
use crate::server::conn::{self, Limits};
use crate::server::rate_limit::RateLimitOptions;
use crate::server::{self, IngestOptions, Options};
use crate::store::sqlite::Durability;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file; re-read when it changes.
    #[arg(long, default_value = "experiments.json")]
    pub config: PathBuf,
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The built snippet: splitbeam.js, its wasm and glue.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// A static site (the demo shop) served under /shop/.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// A storefront origin allowed by CORS (repeatable); any origin when none is given.
    #[arg(long = "allow-origin")]
    pub allow_origins: Vec<String>,
    /// `normal`: acknowledged batches survive the collector being killed (WAL, synchronous=NORMAL);
    /// `full`: they also survive a power cut (an fsync per commit group).
    #[arg(long, default_value = "normal", value_parser = ["normal", "full"])]
    pub durability: String,
    /// A goal whose |value| is above this is refused (that event only, named in the answer).
    #[arg(long, default_value_t = crate::ingest::DEFAULT_MAX_GOAL_VALUE)]
    pub max_goal_value: f64,
    /// Count crawlers (by User-Agent) and automated browsers (navigator.webdriver) in results;
    /// by default they are stored and exported but kept out of results.
    #[arg(long)]
    pub count_bots: bool,
    /// Sustained POST /collect requests per second per client address (IPv6: per /64); 0 = off.
    #[arg(long, default_value_t = RateLimitOptions::default().per_second)]
    pub rate_limit: u32,
    /// Requests a client may send at once before --rate-limit applies.
    #[arg(long, default_value_t = RateLimitOptions::default().burst)]
    pub rate_burst: u32,
    /// Take the client address from the last X-Forwarded-For entry: only behind your own proxy
    /// that sets it, or callers choose their own rate-limit bucket.
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// The key that signs preview links (`splitbeam preview-link`); created (mode 0600) when
    /// missing. Default: next to `--db` (`splitbeam.db.preview-key`). Collectors sharing one
    /// ClickHouse must share this file.
    #[arg(long)]
    pub preview_key: Option<PathBuf>,
    /// The admin token that signs people in to the dashboard and results API (and lets Prometheus
    /// scrape /metrics as `Authorization: Bearer <token>`); created (mode 0600) when missing.
    /// Default: next to `--db` (`splitbeam.db.admin-token`), also with `--store clickhouse`.
    /// Collectors behind one load balancer must share this file.
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Serve /metrics to anyone (default: admins and bearer-token scrapers only).
    #[arg(long)]
    pub public_metrics: bool,
    /// Serve /healthz to admins only (default: to anyone, for load balancers).
    #[arg(long)]
    pub private_healthz: bool,
    /// Seconds a connection has to send a request's headers, from when it opens or from its previous
    /// answer: slow-header, silent and idle keep-alive connections are closed after it.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a write to a client may make no progress (it stopped reading its answer) before
    /// the connection is closed.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout: u64,
    /// Seconds a `POST /collect` has to send its body after the headers (else 408).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// Seconds from a request's headers to its answer (else 408).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Open connections at most (past it: 503 + Retry-After, then close). Default: from the
    /// open-files soft limit (`ulimit -n`), (limit - 128) / 2; 448 under 1024.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: Option<u64>,
    /// MiB that `/collect` batches may hold at once (3 x a body's bytes while it is read and
    /// parsed, then its events' size until the store answers); past it `/collect` answers 503 +
    /// Retry-After. At least 4: the largest batch (1 MB) reserves 3 MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(4..=65_536))]
    pub ingest_memory_mib: u64,
    /// Dashboards that may follow the live feed (`/api/live`) at once, each holding a connection;
    /// past it a dashboard polls every 2 s instead.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_live_streams: u64,
    /// Where events are stored: `--store`, `--db`, `--clickhouse-url`, `--clickhouse-database`.
    #[command(flatten)]
    pub storage: StoreArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let durability = if args.durability == "full" { Durability::Full } else { Durability::Normal };
    let store = tokio::task::block_in_place(|| args.storage.open(OpenMode::Create(durability)))?;
    let storage = args.storage.describe();
    let limits = limits(&args);
    let options = Options {
        config: args.config.clone(),
        dist: args.dist.clone(),
        site: args.site.clone(),
        allow_origins: args.allow_origins.clone(),
        ingest: IngestOptions {
            limits: ingest::Limits { max_goal_value: args.max_goal_value },
            count_bots: args.count_bots,
            rate_limit: RateLimitOptions {
                per_second: args.rate_limit,
                burst: args.rate_burst,
                trust_forwarded_for: args.trust_forwarded_for,
            },
        },
        preview_key: args.preview_key.clone().unwrap_or_else(|| crate::preview::default_key_path(&args.storage.db)),
        history: crate::history::default_path(&args.storage.db),
        limits: limits.clone(),
        access: server::AccessOptions {
            admin_token: args.admin_token_file.clone().unwrap_or_else(|| crate::admin::default_token_path(&args.storage.db)),
            public_metrics: args.public_metrics,
            private_healthz: args.private_healthz,
        },
    };
    anyhow::ensure!(
        args.max_goal_value.is_finite() && args.max_goal_value > 0.0,
        "--max-goal-value must be a positive finite number"
    );
    let (router, state) = tokio::task::block_in_place(|| server::app(&options, store.clone()))?;
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("listening on {}:{}", args.host, args.port))?;
    let addr: SocketAddr = listener.local_addr()?;
    let base = format!("http://{}", display_host(&addr));
    println!("splitbeam serving {} ({storage})", args.config.display());
    println!("  dashboard    {base}/");
    println!("  collector    {base}/collect");
    println!("  snippet      {base}/splitbeam.js  config {base}/experiments.json");
    println!("  results API  {base}/api/experiments");
    if args.site.is_some() {
        println!("  shop         {base}/shop/");
    }
    println!("  health       {base}/healthz  metrics {base}/metrics");
    println!("  admin token  {} (the dashboard, results API and metrics need it)", options.access.admin_token.display());
    // The only place a credential is printed: a code that signs one browser in, once; the
    // token itself stays in its file.
    if let Some(code) = state.admin.sign_in_code() {
        println!("  sign in      {base}/signin?code={code}");
    }

    tracing::info!(
        "limits: {} connections (open-files soft limit {}), headers {}s, body {}s, request {}s, write {}s, ingest memory {} MiB",
        limits.max_connections,
        conn::fd_soft_limit().map_or("unlimited".to_string(), |l| l.to_string()),
        limits.header_timeout.as_secs(),
        limits.body_timeout.as_secs(),
        limits.request_timeout.as_secs(),
        limits.write_timeout.as_secs(),
        limits.ingest_memory / (1024 * 1024),
    );
    server::assets::warm(&state).await;
    let watcher = server::spawn_config_watcher(state.clone());
    let forgetting = server::rate_limit::spawn_forgetting(state.clone());
    // Live dashboard streams never end on their own: end them as shutdown begins, or each would
    // hold its connection (and the exit) for the whole grace period.
    let live = state.clone();
    let shutdown = async move {
        shutdown.await;
        live.live.close();
    };
    conn::serve(listener, router, &limits, shutdown).await.context("serving HTTP")?;
    watcher.abort();
    forgetting.abort();
    drop(state);
    Ok(())
}

fn limits(args: &Args) -> Limits {
    let fd_cap = conn::connection_cap(conn::fd_soft_limit());
    let max_connections = match args.max_connections {
        Some(wanted) => {
            let wanted = usize::try_from(wanted).unwrap_or(usize::MAX);
            if wanted > fd_cap {
                tracing::warn!(
                    "--max-connections {wanted} is more than the open-files limit leaves room for ({fd_cap}); \
                     raise `ulimit -n` (LimitNOFILE= under systemd) or expect refused accepts"
                );
            }
            wanted
        }
        None => fd_cap,
    };
    Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        max_connections,
        ingest_memory: usize::try_from(args.ingest_memory_mib * 1024 * 1024).unwrap_or(usize::MAX),
        max_live_streams: usize::try_from(args.max_live_streams).unwrap_or(usize::MAX),
    }
}

fn display_host(addr: &SocketAddr) -> String {
    if addr.ip().is_loopback() && addr.is_ipv4() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed here, when it is called (before the
/// port is bound), not on the future's first poll: `conn::serve` may be busy accepting before it
/// polls it, and a SIGTERM arriving meanwhile took the default action (CI saw the process killed).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
