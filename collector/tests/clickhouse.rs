//! The ClickHouse backend against a real ClickHouse started for this test run: the same
//! behaviours as the SQLite store (each checked on both), agreement with SQLite on a random event
//! stream, and `splitbeam serve --store clickhouse` end to end. The engine is Debian's
//! clickhouse-server 18.16 by default, or the current one (chdb 26.x behind
//! `tests/clickhouse/chdb_http.py`) with `SPLITBEAM_CLICKHOUSE_ENGINE=chdb`; `npm test` runs both.

mod common;
#[path = "common/clickhouse_server.rs"]
mod clickhouse_server;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use clickhouse_server::Engine;
use common::{batch, conversions, counted, events, exposure, funnel, goal, pageview, request, visitors};
use splitbeam_collector::ingest::Received;
use splitbeam_collector::store::clickhouse::ClickHouseStore;
use splitbeam_collector::store::sqlite::{Durability, SqliteStore};
use splitbeam_collector::store::{ExperimentTotals, InsertOutcome, Store, VariantCount};

/// How long clickhouse-server may take to answer its first query.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

// ---- the clickhouse-server of this test run ----

/// One clickhouse-server for the whole test binary, on free 127.0.0.1 ports in a temp dir. A
/// shell watchdog kills it (and removes the dir) once this test process has exited.
struct ClickHouse {
    url: String,
    http: SocketAddr,
    /// Never waited for: it must outlive this process to clean up after it.
    _watchdog: Child,
}

fn clickhouse() -> Option<&'static ClickHouse> {
    static SERVER: OnceLock<Option<ClickHouse>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let engine = Engine::from_env().unwrap_or_else(|e| panic!("{e}"));
            let program = engine.program();
            if !engine.installed() {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("{} is missing and CI=true: run scripts/setup.sh", program.display());
                }
                eprintln!(
                    "skipping the ClickHouse checks on {}: {} is not installed (scripts/setup.sh installs it)",
                    engine.name(),
                    program.display()
                );
                return None;
            }
            Some(start_clickhouse(engine))
        })
        .as_ref()
}

fn start_clickhouse(engine: Engine) -> ClickHouse {
    let started = clickhouse_server::start("splitbeam-clickhouse-", engine).expect("start ClickHouse");
    let http = SocketAddr::from(([127, 0, 0, 1], started.http_port));
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match request(http, "POST", "/", &[], b"SELECT version()") {
            Ok(response) if response.status == 200 => break,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            outcome => panic!("{} did not answer within {STARTUP_TIMEOUT:?} ({outcome:?}); its log:\n{}", engine.name(), started.log()),
        }
    }
    ClickHouse { url: format!("http://{http}"), http, _watchdog: started.watchdog }
}

/// Asks the test server directly (not through the store) for one number.
fn clickhouse_count(ch: &ClickHouse, sql: &str) -> u64 {
    let response = request(ch.http, "POST", "/", &[], sql.as_bytes()).expect("query ClickHouse");
    assert_eq!(response.status, 200, "{sql}: {}", response.text());
    response.text().trim().parse().unwrap_or_else(|_| panic!("{sql}: not a number: {}", response.text()))
}

/// The part of ClickHouse's HTTP interface the store relies on, which the chdb front imitates: the
/// same answers from both engines.
#[test]
fn the_engine_speaks_the_http_interface_the_store_uses() {
    let Some(ch) = clickhouse() else { return };
    let ping = request(ch.http, "GET", "/ping", &[], b"").expect("ping");
    assert_eq!((ping.status, ping.text().as_str()), (200, "Ok.\n"));
    let failed = request(ch.http, "POST", "/", &[], b"SELECT * FROM no_such_database.t").expect("query");
    assert_ne!(failed.status, 200, "{}", failed.text());
    // 18.16 writes `Code: 81, e.displayText() = DB::Exception: ...`, 26.x `Code: 81. DB::Exception: ...`.
    let message = failed.text();
    assert!(message.starts_with("Code: 81") && message.contains("DB::Exception"), "ClickHouse's own message: {message}");
    let setup = ["CREATE DATABASE IF NOT EXISTS http_interface", "CREATE TABLE http_interface.t (n Int64) ENGINE = MergeTree() ORDER BY n"];
    for sql in setup {
        let response = request(ch.http, "POST", "/", &[], sql.as_bytes()).expect("create");
        assert_eq!(response.status, 200, "{sql}: {}", response.text());
    }
    // An INSERT's statement in ?query=, its rows in the body.
    let insert = request(ch.http, "POST", "/?query=INSERT%20INTO%20http_interface.t%20FORMAT%20JSONEachRow", &[], b"{\"n\":9007199254740993}\n{\"n\":2}\n")
        .expect("insert");
    assert_eq!(insert.status, 200, "{}", insert.text());
    // Settings as URL parameters: 64-bit integers unquoted in JSON, as the store asks.
    let read = request(ch.http, "POST", "/?output_format_json_quote_64bit_integers=0", &[], b"SELECT max(n) AS n FROM http_interface.t FORMAT JSONEachRow")
        .expect("select");
    assert_eq!((read.status, read.text().trim()), (200, r#"{"n":9007199254740993}"#));
    assert_eq!(clickhouse_count(ch, "SELECT count() FROM http_interface.t"), 2);
}

// ---- both backends behind one interface ----

enum Backend {
    /// The temp dir holds the database file for as long as the store lives.
    Sqlite { _dir: tempfile::TempDir, store: SqliteStore },
    ClickHouse(ClickHouseStore),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::ClickHouse(_) => "clickhouse",
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            Backend::Sqlite { store, .. } => store,
            Backend::ClickHouse(store) => store,
        }
    }

    fn insert(&self, batch: Vec<Received>) -> InsertOutcome {
        let outcome = match self {
            Backend::Sqlite { store, .. } => store.insert_batch_blocking(batch),
            Backend::ClickHouse(store) => store.insert_batch_blocking(batch),
        };
        outcome.unwrap_or_else(|e| panic!("{}: insert failed: {e:#}", self.name()))
    }

    fn totals(&self, experiment: &str, funnel: &[String]) -> ExperimentTotals {
        self.store().experiment_totals(experiment, funnel).unwrap_or_else(|e| panic!("{}: totals: {e:#}", self.name()))
    }
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("t.db"), Durability::Normal).expect("open sqlite");
    Backend::Sqlite { _dir: dir, store }
}

