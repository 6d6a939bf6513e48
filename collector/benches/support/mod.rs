//! Shared by the collector benchmarks: a synthetic storefront event stream and a keep-alive
//! HTTP/1.1 load generator, both dependency-free.
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const CONFIG: &str = r##"{
  "version": 1,
  "experiments": [
    { "key": "hero", "name": "Hero headline", "status": "running",
      "variants": [ { "key": "control", "weight": 50 }, { "key": "b", "weight": 50 } ],
      "goals": [ { "key": "add_to_cart", "click": ".add-to-cart" }, { "key": "purchase", "event": "purchase", "value": "value" } ],
      "funnel": ["add_to_cart", "purchase"] },
    { "key": "cart-button", "name": "Add-to-cart button", "status": "running",
      "variants": [ { "key": "control", "weight": 50 }, { "key": "big", "weight": 50 } ],
      "goals": [ { "key": "add_to_cart", "click": ".add-to-cart" }, { "key": "purchase", "event": "purchase", "value": "value" } ],
      "funnel": ["add_to_cart", "purchase"] }
  ]
}"##;

/// A storefront visit: exposures to both experiments, page views, and for some visitors an
/// add-to-cart and a purchase with a value. About 6.7 events per visitor.
pub fn visitor_events(visitor: u64, out: &mut Vec<String>) {
    let mut x = visitor.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut roll = || {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x % 1000
    };
    let ts = 1_764_000_000_000 + visitor as i64 * 10;
    let v = format!("v_{visitor:012x}");
    let s = format!("s_{visitor:012x}");
    let ev = |n: u32, kind: &str, ts: i64, extra: &str, url: &str| {
        format!(r#"{{"id":"{v}-{n}","type":"{kind}","ts":{ts},"visitor":"{v}","session":"{s}","url":"{url}"{extra}}}"#)
    };
    let hero = if roll() < 500 { "control" } else { "b" };
    let button = if roll() < 500 { "control" } else { "big" };
    out.push(ev(0, "pageview", ts, "", "/"));
    out.push(ev(1, "exposure", ts + 1, &format!(r#","experiment":"hero","variant":"{hero}""#), "/"));
    out.push(ev(2, "exposure", ts + 2, &format!(r#","experiment":"cart-button","variant":"{button}""#), "/"));
    out.push(ev(3, "pageview", ts + 3, "", "/products/42"));
    out.push(ev(4, "pageview", ts + 4, "", "/products/7"));
    if roll() < 500 {
        out.push(ev(5, "goal", ts + 5, r#","goal":"add_to_cart""#, "/products/7"));
        if roll() < 400 {
            let value = 10 + roll() % 90;
            out.push(ev(6, "goal", ts + 6, &format!(r#","goal":"purchase","value":{value}.5,"props":{{"currency":"EUR"}}"#), "/checkout/done"));
        }
    }
}

/// At least `events` events in batches of `per_batch`, as request bodies.
pub fn batches(events: usize, per_batch: usize) -> Vec<String> {
    let mut all = Vec::with_capacity(events + 8);
    let mut visitor = 0u64;
    while all.len() < events {
        visitor_events(visitor, &mut all);
        visitor += 1;
    }
    all.chunks(per_batch).map(|c| format!(r#"{{"v":1,"sent_at":1764216000000,"events":[{}]}}"#, c.join(","))).collect()
}

/// Posts every body to `/collect` over `connections` keep-alive connections; returns how many
/// were answered 200.
pub async fn post_all(addr: SocketAddr, bodies: Vec<String>, connections: usize) -> usize {
    let mut shares: Vec<Vec<String>> = (0..connections).map(|_| Vec::new()).collect();
    for (i, body) in bodies.into_iter().enumerate() {
        shares[i % connections].push(body);
    }
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|share| {
            tokio::spawn(async move {
                let mut ok = 0;
                let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else { return 0 };
                let _ = stream.set_nodelay(true);
                let mut buf = Vec::with_capacity(4096);
                for body in share {
                    let head = format!(
                        "POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body.as_bytes()).await.is_err() {
                        return ok;
                    }
                    match read_response(&mut stream, &mut buf).await {
                        Some(200) => ok += 1,
                        Some(_) => {}
                        None => return ok,
                    }
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += task.await.unwrap_or(0);
    }
    ok
}

/// Reads one response with a Content-Length body; returns its status.
async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?.to_ascii_lowercase();
            let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(status);
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
