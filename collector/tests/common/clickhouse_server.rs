//! A throwaway ClickHouse on 127.0.0.1 for the ClickHouse tests and benchmark, of one of two
//! engines: Debian's clickhouse-server (18.16) or the current engine (chdb, 26.x) behind
//! `tests/clickhouse/chdb_http.py`. Its data in a temp dir, started behind a shell watchdog that
//! stops it once this process is gone. `SPLITBEAM_CLICKHOUSE_ENGINE` (`clickhouse-server`, the
//! default, or `chdb`) chooses; `scripts/test.sh` runs the ClickHouse tests once with each.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const CLICKHOUSE_SERVER: &str = "/usr/sbin/clickhouse-server";
/// The variable choosing the engine.
pub const ENGINE_VAR: &str = "SPLITBEAM_CLICKHOUSE_ENGINE";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Debian's clickhouse-server 18.16.
    Server,
    /// chdb (ClickHouse 26.x in-process) behind the test HTTP front.
    Chdb,
}

impl Engine {
    /// The engine `SPLITBEAM_CLICKHOUSE_ENGINE` names; an unknown name is an error, not a silent default.
    pub fn from_env() -> Result<Engine, String> {
        match std::env::var(ENGINE_VAR).as_deref() {
            Err(_) | Ok("") | Ok("clickhouse-server") => Ok(Engine::Server),
            Ok("chdb") => Ok(Engine::Chdb),
            Ok(other) => Err(format!("{ENGINE_VAR}={other:?}: expected clickhouse-server or chdb")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Server => "clickhouse-server",
            Engine::Chdb => "chdb",
        }
    }

    /// What must be installed for this engine (scripts/setup.sh installs both).
    pub fn program(self) -> PathBuf {
        match self {
            Engine::Server => PathBuf::from(CLICKHOUSE_SERVER),
            Engine::Chdb => project_root().join(".venv-chdb/bin/python"),
        }
    }

    pub fn installed(self) -> bool {
        self.program().exists()
    }
}

/// The workspace root (this file is compiled into the collector's tests and benches).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A started server. It may still be starting: callers poll `http_port` until it answers.
pub struct Started {
    pub dir: PathBuf,
    pub http_port: u16,
    /// Never waited for: it must outlive this process to clean up after it.
    pub watchdog: Child,
}

impl Started {
    /// The server's own log, for a message when it does not come up.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

/// Writes a config for free 127.0.0.1 ports into a new temp dir (`prefix`) and starts the engine.
pub fn start(prefix: &str, engine: Engine) -> std::io::Result<Started> {
    let dir: PathBuf = tempfile::Builder::new().prefix(prefix).tempdir()?.keep();
    std::fs::create_dir_all(dir.join("tmp"))?;
    let (http_port, tcp_port) = (free_port()?, free_port()?);
    let server = match engine {
        Engine::Server => {
            write_config(&dir, http_port, tcp_port)?;
            format!("{CLICKHOUSE_SERVER} --config-file=\"$1/config.xml\"")
        }
        Engine::Chdb => format!(
            "\"{}\" \"{}\" --path \"$1/data\" --port {http_port}",
            engine.program().display(),
            project_root().join("tests/clickhouse/chdb_http.py").display()
        ),
    };
    // The watchdog outlives no one: it polls this process and stops the server (and removes its
    // dir) when this process is gone.
    let script = format!(
        "{server} >\"$1/server.log\" 2>&1 & server=$!; \
         while kill -0 \"$2\" 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.5; done; \
         kill $server 2>/dev/null; wait $server; rm -rf \"$1\""
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script, "clickhouse-watchdog", &dir.to_string_lossy(), &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Started { dir, http_port, watchdog })
}

fn write_config(dir: &Path, http_port: u16, tcp_port: u16) -> std::io::Result<()> {
    let d = dir.display();
    std::fs::write(
        dir.join("config.xml"),
        format!(
            "<yandex><logger><level>warning</level><console>1</console></logger>\
             <http_port>{http_port}</http_port><tcp_port>{tcp_port}</tcp_port><listen_host>127.0.0.1</listen_host>\
             <path>{d}/</path><tmp_path>{d}/tmp/</tmp_path><users_config>users.xml</users_config>\
             <default_profile>default</default_profile><default_database>default</default_database>\
             <mark_cache_size>5368709</mark_cache_size></yandex>"
        ),
    )?;
    std::fs::write(
        dir.join("users.xml"),
        "<yandex><profiles><default/></profiles><users><default><password></password>\
         <networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>\
         <quotas><default/></quotas></yandex>",
    )
}

/// A 127.0.0.1 port nothing listened on a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
