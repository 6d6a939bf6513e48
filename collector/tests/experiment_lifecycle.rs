//! The dashboard's write API (issue 11, part 2): a session's writes need the CSRF token; every
//! write names the file version it was made against (If-Match) and a stale one is refused with
//! 412 and the current version; problems come back with their JSON paths; the file is replaced
//! atomically and keeps everything the edit did not touch; every change is in the history and can
//! be reverted; a saved edit is live at once.

mod common;

use common::{request, Response, TestServer, ADMIN, ADMIN_TOKEN};
use serde_json::json;

/// Two experiments, a `$schema`, saved groups, fields the form does not show (seed, namespace,
/// description) and hand formatting: all of it must survive an edit of `hero`.
const CONFIG: &str = r##"{
  "$schema": "https://example.com/splitbeam.schema.json",
  "version": 1,
  "groups": { "staff": ["v_alice"] },
  "experiments": [
    {
      "key": "hero",
      "name": "Hero headline",
      "description": "kept as written",
      "status": "draft",
      "seed": "hero-2026",
      "namespace": ["home", 0, 0.5],
      "variants": [
        { "key": "control", "weight": 50 },
        { "key": "b", "weight": 50, "changes": [ { "selector": "#hero h1", "text": "Free shipping" } ] }
      ],
      "goals": [ { "key": "purchase", "event": "purchase", "value": "value" } ]
    },
    {"key":"cart",   "status":"running","traffic":0.50,
     "variants":[{"key":"control"},{"key":"big","changes":[{"selector":".add-to-cart","style":"font-size: 1.3em"}]}]}
  ]
}
"##;

fn config_text(server: &TestServer) -> String {
    std::fs::read_to_string(server.path("experiments.json")).expect("read experiments.json")
}

fn send(server: &TestServer, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    request(server.addr, method, path, headers, body.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The file's current ETag, as the API gives it.
fn etag(server: &TestServer) -> String {
    let response = server.get("/api/definitions");
    assert_eq!(response.status, 200, "{}", response.text());
    let etag = response.json()["etag"].as_str().expect("an etag").to_string();
    assert_eq!(response.header("etag"), Some(etag.as_str()));
    etag
}

/// A bearer-token write (no ambient credential, so no CSRF token) against version `etag`.
fn admin_write(server: &TestServer, method: &str, path: &str, etag: &str, body: &str) -> Response {
    send(server, method, path, &[ADMIN, ("If-Match", etag), ("Content-Type", "application/json")], body)
}

fn hero_with_weights(control: &str, b: &str) -> String {
    format!(
        r##"{{"key": "hero", "name": "Hero headline", "description": "kept as written", "status": "draft", "seed": "hero-2026",
            "namespace": ["home", 0, 0.5],
            "variants": [{{"key": "control", "weight": {control}}}, {{"key": "b", "weight": {b}, "changes": [{{"selector": "#hero h1", "text": "Free shipping"}}]}}],
            "goals": [{{"key": "purchase", "event": "purchase", "value": "value"}}]}}"##
    )
}

fn signed_in_session(server: &TestServer) -> (String, String) {
    let form = format!("token={ADMIN_TOKEN}&next=%2F");
    let response = send(
        server,
        "POST",
        "/signin",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://127.0.0.1")],
        &form,
    );
    assert_eq!(response.status, 303, "{}", response.text());
    let cookie = response.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string();
    let session = send(server, "GET", "/api/session", &[("Cookie", &cookie)], "");
    let csrf = session.json()["csrf"].as_str().expect("a CSRF token").to_string();
    (cookie, csrf)
}

