//! The collector faces the internet (issue 15): slow, silent and idle connections are closed by the
//! header-read timeout, open connections are capped below the open-files limit and refused with a
//! 503 past it, a body announced over the limit is refused before it is read, and SIGTERM still
//! shuts down gracefully. Each test runs `splitbeam serve` as a child process on 127.0.0.1.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::process::Collector;
use common::{eventually, parse_response, request};

/// Slow clients for test (a): a few hundred, under an open-files limit of 1,024.
const SLOW_CLIENTS: usize = 300;
const SILENT_CLIENTS: usize = 50;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect to 127.0.0.1");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    stream.set_write_timeout(Some(Duration::from_secs(10))).expect("write timeout");
    stream
}

fn healthz(addr: SocketAddr) -> Option<u16> {
    request(addr, "GET", "/healthz", &[], b"").ok().map(|r| r.status)
}

/// Whether the server has closed (or answered and closed) `stream`: EOF, data, or an error.
/// Does not block.
fn server_closed(mut stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 512];
    let closed = match stream.read(&mut buf) {
        Ok(_) => true, // EOF, or an answer (hyper answers nothing on a header timeout; either way it is over)
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Reads one response head and body (by Content-Length) or up to EOF.
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length {
                if raw.len() >= end + 4 + length {
                    return raw;
                }
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return raw,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn slow_header_and_silent_clients_are_closed_while_fresh_requests_are_served() {
    let collector = Collector::start(&["--header-timeout", "4"], Some(1024));
    assert!(
        collector.log_text().contains("limits: 448 connections (open-files soft limit 1024)")
            || eventually(Duration::from_secs(5), || collector.log_text().contains("448 connections")),
        "the cap is not sized from the open-files limit: {}",
        collector.log_text()
    );
    let mut slow: Vec<Option<TcpStream>> = (0..SLOW_CLIENTS)
        .map(|_| {
            let mut s = connect(collector.addr);
            s.write_all(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").expect("first header bytes");
            Some(s)
        })
        .collect();
    let silent: Vec<TcpStream> = (0..SILENT_CLIENTS).map(|_| connect(collector.addr)).collect();

    // A fresh request while they hang on.
    assert_eq!(healthz(collector.addr), Some(200), "a fresh request was not served next to the slow clients");
    let open_when_served = slow.iter().flatten().filter(|s| !server_closed(s)).count();

    // Keep trickling one header byte per client every 500 ms, as the attack did, for at most 60 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    while slow.iter().any(Option::is_some) && Instant::now() < deadline {
        for slot in slow.iter_mut() {
            if let Some(stream) = slot {
                if server_closed(stream) || stream.write_all(b"x").is_err() {
                    *slot = None;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let still_open = slow.iter().filter(|s| s.is_some()).count();
    assert_eq!(still_open, 0, "{still_open} of {SLOW_CLIENTS} slow-header clients were never closed");
    assert!(open_when_served > 0, "the slow clients were already gone when the fresh request was served");
    // They connected after the slow ones, so their timeout may strike a little later.
    let silent_closed = eventually(Duration::from_secs(30), || silent.iter().all(server_closed));
    let silent_open = silent.iter().filter(|s| !server_closed(s)).count();
    assert!(silent_closed, "{silent_open} of {SILENT_CLIENTS} silent connections were never closed");
    assert_eq!(healthz(collector.addr), Some(200), "the collector does not serve after the slow clients");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let collector = Collector::start(&["--header-timeout", "2"], None);
    let mut stream = connect(collector.addr);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        .expect("request");
    let response = parse_response(&read_response(&mut stream)).expect("a response");
    assert_eq!(response.status, 200);
    // Now idle: the server must close it (read returns EOF; 30 s read timeout as the bound).
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected {n} bytes on an idle connection"),
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
            panic!("the idle keep-alive connection was not closed")
        }
        Err(_) => {} // reset: closed too
    }
}

#[test]
fn a_terabyte_announced_with_expect_100_continue_is_refused_413_before_the_body() {
    let collector = Collector::start(&[], None);
    for expect in [true, false] {
        let mut stream = connect(collector.addr);
        let head = format!(
            "POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1099511627776\r\n{}\r\n",
            if expect { "Expect: 100-continue\r\n" } else { "" }
        );
        stream.write_all(head.as_bytes()).expect("head");
        // No body byte is sent: the answer must come without it.
        let raw = read_response(&mut stream);
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("100 Continue"), "100 Continue was sent (expect: {expect}): {text}");
        let response = parse_response(&raw).unwrap_or_else(|| panic!("no response (expect: {expect}): {text:?}"));
        assert_eq!(response.status, 413, "expect: {expect}: {text}");
        assert!(response.text().contains("limit"), "{}", response.text());
    }
    // A request head over 32 KB is refused too, without waiting for its end.
    let mut stream = connect(collector.addr);
    let huge = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n", "a".repeat(40 * 1024));
    let _ = stream.write_all(huge.as_bytes());
    assert_eq!(parse_response(&read_response(&mut stream)).map(|r| r.status), Some(431));
    assert_eq!(healthz(collector.addr), Some(200));
}

#[test]
fn connections_past_the_cap_are_refused_with_503_and_served_again_once_they_go() {
    let collector = Collector::start(&["--max-connections", "20", "--header-timeout", "60"], None);
    assert_eq!(healthz(collector.addr), Some(200));
    // Each held connection is served one request (and kept alive), so the collector has surely
    // accepted all 20 before the next ones connect: a connect returns once the kernel has it.
    let held: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut stream = connect(collector.addr);
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
            let served = parse_response(&read_response(&mut stream)).map(|r| r.status);
            assert_eq!(served, Some(200), "held connection {i} was not served");
            stream
        })
        .collect();

    // The 21st and later: answered 503 with Retry-After and closed, not left hanging.
    for _ in 0..5 {
        let mut extra = connect(collector.addr);
        let raw = read_response(&mut extra);
        let response = parse_response(&raw).unwrap_or_else(|| panic!("no answer past the cap: {raw:?}"));
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("1"));
    }
    let refused = request(collector.addr, "GET", "/healthz", &[], b"").expect("an answer past the cap");
    assert_eq!(refused.status, 503);

    drop(held);
    assert!(
        eventually(Duration::from_secs(20), || healthz(collector.addr) == Some(200)),
        "the collector does not serve again after the held connections closed"
    );
}