/// A fresh ClickHouse database per test, so tests running in parallel do not see each other.
fn clickhouse_backend(database: &str) -> Option<Backend> {
    let ch = clickhouse()?;
    let store = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("open ClickHouse {database}: {e:#}"));
    Some(Backend::ClickHouse(store))
}

/// SQLite, and ClickHouse when it is installed.
fn backends(database: &str) -> Vec<Backend> {
    let mut all = vec![sqlite()];
    all.extend(clickhouse_backend(database));
    all
}

// ---- the store's behaviours, on both backends ----

#[test]
fn a_resent_batch_is_stored_and_counted_once() {
    for b in backends("resent_batch") {
        let batch = || events(&[exposure("e1", "v1", "hero", "b", 100), goal("g1", "v1", "purchase", Some(10.0), 200)]);
        let first = b.insert(batch());
        let again = b.insert(batch());
        assert_eq!((first.stored, first.duplicates), (2, 0), "{}", b.name());
        assert_eq!((again.stored, again.duplicates), (0, 2), "{}", b.name());
        let t = b.totals("hero", &funnel());
        assert_eq!(visitors(&t, "b"), 1, "{}", b.name());
        assert_eq!(conversions(&t, "b", "purchase"), 1, "{}", b.name());
    }
}

#[test]
fn an_event_repeated_inside_one_batch_is_stored_once() {
    for b in backends("repeated_in_batch") {
        let outcome = b.insert(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            goal("g1", "v1", "purchase", Some(4.0), 200),
            goal("g1", "v1", "purchase", Some(4.0), 200),
        ]));
        assert_eq!((outcome.stored, outcome.duplicates), (2, 1), "{}", b.name());
        let t = b.totals("hero", &[]);
        assert_eq!(t.goals.iter().map(|g| g.value_sum).sum::<f64>(), 4.0, "{}", b.name());
    }
}

#[test]
fn a_goal_before_the_first_exposure_does_not_convert() {
    for b in backends("goal_before_exposure") {
        b.insert(events(&[goal("g1", "v1", "purchase", None, 50), exposure("e1", "v1", "hero", "b", 100)]));
        let t = b.totals("hero", &funnel());
        assert_eq!(visitors(&t, "b"), 1, "{}", b.name());
        assert_eq!(conversions(&t, "b", "purchase"), 0, "{}", b.name());
    }
}

#[test]
fn a_goal_stored_before_its_exposure_arrives_counts_once_the_exposure_does() {
    for b in backends("goal_then_exposure") {
        b.insert(events(&[goal("g1", "v1", "purchase", Some(5.0), 300)]));
        assert_eq!(conversions(&b.totals("hero", &[]), "b", "purchase"), 0, "{}", b.name());
        b.insert(events(&[exposure("e1", "v1", "hero", "b", 100)]));
        let t = b.totals("hero", &[]);
        assert_eq!(conversions(&t, "b", "purchase"), 1, "{}", b.name());
        assert_eq!(t.goals.iter().find(|g| g.goal == "purchase").map(|g| g.value_sum), Some(5.0), "{}", b.name());
    }
}

#[test]
fn an_earlier_exposure_arriving_late_decides_the_variant() {
    for b in backends("late_exposure") {
        b.insert(events(&[exposure("e2", "v1", "hero", "b", 200), goal("g1", "v1", "add_to_cart", None, 250)]));
        b.insert(events(&[exposure("e1", "v1", "hero", "control", 100)]));
        let t = b.totals("hero", &funnel());
        assert_eq!((visitors(&t, "control"), visitors(&t, "b")), (1, 0), "{}", b.name());
        assert_eq!(
            (conversions(&t, "control", "add_to_cart"), conversions(&t, "b", "add_to_cart")),
            (1, 0),
            "{}",
            b.name()
        );
    }
}

#[test]
fn revenue_is_summed_per_visitor_then_squared() {
    for b in backends("revenue") {
        b.insert(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            goal("g1", "v1", "purchase", Some(10.0), 110),
            goal("g2", "v1", "purchase", Some(5.0), 120),
            exposure("e2", "v2", "hero", "b", 100),
            goal("g3", "v2", "purchase", Some(2.0), 130),
        ]));
        let t = b.totals("hero", &[]);
        let purchase = t.goals.iter().find(|g| g.variant == "b" && g.goal == "purchase").expect("purchase totals");
        assert_eq!(purchase.conversions, 2, "{}", b.name());
        assert_eq!(purchase.value_sum, 17.0, "{}", b.name());
        assert_eq!(purchase.value_sum_sq, 15.0 * 15.0 + 2.0 * 2.0, "{}", b.name());
    }
}

#[test]
fn the_funnel_counts_visitors_reaching_each_step_in_order() {
    for b in backends("funnel_order") {
        b.store().register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
        b.insert(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            goal("g1", "v1", "add_to_cart", None, 110),
            goal("g2", "v1", "purchase", None, 120),
            exposure("e2", "v2", "hero", "b", 100),
            goal("g3", "v2", "purchase", None, 110),
            goal("g4", "v2", "add_to_cart", None, 120),
            exposure("e3", "v3", "hero", "b", 100),
            goal("g5", "v3", "add_to_cart", None, 130),
        ]));
        let t = b.totals("hero", &funnel());
        let variant_b = t.funnel.iter().find(|f| f.variant == "b").expect("funnel of b");
        assert_eq!(variant_b.counts, vec![3, 1], "{}", b.name());
    }
}

#[test]
fn visitor_counts_list_every_experiment_and_variant_by_first_exposure() {
    for b in backends("visitor_counts") {
        b.insert(events(&[
            exposure("e1", "v1", "hero", "b", 200),
            exposure("e2", "v1", "hero", "control", 100),
            exposure("e3", "v2", "hero", "b", 100),
            exposure("e4", "v1", "cart", "big", 100),
        ]));
        let counts = b.store().visitor_counts().expect("visitor counts");
        let expected = [("cart", "big", 1), ("hero", "b", 1), ("hero", "control", 1)];
        let expected: Vec<VariantCount> = expected
            .iter()
            .map(|(e, v, n)| VariantCount { experiment: e.to_string(), variant: v.to_string(), visitors: *n })
            .collect();
        assert_eq!(counts, expected, "{}", b.name());
    }
}

