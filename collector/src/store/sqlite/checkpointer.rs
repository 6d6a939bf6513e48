//! WAL checkpoints on their own thread and connection, off the writer's commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL frames: the writer
//! copies the frames into the database file and fsyncs both files while every batch in the queue
//! waits (a quarter of the writer's time under a flash sale). The writer connection has
//! `wal_autocheckpoint=0` instead; its WAL hook (called after each commit with the WAL's frame
//! count) wakes this thread, which checkpoints with its own connection:
//!
//! - from `checkpoint_frames` on, `PASSIVE`: copies what no reader still needs, takes no lock the
//!   writer waits for, so commits go on meanwhile. Under a steady stream of commits a passive
//!   checkpoint never catches up with the end of the WAL, and SQLite starts the WAL over from its
//!   beginning only once every frame is copied back, so the file would keep growing;
//! - from `restart_frames` on, `RESTART` (after a passive pass, so that little is left to copy):
//!   holds the write lock, copies the last frames, waits up to `RESTART_WAIT_TRIES` ms for readers
//!   of older snapshots to finish, and starts the WAL over. The writer waits for it, briefly
//!   (under `wrk` at 200 and 2,000 connections: about 7 restarts a second, 6 ms each on average
//!   including the wait for the lock, 41 ms at most; at 16,000 frames they were 4 times rarer and
//!   as long each, with no difference in throughput that the noise of a shared machine showed). A
//!   restart that failed is tried again after `RETRY_EVERY`; passive checkpoints go on meanwhile;
//! - at `ceiling_frames` (a reader has held an old snapshot through every restart, e.g. a
//!   `splitbeam export` piped into a pager): the writer stores nothing more and answers each batch
//!   503 + Retry-After (clients retry; nothing acknowledged is lost) until a restart succeeds,
//!   retried every `RETRY_EVERY`. The WAL file is thus bounded by the ceiling plus one group.
//!
//! Durability is SQLite's own: a commit is in the WAL before it is acknowledged whatever the
//! checkpoints do; a checkpoint fsyncs the WAL before copying from it and the database after.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, ErrorCode, MAIN_DB};

/// How long a restart waits for the write lock, and then for readers of older snapshots, 1 ms per
/// try: short sleeps, because under load the writer takes the lock again within a millisecond of
/// each commit. The writer waits meanwhile; the dashboard's reads take milliseconds.
const RESTART_WAIT_TRIES: i32 = 250;
/// After a failed restart (a reader held its snapshot past the wait), the next one is tried no
/// sooner than this, so that such a reader holds the writer up a quarter of the time at most.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// When to checkpoint and how far the WAL may grow, in frames (one page each).
#[derive(Debug, Clone, Copy)]
pub(super) struct WalLimits {
    pub checkpoint_frames: u32,
    pub restart_frames: u32,
    pub ceiling_frames: u32,
}

impl Default for WalLimits {
    /// 4 KiB pages: a passive checkpoint every 4 MB of WAL (SQLite's default), a restart at 16 MB,
    /// the ceiling at 1 GiB.
    fn default() -> WalLimits {
        WalLimits { checkpoint_frames: 1_000, restart_frames: 4_000, ceiling_frames: 262_144 }
    }
}

/// What the writer and the checkpointer share: the WAL's size after the last commit.
pub(super) struct WalWatch {
    limits: WalLimits,
    frames: AtomicU32,
    wake: SyncSender<()>,
    stopping: AtomicBool,
    /// Checkpoints that ran (for tests and the log).
    checkpoints: AtomicU64,
    restarts: AtomicU64,
}

impl WalWatch {
    /// The writer's WAL hook, after each commit: cheap (an atomic store and at most a try_send).
    pub(super) fn committed(&self, frames: u32) {
        self.frames.store(frames, Ordering::Relaxed);
        if frames >= self.limits.checkpoint_frames {
            // Full means the checkpointer is already woken.
            let _ = self.wake.try_send(());
        }
    }

    /// True while the WAL is at its ceiling: the writer must not grow it.
    pub(super) fn at_ceiling(&self) -> bool {
        self.frames.load(Ordering::Relaxed) >= self.limits.ceiling_frames
    }

    #[cfg(test)]
    pub(super) fn checkpoints(&self) -> (u64, u64) {
        (self.checkpoints.load(Ordering::Relaxed), self.restarts.load(Ordering::Relaxed))
    }
}

/// The checkpointer thread; stopped (after a last passive checkpoint) by `stop`.
pub(super) struct Checkpointer {
    watch: Arc<WalWatch>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens its own connection to the database at `path` and starts the thread.
    pub(super) fn start(path: &std::path::Path, limits: WalLimits) -> anyhow::Result<Checkpointer> {
        let mut conn = Connection::open(path).with_context(|| format!("opening the checkpointer on {}", path.display()))?;
        conn.busy_handler(Some(wait_a_millisecond))?;
        // A connection that has not read the database yet does not know it is in WAL mode, and its
        // checkpoints would do nothing: this read opens the WAL.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "{} is in journal mode {mode}, not WAL", path.display());
        let (wake, woken) = mpsc::sync_channel(1);
        let watch = Arc::new(WalWatch {
            limits,
            frames: AtomicU32::new(0),
            wake,
            stopping: AtomicBool::new(false),
            checkpoints: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        });
        let shared = watch.clone();
        let thread = std::thread::Builder::new()
            // 15 characters at most: the name the kernel shows (/proc/<pid>/task/*/comm).
            .name("splitbeam-ckpt".to_string())
            .spawn(move || run(conn, &shared, woken))
            .context("starting the SQLite checkpointer thread")?;
        Ok(Checkpointer { watch, thread: Some(thread) })
    }

