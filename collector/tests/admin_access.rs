//! Who may read results (issue 11, access control): the dashboard, results API and metrics need
//! an admin (session cookie or bearer token); what a shop's pages load stays public; sessions,
//! CSRF, sign-in limits and the token file behave as README's Security section says.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{batch, exposure, request, Response, TestServer, ADMIN, ADMIN_TOKEN};

const PAGES: &[&str] = &["/", "/experiments/hero", "/dashboard/app.js"];
const API: &[&str] = &["/api/experiments", "/api/experiments/hero/results", "/api/session", "/metrics"];

fn fake_dist(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dist");
    std::fs::write(dir.join("splitbeam.js"), "var c={c:\"__SPLITBEAM_CONFIG__\"}.c;/* splitbeam_first.0123456789abcdef.wasm */")
        .expect("loader");
    std::fs::write(dir.join("tag.js"), "x='__SPLITBEAM_TAG__'").expect("tag");
    std::fs::write(dir.join("splitbeam_first.0123456789abcdef.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
}

fn form(token: &str) -> String {
    let encoded: String = token.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    format!("token={encoded}&next=%2Fexperiments%2Fhero")
}

fn sign_in_with(server: &TestServer, token: &str, extra: &[(&str, &str)]) -> Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    request(server.addr, "POST", "/signin", &headers, form(token).as_bytes()).expect("POST /signin")
}

/// The `name=value` part of the session's Set-Cookie.
fn cookie_of(response: &Response) -> String {
    let set = response.header("set-cookie").unwrap_or_else(|| panic!("no Set-Cookie: {response:?}"));
    set.split(';').next().unwrap_or_default().to_string()
}

fn signed_in(server: &TestServer) -> String {
    let response = sign_in_with(server, ADMIN_TOKEN, &[("Origin", "http://127.0.0.1")]);
    assert_eq!(response.status, 303, "{}", response.text());
    cookie_of(&response)
}

#[test]
fn every_protected_route_refuses_anonymous_callers_and_answers_admins() {
    let server = TestServer::start();
    for path in PAGES {
        let response = server.get_anonymous(path);
        assert_eq!(response.status, 303, "{path}");
        let location = response.header("location").unwrap_or_default();
        assert!(location.starts_with("/signin?next=/"), "{path}: {location}");
        assert!(!response.text().contains("Hero headline"), "{path}");
    }
    for path in API {
        let response = server.get_anonymous(path);
        assert_eq!(response.status, 401, "{path}");
        assert_eq!(response.json(), serde_json::json!({ "error": "sign in" }), "{path}");
    }
    let wrong = ("Authorization", "Bearer not-the-token-0123456789abcdef-0123456789");
    for path in PAGES.iter().chain(API) {
        assert_eq!(server.get(path).status, 200, "bearer {path}");
        assert!(request(server.addr, "GET", path, &[wrong], b"").expect("GET").status >= 300, "wrong bearer {path}");
    }
    let cookie = signed_in(&server);
    for path in PAGES.iter().chain(API) {
        let response = request(server.addr, "GET", path, &[("Cookie", &cookie)], b"").expect("GET");
        assert_eq!(response.status, 200, "session {path}");
    }
    let forged = format!("{}x", cookie);
    assert_eq!(request(server.addr, "GET", "/api/experiments", &[("Cookie", &forged)], b"").expect("GET").status, 401);
}

#[test]
fn what_a_shop_page_loads_stays_public() {
    let site = tempfile::tempdir().expect("site");
    std::fs::write(site.path().join("index.html"), "<html><head></head><body>shop</body></html>").expect("shop page");
    let site_path = site.path().to_path_buf();
    let server = TestServer::start_with(common::CONFIG, |o| o.site = Some(site_path));
    fake_dist(&server.path("dist"));
    for path in ["/splitbeam.js", "/experiments.json", "/tag.html", "/splitbeam_first.0123456789abcdef.wasm", "/healthz", "/shop/", "/signin", "/signin.css"] {
        let response = server.get_anonymous(path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    assert_eq!(server.post("/collect", "text/plain", body.as_bytes()).status, 200);
}

#[test]
fn metrics_and_healthz_follow_their_flags() {
    let server = TestServer::start_with(common::CONFIG, |o| {
        o.access.public_metrics = true;
        o.access.private_healthz = true;
    });
    assert_eq!(server.get_anonymous("/metrics").status, 200);
    assert_eq!(server.get_anonymous("/healthz").status, 401);
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get_anonymous("/api/experiments").status, 401, "the API stays private");
}

#[test]
fn signing_in_sets_a_strict_http_only_cookie_and_goes_where_it_was_asked() {
    let server = TestServer::start();
    let page = server.get_anonymous("/signin?next=/experiments/hero");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<form method=\"post\" action=\"/signin\">"), "{}", page.text());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let response = sign_in_with(&server, ADMIN_TOKEN, &[]);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some("/experiments/hero"));
    let set = response.header("set-cookie").unwrap_or_default().to_string();
    for part in ["splitbeam_admin=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{part}: {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    assert!(!set.contains(ADMIN_TOKEN), "the cookie is not the token");

    // Behind a trusted proxy that says the browser used https, the cookie is Secure.
    let proxied = TestServer::start_with(common::CONFIG, |o| o.ingest.rate_limit.trust_forwarded_for = true);
    let response = sign_in_with(&proxied, ADMIN_TOKEN, &[("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.7")]);
    assert_eq!(response.status, 303);
    assert!(response.header("set-cookie").unwrap_or_default().contains("; Secure"), "{response:?}");
}