#[test]
fn export_streams_the_experiments_exposures_and_its_visitors_events() {
    for b in backends("export") {
        b.insert(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            pageview("p1", "v1", 105),
            goal("g1", "v1", "purchase", Some(1.0), 110),
            exposure("e2", "v1", "other", "x", 100),
            pageview("p2", "v-never-exposed", 100),
        ]));
        let mut exported = Vec::new();
        let written = b
            .store()
            .export("hero", &mut |e| {
                exported.push(e.clone().into_owned());
                Ok(())
            })
            .expect("export");
        assert_eq!(written, 3, "{}", b.name());
        let ids: Vec<&str> = exported.iter().map(|e| e.id.as_ref()).collect();
        assert_eq!(ids, vec!["e1", "p1", "g1"], "{}", b.name());
        assert_eq!(exported[2].value, Some(1.0), "{}", b.name());
        assert!(exported[2].body.contains("\"currency\":\"EUR\""), "{}: the raw body is kept", b.name());
    }
}

#[test]
fn keys_with_quotes_and_backslashes_are_stored_and_queried_verbatim() {
    let Some(b) = clickhouse_backend("quoting") else { return };
    let experiment = r"it's \a";
    let outcome = b.insert(events(&[
        exposure(r"id'\\1", r"v'\\", "it's \\\\a", "b", 100),
        goal("g'1", r"v'\\", "purchase", Some(3.0), 200),
    ]));
    assert_eq!(outcome.stored, 2);
    let again = b.insert(events(&[exposure(r"id'\\1", r"v'\\", "it's \\\\a", "b", 100)]));
    assert_eq!(again.duplicates, 1, "the escaped id is found again");
    let t = b.totals(experiment, &[]);
    assert_eq!((visitors(&t, "b"), conversions(&t, "b", "purchase")), (1, 1));
}

// ---- ClickHouse and SQLite agree on a random stream ----

/// SplitMix64: a seeded generator, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Visitors with several exposures (possibly to different variants), goals before and after
/// them, funnel steps in both orders and page views, shuffled into batches. Every timestamp is
/// distinct (ties between exposures are broken differently: arrival order vs. event id), and
/// values are multiples of 0.25 so that every sum is exact in any order.
/// About one batch in seven is an automated browser's; a resent batch is the same browser's again.
fn is_bot_batch(items: &[String]) -> bool {
    items.iter().flat_map(|i| i.bytes()).map(u64::from).sum::<u64>() % 7 == 3
}

fn random_batches(seed: u64, visitors: usize) -> Vec<Vec<String>> {
    let mut rng = Random(seed);
    let mut items = Vec::new();
    let ts = |rng: &mut Random, seq: usize| 1_000_000_000 + rng.below(100_000) as i64 * 10_000 + seq as i64;
    for v in 0..visitors {
        let visitor = format!("v{v}");
        let events_of_visitor = 2 + rng.below(14) as usize;
        for _ in 0..events_of_visitor {
            let seq = items.len();
            let at = ts(&mut rng, seq);
            let id = format!("ev{seq}");
            items.push(match rng.below(10) {
                0..=2 => {
                    let variant = ["control", "b"][rng.below(2) as usize];
                    exposure(&id, &visitor, "hero", variant, at)
                }
                3 => exposure(&id, &visitor, "cart", ["small", "big"][rng.below(2) as usize], at),
                4..=5 => goal(&id, &visitor, "add_to_cart", None, at),
                6..=7 => goal(&id, &visitor, "purchase", Some(rng.below(2_000) as f64 * 0.25), at),
                _ => pageview(&id, &visitor, at),
            });
        }
    }
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut batches = Vec::new();
    let mut rest = &items[..];
    while !rest.is_empty() {
        let size = (1 + rng.below(40) as usize).min(rest.len());
        batches.push(rest[..size].to_vec());
        // About one batch in twenty is resent, as a snippet retrying after a lost answer does.
        if rng.below(20) == 0 {
            batches.push(rest[..size].to_vec());
        }
        rest = &rest[size..];
    }
    batches
}

#[test]
fn clickhouse_agrees_with_sqlite_on_a_random_event_stream() {
    let Some(clickhouse) = clickhouse_backend("random_stream") else { return };
    let sqlite = sqlite();
    let batches = random_batches(20_261_127, 400);
    assert!(batches.iter().map(Vec::len).sum::<usize>() > 2_000, "a few thousand events");
    for b in [&sqlite, &clickhouse] {
        b.store().register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
    }
    // Every seventh batch is a bot's, and "cart" is not in CONFIG: stored, kept out of results.
    for items in &batches {
        let automated = is_bot_batch(items);
        assert_eq!(clickhouse.insert(counted(items, automated)), sqlite.insert(counted(items, automated)), "same stored/duplicate counts");
    }
    let hero = sqlite.totals("hero", &funnel());
    assert!(hero.variants.len() == 2 && !hero.goals.is_empty() && !hero.funnel.is_empty(), "the stream exercises everything");
    assert!(hero.bot_visitors > 0, "the stream has bots");
    assert_eq!(clickhouse.totals("hero", &funnel()), hero);
    assert_eq!(clickhouse.totals("cart", &[]), sqlite.totals("cart", &[]));
    assert_eq!(clickhouse.store().visitor_counts().expect("counts"), sqlite.store().visitor_counts().expect("counts"));
}

/// Whether the engine of this run keeps per-row block numbers, so the store reads results from
/// snapshots plus the events since (the current engine) rather than per-visitor aggregates (18.16).
fn snapshots_engine() -> bool {
    matches!(Engine::from_env(), Ok(Engine::Chdb))
}

