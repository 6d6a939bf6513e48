//! Shared by the collector's integration tests: an in-process server on 127.0.0.1, a minimal
//! HTTP/1.1 client, and builders for events, batches and experiments.
#![allow(dead_code)]

pub mod process;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use splitbeam_collector::server::{self, Options};
use splitbeam_collector::store::sqlite::{Durability, SqliteStore};
use splitbeam_core::config::{Experiment, Goal, GoalTrigger, Status, Variant};
use splitbeam_core::pages::PageRules;

/// An experiments.json in DESIGN.md's format: `hero` (control/b 50/50) with a click goal, a
/// valued purchase goal and a two-step funnel.
pub const CONFIG: &str = r##"{
  "version": 1,
  "experiments": [
    {
      "key": "hero",
      "name": "Hero headline",
      "status": "running",
      "variants": [
        { "key": "control", "weight": 50 },
        { "key": "b", "weight": 50, "changes": [ { "selector": "#hero h1", "text": "Free shipping" } ] }
      ],
      "goals": [
        { "key": "add_to_cart", "click": ".add-to-cart" },
        { "key": "purchase", "event": "purchase", "value": "value" }
      ],
      "funnel": ["add_to_cart", "purchase"]
    }
  ]
}"##;

/// The admin token `TestServer` starts with (in its `test.db.admin-token`): `get` and `json` send
/// it as a bearer token, `get_anonymous` does not.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef-0123456789abcdef";

/// `Authorization: Bearer <ADMIN_TOKEN>`, for `request`.
pub const ADMIN: (&str, &str) = ("Authorization", "Bearer test-admin-token-0123456789abcdef-0123456789abcdef");

/// Writes `token` to `path` as `serve` would (mode 0600).
pub fn write_admin_token(path: &Path, token: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).expect("create admin token file");
    file.write_all(format!("{token}\n").as_bytes()).expect("write admin token");
}

/// The same experiment as `CONFIG`, built directly (independent of the config loader).
pub fn hero_experiment() -> Experiment {
    Experiment {
        key: "hero".to_string(),
        name: "Hero headline".to_string(),
        status: Status::Running,
        pages: PageRules::default(),
        audience: None,
        traffic: 1.0,
        variants: vec![
            Variant { key: "control".to_string(), weight: 50.0, changes: vec![], applier_json: String::new(), redirect: None },
            Variant { key: "b".to_string(), weight: 50.0, changes: vec![], applier_json: String::new(), redirect: None },
        ],
        goals: vec![
            Goal { key: "add_to_cart".to_string(), trigger: GoalTrigger::Click(".add-to-cart".to_string()), value_prop: None },
            Goal {
                key: "purchase".to_string(),
                trigger: GoalTrigger::Event("purchase".to_string()),
                value_prop: Some("value".to_string()),
            },
        ],
        funnel: vec!["add_to_cart".to_string(), "purchase".to_string()],
        seed: "hero".to_string(),
        hash_attribute: "id".to_string(),
        hash_version: 2,
        namespace: None,
        start_ms: None,
        end_ms: None,
        winner: None,
    }
}

pub fn exposure(id: &str, visitor: &str, experiment: &str, variant: &str, ts: i64) -> String {
    format!(
        r#"{{"id":"{id}","type":"exposure","ts":{ts},"visitor":"{visitor}","session":"s-{visitor}","experiment":"{experiment}","variant":"{variant}","url":"/"}}"#
    )
}

