//! Results-query time of the ClickHouse store at scale: starts a clickhouse-server on 127.0.0.1
//! (data under /tmp), fills a fresh database through the store's own insert path, then times
//! `experiment_totals` (hero, with its funnel) and `visitor_counts`. On the current engine the
//! store's refresher snapshots hero's results every 2 s during the load, as in `serve`.
//! `cargo bench -p splitbeam-collector --bench clickhouse_at_scale` (1 M events; BENCH_SCALE=1
//! for 10 M; SPLITBEAM_BENCH_EVENTS=N for any other size; SPLITBEAM_CLICKHOUSE_ENGINE=chdb for the
//! current engine instead of Debian's 18.16). Exits 0 when the engine is not installed.

mod support;
#[path = "../tests/common/clickhouse_server.rs"]
mod clickhouse_server;

use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clickhouse_server::Engine;
use splitbeam_collector::ingest::parse_batch;
use splitbeam_collector::store::clickhouse::ClickHouseStore;
use splitbeam_collector::store::Store;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Events per INSERT: about 750 KB, near the largest batch `/collect` accepts (1 MB), so the
/// duplicate-id lookup stays within ClickHouse's default limit of 50 000 SQL elements.
const EVENTS_PER_INSERT: usize = 5_000;
/// Inserts in flight at once (one builds while the other is stored).
const PARALLEL_INSERTS: usize = 2;
const RUNS: usize = 5;

fn main() -> anyhow::Result<()> {
    // The store's warnings (a failed background refresh) on stderr; RUST_LOG=debug for more.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")))
        .try_init();
    let engine = Engine::from_env().map_err(anyhow::Error::msg)?;
    if !engine.installed() {
        println!(
            "skipping the ClickHouse benchmark on {}: {} is not installed (scripts/setup.sh installs it)",
            engine.name(),
            engine.program().display()
        );
        return Ok(());
    }
    let target: usize = match std::env::var("SPLITBEAM_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()) {
        Some(n) => n,
        None if std::env::var("BENCH_SCALE").as_deref() == Ok("1") => 10_000_000,
        None => 1_000_000,
    };
    let server = Server::start(engine)?;
    let store = ClickHouseStore::open(&server.url, "bench").context("opening the bench database")?;
    let funnel = vec!["add_to_cart".to_string(), "purchase".to_string()];
    store.register_funnels(vec![("hero".to_string(), funnel.clone())])?;

    let load_started = Instant::now();
    let stored = fill(&store, target)?;
    let load_rate = stored as f64 / load_started.elapsed().as_secs_f64();
    let server_sql = |sql: &str| server.query(sql);

    // Timed right after the load (background merges still running, several parts per table),
    // then again once every table is merged into one part, as a quiet hour leaves them.
    let mut rows = Vec::new();
    let mut visitors = 0;
    for state in ["just loaded", "merged"] {
        if state == "merged" {
            for table in server_sql("SELECT name FROM system.tables WHERE database = 'bench' AND engine LIKE '%MergeTree'")?.lines() {
                server_sql(&format!("OPTIMIZE TABLE bench.{table} FINAL"))?;
            }
        }
        let parts = server_sql("SELECT count() FROM system.parts WHERE database = 'bench' AND active")?;
        let state = format!("{state}, {} parts", parts.trim());
        // The first read may have the events since the last snapshot to add (current engine);
        // it is timed on its own, the RUNS after it show a read with nothing new.
        let started = Instant::now();
        store.experiment_totals("hero", &funnel)?;
        let first = started.elapsed().as_secs_f64() * 1000.0;
        rows.push((state.clone(), "experiment_totals, first read", vec![first; RUNS]));
        let totals = time(|| {
            let totals = store.experiment_totals("hero", &funnel)?;
            visitors = totals.variants.iter().map(|v| v.visitors).sum::<u64>();
            Ok(())
        })?;
        rows.push((state.clone(), "experiment_totals (hero, 2-step funnel)", totals));
        let counts = time(|| store.visitor_counts().map(|_| ()))?;
        rows.push((state, "visitor_counts (all experiments)", counts));
    }
    // A funnel no snapshot exists for (a database upgraded from before snapshots, or a funnel
    // just configured): a read answers from the per-visitor aggregates while the background thread
    // builds its first snapshot, re-deriving every exposed visitor from the events.
    let unseen = vec!["purchase".to_string()];
    let started = Instant::now();
    store.experiment_totals("hero", &unseen)?;
    let first = started.elapsed().as_secs_f64() * 1000.0;
    rows.push(("merged".to_string(), "experiment_totals, a funnel without snapshot yet", vec![first; RUNS]));
    let started = Instant::now();
    store.refresh_snapshot("hero", &unseen)?;
    let build = started.elapsed().as_secs_f64() * 1000.0;
    rows.push(("merged".to_string(), "its first snapshot (background)", vec![build; RUNS]));

    println!();
    println!(
        "ClickHouse {} on 127.0.0.1, {stored} events loaded at {load_rate:.0} events/s, {visitors} visitors exposed to hero, {RUNS} runs",
        server.version
    );
    println!();
    println!("| events | tables | query | median ms | max ms |");
    println!("|-------:|--------|-------|----------:|-------:|");
    for (state, query, millis) in rows {
        println!("| {stored} | {state} | {query} | {:.1} | {:.1} |", millis[RUNS / 2], millis[RUNS - 1]);
    }
    Ok(())
}