#[test]
fn results_read_between_batches_build_on_each_other_and_stay_exactly_sqlites() {
    let Some(ch) = clickhouse() else { return };
    let database = "read_between_batches";
    // Two collectors on one database, each storing the snapshots its reads compute, and a
    // read-only `results`: every one of them must equal SQLite after every few batches, whichever
    // snapshot the previous read of whichever of them left.
    let open = || ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("open ClickHouse {database}: {e:#}"));
    let (first, second) = (open(), open());
    let sqlite = sqlite();
    let batches = random_batches(20_261_204, 300);
    let mut reads = 0;
    for (i, items) in batches.iter().enumerate() {
        let automated = is_bot_batch(items);
        let expected = sqlite.insert(counted(items, automated));
        let via = if i % 2 == 0 { &first } else { &second };
        assert_eq!(via.insert_batch_blocking(counted(items, automated)).expect("insert"), expected, "batch {i}");
        if i % 6 == 5 || i + 1 == batches.len() {
            let reader = ClickHouseStore::open_existing(&ch.url, database).expect("open for reading");
            let store: &dyn Store = [&first as &dyn Store, &second, &reader][reads % 3];
            reads += 1;
            assert_eq!(store.experiment_totals("hero", &funnel()).expect("totals"), sqlite.totals("hero", &funnel()), "after batch {i}");
            // Another funnel (steps reversed) has its own snapshots.
            let reversed: Vec<String> = funnel().into_iter().rev().collect();
            assert_eq!(store.experiment_totals("hero", &reversed).expect("totals"), sqlite.totals("hero", &reversed), "after batch {i}");
        }
    }
    let hero = sqlite.totals("hero", &funnel());
    assert!(hero.variants.len() == 2 && !hero.goals.is_empty() && !hero.funnel.is_empty(), "the stream exercises everything");
    if snapshots_engine() {
        let snapshots = clickhouse_count(ch, &format!("SELECT uniqExact(as_of) FROM {database}.result_totals WHERE kind = 'snapshot'"));
        assert!(snapshots > 10, "reads built on earlier snapshots ({snapshots} stored)");
    }
}

/// A snapshot whose per-visitor rows landed but whose totals did not (a collector killed between
/// the two INSERTs, or one still writing them while another collector computes from the snapshot
/// before) must not leave a part that a later read takes for the current one. Here a visitor's
/// variant goes control → b → control (each exposure earlier than the last), and the snapshot
/// that saw "b" loses its totals.
#[test]
fn a_snapshot_without_its_totals_leaves_no_part_that_later_reads_take_for_current() {
    let Some(ch) = clickhouse() else { return };
    if !snapshots_engine() {
        return; // 18.16 reads per-visitor aggregates, no snapshots
    }
    let database = "snapshot_without_totals";
    let store = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("open ClickHouse {database}: {e:#}"));
    let sqlite = sqlite();
    let latest_snapshot = || {
        clickhouse_count(ch, &format!("SELECT max(as_of) FROM {database}.result_totals WHERE kind = 'snapshot'"))
    };
    let steps = [
        vec![exposure("x1", "flip", "hero", "control", 3_000), exposure("y1", "steady", "hero", "b", 1_000)],
        vec![exposure("x2", "flip", "hero", "b", 2_000)],
        vec![exposure("x3", "flip", "hero", "control", 1_000)],
        vec![goal("g1", "flip", "purchase", Some(40.0), 4_000)],
    ];
    for (i, items) in steps.iter().enumerate() {
        sqlite.insert(events(items));
        store.insert_batch_blocking(events(items)).expect("insert");
        let before = latest_snapshot();
        assert_eq!(store.experiment_totals("hero", &funnel()).expect("totals"), sqlite.totals("hero", &funnel()), "after step {i}");
        assert!(latest_snapshot() > before, "step {i}'s read stored a snapshot");
        if i == 1 {
            // The snapshot that saw "flip" in b keeps its visitor rows and loses its totals.
            let lost = latest_snapshot();
            let delete = format!("DELETE FROM {database}.result_totals WHERE as_of = {lost}");
            let response = request(ch.http, "POST", "/", &[], delete.as_bytes()).expect("delete");
            assert_eq!(response.status, 200, "{delete}: {}", response.text());
            assert!(latest_snapshot() < lost, "the snapshot's totals are gone");
        }
    }
    let hero = sqlite.totals("hero", &funnel());
    assert_eq!(hero.goals.iter().map(|g| (g.variant.as_str(), g.conversions)).collect::<Vec<_>>(), [("control", 1)]);
}

#[test]
fn a_database_from_before_snapshots_is_migrated_with_its_events_counted_once() {
    let Some(ch) = clickhouse() else { return };
    if !snapshots_engine() {
        return; // 18.16 keeps the layout it has
    }
    let sql = |statement: String| {
        let response = request(ch.http, "POST", "/", &[], statement.as_bytes()).expect("statement");
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
    };
    // The events of a seeded stream, resends included, in the events table as the previous
    // version created it (key (visitor, id), no block numbers kept, no `copy`).
    let source = "before_snapshots_source";
    let database = "before_snapshots";
    let store = ClickHouseStore::open(&ch.url, source).unwrap_or_else(|e| panic!("open ClickHouse {source}: {e:#}"));
    let sqlite = sqlite();
    let batches = random_batches(20_261_205, 200);
    let (old, new) = batches.split_at(batches.len() * 2 / 3);
    for items in old {
        let automated = is_bot_batch(items);
        sqlite.insert(counted(items, automated));
        store.insert_batch_blocking(counted(items, automated)).expect("insert");
    }
    sql(format!("CREATE DATABASE {database}"));
    sql(format!(
        "CREATE TABLE {database}.events (id String, type String, ts Int64, visitor String, session String, url String, \
         experiment Nullable(String), variant Nullable(String), goal Nullable(String), value Nullable(Float64), body String, \
         counted UInt8 DEFAULT 1, bot UInt8 DEFAULT 0) ENGINE = ReplacingMergeTree() ORDER BY (visitor, id)"
    ));
    let columns = "id, type, ts, visitor, session, url, experiment, variant, goal, value, body, counted, bot";
    // Twice, in two parts: a resent batch before the merge.
    for _ in 0..2 {
        sql(format!("INSERT INTO {database}.events SELECT {columns} FROM {source}.events"));
    }
    let migrated = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("migrate ClickHouse {database}: {e:#}"));
    assert_eq!(migrated.experiment_totals("hero", &funnel()).expect("totals"), sqlite.totals("hero", &funnel()));
    // Later batches (some resent, some of old visitors) land on top of the first snapshot.
    for items in new {
        let automated = is_bot_batch(items);
        assert_eq!(migrated.insert_batch_blocking(counted(items, automated)).expect("insert"), sqlite.insert(counted(items, automated)));
    }
    sql(format!("OPTIMIZE TABLE {database}.events FINAL"));
    let hero = sqlite.totals("hero", &funnel());
    assert!(hero.variants.len() == 2 && !hero.goals.is_empty() && !hero.funnel.is_empty(), "the stream exercises everything");
    assert_eq!(migrated.experiment_totals("hero", &funnel()).expect("totals"), hero);
    assert_eq!(migrated.visitor_counts().expect("counts"), sqlite.store().visitor_counts().expect("counts"));
    let reopened = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("reopen ClickHouse {database}: {e:#}"));
    assert_eq!(reopened.experiment_totals("hero", &funnel()).expect("totals"), hero);
}

