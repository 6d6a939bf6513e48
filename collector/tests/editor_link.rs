//! The in-page editor's access (issue 11, part 3): an editor link is made by an admin with the
//! CSRF token only; its one-time code works once and gives a bearer token for that one experiment;
//! that token reads, saves (If-Match), previews and starts that experiment and nothing else; the
//! editor's routes answer CORS without credentials, and every other /api route still does not.

mod common;

use common::{request, Response, TestServer, ADMIN_TOKEN};
use splitbeam_collector::preview::{now_secs, PreviewKey};

const CONFIG: &str = r##"{
  "version": 1,
  "experiments": [
    { "key": "hero", "name": "Hero", "status": "draft",
      "variants": [ { "key": "control", "weight": 50 }, { "key": "b", "weight": 50 } ],
      "goals": [ { "key": "purchase", "event": "purchase" } ] },
    { "key": "cart", "status": "running", "variants": [ { "key": "control" }, { "key": "big" } ] }
  ]
}
"##;

fn send(server: &TestServer, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    request(server.addr, method, path, headers, body.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

fn session(server: &TestServer) -> (String, String) {
    let form = format!("token={ADMIN_TOKEN}&next=%2F");
    let response = send(server, "POST", "/signin", &[("Content-Type", "application/x-www-form-urlencoded")], &form);
    assert_eq!(response.status, 303, "{}", response.text());
    let cookie = response.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string();
    let csrf = send(server, "GET", "/api/session", &[("Cookie", &cookie)], "").json()["csrf"].as_str().expect("csrf").to_string();
    (cookie, csrf)
}

/// An editor link for `key` made by a signed-in admin; returns its one-time code.
fn editor_code(server: &TestServer, key: &str) -> String {
    let (cookie, csrf) = session(server);
    let response = send(
        server,
        "POST",
        &format!("/api/experiments/{key}/editor-link"),
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Content-Type", "application/json")],
        r#"{"page": "https://shop.example/home?x=1#top"}"#,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let url = response.json()["url"].as_str().expect("a url").to_string();
    // The tab is a QA session in control: a running experiment shows the original page to edit on.
    let code = url.strip_prefix("https://shop.example/home?x=1&splitbeam-editor=").and_then(|rest| rest.strip_suffix(&format!("&splitbeam={key}:control#top")));
    code.unwrap_or_else(|| panic!("unexpected link {url}")).to_string()
}

fn exchange(server: &TestServer, code: &str) -> Response {
    send(server, "POST", "/api/editor/session", &[("Content-Type", "application/json"), ("Origin", "https://shop.example")], &format!(r#"{{"code": "{code}"}}"#))
}

#[test]
fn an_editor_link_needs_an_admin_session_with_its_csrf_token() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let body = r#"{"page": "https://shop.example/"}"#;
    let anonymous = send(&server, "POST", "/api/experiments/hero/editor-link", &[("Content-Type", "application/json")], body);
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    let (cookie, csrf) = session(&server);
    let no_csrf = send(&server, "POST", "/api/experiments/hero/editor-link", &[("Cookie", &cookie)], body);
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    let with = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    assert_eq!(send(&server, "POST", "/api/experiments/nope/editor-link", &with, body).status, 404);
    for page in ["javascript:alert(1)", "/shop/", "https://shop.example/a b"] {
        let bad = send(&server, "POST", "/api/experiments/hero/editor-link", &with, &format!(r#"{{"page": "{page}"}}"#));
        assert_eq!(bad.status, 400, "{page}: {}", bad.text());
    }
    assert_eq!(send(&server, "POST", "/api/experiments/hero/editor-link", &with, body).status, 200);
}

#[test]
fn the_code_works_once_and_its_token_edits_that_experiment_only() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let code = editor_code(&server, "hero");
    let first = exchange(&server, &code);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["experiment"], "hero");
    let token = first.json()["token"].as_str().expect("a token").to_string();
    assert_eq!(exchange(&server, &code).status, 401, "a code works once");
    assert_eq!(exchange(&server, "made-up").status, 401);

    let bearer = format!("Bearer {token}");
    let read = send(&server, "GET", "/api/editor/experiments/hero/definition", &[("Authorization", &bearer)], "");
    assert_eq!(read.status, 200, "{}", read.text());
    let etag = read.json()["etag"].as_str().expect("etag").to_string();
    assert_eq!(send(&server, "GET", "/api/editor/experiments/cart/definition", &[("Authorization", &bearer)], "").status, 403, "another experiment");
    assert_eq!(send(&server, "GET", "/api/editor/experiments/hero/definition", &[], "").status, 401, "no token");
    let admin_bearer = format!("Bearer {ADMIN_TOKEN}");
    assert_eq!(send(&server, "GET", "/api/editor/experiments/hero/definition", &[("Authorization", &admin_bearer)], "").status, 401, "only editor tokens here");
    for path in ["/api/experiments/hero/definition", "/api/definitions", "/api/experiments/hero/results", "/api/history"] {
        assert_eq!(send(&server, "GET", path, &[("Authorization", &bearer)], "").status, 401, "{path}: an editor token is no admin token");
    }

    // A save, as the editor makes it: If-Match, validation with paths, the history names the link.
    let edited = r##"{"key": "hero", "name": "Hero", "status": "draft",
        "variants": [{"key": "control", "weight": 50}, {"key": "b", "weight": 50, "changes": [{"selector": "#hero h1", "text": "Free shipping"}]}],
        "goals": [{"key": "purchase", "event": "purchase"}]}"##;
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    assert_eq!(send(&server, "PUT", "/api/editor/experiments/hero/definition", &headers, edited).status, 428, "no If-Match");
    let with_etag = [headers[0], headers[1], ("If-Match", etag.as_str())];
    let invalid = send(&server, "PUT", "/api/editor/experiments/hero/definition", &with_etag, &edited.replace("\"#hero h1\"", "\"#hero h1[\""));
    assert_eq!(invalid.status, 422, "{}", invalid.text());
    assert!(invalid.text().contains("variants[1].changes[0].selector"), "{}", invalid.text());
    let saved = send(&server, "PUT", "/api/editor/experiments/hero/definition", &with_etag, edited);
    assert_eq!(saved.status, 200, "{}", saved.text());
    let file = std::fs::read_to_string(server.path("experiments.json")).expect("read experiments.json");
    assert!(file.contains("Free shipping"), "{file}");
    let history = server.get("/api/history?experiment=hero");
    assert!(history.text().contains("in-page editor link for hero"), "{}", history.text());

    let preview = send(&server, "POST", "/api/editor/experiments/hero/preview-link", &[headers[0]], "");
    assert_eq!(preview.status, 200, "{}", preview.text());
    let preview_token = preview.json()["token"].as_str().expect("a preview token").to_string();
    let key = PreviewKey::load_or_create(&server.path("test.db.preview-key")).expect("the server's preview key");
    assert_eq!(key.verify(&preview_token, now_secs()).as_deref(), Ok("hero"), "the QA link's token is one the collector accepts");

    let new_etag = saved.json()["etag"].as_str().expect("etag").to_string();
    let started = send(&server, "POST", "/api/editor/experiments/hero/start", &[headers[0], ("If-Match", &new_etag)], "");
    assert_eq!(started.status, 200, "{}", started.text());
    assert_eq!(started.json()["experiment"]["status"], "running");
}

#[test]
fn only_the_editor_routes_answer_cors_and_never_with_credentials() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let preflight = |path: &str| {
        send(
            &server,
            "OPTIONS",
            path,
            &[
                ("Origin", "https://shop.example"),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "authorization,content-type,if-match"),
            ],
            "",
        )
    };
    let editor = preflight("/api/editor/experiments/hero/definition");
    assert_eq!(editor.header("access-control-allow-origin"), Some("*"), "{:?}", editor.status);
    assert_eq!(editor.header("access-control-allow-credentials"), None);
    let allowed = editor.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("if-match"), "{allowed}");
    for path in ["/api/experiments/hero/definition", "/api/experiments/hero/editor-link", "/api/definitions", "/api/experiments/hero/results"] {
        assert_eq!(preflight(path).header("access-control-allow-origin"), None, "{path} stays same-origin");
    }
}
