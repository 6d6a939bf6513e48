//! kill -9 of `splitbeam serve` in the middle of a load, then a restart on the same database:
//! every batch that was answered 2xx is there, nothing is there twice, the aggregates agree with
//! the raw events, and resending everything changes nothing.

mod common;

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{batch, count, eventually, exposure, goal, request, CONFIG};

const CLIENTS: usize = 4;
const EVENTS_PER_BATCH: usize = 20;

/// The spawned collector; killed (SIGKILL) when dropped so a failing test leaves nothing behind.
struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start(dir: &Path, port: u16) -> Collector {
    let child = Command::new(env!("CARGO_BIN_EXE_splitbeam"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string(), "--rate-limit", "0"])
        .arg("--config")
        .arg(dir.join("experiments.json"))
        .arg("--db")
        .arg(dir.join("crash.db"))
        .arg("--dist")
        .arg(dir.join("no-dist"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn splitbeam serve");
    let collector = Collector(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    assert!(
        eventually(Duration::from_secs(20), || request(addr, "GET", "/healthz", &[], b"").is_ok_and(|r| r.status == 200)),
        "the collector did not come up on port {port}"
    );
    collector
}

/// Batch `n` of client `c`: exposures and purchases of visitors unique to it.
fn batch_events(c: usize, n: usize) -> Vec<String> {
    (0..EVENTS_PER_BATCH)
        .map(|i| {
            let visitor = format!("c{c}-b{n}-v{}", i / 2);
            let id = format!("c{c}-b{n}-e{i}");
            if i % 2 == 0 {
                exposure(&id, &visitor, "hero", if i % 4 == 0 { "control" } else { "b" }, 1000)
            } else {
                goal(&id, &visitor, "purchase", Some(12.5), 2000)
            }
        })
        .collect()
}

#[test]
fn acknowledged_batches_survive_kill_9_and_are_never_counted_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("experiments.json"), CONFIG).expect("config");
    let port = free_port();
    let collector = start(dir.path(), port);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    let acked: Arc<Mutex<Vec<(usize, usize)>>> = Arc::new(Mutex::new(Vec::new()));
    let sent: Arc<Mutex<Vec<(usize, usize)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (acked, sent, stop) = (acked.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    sent.lock().expect("sent").push((c, n));
                    let body = batch(&batch_events(c, n));
                    if let Ok(response) = request(addr, "POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes()) {
                        if (200..300).contains(&response.status) {
                            acked.lock().expect("acked").push((c, n));
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    drop(collector); // SIGKILL in the middle of the load
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client thread");
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(acked.len() > 10, "the load was too small to mean anything: {} batches acknowledged", acked.len());

    let db = dir.path().join("crash.db");
    let collector = start(dir.path(), port);
    let stored: HashSet<String> = {
        let conn = rusqlite::Connection::open(&db).expect("open db");
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity check");
        assert_eq!(ok, "ok");
        let mut stmt = conn.prepare("SELECT id FROM events").expect("prepare");
        let ids = stmt.query_map([], |r| r.get::<_, String>(0)).expect("query");
        ids.collect::<Result<_, _>>().expect("ids")
    };
    for (c, n) in &acked {
        for i in 0..EVENTS_PER_BATCH {
            let id = format!("c{c}-b{n}-e{i}");
            assert!(stored.contains(&id), "event {id} of an acknowledged batch is missing after kill -9");
        }
    }
    let consistent = || {
        let raw = count(&db, "SELECT count(*) FROM (SELECT DISTINCT experiment, visitor FROM events WHERE type = 'exposure')");
        let exposed = count(&db, "SELECT count(*) FROM exposures");
        let totals = count(&db, "SELECT coalesce(sum(visitors), 0) FROM variant_totals");
        let purchases = count(&db, "SELECT coalesce(sum(conversions), 0) FROM goal_totals");
        let converted = count(&db, "SELECT count(*) FROM conversions");
        assert_eq!((raw, totals, purchases), (exposed, exposed, converted), "aggregates disagree with the raw events");
        (exposed, purchases)
    };
    let before = consistent();

    // Resend every batch ever attempted: the acknowledged ones must all be duplicates.
    let sent = sent.lock().expect("sent").clone();
    for (c, n) in &sent {
        let body = batch(&batch_events(*c, *n));
        let response = request(addr, "POST", "/collect", &[], body.as_bytes()).expect("resend");
        assert_eq!(response.status, 200, "{}", response.text());
        if acked.contains(&(*c, *n)) {
            assert_eq!(response.json()["stored"], 0, "acknowledged batch {c}/{n} was stored again");
        }
    }
    let after = consistent();
    assert_eq!(after.0, (sent.len() * EVENTS_PER_BATCH / 2) as i64, "every sent visitor exposed exactly once");
    assert!(after >= before);
    drop(collector);
}