#[test]
fn a_wrong_token_is_refused_and_repeated_failures_are_rate_limited() {
    let server = TestServer::start();
    let first = sign_in_with(&server, "wrong-token-0123456789abcdef-0123456789abcdef", &[]);
    assert_eq!(first.status, 401);
    assert!(first.header("set-cookie").is_none());
    let statuses: Vec<u16> =
        (0..20).map(|_| sign_in_with(&server, "wrong-token-0123456789abcdef-0123456789abcdef", &[]).status).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    // Once limited, even the right token waits: guessing cannot go on at full speed.
    let right = sign_in_with(&server, ADMIN_TOKEN, &[]);
    assert_eq!(right.status, 429);
    assert!(right.header("retry-after").is_some());
    assert!(right.header("set-cookie").is_none());
}

#[test]
fn a_forged_cross_site_post_is_refused() {
    let server = TestServer::start();
    let cookie = signed_in(&server);
    let session = request(server.addr, "GET", "/api/session", &[("Cookie", &cookie)], b"").expect("GET /api/session");
    let csrf = session.json()["csrf"].as_str().expect("a CSRF token").to_string();
    let forged: &[&[(&str, &str)]] = &[
        &[("Cookie", &cookie)],
        &[("Cookie", &cookie), ("X-CSRF-Token", "bm90LXRoZS10b2tlbg")],
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "https://evil.example")],
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Sec-Fetch-Site", "cross-site")],
    ];
    for headers in forged {
        let response = request(server.addr, "POST", "/signout", headers, b"").expect("POST /signout");
        assert_eq!(response.status, 403, "{headers:?}: {}", response.text());
    }
    // Still signed in: none of them did anything.
    assert_eq!(request(server.addr, "GET", "/api/experiments", &[("Cookie", &cookie)], b"").expect("GET").status, 200);
    // Another site cannot sign a browser in either, not even with the right token.
    let cross = sign_in_with(&server, ADMIN_TOKEN, &[("Origin", "https://evil.example")]);
    assert_eq!(cross.status, 403);
    assert!(cross.header("set-cookie").is_none());
    // A write without any session: 401, not a redirect.
    assert_eq!(request(server.addr, "POST", "/signout", &[], b"").expect("POST").status, 401);
}

#[test]
fn signing_out_clears_the_cookie_and_ends_the_session() {
    let server = TestServer::start();
    let cookie = signed_in(&server);
    let session = request(server.addr, "GET", "/api/session", &[("Cookie", &cookie)], b"").expect("GET /api/session");
    let csrf = session.json()["csrf"].as_str().expect("a CSRF token").to_string();
    let out = request(server.addr, "POST", "/signout", &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "http://127.0.0.1")], b"")
        .expect("POST /signout");
    assert_eq!(out.status, 200, "{}", out.text());
    let cleared = out.header("set-cookie").unwrap_or_default();
    assert!(cleared.starts_with("splitbeam_admin=;") && cleared.contains("Max-Age=0"), "{cleared}");
    // A copy of the old cookie no longer works either.
    assert_eq!(request(server.addr, "GET", "/api/experiments", &[("Cookie", &cookie)], b"").expect("GET").status, 401);
    assert_eq!(request(server.addr, "GET", "/", &[("Cookie", &cookie)], b"").expect("GET").status, 303);
}

// ---- the token file and the sign-in link, through the binary ----