#[test]
fn a_sessions_write_needs_the_csrf_token() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let before = config_text(&server);
    let tag = etag(&server);
    let (cookie, csrf) = signed_in_session(&server);
    let anonymous = send(&server, "POST", "/api/experiments/hero/start", &[("If-Match", &tag)], "");
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    for path in ["/api/definitions", "/api/experiments/hero/definition", "/api/history"] {
        assert_eq!(server.get_anonymous(path).status, 401, "{path}");
    }
    for path in ["/new-experiment", "/experiments/hero/edit"] {
        assert_eq!(server.get_anonymous(path).status, 303, "{path}");
        assert_eq!(server.get(path).status, 200, "{path}");
    }
    let no_csrf = send(&server, "POST", "/api/experiments/hero/start", &[("Cookie", &cookie), ("If-Match", &tag)], "");
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text());
    let forged = send(
        &server,
        "POST",
        "/api/experiments/hero/start",
        &[("Cookie", &cookie), ("If-Match", &tag), ("X-CSRF-Token", &csrf), ("Origin", "https://evil.example")],
        "",
    );
    assert_eq!(forged.status, 403, "a cross-site write with a stolen token: {}", forged.text());
    assert_eq!(config_text(&server), before, "refused writes change nothing");

    let started = send(&server, "POST", "/api/experiments/hero/start", &[("Cookie", &cookie), ("If-Match", &tag), ("X-CSRF-Token", &csrf)], "");
    assert_eq!(started.status, 200, "{}", started.text());
    assert_eq!(started.json()["experiment"]["status"], "running");
    let history = server.json("/api/history?experiment=hero");
    let who = history["changes"][0]["who"].as_str().unwrap_or_default();
    assert!(who.starts_with("session "), "the history names the session: {history}");
}

#[test]
fn a_write_against_an_older_version_is_refused_with_the_current_one() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let tag = etag(&server);
    // Someone edits the file by hand meanwhile.
    let by_hand = config_text(&server).replace("\"traffic\":0.50", "\"traffic\":0.25");
    std::fs::write(server.path("experiments.json"), &by_hand).expect("hand edit");

    let stale = admin_write(&server, "PUT", "/api/experiments/hero/definition", &tag, &hero_with_weights("10", "90"));
    assert_eq!(stale.status, 412, "{}", stale.text());
    let body = stale.json();
    assert_ne!(body["etag"], tag.as_str());
    assert_eq!(body["etag"], etag(&server).as_str(), "the answer names the current version");
    assert_eq!(body["experiment"]["key"], "hero", "and holds the current experiment");
    assert_eq!(config_text(&server), by_hand, "the hand edit is kept, not overwritten");

    let blind = send(&server, "POST", "/api/experiments/hero/start", &[ADMIN], "");
    assert_eq!(blind.status, 428, "a write without If-Match: {}", blind.text());
    let star = send(&server, "POST", "/api/experiments/hero/start", &[ADMIN, ("If-Match", "*")], "");
    assert_eq!(star.status, 412, "If-Match: * would be last-write-wins: {}", star.text());

    let current = etag(&server);
    let saved = admin_write(&server, "PUT", "/api/experiments/hero/definition", &current, &hero_with_weights("10", "90"));
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert!(config_text(&server).contains("\"traffic\":0.25"), "saved on top of the hand edit");
    assert_eq!(saved.json()["etag"], etag(&server).as_str());
    let again = admin_write(&server, "POST", "/api/experiments/hero/start", &current, "");
    assert_eq!(again.status, 412, "the version before our own save is stale too");
}

