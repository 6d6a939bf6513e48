//! `splitbeam serve` over HTTP on 127.0.0.1: ingest (formats, validation, limits, atomicity),
//! CORS, the config and snippet routes, hot reload, health, metrics and the results API.

mod common;

use std::time::Duration;

use common::{batch, count, eventually, exposure, goal, request, TestServer, CONFIG};

#[test]
fn collect_accepts_a_text_plain_batch_and_answers_after_storing_it() {
    let server = TestServer::start();
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100), goal("g1", "v1", "purchase", Some(9.5), 200)]);
    let response = server.post("/collect", "text/plain;charset=UTF-8", body.as_bytes());
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["stored"], 2);
    // Acknowledged means committed: a separate connection sees the rows at once.
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM events"), 2);
}

#[test]
fn collect_accepts_application_json_and_reports_duplicates() {
    let server = TestServer::start();
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    assert_eq!(server.post("/collect", "application/json", body.as_bytes()).status, 200);
    let again = server.post("/collect", "application/json", body.as_bytes());
    assert_eq!(again.status, 200);
    assert_eq!((again.json()["stored"].as_u64(), again.json()["duplicates"].as_u64()), (Some(0), Some(1)));
}

#[test]
fn a_batch_with_one_invalid_event_is_refused_whole_naming_index_and_field() {
    let server = TestServer::start();
    let bad = r#"{"id":"x","type":"goal","ts":5,"visitor":"v","session":"s","url":"/"}"#.to_string();
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100), bad]);
    let response = server.post("/collect", "text/plain", body.as_bytes());
    assert_eq!(response.status, 400);
    let error = response.json();
    assert_eq!((error["index"].as_u64(), error["field"].as_str()), (Some(1), Some("goal")));
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM events"), 0);
}

#[test]
fn a_body_over_one_megabyte_is_refused_with_413() {
    let server = TestServer::start();
    let body = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(server.post("/collect", "text/plain", &body).status, 413);
}