struct Serve {
    child: Child,
    addr: SocketAddr,
    banner: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `splitbeam serve` in `dir` with `args`; returns once it printed its sign-in line.
fn serve(dir: &Path, args: &[&str]) -> Serve {
    let config = dir.join("experiments.json");
    std::fs::write(&config, common::CONFIG).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_splitbeam"))
        .args(["serve", "--host", "127.0.0.1", "--port", "0", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(dir.join("collector.db"))
        .arg("--dist")
        .arg(dir.join("no-dist"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("collector.log")).expect("log"))
        .spawn()
        .expect("spawn splitbeam serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            banner.push_str(&line);
            banner.push('\n');
            if line.trim_start().starts_with("sign in") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    let banner = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(banner) => banner,
        Err(_) => {
            let _ = child.kill();
            panic!("no sign-in line; log:\n{}", std::fs::read_to_string(dir.join("collector.log")).unwrap_or_default());
        }
    };
    let port = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("collector")?.trim().strip_prefix("http://localhost:")?.strip_suffix("/collect")?.parse::<u16>().ok())
        .expect("the collector line");
    Serve { child, addr: ([127, 0, 0, 1], port).into(), banner }
}

/// The path and query of the printed sign-in link.
fn sign_in_link(banner: &str) -> String {
    let url = banner.lines().find_map(|l| l.trim().strip_prefix("sign in")).expect("sign-in line").trim();
    url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())).expect("a URL")
}

#[test]
fn the_first_serve_creates_a_private_token_file_and_a_restart_reuses_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let token_path = dir.path().join("collector.db.admin-token");
    let first = serve(dir.path(), &[]);
    let token = std::fs::read_to_string(&token_path).expect("token file next to the database").trim().to_string();
    assert_eq!(token.len(), 64, "32 random bytes as hex: {token}");
    assert_eq!(std::fs::metadata(&token_path).expect("metadata").permissions().mode() & 0o777, 0o600);
    assert!(!first.banner.contains(&token), "the token itself is never printed: {}", first.banner);

    // The one-time link: a redirect that sets the cookie and drops the code, then it is spent.
    let link = sign_in_link(&first.banner);
    assert!(link.starts_with("/signin?code="), "{link}");
    let used = request(first.addr, "GET", &link, &[], b"").expect("GET the sign-in link");
    assert_eq!(used.status, 303, "{}", used.text());
    assert_eq!(used.header("location"), Some("/"));
    let cookie = cookie_of(&used);
    assert_eq!(request(first.addr, "GET", "/api/experiments", &[("Cookie", &cookie)], b"").expect("GET").status, 200);
    let again = request(first.addr, "GET", &link, &[], b"").expect("GET the link again");
    assert_eq!(again.status, 401);
    assert!(again.header("set-cookie").is_none());
    drop(first);
    let log = std::fs::read_to_string(dir.path().join("collector.log")).unwrap_or_default();
    assert!(!log.contains(&token), "the token is not logged");

    // Restart: same token, and the session signed by it still works.
    let second = serve(dir.path(), &[]);
    assert_eq!(std::fs::read_to_string(&token_path).expect("token file").trim(), token);
    let bearer = format!("Bearer {token}");
    assert_eq!(request(second.addr, "GET", "/metrics", &[("Authorization", &bearer)], b"").expect("GET").status, 200);
    assert_eq!(request(second.addr, "GET", "/api/experiments", &[("Cookie", &cookie)], b"").expect("GET").status, 200);
}

#[test]
fn admin_token_file_takes_your_own_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let own = dir.path().join("my-token");
    common::write_admin_token(&own, ADMIN_TOKEN);
    let server = serve(dir.path(), &["--admin-token-file", &own.to_string_lossy()]);
    assert!(!dir.path().join("collector.db.admin-token").exists(), "no token file of its own");
    assert_eq!(request(server.addr, "GET", "/api/experiments", &[ADMIN], b"").expect("GET").status, 200);
    let body = format!("token={ADMIN_TOKEN}");
    let signed = request(server.addr, "POST", "/signin", &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes())
        .expect("POST /signin");
    assert_eq!(signed.status, 303);
    // A token too short to be safe is refused at start.
    let weak = dir.path().join("weak-token");
    common::write_admin_token(&weak, "secret");
    let output = Command::new(env!("CARGO_BIN_EXE_splitbeam"))
        .args(["serve", "--port", "0", "--config"])
        .arg(dir.path().join("experiments.json"))
        .arg("--db")
        .arg(dir.path().join("other.db"))
        .arg("--admin-token-file")
        .arg(&weak)
        .output()
        .expect("run serve");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("admin token"), "{}", String::from_utf8_lossy(&output.stderr));
}