#[test]
fn sigterm_shuts_down_gracefully_with_idle_and_slow_connections_open() {
    let mut collector = Collector::start(&["--header-timeout", "3"], None);
    let mut idle = connect(collector.addr);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    assert_eq!(parse_response(&read_response(&mut idle)).map(|r| r.status), Some(200));
    let mut slow = connect(collector.addr);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 1").expect("partial head");

    let pid = collector.child.id().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(45);
    let status = loop {
        if let Some(status) = collector.child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.expect("the collector did not exit after SIGTERM");
    assert!(status.success(), "exit status {status}; log:\n{}", collector.log_text());
}

#[test]
fn a_client_that_stops_reading_its_answer_is_dropped_and_frees_its_slot() {
    let collector = Collector::start(&["--max-connections", "1", "--write-timeout", "3"], None);
    let dist = collector.dir.path().join("no-dist");
    std::fs::create_dir_all(&dist).expect("dist");
    // Larger than both sockets' buffers on loopback (4 MB + 6 MB at most), so the write blocks.
    std::fs::write(dist.join("big.bin"), vec![7u8; 32 * 1024 * 1024]).expect("big file");

    let mut stalled = connect(collector.addr);
    stalled.write_all(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    // Never read. While its answer is stuck it holds the only slot; the write timeout frees it.
    let mut refused_meanwhile = false;
    let served = eventually(Duration::from_secs(30), || match healthz(collector.addr) {
        Some(200) => true,
        Some(503) => {
            refused_meanwhile = true;
            false
        }
        _ => false,
    });
    assert!(refused_meanwhile, "the stalled client never held the only connection slot");
    assert!(served, "the client that stopped reading was never dropped");
    drop(stalled);
}

#[test]
fn a_body_that_stops_arriving_is_answered_408_and_nothing_is_stored() {
    let collector = Collector::start(&["--body-timeout", "2"], None);
    let mut stream = connect(collector.addr);
    stream
        .write_all(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{\"v\":1,")
        .expect("head and the start of the body");
    // The rest never comes: answered 408 (30 s read timeout as the bound), then the collector serves on.
    let response = parse_response(&read_response(&mut stream)).expect("an answer to a stalled body");
    assert_eq!(response.status, 408, "{}", response.text());
    assert_eq!(common::count(&collector.db, "SELECT count(*) FROM events"), 0);
    assert_eq!(healthz(collector.addr), Some(200));
}

#[test]
fn running_out_of_file_descriptors_does_not_stop_accepting() {
    // A cap set above what 256 open files allow: accept() itself fails (EMFILE) for a while.
    let collector = Collector::start(&["--max-connections", "1000", "--header-timeout", "60"], Some(256));
    assert_eq!(healthz(collector.addr), Some(200));
    // 300: past the 256 descriptors, within what the listen backlog holds beyond them.
    let held: Vec<TcpStream> =
        (0..300).filter_map(|_| TcpStream::connect_timeout(&collector.addr, Duration::from_secs(2)).ok()).collect();
    assert!(held.len() > 256, "only {} connections could be opened", held.len());
    assert!(
        eventually(Duration::from_secs(10), || collector.log_text().contains("accepting a connection failed")),
        "the collector never ran out of descriptors; log:\n{}",
        collector.log_text()
    );
    drop(held);
    assert!(
        eventually(Duration::from_secs(30), || healthz(collector.addr) == Some(200)),
        "the collector does not serve again after running out of descriptors; log:\n{}",
        collector.log_text()
    );
}