    pub(super) fn watch(&self) -> Arc<WalWatch> {
        self.watch.clone()
    }

    /// Call once the writer has stopped: a last checkpoint, then the thread ends.
    pub(super) fn stop(&mut self) {
        self.watch.stopping.store(true, Ordering::Relaxed);
        // A blocking send: the thread drains the channel, and `stopping` is read after it wakes.
        let _ = self.watch.wake.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_a_millisecond(tries: i32) -> bool {
    if tries >= RESTART_WAIT_TRIES {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

fn run(conn: Connection, watch: &WalWatch, woken: Receiver<()>) {
    let limits = watch.limits;
    // The frame count up to which the previous checkpoint copied: the next passive one waits
    // until `checkpoint_frames` more have been written (each costs two fsyncs).
    let mut copied = 0u32;
    // After a failed restart: not again before this.
    let mut retry_at: Option<Instant> = None;
    loop {
        // While a restart is owed, wake without a commit too: at its ceiling the writer commits nothing.
        let wait = match retry_at {
            Some(at) => woken.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => woken.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        if matches!(wait, Err(RecvTimeoutError::Disconnected)) || watch.stopping.load(Ordering::Relaxed) {
            break;
        }
        let frames = watch.frames.load(Ordering::Relaxed);
        if frames < limits.restart_frames {
            retry_at = None; // the WAL started over on its own (a passive checkpoint caught up)
        }
        if frames < copied {
            copied = 0; // the WAL started over
        }
        let restart_due = frames >= limits.restart_frames && retry_at.is_none_or(|at| Instant::now() >= at);
        if restart_due {
            // Most frames copied without holding the writer up, then the rest under the lock.
            checkpoint(&conn, watch, CheckpointMode::PASSIVE);
            if checkpoint(&conn, watch, CheckpointMode::RESTART) {
                if retry_at.take().is_some() {
                    tracing::info!("the WAL started over again after {frames} frames");
                }
                watch.restarts.fetch_add(1, Ordering::Relaxed);
                // The WAL starts over with the next commit (whose hook sets the true count).
                watch.frames.store(0, Ordering::Relaxed);
                copied = 0;
            } else {
                if retry_at.is_none() {
                    tracing::warn!(
                        "a reader holds an old snapshot: the WAL cannot start over ({frames} frames; at {} the \
                         collector answers 503 until it can)",
                        limits.ceiling_frames
                    );
                }
                retry_at = Some(Instant::now() + RETRY_EVERY);
                copied = frames;
            }
        } else if frames >= copied.saturating_add(limits.checkpoint_frames) {
            checkpoint(&conn, watch, CheckpointMode::PASSIVE);
            copied = frames;
        }
    }
    // Copy what is left, waiting for no one: another process (`splitbeam results` next to a
    // running `serve`) must not hold that server's writer up. The last connection to close
    // checkpoints the rest and removes the WAL; if another process still has the database open,
    // its own checkpoints do.
    checkpoint(&conn, watch, CheckpointMode::PASSIVE);
}

/// One checkpoint; true if it copied every frame (and for RESTART, started the WAL over).
fn checkpoint(conn: &Connection, watch: &WalWatch, mode: CheckpointMode) -> bool {
    match conn.wal_checkpoint_v2(Some(MAIN_DB), mode) {
        Ok((log, copied)) => {
            watch.checkpoints.fetch_add(1, Ordering::Relaxed);
            log == copied
        }
        // Another checkpoint running (another process's), or readers/the writer beyond the wait.
        Err(e) if matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)) => {
            tracing::debug!("WAL checkpoint busy: {e}");
            false
        }
        Err(e) => {
            tracing::warn!("WAL checkpoint failed: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ingest::{parse_batch, Received};
    use crate::store::sqlite::{writer_connection, Durability, SqliteStore};
    use crate::store::Unavailable;

    /// A visitor's exposure, pageview and goal, as the snippet posts them; ids unique per `n`.
    fn batch(n: usize) -> Vec<Received> {
        let body = format!(
            r#"{{"events":[{{"id":"e{n}","type":"exposure","ts":1,"visitor":"v{n}","session":"s","url":"/","experiment":"hero","variant":"b"}},
                {{"id":"p{n}","type":"pageview","ts":2,"visitor":"v{n}","session":"s","url":"/shop/a-longer-path-{n}"}},
                {{"id":"g{n}","type":"goal","ts":3,"visitor":"v{n}","session":"s","url":"/","goal":"buy","value":3}}]}}"#
        );
        parse_batch(body.as_bytes()).expect("a valid batch")
    }

    fn wal_frames_on_disk(db: &Path) -> u64 {
        let wal = std::fs::metadata(db.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
        // A frame is a page plus its 24-byte header; the file starts with a 32-byte header.
        wal.saturating_sub(32) / (4096 + 24)
    }

    fn stored_events(db: &Path) -> i64 {
        Connection::open(db).and_then(|c| c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))).expect("counting")
    }

    #[test]
    fn the_writer_connection_never_checkpoints() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = writer_connection(&dir.path().join("a.db"), Durability::Normal).expect("the writer connection");
        let every: i64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).expect("the pragma");
        assert_eq!(every, 0, "SQLite's automatic checkpoint would run inside the writer's commits");
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).expect("the pragma");
        assert_eq!(page, 4096, "wal_frames_on_disk assumes 4 KiB pages");