#[test]
fn problems_come_back_with_their_paths() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let before = config_text(&server);
    let tag = etag(&server);
    let bad = admin_write(&server, "PUT", "/api/experiments/hero/definition", &tag, &hero_with_weights("50", "-5"));
    assert_eq!(bad.status, 422, "{}", bad.text());
    let problems = bad.json()["problems"].as_array().cloned().unwrap_or_default();
    let weight = problems
        .iter()
        .find(|p| p["path"] == "experiments[0].variants[1].weight")
        .unwrap_or_else(|| panic!("no problem at the weight: {problems:?}"));
    assert_eq!(weight["field"], "variants[1].weight", "placed for the form");
    assert!(weight["line"].as_u64().unwrap_or(0) > 1, "with its line in the new file: {weight}");
    assert!(weight["message"].as_str().unwrap_or_default().contains("negative"), "{weight}");

    let unknown = admin_write(&server, "PUT", "/api/experiments/hero/definition", &tag, r#"{"key": "hero", "status": "draft", "colour": 1, "variants": [{"key": "a"}, {"key": "b"}]}"#);
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["problems"][0]["field"], "colour", "{}", unknown.text());

    let winner = admin_write(&server, "POST", "/api/experiments/hero/winner", &tag, r#"{"variant": "nope"}"#);
    assert_eq!(winner.status, 422);
    assert_eq!(winner.json()["problems"][0]["field"], "winner", "{}", winner.text());

    let created = admin_write(&server, "POST", "/api/experiments", &tag, r#"{"key": "cart", "variants": [{"key": "a"}, {"key": "b"}]}"#);
    assert_eq!(created.status, 422, "a duplicate key: {}", created.text());
    assert_eq!(created.json()["problems"][0]["path"], "experiments[2].key");

    let huge = format!(r#"{{"key": "big", "name": "{}", "variants": [{{"key": "a"}}, {{"key": "b"}}]}}"#, "x".repeat(300 * 1024));
    assert_eq!(admin_write(&server, "POST", "/api/experiments", &tag, &huge).status, 413, "bodies are bounded");
    assert_eq!(admin_write(&server, "PUT", "/api/experiments/hero/definition", &tag, &huge).status, 413);
    let not_json = admin_write(&server, "PUT", "/api/experiments/hero/definition", &tag, "{\"key\": ");
    assert_eq!(not_json.status, 400);
    assert_eq!(admin_write(&server, "POST", "/api/experiments/nope/start", &tag, "").status, 404);
    assert_eq!(config_text(&server), before, "nothing was written");
}

#[test]
fn a_write_replaces_the_file_atomically_and_keeps_what_it_did_not_touch() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let tag = etag(&server);
    let started = admin_write(&server, "POST", "/api/experiments/hero/start", &tag, "");
    assert_eq!(started.status, 200, "{}", started.text());
    let text = config_text(&server);
    let cart = &CONFIG[CONFIG.find("    {\"key\":\"cart\"").expect("cart")..];
    assert!(text.ends_with(cart), "the other experiment, byte for byte, and the end of the file:\n{text}");
    let head = &CONFIG[..CONFIG.find("    {\n      \"key\": \"hero\"").expect("hero")];
    assert!(text.starts_with(head), "$schema, version and groups as written:\n{text}");
    let hero: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let hero = &hero["experiments"][0];
    assert_eq!(hero["status"], "running");
    assert_eq!((hero["seed"].clone(), hero["description"].clone()), (json!("hero-2026"), json!("kept as written")));
    let order: Vec<usize> = ["\"key\": \"hero\"", "\"name\"", "\"description\"", "\"status\"", "\"seed\"", "\"namespace\"", "\"variants\"", "\"goals\""]
        .iter()
        .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} is gone")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "the experiment's keys keep their order:\n{text}");
    let leftovers: Vec<String> = std::fs::read_dir(server.dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    // Live at once, not at the next poll of the file.
    let list = server.json("/api/experiments");
    let hero = list["experiments"].as_array().and_then(|l| l.iter().find(|e| e["key"] == "hero")).cloned();
    assert_eq!(hero.map(|h| h["status"].clone()), Some(json!("running")), "{list}");
}

#[test]
fn every_change_is_recorded_and_can_be_reverted() {
    let server = TestServer::start_with(CONFIG, |_| {});
    let original = config_text(&server);
    let saved = admin_write(&server, "PUT", "/api/experiments/hero/definition", &etag(&server), &hero_with_weights("20", "80"));
    assert_eq!(saved.status, 200, "{}", saved.text());
    let edit_id = saved.json()["change"].as_i64().expect("a change id");
    let won = admin_write(&server, "POST", "/api/experiments/hero/winner", &etag(&server), r#"{"variant": "b"}"#);
    assert_eq!(won.status, 200, "{}", won.text());

    let history = server.json("/api/history?experiment=hero");
    let changes = history["changes"].as_array().cloned().unwrap_or_default();
    assert_eq!(changes.iter().map(|c| c["action"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["winner", "edit"], "{history}");
    let edit = &changes[1];
    assert_eq!(edit["who"], "bearer token");
    assert!(edit["at"].as_i64().unwrap_or(0) > 0);
    let before: serde_json::Value = serde_json::from_str(edit["before"].as_str().expect("before")).expect("JSON");
    let after: serde_json::Value = serde_json::from_str(edit["after"].as_str().expect("after")).expect("JSON");
    assert_eq!((before["variants"][0]["weight"].clone(), after["variants"][0]["weight"].clone()), (json!(50), json!(20)));

    // A revert needs the current version too.
    let stale = admin_write(&server, "POST", &format!("/api/history/{edit_id}/revert"), saved.json()["etag"].as_str().unwrap_or_default(), "");
    assert_eq!(stale.status, 412, "{}", stale.text());
    let reverted = admin_write(&server, "POST", &format!("/api/history/{edit_id}/revert"), &etag(&server), "");
    assert_eq!(reverted.status, 200, "{}", reverted.text());
    let hero = reverted.json()["experiment"].clone();
    assert_eq!(hero["variants"][0]["weight"], json!(50), "the weights as before the edit");
    assert_eq!((hero["status"].clone(), hero["winner"].clone()), (json!("stopped"), json!("b")), "the later winner stays");
    let history = server.json("/api/history?experiment=hero");
    assert_eq!(history["changes"][0]["action"], "revert");
    assert_eq!(history["changes"][0]["reverts"], edit_id);
    assert_eq!(server.json("/api/history")["changes"].as_array().map(Vec::len), Some(3));

    // Archive (hero is stopped now): marked in the file and in the list; Start takes it out again.
    let archived = admin_write(&server, "POST", "/api/experiments/hero/archive", &etag(&server), "");
    assert_eq!(archived.status, 200, "{}", archived.text());
    assert_eq!(archived.json()["experiment"]["archived"], true);
    let listed = |server: &TestServer| {
        let list = server.json("/api/experiments");
        list["experiments"].as_array().and_then(|l| l.iter().find(|e| e["key"] == "hero")).map(|h| h["archived"].clone())
    };
    assert_eq!(listed(&server), Some(json!(true)));
    let restarted = admin_write(&server, "POST", "/api/experiments/hero/start", &etag(&server), "");
    assert_eq!(restarted.status, 200, "{}", restarted.text());
    assert_eq!(restarted.json()["experiment"].get("archived"), None, "{}", restarted.text());
    assert_eq!(restarted.json()["experiment"].get("winner"), None);
    assert_eq!(listed(&server), Some(json!(false)));

    // Reverting a creation removes the experiment again, and the file is as it was.
    let created = admin_write(&server, "POST", "/api/experiments", &etag(&server), r#"{"key": "new-one", "variants": [{"key": "a"}, {"key": "b"}]}"#);
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["experiment"]["status"], "draft", "a new experiment is a draft");
    let create_id = created.json()["change"].as_i64().expect("id");
    let removed = admin_write(&server, "POST", &format!("/api/history/{create_id}/revert"), &etag(&server), "");
    assert_eq!(removed.status, 200, "{}", removed.text());
    assert_eq!(removed.json()["experiment"], serde_json::Value::Null);
    assert_eq!(server.get("/api/experiments/new-one/definition").status, 404);
    assert_eq!(admin_write(&server, "POST", "/api/history/999/revert", &etag(&server), "").status, 404);
    assert!(config_text(&server).contains("\"traffic\":0.50"), "cart untouched throughout");
    assert_ne!(config_text(&server), original, "hero was started");
}