/// Runs `query` RUNS times; the durations in ms, sorted.
fn time(mut query: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    let mut millis = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        query()?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(|a, b| a.total_cmp(b));
    Ok(millis)
}

/// Stores about `target` events (whole visitors of the SQLite bench's synthetic storefront) through
/// `insert_batch_blocking`, the path every collector uses (duplicate-id lookup included).
fn fill(store: &ClickHouseStore, target: usize) -> anyhow::Result<usize> {
    let started = Instant::now();
    let (to_insert, batches) = mpsc::sync_channel::<Vec<splitbeam_collector::ingest::Received>>(PARALLEL_INSERTS);
    let batches = std::sync::Arc::new(std::sync::Mutex::new(batches));
    let stored = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let inserters: Vec<_> = (0..PARALLEL_INSERTS)
            .map(|_| {
                let batches = batches.clone();
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut stored = 0;
                    loop {
                        let next = batches.lock().map_err(|_| anyhow::anyhow!("an inserter panicked"))?.recv();
                        let Ok(events) = next else { return Ok(stored) };
                        stored += store.insert_batch_blocking(events)?.stored;
                    }
                })
            })
            .collect();
        let mut generated = 0;
        let mut visitor = 0u64;
        let mut last_report = Instant::now();
        while generated < target {
            let mut texts = Vec::with_capacity(EVENTS_PER_INSERT + 8);
            while texts.len() < EVENTS_PER_INSERT && generated + texts.len() < target {
                support::visitor_events(visitor, &mut texts);
                visitor += 1;
            }
            let body = format!(r#"{{"events":[{}]}}"#, texts.join(","));
            let events = parse_batch(body.as_bytes()).map_err(|e| anyhow::anyhow!("generated batch invalid: {e}"))?;
            generated += events.len();
            if to_insert.send(events).is_err() {
                break; // an inserter failed: its error is reported below
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                let rate = generated as f64 / started.elapsed().as_secs_f64();
                eprintln!("  sent {generated} / {target} events ({rate:.0} events/s)");
                last_report = Instant::now();
            }
        }
        drop(to_insert);
        let mut stored = 0;
        for inserter in inserters {
            stored += inserter.join().map_err(|_| anyhow::anyhow!("an inserter panicked"))??;
        }
        Ok(stored as usize)
    })?;
    eprintln!("  stored {stored} events in {:.0} s", started.elapsed().as_secs_f64());
    Ok(stored)
}

/// A clickhouse-server of this run on free 127.0.0.1 ports, its data in a temp dir under /tmp.
/// A shell watchdog stops it (and removes the dir) as soon as this process has exited.
struct Server {
    url: String,
    version: String,
    agent: ureq::Agent,
    _watchdog: Child,
}

impl Server {
    fn start(engine: Engine) -> anyhow::Result<Server> {
        let started =
            clickhouse_server::start("splitbeam-clickhouse-bench-", engine).with_context(|| format!("starting {}", engine.name()))?;
        let url = format!("http://127.0.0.1:{}", started.http_port);
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(600))).build().into();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let version = loop {
            match agent.post(&url).send("SELECT version()").and_then(|mut r| r.body_mut().read_to_string()) {
                Ok(version) => break version.trim().to_string(),
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => anyhow::bail!("{} did not answer within {STARTUP_TIMEOUT:?} ({e}); its log:\n{}", engine.name(), started.log()),
            }
        };
        Ok(Server { url, version, agent, _watchdog: started.watchdog })
    }

    /// Runs one statement directly (not through the store); its answer as text.
    fn query(&self, sql: &str) -> anyhow::Result<String> {
        let mut response = self.agent.post(&self.url).send(sql).with_context(|| format!("running {sql}"))?;
        response.body_mut().read_to_string().with_context(|| format!("reading the answer to {sql}"))
    }
}

