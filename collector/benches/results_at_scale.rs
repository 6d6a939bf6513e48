//! Results-query time with 10 M stored events: fills a SQLite database through the store's own
//! write path (so the running aggregates are the real ones), then times the results of an
//! experiment as the API computes them. The database is kept in target/ and reused.
//! `cargo bench -p splitbeam-collector --bench results_at_scale`
//! (SPLITBEAM_BENCH_EVENTS=N to resize, SPLITBEAM_BENCH_DB=PATH to place the database).

mod support;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use splitbeam_collector::ingest::parse_batch;
use splitbeam_collector::results::experiment_results;
use splitbeam_collector::store::sqlite::{Durability, SqliteStore};
use splitbeam_collector::store::Store;

const EVENTS_PER_WRITE: usize = 5000;
const RUNS: usize = 20;

fn main() -> anyhow::Result<()> {
    let target: usize = std::env::var("SPLITBEAM_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let path = std::env::var("SPLITBEAM_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target").join(format!("bench-results-{target}.db")));
    let store = SqliteStore::open(&path, Durability::Normal)?;
    let funnel = vec!["add_to_cart".to_string(), "purchase".to_string()];
    store.register_funnels(vec![("hero".to_string(), funnel.clone()), ("cart-button".to_string(), funnel.clone())])?;

    let stored = count_events(&path)?;
    if stored < target {
        fill(&store, stored, target)?;
    }
    let stored = count_events(&path)?;
    let db_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let mut millis = Vec::with_capacity(RUNS);
    let mut visitors = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let totals = store.experiment_totals("hero", &funnel)?;
        let results = experiment_results("hero", None, &totals, 0);
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        visitors = results.variants.iter().map(|v| v.visitors).sum::<u64>();
    }
    millis.sort_by(|a, b| a.total_cmp(b));
    println!();
    println!("| stored events | db size | exposed visitors (hero) | results query median | max of {RUNS} |");
    println!("|---------------|---------|-------------------------|----------------------|--------|");
    println!(
        "| {stored:>13} | {:>5} MB | {visitors:>23} | {:>17.3} ms | {:>3.3} ms |",
        db_bytes / 1_000_000,
        millis[RUNS / 2],
        millis[RUNS - 1]
    );
    Ok(())
}

fn count_events(path: &std::path::Path) -> anyhow::Result<usize> {
    let conn = rusqlite::Connection::open(path)?;
    Ok(conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))? as usize)
}

/// Appends visitors until `target` events are stored, keeping a few writes in flight so that
/// building the next batch overlaps the writer.
fn fill(store: &SqliteStore, already: usize, target: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    // Visitors are numbered from where the last fill stopped (about 6.7 events each).
    let mut visitor = (already as f64 / 6.7) as u64 + 1_000_000_000;
    let mut stored = already;
    let started = Instant::now();
    let mut pending = VecDeque::new();
    let mut last_report = Instant::now();
    while stored < target {
        let mut texts = Vec::with_capacity(EVENTS_PER_WRITE + 8);
        while texts.len() < EVENTS_PER_WRITE {
            support::visitor_events(visitor, &mut texts);
            visitor += 1;
        }
        let body = format!(r#"{{"events":[{}]}}"#, texts.join(","));
        let events = parse_batch(body.as_bytes()).map_err(|e| anyhow::anyhow!("generated batch invalid: {e}"))?;
        stored += events.len();
        pending.push_back(store.insert_batch(events));
        if pending.len() >= 4 {
            if let Some(write) = pending.pop_front() {
                runtime.block_on(write)?;
            }
        }
        if last_report.elapsed().as_secs() >= 10 {
            let rate = (stored - already) as f64 / started.elapsed().as_secs_f64();
            eprintln!("  filled {stored} / {target} events ({rate:.0} events/s)");
            last_report = Instant::now();
        }
    }
    for write in pending {
        runtime.block_on(write)?;
    }
    eprintln!("  filled {} events in {:.0} s", stored - already, started.elapsed().as_secs_f64());
    Ok(())
}
