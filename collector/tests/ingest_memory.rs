//! Memory behind a stalled writer is bounded in bytes (issue 15): another process holds the
//! database's write lock (`BEGIN IMMEDIATE`, as a backup or a `sqlite3` shell would) while 150
//! batches of about 1 MB arrive at once. Past the ingest memory budget the collector answers 503 +
//! Retry-After, its RSS stays under the ceiling README documents, and once the lock is released
//! every acknowledged batch is stored and every refused one is stored when resent: nothing lost,
//! nothing twice.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{rss_kib, Collector};
use common::{count, parse_response, raw_request, request, Response};

const BATCHES: usize = 150;
const BATCH_BYTES: usize = 1_000_000;
/// The budget passed to the collector (also its default).
const INGEST_MIB: u64 = 64;
/// README's ceiling for the default budget: RSS at start plus 3 x the budget (measured: 1.5 x in a debug build,
/// 2 x in release).
const CEILING_OVER_START_MIB: u64 = 3 * INGEST_MIB;

/// Batch `b`: small page views, as the snippet sends them (the worst ratio of parsed to raw
/// bytes), until the body is about 1 MB. The same `b` always gives the same events.
fn batch_body(b: usize) -> (String, usize) {
    let mut events = Vec::new();
    let mut size = 40;
    let mut i = 0;
    while size < BATCH_BYTES - 400 {
        let event = format!(
            r#"{{"id":"b{b}-e{i}","type":"pageview","ts":{},"visitor":"v{b}-{}","session":"s{b}","url":"/products/{i}?utm_source=newsletter&utm_campaign=flash-sale","referrer":"https://shop.example/category/shoes","title":"Flash sale: product {i}"}}"#,
            1_764_215_999_000u64 + i as u64,
            i % 50
        );
        size += event.len() + 1;
        events.push(event);
        i += 1;
    }
    (format!(r#"{{"v":1,"sent_at":1764216000000,"events":[{}]}}"#, events.join(",")), i)
}

fn post(addr: SocketAddr, body: &str) -> Option<Response> {
    post_counted(addr, body, &AtomicUsize::new(0))
}

/// POSTs `body`, adding one to `written` once the request is sent (or failed to send).
fn post_counted(addr: SocketAddr, body: &str, written: &AtomicUsize) -> Option<Response> {
    // The request is written whole, then the answer read; an error writing (the collector may
    // answer early) still reads what was answered.
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10));
    let sent = stream.and_then(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        stream.set_write_timeout(Some(Duration::from_secs(60)))?;
        let _ = stream.write_all(&raw_request("POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes(), false));
        Ok(stream)
    });
    written.fetch_add(1, Ordering::Relaxed);
    let mut stream = sent.ok()?;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

#[test]
fn a_stalled_writer_bounds_memory_refuses_with_503_and_loses_nothing() {
    let ingest = INGEST_MIB.to_string();
    let collector = Collector::start(&["--ingest-memory-mib", &ingest], None);
    let addr = collector.addr;
    let pid = collector.child.id();
    // Events per batch (ids are longer in later batches, so fewer fit in 1 MB).
    let sizes: Vec<usize> = (0..BATCHES).map(|b| batch_body(b).1).collect();
    let total: usize = sizes.iter().sum();
    let start_kib = collector.rss_kib().expect("VmRSS of the collector");

    // Stall the writer from outside: hold the write lock from a second connection.
    let lock = rusqlite::Connection::open(&collector.db).expect("open the collector's database");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");

    let peak_kib = Arc::new(AtomicU64::new(start_kib));
    let flooding = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak_kib, flooding) = (peak_kib.clone(), flooding.clone());
        std::thread::spawn(move || {
            while flooding.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak_kib.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let written = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..BATCHES)
        .map(|b| {
            let written = written.clone();
            std::thread::spawn(move || {
                let (body, _) = batch_body(b);
                post_counted(addr, &body, &written)
            })
        })
        .collect();
    // Hold the lock until every batch has been sent (at most 60 s): the accepted ones wait for
    // the writer meanwhile. (The writer gives up on the lock after busy_timeout, 5 s; the batches
    // it held then are answered 503 and count as refused.)
    let deadline = Instant::now() + Duration::from_secs(60);
    while written.load(Ordering::Relaxed) < BATCHES && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    lock.execute_batch("ROLLBACK").expect("release the write lock");
    let responses: Vec<Option<Response>> = clients.into_iter().map(|c| c.join().expect("client thread")).collect();
    flooding.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");

    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();
    for (b, response) in responses.iter().enumerate() {
        let response = response.as_ref().unwrap_or_else(|| panic!("batch {b}: no answer"));
        match response.status {
            200 => {
                assert_eq!(response.json()["stored"].as_u64(), Some(sizes[b] as u64), "batch {b}: {}", response.text());
                acknowledged.push(b);
            }
            503 => {
                assert_eq!(response.header("retry-after"), Some("1"), "batch {b}: 503 without Retry-After");
                refused.push(b);
            }
            // A body that took longer than --body-timeout on a busy machine: refused, retryable.
            408 => refused.push(b),
            other => panic!("batch {b}: {other} {}", response.text()),
        }
    }
    let peak_kib = peak_kib.load(Ordering::Relaxed);
    eprintln!(
        "ingest memory {INGEST_MIB} MiB: {} acknowledged, {} refused ({} with 503); VmRSS {} MiB at start, peak {} MiB",
        acknowledged.len(),
        refused.len(),
        responses.iter().flatten().filter(|r| r.status == 503).count(),
        start_kib / 1024,
        peak_kib / 1024
    );
    let overloaded = responses.iter().flatten().filter(|r| r.status == 503).count();
    assert!(overloaded > 0, "no batch was answered 503: the memory budget was never reached");
    assert!(
        peak_kib <= start_kib + CEILING_OVER_START_MIB * 1024,
        "VmRSS peaked at {} MiB, more than {} MiB over the {} MiB at start",
        peak_kib / 1024,
        CEILING_OVER_START_MIB,
        start_kib / 1024
    );

    // Every acknowledged batch is stored whole.
    for &b in &acknowledged {
        let stored = count(&collector.db, &format!("SELECT count(*) FROM events WHERE id >= 'b{b}-' AND id < 'b{b}.'"));
        assert_eq!(stored, sizes[b] as i64, "acknowledged batch {b} is not stored whole");
    }
    // Every refused batch stored nothing, and stores whole when resent.
    for &b in &refused {
        let (body, _) = batch_body(b);
        let mut answer = None;
        for _ in 0..30 {
            match post(addr, &body) {
                Some(r) if r.status == 503 => std::thread::sleep(Duration::from_millis(500)),
                other => {
                    answer = other;
                    break;
                }
            }
        }
        let answer = answer.unwrap_or_else(|| panic!("refused batch {b}: not accepted when resent"));
        assert_eq!(answer.status, 200, "resent batch {b}: {}", answer.text());
        assert_eq!(
            (answer.json()["stored"].as_u64(), answer.json()["duplicates"].as_u64()),
            (Some(sizes[b] as u64), Some(0)),
            "refused batch {b} was partly stored before it was resent"
        );
    }
    assert_eq!(count(&collector.db, "SELECT count(*) FROM events"), total as i64);
    let health = request(addr, "GET", "/healthz", &[], b"").expect("healthz");
    assert_eq!(health.status, 200);
}

#[test]
fn a_database_locked_past_the_busy_timeout_is_answered_503_and_stores_when_resent() {
    let collector = Collector::start(&[], None);
    let lock = rusqlite::Connection::open(&collector.db).expect("open the collector's database");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let body = common::batch(&[common::exposure("locked-1", "v1", "hero", "b", 100)]);
    // The writer waits for the lock for SQLite's busy_timeout (5 s), then gives the batch back.
    let locked = request(collector.addr, "POST", "/collect", &[], body.as_bytes()).expect("POST");
    assert_eq!(locked.status, 503, "{}", locked.text());
    assert_eq!(locked.header("retry-after"), Some("1"));
    lock.execute_batch("ROLLBACK").expect("release the write lock");
    let resent = request(collector.addr, "POST", "/collect", &[], body.as_bytes()).expect("POST");
    assert_eq!((resent.status, resent.json()["stored"].as_u64()), (200, Some(1)), "{}", resent.text());
}
