//! 1 000 connections open at once against the collector: every one is answered, every batch stored.

mod common;

use std::time::Duration;

use common::{batch, count, exposure, parse_response, raw_request, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 1000;

#[test]
fn a_thousand_concurrent_connections_are_all_served() {
    // One address opens all of them: the per-client rate limit (tested in rate_limit.rs) is off.
    let server = TestServer::start_with(common::CONFIG, |o| o.ingest.rate_limit.per_second = 0);
    let addr = server.addr;
    let client = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime");
    let statuses: Vec<u16> = client.block_on(async move {
        // Open every connection first, so that all of them are open at the same time.
        let mut streams = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            streams.push(tokio::net::TcpStream::connect(addr).await.expect("connect to 127.0.0.1"));
        }
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, mut stream)| {
                tokio::spawn(async move {
                    let body = batch(&[exposure(&format!("c{i}"), &format!("visitor-{i}"), "hero", "b", 100)]);
                    let request = raw_request("POST", "/collect", &[("Content-Type", "text/plain")], body.as_bytes(), false);
                    stream.write_all(&request).await.ok()?;
                    let mut raw = Vec::new();
                    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw)).await.ok()?.ok()?;
                    parse_response(&raw).map(|r| r.status)
                })
            })
            .collect();
        let mut statuses = Vec::with_capacity(CONNECTIONS);
        for task in tasks {
            statuses.push(task.await.ok().flatten().unwrap_or(0));
        }
        statuses
    });
    let failed: Vec<_> = statuses.iter().enumerate().filter(|(_, s)| **s != 200).take(5).collect();
    assert!(failed.is_empty(), "connections not answered 200 (index, status): {failed:?}");
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM exposures"), CONNECTIONS as i64);
}