#[test]
fn at_most_the_first_thousand_goals_after_exposure_count_as_in_sqlite() {
    if !snapshots_engine() {
        return; // 18.16's per-visitor aggregates count every goal (README)
    }
    let Some(clickhouse) = clickhouse_backend("goal_cap") else { return };
    let sqlite = sqlite();
    // 1,005 purchases after the exposure, worth 1 each except the last five (1,000 each): only
    // the first 1,000 in time count. The last five arrive first.
    let mut items: Vec<String> =
        (1_000..1_005).map(|n| goal(&format!("g{n}"), "heavy", "purchase", Some(1_000.0), 2_000 + n)).collect();
    items.push(exposure("x", "heavy", "hero", "b", 1_000));
    items.extend((0..1_000).map(|n| goal(&format!("g{n}"), "heavy", "purchase", Some(1.0), 2_000 + n)));
    for b in [&sqlite, &clickhouse] {
        for chunk in items.chunks(300) {
            b.insert(events(chunk));
        }
    }
    let expected = sqlite.totals("hero", &[]);
    assert_eq!(expected.goals.len(), 1);
    assert_eq!(expected.goals[0].value_sum, 1_000.0, "SQLite counts the first 1,000 only");
    assert_eq!(clickhouse.totals("hero", &[]), expected);
}

#[test]
fn results_are_the_same_whether_events_arrive_in_one_ordered_batch_or_in_several_out_of_time_order() {
    let (Some(in_order), Some(out_of_order)) = (clickhouse_backend("one_ordered_batch"), clickhouse_backend("shuffled_batches"))
    else {
        return;
    };
    let mut stream: Vec<String> = random_batches(20_261_129, 300).concat();
    let mut seen = std::collections::HashSet::new();
    stream.retain(|item| seen.insert(events(std::slice::from_ref(item))[0].event.id.clone()));
    stream.sort_by_key(|item| events(std::slice::from_ref(item))[0].event.ts);
    in_order.insert(events(&stream));

    // Newest first, in seven batches, the third one sent twice.
    let newest_first: Vec<String> = stream.iter().rev().cloned().collect();
    let batches: Vec<&[String]> = newest_first.chunks(newest_first.len() / 7 + 1).collect();
    assert!(batches.len() >= 7, "several batches");
    for (i, batch) in batches.iter().enumerate() {
        out_of_order.insert(events(batch));
        if i == 2 {
            out_of_order.insert(events(batch));
        }
    }

    let hero = in_order.totals("hero", &funnel());
    assert!(hero.variants.len() == 2 && !hero.goals.is_empty() && !hero.funnel.is_empty(), "the stream exercises everything");
    assert_eq!(out_of_order.totals("hero", &funnel()), hero);
    assert_eq!(out_of_order.totals("cart", &[]), in_order.totals("cart", &[]));
    assert_eq!(
        out_of_order.store().visitor_counts().expect("counts"),
        in_order.store().visitor_counts().expect("counts")
    );
}

#[test]
fn events_stored_before_the_aggregate_tables_existed_are_counted_once_serve_opens_the_database() {
    let Some(ch) = clickhouse() else { return };
    let database = "from_before_aggregates";
    let store = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("open ClickHouse {database}: {e:#}"));
    for items in random_batches(20_261_130, 100) {
        store.insert_batch_blocking(events(&items)).expect("insert");
    }
    let expected = store.experiment_totals("hero", &funnel()).expect("totals");
    assert!(!expected.variants.is_empty() && !expected.goals.is_empty(), "the stream has results");
    // What a database written by an earlier splitbeam holds: the event log only.
    let sql = |statement: String| {
        let response = request(ch.http, "POST", "/", &[], statement.as_bytes()).expect("statement");
        assert_eq!(response.status, 200, "{statement}: {}", response.text());
    };
    let aggregates = ["first_exposures_mv", "visitor_goals_mv", "bot_exposures_mv", "first_exposures", "visitor_goals", "bot_exposures"];
    for drop in aggregates.iter().chain(&["aggregates_v2_backfilled"]) {
        sql(format!("DROP TABLE {database}.{drop}"));
    }
    assert!(ClickHouseStore::open_existing(&ch.url, database).is_err(), "reading needs the aggregate tables");
    let reopened = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("reopen ClickHouse {database}: {e:#}"));
    assert_eq!(reopened.experiment_totals("hero", &funnel()).expect("totals"), expected);

    // A database from before the counting rules (its aggregates built without them, its mark
    // the first one): rebuilt once, with the same results.
    for drop in aggregates.iter().chain(&["aggregates_v2_backfilled"]) {
        sql(format!("DROP TABLE {database}.{drop}"));
    }
    sql(format!("CREATE TABLE {database}.first_exposures (experiment String) ENGINE = TinyLog"));
    sql(format!("CREATE TABLE {database}.aggregates_backfilled (done UInt8) ENGINE = TinyLog"));
    let upgraded = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("upgrade ClickHouse {database}: {e:#}"));
    assert_eq!(upgraded.experiment_totals("hero", &funnel()).expect("totals"), expected);
}

// ---- `splitbeam serve --store clickhouse` ----

