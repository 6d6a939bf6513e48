//! Ingest throughput: the same synthetic events posted through HTTP to an in-process collector
//! (validation, group commit, running aggregates) next to a raw SQLite bulk insert of them.
//! `cargo bench -p splitbeam-collector --bench ingest` (SPLITBEAM_BENCH_EVENTS=N to resize).

mod support;

use std::sync::Arc;
use std::time::Instant;

use splitbeam_collector::ingest::parse_batch;
use splitbeam_collector::server::rate_limit::RateLimitOptions;
use splitbeam_collector::server::{self, IngestOptions, Options};
use splitbeam_collector::store::sqlite::{Durability, SqliteStore};
use splitbeam_collector::store::EventRow;

const EVENTS_PER_BATCH: usize = 50;
const CONNECTIONS: usize = 32;

fn main() -> anyhow::Result<()> {
    let events: usize = std::env::var("SPLITBEAM_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let bodies = support::batches(events, EVENTS_PER_BATCH);
    let total: usize = bodies.iter().map(|b| parse_batch(b.as_bytes()).map(|e| e.len()).unwrap_or(0)).sum();
    let dir = tempfile::tempdir()?;
    println!("ingest benchmark: {total} events in {} batches of {EVENTS_PER_BATCH}, {CONNECTIONS} keep-alive connections", bodies.len());

    // Raw SQLite: the same rows into an identical events table, one transaction, no validation,
    // no aggregates, no HTTP. The ceiling for this table layout on this disk.
    let raw_secs = {
        let conn = rusqlite::Connection::open(dir.path().join("raw.db"))?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(
            "CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, ts INTEGER NOT NULL, visitor TEXT NOT NULL, \
             session TEXT NOT NULL, url TEXT NOT NULL, experiment TEXT, variant TEXT, goal TEXT, value REAL, body TEXT NOT NULL); \
             CREATE INDEX events_by_visitor ON events (visitor, ts);",
        )?;
        let parsed: Vec<_> = bodies.iter().filter_map(|b| parse_batch(b.as_bytes()).ok()).flatten().collect();
        let started = Instant::now();
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO events (id, type, ts, visitor, session, url, experiment, variant, goal, value, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for e in &parsed {
                // The 11 columns of the collector's row (without counted and bot).
                insert.execute(&EventRow::from(e).sql_params()[..11])?;
            }
        }
        tx.commit()?;
        started.elapsed().as_secs_f64()
    };

    // Parsing and validation alone, one thread: the part of the path the event format decides.
    // The fastest of five passes, so that other processes on the machine disturb it less.
    let parse_secs = (0..5)
        .map(|_| {
            let started = Instant::now();
            let parsed: usize = bodies.iter().map(|b| parse_batch(b.as_bytes()).map(|e| e.len()).unwrap_or(0)).sum();
            assert_eq!(parsed, total);
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);

    // Through HTTP: the collector in this process, the load generator on its own thread.
    let config = dir.path().join("experiments.json");
    std::fs::write(&config, support::CONFIG)?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("collector.db"), Durability::Normal)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let options = Options {
        config,
        dist: dir.path().join("dist"),
        site: None,
        allow_origins: Vec::new(),
        preview_key: dir.path().join("bench.db.preview-key"),
        history: dir.path().join("bench.db.history"),
        access: splitbeam_collector::server::AccessOptions::with_token(dir.path().join("bench.db.admin-token")),
        // One load generator is one client address: the per-client rate limit is for the internet.
        ingest: IngestOptions { rate_limit: RateLimitOptions { per_second: 0, ..Default::default() }, ..Default::default() },
        limits: Default::default(),
    };
    let (router, _state) = server::app(&options, store.clone())?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let limits = options.limits.clone();
    runtime.spawn(async move { server::conn::serve(listener, router, &limits, std::future::pending()).await });
    let batches = bodies.len();
    let started = Instant::now();
    let load = std::thread::spawn(move || -> anyhow::Result<usize> {
        let client = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(client.block_on(support::post_all(addr, bodies, CONNECTIONS)))
    });
    let ok = load.join().map_err(|_| anyhow::anyhow!("load generator panicked"))??;
    let http_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(ok == batches, "only {ok} of {batches} batches were answered 200");

    println!();
    println!("| path                                              | events  | seconds | events/s |");
    println!("|---------------------------------------------------|---------|---------|----------|");
    println!("| raw SQLite bulk insert (1 transaction, same table) | {total:>7} | {raw_secs:>7.2} | {:>8.0} |", total as f64 / raw_secs);
    println!("| parse and validate only (fastest of 5, 1 thread)    | {total:>7} | {parse_secs:>7.2} | {:>8.0} |", total as f64 / parse_secs);
    println!("| HTTP POST /collect → validated, aggregated, committed | {total:>7} | {http_secs:>7.2} | {:>8.0} |", total as f64 / http_secs);
    drop(runtime);
    Ok(())
}