#[test]
fn cors_preflight_allows_any_origin_by_default() {
    let server = TestServer::start();
    let headers = [
        ("Origin", "https://shop.example"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type"),
    ];
    let response = request(server.addr, "OPTIONS", "/collect", &headers, b"").expect("preflight");
    assert!(response.status < 300, "preflight answered {}", response.status);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn cors_allows_only_the_configured_origins() {
    let server = TestServer::start_with(CONFIG, |o| o.allow_origins = vec!["https://shop.example".to_string()]);
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    let allowed = request(server.addr, "POST", "/collect", &[("Origin", "https://shop.example")], body.as_bytes())
        .expect("post");
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://shop.example"));
    let other = request(server.addr, "POST", "/collect", &[("Origin", "https://evil.example")], body.as_bytes())
        .expect("post");
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[test]
fn experiments_json_is_the_config_file_as_written() {
    let server = TestServer::start();
    let response = server.get("/experiments.json");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), CONFIG);
    assert!(response.header("content-type").is_some_and(|t| t.starts_with("application/json")));
}

#[test]
fn a_bad_config_edit_keeps_the_last_good_config_live() {
    let server = TestServer::start();
    std::fs::write(server.path("experiments.json"), "{ \"version\": 1, \"experiments\": [ ").expect("bad edit");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(server.get("/experiments.json").text(), CONFIG);
}

#[test]
fn a_good_config_edit_goes_live_within_seconds() {
    let server = TestServer::start();
    let edited = CONFIG.replace("Hero headline", "Hero headline, round two");
    std::fs::write(server.path("experiments.json"), &edited).expect("edit");
    assert!(eventually(Duration::from_secs(5), || server.get("/experiments.json").text() == edited));
}

#[test]
fn the_snippet_is_503_with_a_reason_until_it_is_built() {
    let server = TestServer::start();
    let response = server.get("/splitbeam.js");
    assert_eq!(response.status, 503);
    assert!(response.text().contains("not built"), "{}", response.text());
}

#[test]
fn the_built_snippet_and_its_wasm_are_served_from_dist() {
    let server = TestServer::start();
    let dist = server.path("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("splitbeam.js"), "/* loader */").expect("loader");
    std::fs::write(dist.join("splitbeam_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    let loader = server.get("/splitbeam.js");
    assert_eq!(loader.status, 200);
    assert!(loader.text().contains("/* loader */"));
    let wasm = server.get("/splitbeam_bg.wasm");
    assert_eq!((wasm.status, wasm.header("content-type")), (200, Some("application/wasm")));
    assert_eq!(server.get("/..%2Fexperiments.json").status, 404);
}

#[test]
fn the_wasm_is_sent_compressed_and_not_resent_when_unchanged() {
    let server = TestServer::start();
    let dist = server.path("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    // Compressible like a real module: long runs of repeated code.
    let wasm: Vec<u8> = b"\0asm\x01\0\0\0".iter().copied().chain(std::iter::repeat_n(7u8, 64 * 1024)).collect();
    std::fs::write(dist.join("splitbeam_bg.wasm"), &wasm).expect("wasm");

    let gzipped = request(server.addr, "GET", "/splitbeam_bg.wasm", &[("Accept-Encoding", "gzip")], b"").expect("GET");
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert!(gzipped.body.len() < wasm.len() / 10, "{} compressed bytes", gzipped.body.len());

    let plain = server.get("/splitbeam_bg.wasm");
    assert_eq!(plain.body, wasm, "without Accept-Encoding the bytes are sent as they are");
    let etag = plain.header("etag").expect("ETag").to_string();
    let again = request(server.addr, "GET", "/splitbeam_bg.wasm", &[("If-None-Match", &etag)], b"").expect("GET");
    assert_eq!((again.status, again.body.len()), (304, 0));

    // A rebuild of the same length copied with its old mtime (cp -p, rsync) is still new.
    let file = dist.join("splitbeam_bg.wasm");
    let modified = std::fs::metadata(&file).and_then(|m| m.modified()).expect("mtime");
    let mut rebuilt = wasm.clone();
    rebuilt[9] = 8;
    std::fs::write(&file, &rebuilt).expect("rebuild");
    std::fs::File::options().write(true).open(&file).and_then(|f| f.set_modified(modified)).expect("keep the old mtime");
    let after = request(server.addr, "GET", "/splitbeam_bg.wasm", &[("If-None-Match", &etag)], b"").expect("GET");
    assert_eq!(after.status, 200, "the old wasm was declared unchanged");
    assert_eq!(after.body, rebuilt);
}

#[test]
fn a_wasm_named_by_its_hash_is_cached_for_good_and_the_plain_name_is_revalidated() {
    let server = TestServer::start();
    let dist = server.path("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("splitbeam_bg.57ad79dbfc17bc5f.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(dist.join("splitbeam_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    let hashed = server.get("/splitbeam_bg.57ad79dbfc17bc5f.wasm");
    assert_eq!(hashed.status, 200);
    assert_eq!(hashed.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let plain = server.get("/splitbeam_bg.wasm");
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
}

#[test]
fn the_demo_site_is_served_under_shop() {
    let server = TestServer::start_with(CONFIG, |o| o.site = Some(o.config.with_file_name("site")));
    std::fs::create_dir_all(server.path("site")).expect("site");
    std::fs::write(server.path("site").join("index.html"), "<h1>shop</h1>").expect("index");
    let page = server.get("/shop/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<h1>shop</h1>"));
}

#[test]
fn healthz_answers_ok() {
    let server = TestServer::start();
    let response = server.get("/healthz");
    assert_eq!((response.status, response.text().trim()), (200, "ok"));
}

#[test]
fn metrics_count_ingested_events_and_rejected_batches() {
    let server = TestServer::start();
    server.post("/collect", "text/plain", batch(&[exposure("e1", "v1", "hero", "b", 1)]).as_bytes());
    server.post("/collect", "text/plain", b"not json");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("splitbeam_events_ingested_total 1"), "{metrics}");
    assert!(metrics.contains("splitbeam_batches_rejected_total 1"), "{metrics}");
    assert!(metrics.contains("splitbeam_http_request_duration_seconds_count{method=\"POST\",route=\"/collect\"} 2"), "{metrics}");
}

#[test]
fn results_of_an_experiment_with_events_have_the_documented_shape() {
    let server = TestServer::start();
    let body = batch(&[
        exposure("e1", "v1", "hero", "control", 100),
        exposure("e2", "v2", "hero", "b", 100),
        goal("g1", "v2", "purchase", Some(30.0), 200),
    ]);
    assert_eq!(server.post("/collect", "text/plain", body.as_bytes()).status, 200);
    let results = server.json("/api/experiments/hero/results");
    assert_eq!(results["experiment"], "hero");
    let b = results["variants"].as_array().and_then(|v| v.iter().find(|v| v["key"] == "b")).expect("variant b");
    assert_eq!(b["visitors"], 1);
    assert_eq!(b["goals"]["purchase"]["conversions"], 1);
    for key in ["srm", "funnel", "updated_at", "goals", "name", "status"] {
        assert!(results.get(key).is_some(), "results lack {key}: {results}");
    }
}

#[test]
fn results_of_an_unknown_experiment_are_404() {
    let server = TestServer::start();
    assert_eq!(server.get("/api/experiments/nope/results").status, 404);
}

#[test]
fn the_experiment_list_has_one_entry_per_configured_experiment() {
    let server = TestServer::start();
    let list = server.json("/api/experiments");
    let (config, _) = splitbeam_core::json::parse(CONFIG).expect("test config parses");
    let expected: Vec<String> =
        splitbeam_core::config::load(&config).config.experiments.iter().map(|e| e.key.clone()).collect();
    let experiments = list["experiments"].as_array().expect("experiments array");
    let keys: Vec<String> = experiments.iter().filter_map(|e| e["key"].as_str().map(String::from)).collect();
    assert_eq!(keys, expected);
    for e in experiments {
        for key in ["key", "name", "status", "visitors", "variants", "leading", "srm_alarm"] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }
}

#[test]
fn a_batch_whose_client_hung_up_while_it_waited_is_stored_and_counted_once() {
    use std::io::Write;
    let server = TestServer::start();
    // Another process holds the write lock, so the batch waits in the writer's queue.
    let lock = rusqlite::Connection::open(server.path("test.db")).expect("open the database");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let body = batch(&[exposure("gone-1", "v-gone", "hero", "b", 100)]);
    {
        let mut client = std::net::TcpStream::connect(server.addr).expect("connect");
        client
            .write_all(&common::raw_request("POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes(), false))
            .expect("send");
        // The request is in; the client leaves without its answer.
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(300));
    lock.execute_batch("ROLLBACK").expect("release the write lock");
    let stored = common::eventually(Duration::from_secs(10), || count(&server.path("test.db"), "SELECT count(*) FROM events") == 1);
    assert!(stored, "the batch of a client that hung up was not stored");
    let counted = common::eventually(Duration::from_secs(10), || {
        server.get("/metrics").text().contains("splitbeam_events_ingested_total 1")
    });
    assert!(counted, "stored but not counted: {}", server.get("/metrics").text());
    // Resent by the snippet (it never saw the answer): stored once.
    let resent = server.post("/collect", "text/plain", body.as_bytes());
    assert_eq!(resent.json()["duplicates"], 1, "{}", resent.text());
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM exposures"), 1);
}