        // Through the store, with the checkpointer's thresholds out of reach: the WAL grows past
        // SQLite's automatic checkpoint (1,000 frames), so the writer ran none.
        let db = dir.path().join("b.db");
        let never = WalLimits { checkpoint_frames: u32::MAX, restart_frames: u32::MAX, ceiling_frames: u32::MAX };
        let store = SqliteStore::open_with(&db, Durability::Normal, never).expect("the store");
        let mut n = 0;
        while wal_frames_on_disk(&db) <= 1_500 {
            assert!(n < 20_000, "the WAL stayed at {} frames after {n} batches", wal_frames_on_disk(&db));
            store.insert_batch_blocking(batch(n)).expect("stored");
            n += 1;
        }
        assert_eq!(store.checkpointer.watch().checkpoints(), (0, 0));
    }

    #[test]
    fn the_wal_is_copied_back_and_starts_over_under_a_stream_of_inserts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let limits = WalLimits { checkpoint_frames: 100, restart_frames: 400, ceiling_frames: u32::MAX };
        let store = SqliteStore::open_with(&db, Durability::Normal, limits).expect("the store");
        let watch = store.checkpointer.watch();
        let db_before = std::fs::metadata(&db).expect("the database file").len();
        let mut largest_wal = 0;
        let batches = 6_000;
        for n in 0..batches {
            store.insert_batch_blocking(batch(n)).expect("stored");
            largest_wal = largest_wal.max(wal_frames_on_disk(&db));
        }
        // Without checkpoints the WAL takes over 10 frames per batch (60,000 here). It is bounded
        // by `restart_frames` plus what the writer adds while a checkpoint runs (an fsync on this
        // shared disk can take 100 ms): generously, a third of that.
        assert!(largest_wal < 20_000, "the WAL file reached {largest_wal} frames");
        let (checkpoints, restarts) = watch.checkpoints();
        assert!(checkpoints >= 2 && restarts >= 1, "{checkpoints} checkpoints, {restarts} restarts");
        // Frames were copied into the database file while the store was open.
        let db_after = std::fs::metadata(&db).expect("the database file").len();
        assert!(db_after > db_before + 400 * 4096, "the database file grew from {db_before} to {db_after} bytes");
        assert_eq!(stored_events(&db), 3 * batches as i64);
        drop(store);
        assert_eq!(stored_events(&db), 3 * batches as i64, "everything is there after closing");
    }

    #[test]
    fn a_reader_holding_an_old_snapshot_stops_the_wal_at_its_ceiling_until_it_finishes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let limits = WalLimits { checkpoint_frames: 50, restart_frames: 200, ceiling_frames: 800 };
        let store = SqliteStore::open_with(&db, Durability::Normal, limits).expect("the store");
        store.insert_batch_blocking(batch(0)).expect("stored");
        // A long read: its snapshot keeps the WAL from starting over.
        let reader = Connection::open(&db).expect("a reader");
        reader.execute_batch("BEGIN; SELECT count(*) FROM events;").expect("a read transaction");

        let mut acknowledged = 1;
        let mut refused = None;
        for n in 1..20_000 {
            match store.insert_batch_blocking(batch(n)) {
                Ok(_) => acknowledged += 1,
                Err(e) => {
                    assert!(e.is::<Unavailable>(), "refused for another reason: {e:#}");
                    refused = Some(n);
                    break;
                }
            }
        }
        let refused = refused.expect("the writer stopped at the ceiling");
        let frames = wal_frames_on_disk(&db);
        // The ceiling plus the last commit before the writer saw it.
        assert!((800..1_000).contains(&frames), "the WAL file holds {frames} frames");

        // The read ends: a restart gets through and batches are stored again (the snippet's retry).
        reader.execute_batch("COMMIT").expect("ending the read");
        let mut tries = 0;
        while store.insert_batch_blocking(batch(refused)).is_err() {
            tries += 1;
            assert!(tries < 300, "still refused after {tries} tries");
            std::thread::sleep(Duration::from_millis(50));
        }
        acknowledged += 1;
        assert_eq!(stored_events(&db), 3 * acknowledged, "every acknowledged batch stored, no refused one");
        assert!(wal_frames_on_disk(&db) <= frames, "the WAL did not grow past the ceiling");
    }
}
