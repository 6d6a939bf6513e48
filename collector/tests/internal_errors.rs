//! A 500 never carries internal text (issue 15): a real store failure, provoked from outside by
//! another process renaming the collector's tables, is logged with a request id and answered with
//! `{"error":"internal error","request_id":..}` only.

mod common;

use std::time::Duration;

use common::process::Collector;
use common::{batch, eventually, exposure, request, Response};

/// What the client may see of a 500: exactly the two fields, and the id it can quote.
fn assert_opaque(response: &Response, what: &str) -> String {
    assert_eq!(response.status, 500, "{what}: {}", response.text());
    let body = response.json();
    let fields = body.as_object().unwrap_or_else(|| panic!("{what}: not a JSON object: {}", response.text()));
    assert_eq!(fields.len(), 2, "{what}: {}", response.text());
    assert_eq!(body["error"], "internal error", "{what}");
    let id = body["request_id"].as_str().unwrap_or_else(|| panic!("{what}: no request_id")).to_string();
    assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()), "{what}: request id {id:?}");
    assert_eq!(response.header("x-request-id"), Some(id.as_str()), "{what}: x-request-id");
    let text = response.text().to_lowercase();
    for internal in ["sqlite", "no such table", "events", "variant_totals", "collector.db", "/tmp"] {
        assert!(!text.contains(internal), "{what}: the body leaks {internal:?}: {}", response.text());
    }
    id
}

#[test]
fn a_store_failure_is_logged_with_a_request_id_and_answered_without_internal_text() {
    let collector = Collector::start(&[], None);
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    let ok = request(collector.addr, "POST", "/collect", &[], body.as_bytes()).expect("POST");
    assert_eq!(ok.status, 200, "{}", ok.text());

    // Another process breaks the store under the running collector.
    let conn = rusqlite::Connection::open(&collector.db).expect("open the collector's database");
    conn.execute_batch("ALTER TABLE events RENAME TO events_moved; ALTER TABLE variant_totals RENAME TO totals_moved;")
        .expect("rename the tables");

    let body = batch(&[exposure("e2", "v2", "hero", "b", 100)]);
    let failed = request(collector.addr, "POST", "/collect", &[], body.as_bytes()).expect("POST");
    let collect_id = assert_opaque(&failed, "POST /collect");
    let bearer = format!("Bearer {}", collector.admin_token());
    let results =
        request(collector.addr, "GET", "/api/experiments/hero/results", &[("Authorization", &bearer)], b"").expect("GET results");
    let results_id = assert_opaque(&results, "GET results");
    assert_ne!(collect_id, results_id);

    // The log has each id on the line with what failed.
    for id in [&collect_id, &results_id] {
        let logged = eventually(Duration::from_secs(5), || {
            collector.log_text().lines().any(|l| l.contains(id.as_str()) && l.contains("no such table"))
        });
        assert!(logged, "no log line with request id {id} and the cause; log:\n{}", collector.log_text());
    }
}

#[test]
fn a_store_unable_to_take_a_batch_answers_503_without_its_reason() {
    let collector = Collector::start(&[], None);
    let lock = rusqlite::Connection::open(&collector.db).expect("open the collector's database");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    let response = request(collector.addr, "POST", "/collect", &[], body.as_bytes()).expect("POST");
    lock.execute_batch("ROLLBACK").expect("release the write lock");
    assert_eq!(response.status, 503, "{}", response.text());
    let id = response.json()["request_id"].as_str().map(String::from).expect("request_id");
    let text = response.text().to_lowercase();
    assert!(!text.contains("locked") && !text.contains("sqlite"), "the 503 leaks its cause: {text}");
    let logged = eventually(Duration::from_secs(5), || {
        collector.log_text().lines().any(|l| l.contains(id.as_str()) && l.contains("locked"))
    });
    assert!(logged, "no log line with request id {id} and the cause; log:\n{}", collector.log_text());
}
