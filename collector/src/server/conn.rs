//! Accepting and serving connections. `axum::serve` has no header-read timeout and no cap on
//! connections, so a few hundred slow clients could hold every file descriptor. Here each
//! connection is served by hyper's HTTP/1 builder with a header-read timeout (which also closes
//! silent and idle keep-alive connections) and a write timeout (which drops a client that stops
//! reading its answer), the number of open connections is capped below the
//! file-descriptor limit, and the accept loop never stops: past the cap a connection is answered
//! 503 + Retry-After and closed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// File descriptors kept out of the connection budget: stdio, the listener, tokio's epoll and
/// signal pipes, SQLite's writer and readers (database, WAL, shared memory: 3 each), the config
/// file, and sockets being refused (`REFUSING_SLOTS`).
pub const RESERVED_FDS: u64 = 128;
/// Connections being answered 503 at once; past this a refused connection is closed without a word.
const REFUSING_SLOTS: usize = 32;
/// How long a refused connection may take to receive its 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest request head (request line and headers); larger ones are answered 431.
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Largest read buffer per connection (hyper's default is ~400 KB): a head or a body chunk.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// The automatic cap when the descriptor limit is unlimited.
const MAX_AUTO_CONNECTIONS: usize = 65_536;

/// Time and size limits on every connection and request. `Default` is what `splitbeam serve` uses
/// without flags.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection must deliver a request's headers within this, counted from when it opened or
    /// from the end of its previous response: closes slow-header, silent and idle keep-alive
    /// connections alike.
    pub header_timeout: Duration,
    /// A write to a client that has made no progress for this long (the client stopped reading
    /// its answer) closes the connection.
    pub write_timeout: Duration,
    /// `POST /collect` must deliver its body within this after the headers (else 408).
    pub body_timeout: Duration,
    /// A whole request, from its headers to its response, is answered 408 after this.
    pub request_timeout: Duration,
    /// Open connections at most; past it new ones get 503 + Retry-After and are closed.
    pub max_connections: usize,
    /// Bytes `/collect` batches may hold at once: 3 x a body's length while it is received and
    /// parsed, then its events' estimated size until the store answers. Past it `/collect`
    /// answers 503 + Retry-After.
    pub ingest_memory: usize,
    /// Dashboards following `/api/live` at once (each holds a connection); past it they poll.
    pub max_live_streams: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: connection_cap(fd_soft_limit()),
            ingest_memory: 64 * 1024 * 1024,
            max_live_streams: 64,
        }
    }
}

/// The process's soft limit on open files (RLIMIT_NOFILE); `None` when unlimited.
pub fn fd_soft_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Connections that fit in `soft_limit` descriptors: `RESERVED_FDS` are kept aside and each
/// connection is given two (its socket, and a file it streams or a database reader it uses).
pub fn connection_cap(soft_limit: Option<u64>) -> usize {
    match soft_limit {
        None => MAX_AUTO_CONNECTIONS,
        Some(limit) => {
            let per_connection = limit.saturating_sub(RESERVED_FDS) / 2;
            usize::try_from(per_connection).unwrap_or(MAX_AUTO_CONNECTIONS).clamp(1, MAX_AUTO_CONNECTIONS)
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish
/// (closing idle connections at once) for at most the request timeout.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(READ_BUFFER_BYTES);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSING_SLOTS));
    let graceful = GracefulShutdown::new();
    let mut accept_errors = 0u64;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE/ENFILE or a connection reset before it was accepted: keep accepting,
                    // after a pause when descriptors ran out (the pending connection stays queued).
                    accept_errors += 1;
                    if accept_errors.is_power_of_two() {
                        tracing::warn!("accepting a connection failed ({accept_errors} times so far): {e}");
                    }
                    if !is_connection_error(&e) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refuse(stream, &refusing);
            continue;
        };
        // Small answers: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let io = TokioIo::new(Box::pin(stream));
        // The peer address, for the per-client rate limit (`ConnectInfo`, as axum::serve gives it).
        let service = tower::Layer::layer(&axum::Extension(axum::extract::ConnectInfo(peer)), router.clone());
        let connection = http.serve_connection(io, TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts, resets and malformed requests: the client's problem, not an error here.
                tracing::debug!("connection closed: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    let grace = limits.request_timeout.max(limits.header_timeout) + Duration::from_secs(1);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open {}s after the shutdown signal; closing them", grace.as_secs());
    }
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// The answer to a connection over the cap.
fn refusal() -> Vec<u8> {
    let body = r#"{"error":"too many connections; retry shortly"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers 503 + Retry-After and closes, in a task bounded by `REFUSAL_TIMEOUT`; when
/// `REFUSING_SLOTS` are all busy the connection is closed at once.
fn refuse(mut stream: TcpStream, slots: &Arc<Semaphore>) {
    let Ok(slot) = slots.clone().try_acquire_owned() else {
        drop(stream);
        return;
    };
    tokio::spawn(async move {
        let _slot = slot;
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
            stream.write_all(&refusal()).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes, so that closing does not reset the
            // connection and discard the 503 before the client has read it.
            let mut sink = [0u8; 4096];
            let mut drained = 0;
            while drained < 64 * 1024 {
                let n = stream.read(&mut sink).await?;
                if n == 0 {
                    break;
                }
                drained += n;
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_reserved_descriptors_and_two_per_connection() {
        assert_eq!(connection_cap(Some(1024)), 448);
        assert_eq!(connection_cap(Some(65_536)), 32_704);
        assert_eq!(connection_cap(Some(10)), 1);
        assert_eq!(connection_cap(None), MAX_AUTO_CONNECTIONS);
    }

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = String::from_utf8(refusal()).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
