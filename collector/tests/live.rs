//! The dashboard's live feed (`GET /api/live`, server-sent events) and its results over time
//! (`GET /api/experiments/{key}/results/over-time`): both need an admin session; a stored batch
//! and a config edit are announced on open streams; streams are capped and end on shutdown; the
//! series over time ends at the current results.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::process::Collector;
use common::{batch, eventually, exposure, goal, TestServer, ADMIN, CONFIG};

/// Opens `/api/live` with `headers`; returns the stream, the response head and what followed it.
fn open_feed(addr: SocketAddr, headers: &[(&str, &str)]) -> (TcpStream, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to 127.0.0.1");
    // Bounds every read below (keep-alive comments come every 15 s, so a missing notice still
    // fails the test: see `read_until`'s deadline).
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
    let mut head = String::from("GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("request");
    let (head, rest) = read_until(&mut stream, String::new(), "\r\n\r\n");
    (stream, head, rest)
}

/// Reads from `stream` until `buffer` (what was read already) contains `wanted`; returns the text
/// up to and including its first occurrence, and the rest. Panics on EOF or after 40 s.
fn read_until(stream: &mut TcpStream, mut buffer: String, wanted: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = buffer.find(wanted) {
            let rest = buffer.split_off(at + wanted.len());
            return (buffer, rest);
        }
        assert!(Instant::now() < deadline, "no {wanted:?} on the stream within 40 s; got {buffer:?}");
        match stream.read(&mut buf) {
            Ok(0) => panic!("the stream ended before {wanted:?}; got {buffer:?}"),
            Ok(n) => buffer.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("no {wanted:?} on the stream ({e}); got {buffer:?}"),
        }
    }
}

fn status_of(head: &str) -> u16 {
    head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line")
}

