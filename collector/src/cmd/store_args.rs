//! The storage flags shared by `serve`, `results` and `export` (`--store`, `--db`,
//! `--clickhouse-url`, `--clickhouse-database`) and the one place that opens the chosen backend.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::clickhouse::ClickHouseStore;
use crate::store::sqlite::{Durability, SqliteStore};
use crate::store::Store;

/// Which backend holds the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded database file at `--db`.
    Sqlite,
    /// A ClickHouse server over HTTP, for many stateless collectors sharing one cluster.
    Clickhouse,
}

/// How a command opens its store, whichever the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `serve`: create the file (or ClickHouse database and tables) if missing; SQLite commits
    /// with this durability.
    Create(Durability),
    /// `results`/`export`: the file (or ClickHouse tables) must already exist, so a typo in `--db`
    /// or `--clickhouse-database` is an error rather than an empty new database.
    Existing,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Where the events are stored.
    #[arg(long = "store", value_name = "STORE", value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// The SQLite database (with `--store sqlite`).
    #[arg(long, default_value = "splitbeam.db")]
    pub db: PathBuf,
    /// ClickHouse's HTTP interface (with `--store clickhouse`).
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    pub clickhouse_url: String,
    /// The ClickHouse database (with `--store clickhouse`; `serve` creates it if missing).
    #[arg(long, default_value = "splitbeam")]
    pub clickhouse_database: String,
}

impl StoreArgs {
    /// Opens the chosen backend. Blocking (ClickHouse is asked over HTTP): inside the async
    /// runtime, call it from `block_in_place` or the blocking pool.
    pub fn open(&self, mode: OpenMode) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self.backend {
            Backend::Sqlite => Arc::new(match mode {
                OpenMode::Create(durability) => SqliteStore::open(&self.db, durability)?,
                OpenMode::Existing => SqliteStore::open_existing(&self.db)?,
            }),
            Backend::Clickhouse => Arc::new(match mode {
                OpenMode::Create(_) => ClickHouseStore::open(&self.clickhouse_url, &self.clickhouse_database)?,
                OpenMode::Existing => ClickHouseStore::open_existing(&self.clickhouse_url, &self.clickhouse_database)?,
            }),
        })
    }

    /// Where the events are, for messages: `database splitbeam.db` or
    /// `ClickHouse http://… database splitbeam`.
    pub fn describe(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("database {}", self.db.display()),
            Backend::Clickhouse => format!("ClickHouse {} database {}", self.clickhouse_url, self.clickhouse_database),
        }
    }
}
