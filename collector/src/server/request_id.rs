//! A request id for every request, sent back in `x-request-id` and kept in a task-local while
//! the request is handled, so that an internal error can be logged with the id and answered with
//! the id alone: the log has the details, the client only something to quote.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

tokio::task_local! {
    static REQUEST_ID: String;
}

static NEXT: AtomicU64 = AtomicU64::new(1);
/// Differs between runs of the collector, so ids from two runs do not collide in one log.
static RUN: LazyLock<u32> = LazyLock::new(|| {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    (nanos as u32) ^ std::process::id().rotate_left(16)
});

/// A fresh id: 8 hex digits for this run, 8 for the request's number in it.
pub fn new_id() -> String {
    format!("{:08x}{:08x}", *RUN, NEXT.fetch_add(1, Ordering::Relaxed) as u32)
}

/// The id of the request being handled (a fresh one outside a request).
pub fn current() -> String {
    REQUEST_ID.try_with(|id| id.clone()).unwrap_or_else(|_| new_id())
}

/// Runs `handling` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: String, handling: F) -> F::Output {
    REQUEST_ID.scope(id, handling).await
}