/// The collector as a child process; killed when dropped.
struct Collector {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_collector(ch: &ClickHouse, dir: &Path, database: &str) -> Collector {
    let config = dir.join("experiments.json");
    std::fs::write(&config, common::CONFIG).expect("write config");
    let token = dir.join("admin-token");
    if !token.exists() {
        common::write_admin_token(&token, common::ADMIN_TOKEN);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_splitbeam"))
        .args(["serve", "--store", "clickhouse", "--clickhouse-url", &ch.url, "--clickhouse-database", database])
        .args(["--port", "0", "--host", "127.0.0.1", "--config", &config.to_string_lossy()])
        .args(["--dist", &dir.join("dist").to_string_lossy()])
        .args(["--admin-token-file", &token.to_string_lossy()])
        // The editor's history file sits next to `--db` whichever store holds the events: in the
        // temp dir, not in the package's folder.
        .args(["--db", &dir.join("splitbeam.db").to_string_lossy()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start splitbeam serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let (found, port) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("collector") {
                let port = url.trim().trim_start_matches("http://localhost:").trim_end_matches("/collect").parse::<u16>();
                let _ = found.send(port.ok());
            }
        }
    });
    let mut collector = Collector { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
    match port.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(port)) => collector.addr.set_port(port),
        outcome => panic!("splitbeam serve did not print its collector URL: {outcome:?}"),
    }
    collector
}

