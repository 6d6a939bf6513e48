//! `splitbeam serve` as a child process on 127.0.0.1 (port 0, read back from its banner), with
//! its log in a file and optionally a lower open-files limit; killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use super::CONFIG;

pub struct Collector {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub log: PathBuf,
    // Kept open: the collector must not get EPIPE on its stdout.
    _stdout: ChildStdout,
}

impl Collector {
    /// Starts `splitbeam serve` with `args` added; `nofile` sets RLIMIT_NOFILE (soft and hard)
    /// in the child before it starts.
    pub fn start(args: &[&str], nofile: Option<u64>) -> Collector {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("experiments.json"), CONFIG).expect("config");
        let db = dir.path().join("collector.db");
        let log = dir.path().join("collector.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_splitbeam"));
        command
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .arg("--config")
            .arg(dir.path().join("experiments.json"))
            .arg("--db")
            .arg(&db)
            .arg("--dist")
            .arg(dir.path().join("no-dist"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if let Some(limit) = nofile {
            use std::os::unix::process::CommandExt;
            let rlimit = rustix::process::Rlimit { current: Some(limit), maximum: Some(limit) };
            // SAFETY: setrlimit is one system call; it allocates nothing and takes no lock, so it
            // is safe between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, rlimit).map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command.spawn().expect("spawn splitbeam serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                // "  collector    http://localhost:PORT/collect"
                if let Some(port) = line.trim().strip_prefix("collector").and_then(|rest| {
                    rest.trim().strip_prefix("http://localhost:")?.strip_suffix("/collect")?.parse::<u16>().ok()
                }) {
                    let _ = port_tx.send(port);
                    break;
                }
                line.clear();
            }
            lines.into_inner()
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the collector printed no URL; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
        };
        let stdout = reader.join().expect("banner reader");
        Collector { child, addr: ([127, 0, 0, 1], port).into(), dir, db, log, _stdout: stdout }
    }

    /// The admin token this collector created next to its database.
    pub fn admin_token(&self) -> String {
        let mut path = self.db.clone().into_os_string();
        path.push(".admin-token");
        std::fs::read_to_string(&path).expect("the collector's admin token file").trim().to_string()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// VmRSS of the collector in KiB, from /proc.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