pub fn goal(id: &str, visitor: &str, goal: &str, value: Option<f64>, ts: i64) -> String {
    let value = value.map(|v| format!(r#","value":{v}"#)).unwrap_or_default();
    format!(
        r#"{{"id":"{id}","type":"goal","goal":"{goal}"{value},"ts":{ts},"visitor":"{visitor}","session":"s-{visitor}","url":"/checkout","props":{{"currency":"EUR"}}}}"#
    )
}

pub fn pageview(id: &str, visitor: &str, ts: i64) -> String {
    format!(r#"{{"id":"{id}","type":"pageview","ts":{ts},"visitor":"{visitor}","session":"s-{visitor}","url":"/products/1"}}"#)
}

pub fn batch(events: &[String]) -> String {
    format!(r#"{{"v":1,"sent_at":1764216000000,"events":[{}]}}"#, events.join(","))
}

/// Events as `splitbeam serve` under `CONFIG` stores them: marked by the counting rules (an
/// experiment or variant `CONFIG` does not name is stored only; an `automated` batch is a bot's).
pub fn counted(items: &[String], automated: bool) -> Vec<splitbeam_collector::ingest::Received> {
    let (value, _) = splitbeam_core::json::parse(CONFIG).expect("CONFIG is JSON");
    let config = splitbeam_core::config::load(&value).config;
    let mut events = events(items);
    splitbeam_collector::counting::Counting::new(&config).mark(&mut events, automated, false);
    events
}

/// Parses batch text into validated events, for tests that talk to the store directly.
pub fn events(items: &[String]) -> Vec<splitbeam_collector::ingest::Received> {
    match splitbeam_collector::ingest::parse_batch(batch(items).as_bytes()) {
        Ok(events) => events,
        Err(e) => panic!("test batch is invalid: {e}"),
    }
}

/// A collector running in this process on 127.0.0.1 with a fresh database and config file.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(CONFIG, |_| {})
    }

    /// `adjust` may change the options (dist, site, origins) before the server starts.
    pub fn start_with(config: &str, adjust: impl FnOnce(&mut Options)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = dir.path().join("experiments.json");
        std::fs::write(&config_path, config).expect("write config");
        write_admin_token(&dir.path().join("test.db.admin-token"), ADMIN_TOKEN);
        let mut options = Options {
            config: config_path,
            dist: dir.path().join("dist"),
            site: None,
            allow_origins: Vec::new(),
            ingest: Default::default(),
            preview_key: dir.path().join("test.db.preview-key"),
            history: dir.path().join("test.db.history"),
            limits: server::Limits::default(),
            access: server::AccessOptions::with_token(dir.path().join("test.db.admin-token")),
        };
        adjust(&mut options);
        let store = Arc::new(SqliteStore::open(&dir.path().join("test.db"), Durability::Normal).expect("open store"));
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
        let (router, state) = runtime.block_on(async { server::app(&options, store.clone()) }).expect("build app");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let limits = options.limits.clone();
        runtime.spawn(async move {
            let _ = server::conn::serve(listener, router, &limits, async {
                let _ = stop.await;
            })
            .await;
        });
        runtime.spawn(async move {
            let _watcher = server::spawn_config_watcher(state).await;
        });
        TestServer { addr, dir, store, runtime: Some(runtime), shutdown: Some(shutdown) }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        request(self.addr, "POST", path, &[("Content-Type", content_type)], body).expect("POST")
    }

    /// GET as an admin (bearer token): the dashboard, API and metrics answer.
    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[ADMIN], b"").expect("GET")
    }

    /// GET as anyone on the internet.
    pub fn get_anonymous(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"").expect("GET")
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path);
        assert_eq!(response.status, 200, "GET {path}: {}", response.text());
        serde_json::from_slice(&response.body).expect("JSON body")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(&raw_request(method, path, headers, body, false))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other(format!("unparsable response: {:?}", String::from_utf8_lossy(&raw))))
}

pub fn raw_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], keep_alive: bool) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: {}\r\n",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Parses a complete response (status line, headers, body by Content-Length or to the end).
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Counts rows in the database directly (a second connection; WAL lets it read while serving).
pub fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count query")
}

/// Waits until `check` holds, polling for at most `timeout`.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// The hero experiment's funnel in the store tests.
pub fn funnel() -> Vec<String> {
    vec!["add_to_cart".to_string(), "purchase".to_string()]
}

/// Exposed visitors of `variant` in a store's totals.
pub fn visitors(t: &splitbeam_collector::store::ExperimentTotals, variant: &str) -> u64 {
    t.variants.iter().find(|v| v.variant == variant).map_or(0, |v| v.visitors)
}

/// Conversions of `goal` in `variant` in a store's totals.
pub fn conversions(t: &splitbeam_collector::store::ExperimentTotals, variant: &str, goal: &str) -> u64 {
    t.goals.iter().find(|g| g.variant == variant && g.goal == goal).map_or(0, |g| g.conversions)
}

/// The compiled config a loader carries in `"b":"…"`: a string of one character per byte, in
/// JavaScript's escapes (`snippet::render`), read back as the browser reads it.
pub fn baked_config(loader: &str) -> Vec<u8> {
    let start = loader.find("\"b\":\"").map(|i| i + 5).unwrap_or_else(|| panic!("no compiled config in {loader}"));
    let mut chars = loader[start..].chars();
    let hex = |chars: &mut std::str::Chars, n| u32::from_str_radix(&chars.by_ref().take(n).collect::<String>(), 16).expect("hex digits");
    let mut bytes = Vec::new();
    while let Some(c) = chars.next() {
        let code = match c {
            '"' => return bytes,
            '\\' => match chars.next().expect("an escape after a backslash") {
                'x' => hex(&mut chars, 2),
                'u' => hex(&mut chars, 4),
                'b' => 8,
                't' => 9,
                'n' => 10,
                'f' => 12,
                'r' => 13,
                other => u32::from(other),
            },
            c => u32::from(c),
        };
        bytes.push(u8::try_from(code).expect("one byte per character"));
    }
    panic!("the compiled config's string does not end")
}