#[test]
fn serve_with_the_clickhouse_store_ingests_a_batch_and_serves_its_results() {
    let Some(ch) = clickhouse() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = start_collector(ch, dir.path(), "serve_end_to_end");
    let body = batch(&[
        exposure("e1", "v1", "hero", "control", 100),
        exposure("e2", "v2", "hero", "b", 100),
        goal("g1", "v2", "purchase", Some(12.5), 200),
        pageview("p1", "v2", 150),
    ]);
    let collected = request(collector.addr, "POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes())
        .expect("POST /collect");
    assert_eq!(collected.status, 200, "{}", collected.text());
    assert_eq!(collected.json()["stored"], 4);
    // Acknowledged means ClickHouse already holds the batch.
    assert_eq!(clickhouse_count(ch, "SELECT count() FROM serve_end_to_end.events"), 4);

    let results = request(collector.addr, "GET", "/api/experiments/hero/results", &[common::ADMIN], b"").expect("GET results");
    assert_eq!(results.status, 200, "{}", results.text());
    let json = results.json();
    let variant = |key: &str| {
        json["variants"].as_array().and_then(|all| all.iter().find(|v| v["key"] == key)).cloned().unwrap_or_default()
    };
    assert_eq!(variant("control")["visitors"], 1);
    assert_eq!(variant("b")["visitors"], 1);
    assert_eq!(variant("b")["goals"]["purchase"]["conversions"], 1);
    assert_eq!(variant("control")["goals"]["purchase"]["conversions"], 0);
}

/// POSTs one batch to a collector until it is acknowledged, as the snippet does: a 503 (overloaded
/// or ClickHouse unreachable) is retried, anything else but 200 fails the test.
fn collect_until_acknowledged(collector: &Collector, body: &str) {
    for _ in 0..200 {
        let response = request(collector.addr, "POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes())
            .expect("POST /collect");
        match response.status {
            200 => return,
            503 => std::thread::sleep(Duration::from_millis(50)),
            status => panic!("/collect answered {status}: {}", response.text()),
        }
    }
    panic!("/collect answered 503 200 times in a row");
}

#[test]
fn three_collectors_on_one_database_store_a_stream_resent_through_different_ones_exactly_as_sqlite() {
    let Some(ch) = clickhouse() else { return };
    let database = "three_collectors";
    let dir = tempfile::tempdir().expect("temp dir");
    let collectors: Vec<Collector> = (0..3).map(|_| start_collector(ch, dir.path(), database)).collect();
    let sqlite = sqlite();
    sqlite.store().register_funnels(vec![("hero".to_string(), funnel())]).expect("register");

    // Each batch goes through one collector; about one in three is resent through another one.
    // Each collector's share is shuffled, so a resend may arrive before or during the first send.
    let mut rng = Random(20_261_204);
    let mut plan: Vec<Vec<String>> = vec![Vec::new(); collectors.len()];
    // Every seventh batch comes from an automated browser (a bot's: stored, kept out of results);
    // "cart" is not in CONFIG (stored, never aggregated). SQLite gets the events marked as the
    // collectors mark them.
    for items in random_batches(20_261_205, 300) {
        let automated = is_bot_batch(&items);
        sqlite.insert(counted(&items, automated));
        let body = if automated { batch(&items).replacen(r#""events":"#, r#""automated":true,"events":"#, 1) } else { batch(&items) };
        let first = rng.below(3) as usize;
        plan[first].push(body.clone());
        if rng.below(3) == 0 {
            plan[(first + 1 + rng.below(2) as usize) % 3].push(body);
        }
    }
    for share in &mut plan {
        for i in (1..share.len()).rev() {
            share.swap(i, rng.below(i as u64 + 1) as usize);
        }
    }
    // The three collectors are fed at the same time.
    std::thread::scope(|scope| {
        for (collector, share) in collectors.iter().zip(&plan) {
            scope.spawn(move || share.iter().for_each(|body| collect_until_acknowledged(collector, body)));
        }
    });

    let stored = ClickHouseStore::open_existing(&ch.url, database).unwrap_or_else(|e| panic!("open {database}: {e:#}"));
    let hero = sqlite.totals("hero", &funnel());
    assert!(hero.variants.len() == 2 && !hero.goals.is_empty() && !hero.funnel.is_empty(), "the stream exercises everything");
    assert!(hero.bot_visitors > 0, "the stream has bots");
    assert!(hero.bot_visitors > 0, "the stream has bots");
    assert_eq!(stored.experiment_totals("hero", &funnel()).expect("totals"), hero);
    assert_eq!(stored.experiment_totals("cart", &[]).expect("totals"), sqlite.totals("cart", &[]));
    assert_eq!(stored.visitor_counts().expect("counts"), sqlite.store().visitor_counts().expect("counts"));
    let export = |store: &dyn Store| {
        let mut all = Vec::new();
        store
            .export("hero", &mut |e| {
                all.push(e.clone().into_owned());
                Ok(())
            })
            .expect("export");
        all
    };
    let from_sqlite = export(sqlite.store());
    assert!(from_sqlite.len() > 100, "hero's visitors have events: {}", from_sqlite.len());
    assert_eq!(export(&stored), from_sqlite);
}

#[test]
fn a_collector_killed_mid_load_loses_no_acknowledged_event() {
    let Some(ch) = clickhouse() else { return };
    let database = "killed_collector";
    let dir = tempfile::tempdir().expect("temp dir");
    let doomed = start_collector(ch, dir.path(), database);
    let survivor = start_collector(ch, dir.path(), database);
    let sqlite = sqlite();
    sqlite.store().register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
    let batches = random_batches(20_261_206, 300);
    for items in &batches {
        sqlite.insert(counted(items, false));
    }

    // Two senders feed the doomed collector at once; the one drawing the batch a quarter into the
    // stream SIGKILLs it first, while the other may be mid-request. What it acknowledged is noted.
    let pid = doomed.child.id().to_string();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let acknowledged = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (next, acknowledged, batches, doomed, pid) = (&next, &acknowledged, &batches, &doomed, &pid);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= batches.len() {
                    return;
                }
                if i == batches.len() / 4 {
                    let killed = Command::new("kill").args(["-KILL", pid]).status().expect("run kill");
                    assert!(killed.success(), "kill -KILL {pid}");
                }
                let body = batch(&batches[i]);
                match request(doomed.addr, "POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes()) {
                    Ok(response) if response.status == 200 => acknowledged.lock().expect("lock").push(i),
                    _ => return,
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner().expect("lock");
    assert!(!acknowledged.is_empty() && acknowledged.len() < batches.len(), "the kill came mid-load: {} acknowledged", acknowledged.len());

    let stored = ClickHouseStore::open_existing(&ch.url, database).unwrap_or_else(|e| panic!("open {database}: {e:#}"));
    let db_events = clickhouse_count(ch, &format!("SELECT uniqExact(id) FROM {database}.events"));
    let acknowledged_ids: std::collections::HashSet<String> =
        acknowledged.iter().flat_map(|&i| events(&batches[i])).map(|e| e.event.id).collect();
    let ids_sql = acknowledged_ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let found = clickhouse_count(ch, &format!("SELECT uniqExact(id) FROM {database}.events WHERE id IN ({ids_sql})"));
    assert_eq!(found, acknowledged_ids.len() as u64, "every acknowledged event is stored ({db_events} in all)");

    // The snippet retries what was not acknowledged, here through the surviving collector.
    for (i, items) in batches.iter().enumerate() {
        if !acknowledged.contains(&i) {
            collect_until_acknowledged(&survivor, &batch(items));
        }
    }
    assert_eq!(stored.experiment_totals("hero", &funnel()).expect("totals"), sqlite.totals("hero", &funnel()));
    assert_eq!(stored.visitor_counts().expect("counts"), sqlite.store().visitor_counts().expect("counts"));
}

/// A TCP relay in front of the test ClickHouse that can be cut: while cut, it closes every open
/// connection and every new one at once, as an unreachable ClickHouse does to the collector.
struct Relay {
    url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(to: SocketAddr) -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let url = format!("http://{}", listener.local_addr().expect("relay address"));
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (is_cut, conns) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if is_cut.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let Ok(server) = std::net::TcpStream::connect(to) else { continue };
                let pair = [client.try_clone(), server.try_clone(), client.try_clone(), server.try_clone()];
                let [Ok(c1), Ok(s1), Ok(c2), Ok(s2)] = pair else { continue };
                if let Ok(mut all) = conns.lock() {
                    all.extend([c2.try_clone(), s2.try_clone()].into_iter().flatten());
                }
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    })
                };
                pipe(c1, server);
                pipe(s1, client);
                let _ = (c2, s2);
            }
        });
        Relay { url, cut, open }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
        if cut {
            for conn in self.open.lock().expect("lock").drain(..) {
                let _ = conn.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

#[test]
fn while_clickhouse_is_unreachable_collect_answers_503_with_retry_after_and_retries_bring_everything_once() {
    let Some(ch) = clickhouse() else { return };
    let database = "unreachable";
    let relay = Relay::start(ch.http);
    let behind_relay = ClickHouse { url: relay.url.clone(), http: ch.http, _watchdog: Command::new("true").spawn().expect("spawn true") };
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = start_collector(&behind_relay, dir.path(), database);
    let sqlite = sqlite();
    sqlite.store().register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
    let batches = random_batches(20_261_207, 100);
    let (before, rest) = batches.split_at(batches.len() / 3);
    let (during, after) = rest.split_at(rest.len() / 2);
    for items in &batches {
        sqlite.insert(counted(items, false));
    }
    for items in before {
        collect_until_acknowledged(&collector, &batch(items));
    }
    relay.set_cut(true);
    for items in during {
        let response = request(collector.addr, "POST", "/collect", &[("Content-Type", "text/plain")], batch(items).as_bytes())
            .expect("POST /collect");
        assert_eq!(response.status, 503, "{}", response.text());
        assert!(response.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("retry-after") && v == "1"), "{:?}", response.headers);
    }
    relay.set_cut(false);
    // The snippet's retry: the refused batches again, then the rest, one batch twice.
    for items in during.iter().chain(after).chain(after.first()) {
        collect_until_acknowledged(&collector, &batch(items));
    }
    let stored = ClickHouseStore::open_existing(&ch.url, database).unwrap_or_else(|e| panic!("open {database}: {e:#}"));
    assert_eq!(stored.experiment_totals("hero", &funnel()).expect("totals"), sqlite.totals("hero", &funnel()));
    assert_eq!(stored.visitor_counts().expect("counts"), sqlite.store().visitor_counts().expect("counts"));
    let unique = clickhouse_count(ch, &format!("SELECT uniqExact(id) FROM {database}.events"));
    let sent: std::collections::HashSet<String> = batches.iter().flat_map(|b| events(b)).map(|e| e.event.id).collect();
    assert_eq!(unique, sent.len() as u64, "every event is stored");
}

// ---- `splitbeam results` and `splitbeam export` with `--store clickhouse` ----

/// The same seeded stream stored twice: in a SQLite file (returned with the temp dir keeping it)
/// and in the ClickHouse database `database`, as two collectors with the config's funnel would.
fn same_events_in_both(ch: &ClickHouse, database: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("events.db");
    let sqlite = SqliteStore::open(&db, Durability::Normal).expect("open sqlite");
    let clickhouse = ClickHouseStore::open(&ch.url, database).unwrap_or_else(|e| panic!("open ClickHouse {database}: {e:#}"));
    sqlite.register_funnels(vec![("hero".to_string(), funnel())]).expect("register the funnel");
    for items in random_batches(20_261_128, 150) {
        let stored = sqlite.insert_batch_blocking(events(&items)).expect("insert into sqlite");
        assert_eq!(clickhouse.insert_batch_blocking(events(&items)).expect("insert into ClickHouse"), stored);
    }
    drop(sqlite);
    (dir, db)
}

fn splitbeam_cli(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_splitbeam")).args(args).output().expect("run splitbeam");
    assert!(out.status.success(), "splitbeam {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `results --json` output without its `updated_at` (the time of the call, different per run).
fn results_json(out: &std::process::Output) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("results --json printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let updated = json.as_object_mut().and_then(|o| o.remove("updated_at"));
    assert!(updated.is_some_and(|t| t.as_i64().is_some()), "updated_at is a timestamp: {json}");
    json
}

#[test]
fn results_from_clickhouse_print_the_same_json_as_from_sqlite() {
    let Some(ch) = clickhouse() else { return };
    let database = "cli_results";
    let (dir, db) = same_events_in_both(ch, database);
    let config = dir.path().join("experiments.json");
    std::fs::write(&config, common::CONFIG).expect("write config");
    let (config, db) = (config.to_string_lossy(), db.to_string_lossy());
    // Without --store: SQLite stays the default.
    let from_sqlite = results_json(&splitbeam_cli(&["results", "hero", "--db", &db, "--config", &config, "--json"]));
    let from_clickhouse = results_json(&splitbeam_cli(&[
        "results", "hero", "--store", "clickhouse", "--clickhouse-url", &ch.url, "--clickhouse-database", database,
        "--config", &config, "--json",
    ]));
    let visitors: u64 =
        from_sqlite["variants"].as_array().map_or(0, |all| all.iter().filter_map(|v| v["visitors"].as_u64()).sum());
    assert!(visitors > 50, "the stream exposes visitors to hero: {from_sqlite}");
    assert!(from_sqlite["funnel"]["variants"].as_array().is_some_and(|f| !f.is_empty()), "{from_sqlite}");
    assert_eq!(from_clickhouse, from_sqlite);
}

#[test]
fn export_from_clickhouse_writes_the_same_ndjson_as_from_sqlite() {
    let Some(ch) = clickhouse() else { return };
    let database = "cli_export";
    let (_dir, db) = same_events_in_both(ch, database);
    let db = db.to_string_lossy();
    let from_sqlite = splitbeam_cli(&["export", "hero", "--format", "ndjson", "--store", "sqlite", "--db", &db]);
    let from_clickhouse = splitbeam_cli(&[
        "export", "hero", "--format", "ndjson", "--store", "clickhouse", "--clickhouse-url", &ch.url,
        "--clickhouse-database", database,
    ]);
    let lines = String::from_utf8_lossy(&from_sqlite.stdout).lines().count();
    assert!(lines > 100, "the stream has events of hero's visitors: {lines} lines");
    assert!(
        String::from_utf8_lossy(&from_clickhouse.stderr).contains(&format!("exported {lines} events")),
        "{}",
        String::from_utf8_lossy(&from_clickhouse.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&from_clickhouse.stdout), String::from_utf8_lossy(&from_sqlite.stdout));
}

#[test]
fn results_against_an_unreachable_clickhouse_fail_with_a_message_naming_it() {
    // A port that was free a moment ago: nothing listens there.
    let url = format!("http://127.0.0.1:{}", clickhouse_server::free_port().expect("a free port"));
    let out = Command::new(env!("CARGO_BIN_EXE_splitbeam"))
        .args(["results", "hero", "--store", "clickhouse", "--clickhouse-url", &url, "--json"])
        .output()
        .expect("run splitbeam");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&url), "the message names the server: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn read_commands_against_a_database_serve_never_created_fail_naming_it_and_create_nothing() {
    let Some(ch) = clickhouse() else { return };
    let database = "never_served";
    let store = ["--store", "clickhouse", "--clickhouse-url", &ch.url, "--clickhouse-database", database];
    for command in [&["results", "hero", "--json"][..], &["export", "hero"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_splitbeam")).args(command).args(store).output().expect("run splitbeam");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{command:?}: one line: {err}");
        assert!(err.contains("never_served.events"), "{command:?}: names the missing table: {err}");
        assert!(err.contains("splitbeam serve --store clickhouse"), "{command:?}: says what creates it: {err}");
    }
    let databases = clickhouse_count(ch, "SELECT count() FROM system.databases WHERE name = 'never_served'");
    assert_eq!(databases, 0, "reading created no database");
}

/// Goal attribution is one rule in both stores (README "Events"): the first exposure by (ts, id)
/// decides the variant, whatever the goal's own `experiments` map says.
#[test]
fn both_stores_attribute_goals_by_the_first_exposure_ordered_by_ts_then_id() {
    for b in backends("attribution") {
        let purchase_saying_b = r#"{"id":"g1","type":"goal","goal":"purchase","value":5,"ts":300,"visitor":"v1","session":"s-v1","url":"/done","experiments":{"hero":"b"}}"#;
        // The same millisecond: e1 (control) is first by id, though e2 (b) arrives first.
        b.insert(events(&[exposure("e2", "v1", "hero", "b", 100)]));
        b.insert(events(&[exposure("e1", "v1", "hero", "control", 100), purchase_saying_b.to_string()]));
        let t = b.totals("hero", &funnel());
        assert_eq!((visitors(&t, "control"), visitors(&t, "b")), (1, 0), "{}", b.name());
        assert_eq!((conversions(&t, "control", "purchase"), conversions(&t, "b", "purchase")), (1, 0), "{}", b.name());
    }
}