#[test]
fn the_feed_and_the_series_need_an_admin_session() {
    let server = TestServer::start();
    let (_, head, _) = open_feed(server.addr, &[]);
    assert_eq!(status_of(&head), 401, "{head}");
    let response = server.get_anonymous("/api/experiments/hero/results/over-time");
    assert_eq!(response.status, 401);
    let (_, head, _) = open_feed(server.addr, &[ADMIN]);
    assert_eq!(status_of(&head), 200, "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
}

#[test]
fn a_stored_batch_is_announced_with_its_experiment() {
    let server = TestServer::start();
    let (mut feed, _, rest) = open_feed(server.addr, &[ADMIN]);
    let (_, rest) = read_until(&mut feed, rest, "event: ready");
    let now = 1_764_216_000_000i64;
    let response = server.post("/collect", "text/plain", batch(&[exposure("live-1", "v1", "hero", "b", now)]).as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    let (_, rest) = read_until(&mut feed, rest, "event: stored");
    let (notice, _) = read_until(&mut feed, rest, "\n\n");
    assert!(notice.contains(r#""experiments":["hero"]"#), "{notice}");
}

#[test]
fn events_nothing_counts_are_not_announced_but_a_config_edit_is() {
    let server = TestServer::start();
    let (mut feed, _, rest) = open_feed(server.addr, &[ADMIN]);
    let (_, rest) = read_until(&mut feed, rest, "event: ready");
    // An experiment the config does not name: stored for export, never in results, no notice.
    let response = server.post("/collect", "text/plain", batch(&[exposure("x-1", "v1", "invented", "b", 1)]).as_bytes());
    assert_eq!(response.status, 200);
    std::fs::write(server.path("experiments.json"), CONFIG.replace("Hero headline", "Hero headline, edited")).expect("edit config");
    let (seen, _) = read_until(&mut feed, rest, "event: config");
    assert!(!seen.contains("event: stored"), "an uncounted event was announced: {seen}");
}

#[test]
fn streams_past_the_cap_are_refused_and_a_closed_one_frees_its_place() {
    let server = TestServer::start_with(CONFIG, |options| options.limits.max_live_streams = 2);
    let first = open_feed(server.addr, &[ADMIN]);
    let second = open_feed(server.addr, &[ADMIN]);
    assert_eq!((status_of(&first.1), status_of(&second.1)), (200, 200));
    let (_, refused, _) = open_feed(server.addr, &[ADMIN]);
    assert_eq!(status_of(&refused), 503, "{refused}");
    assert!(refused.to_ascii_lowercase().contains("retry-after:"), "{refused}");
    drop(first);
    // The server notices the closed stream at once (hyper reads EOF) or at its next keep-alive write.
    let reopened = eventually(Duration::from_secs(30), || {
        let (stream, head, _) = open_feed(server.addr, &[ADMIN]);
        let ok = status_of(&head) == 200;
        drop(stream);
        ok
    });
    assert!(reopened, "the place of a closed stream was never freed");
}

#[test]
fn an_open_stream_does_not_hold_the_shutdown() {
    // A grace period of five minutes: ending well before it means the stream was closed, not cut.
    let mut collector = Collector::start(&["--request-timeout", "300"], None);
    let bearer = format!("Bearer {}", collector.admin_token());
    let (mut feed, head, rest) = open_feed(collector.addr, &[("Authorization", &bearer)]);
    assert_eq!(status_of(&head), 200, "{head}");
    let _ = read_until(&mut feed, rest, "event: ready");
    let sent = Instant::now();
    let killed = std::process::Command::new("kill").args(["-TERM", &collector.child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    // The stream ends (EOF); were it left open, the grace period would end it only after 300 s.
    let mut tail = Vec::new();
    let ended = feed.read_to_end(&mut tail);
    assert!(ended.is_ok(), "reading the live stream after SIGTERM: {ended:?}");
    assert!(sent.elapsed() < Duration::from_secs(100), "the live stream held the shutdown for {:?}", sent.elapsed());
    let exited = eventually(Duration::from_secs(30), || collector.child.try_wait().ok().flatten().is_some());
    assert!(exited, "still running {:?} after SIGTERM with a live stream open", sent.elapsed());
    let status = collector.child.wait().expect("exit status");
    assert!(status.success(), "exit status {status}; log:\n{}", collector.log_text());
}

#[test]
fn the_series_over_time_ends_at_the_current_results() {
    let server = TestServer::start();
    let hour = 3_600_000i64;
    // Two days of visitors, one new per variant every three hours, some buying (with values).
    let start = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64)
        - 48 * hour;
    let mut events = Vec::new();
    for i in 0..16i64 {
        for (v, variant) in ["control", "b"].iter().enumerate() {
            let visitor = format!("v{i}-{variant}");
            let ts = start + i * 3 * hour + v as i64;
            events.push(exposure(&format!("x-{visitor}"), &visitor, "hero", variant, ts));
            if i % (2 + v as i64) == 0 {
                events.push(goal(&format!("g-{visitor}"), &visitor, "purchase", Some(10.0 + i as f64), ts + hour));
                events.push(goal(&format!("h-{visitor}"), &visitor, "purchase", Some(5.0), ts + 2 * hour));
            }
            if i % 3 != 1 {
                events.push(goal(&format!("c-{visitor}"), &visitor, "add_to_cart", None, ts + 10));
            }
        }
    }
    let response = server.post("/collect", "text/plain", batch(&events).as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());

    let results = server.json("/api/experiments/hero/results");
    for granularity in ["hourly", "daily"] {
        let series = server.json(&format!("/api/experiments/hero/results/over-time?granularity={granularity}"));
        let points = series["points"].as_array().expect("points");
        assert!(points.len() >= if granularity == "hourly" { 48 } else { 2 }, "{granularity}: {} points", points.len());
        let variants = series["variants"].as_array().expect("variants");
        let goals = series["goals"].as_array().expect("goals");
        let last = points.last().expect("a last point");
        for (v, key) in variants.iter().enumerate() {
            let now = &results["variants"][v];
            assert_eq!(now["key"], *key);
            let at_end = &last["variants"][v];
            assert_eq!(at_end["visitors"], now["visitors"], "{granularity} {key}");
            let new_total: u64 = points.iter().map(|p| p["variants"][v]["new_visitors"].as_u64().expect("new_visitors")).sum();
            assert_eq!(Some(new_total), now["visitors"].as_u64(), "{granularity} {key}: new visitors add up");
            for (g, goal_key) in goals.iter().enumerate() {
                let goal_key = goal_key.as_str().expect("goal key");
                let expected = &now["goals"][goal_key];
                let got = &at_end["goals"][g];
                assert_eq!(got["conversions"], expected["conversions"], "{granularity} {key} {goal_key}");
                for field in ["rate", "lift"] {
                    close(&got[field], &expected[field], &format!("{granularity} {key} {goal_key} {field}"));
                }
                for side in 0..2 {
                    close(&got["ci"][side], &expected["ci"][side], &format!("{granularity} {key} {goal_key} ci"));
                }
            }
            // Cumulative: never fewer visitors or conversions later.
            for pair in points.windows(2) {
                assert!(pair[1]["variants"][v]["visitors"].as_u64() >= pair[0]["variants"][v]["visitors"].as_u64());
            }
        }
        // The series moves: the first point has fewer visitors than the last.
        assert!(points[0]["variants"][0]["visitors"].as_u64() < last["variants"][0]["visitors"].as_u64(), "{granularity}");
    }
    assert!(results["variants"][1]["goals"]["purchase"]["lift"].is_number(), "the fixture must give a lift to compare");

    // Asked again with nothing stored: the same series (from the cache). After a new visitor: not.
    let path = "/api/experiments/hero/results/over-time?granularity=daily";
    let before = server.json(path);
    assert_eq!(server.json(path), before);
    let visitors_at_end = |series: &serde_json::Value| series["points"].as_array().and_then(|p| p.last()).map(|p| p["variants"][0]["visitors"].clone());
    let response = server.post("/collect", "text/plain", batch(&[exposure("x-late", "late", "hero", "control", start + 47 * hour)]).as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    let after = server.json(path);
    assert_eq!(visitors_at_end(&after).and_then(|v| v.as_u64()), visitors_at_end(&before).and_then(|v| v.as_u64()).map(|n| n + 1));

    assert_eq!(server.get("/api/experiments/hero/results/over-time?granularity=weekly").status, 400);
    assert_eq!(server.get("/api/experiments/nope/results/over-time").status, 404);
}

/// Equal as numbers to 1e-9 relative (value sums of squares are added in another order), or both null.
fn close(got: &serde_json::Value, expected: &serde_json::Value, what: &str) {
    match (got.as_f64(), expected.as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what}: {a} vs {b}"),
        _ => assert_eq!(got, expected, "{what}"),
    }
}
