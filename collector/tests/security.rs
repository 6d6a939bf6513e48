//! Issue 15: what an anonymous caller can reach. Static folders serve only public files inside them;
//! the dashboard, API and metrics are same-origin only and cannot be framed; what browsers get holds
//! no draft's copy and no saved group's ids in clear; drafts show only through a signed preview link.

mod common;

use std::path::Path;
use std::process::Command;

use common::{baked_config, batch, exposure, request, TestServer, ADMIN, CONFIG};
use splitbeam_collector::preview::{now_secs, PreviewKey};

const DRAFT_COPY: &str = "UNRELEASED-DRAFT-COPY";
const RUNNING_COPY: &str = "Released running copy";
const QA_VISITOR: &str = "v_qa0000000000000000000000000001";

/// A running experiment for the `qa` group, a stopped one with a winner, and a draft with unreleased copy.
fn config_with_draft() -> String {
    format!(
        r##"{{
  "version": 1,
  "groups": {{ "qa": ["{QA_VISITOR}", "v_qa0000000000000000000000000002"] }},
  "experiments": [
    {{ "key": "live", "status": "running", "audience": {{ "id": {{ "$inGroup": "qa" }} }},
      "variants": [ {{ "key": "control" }}, {{ "key": "b", "changes": [ {{ "selector": "h1", "text": "{RUNNING_COPY}" }} ] }} ] }},
    {{ "key": "old-test", "status": "stopped", "winner": "winner",
      "variants": [ {{ "key": "control" }}, {{ "key": "loser", "changes": [ {{ "selector": "h3", "text": "RETIRED-LOSER-COPY" }} ] }},
        {{ "key": "winner", "changes": [ {{ "selector": "h4", "text": "Winning copy for everyone" }} ] }} ] }},
    {{ "key": "next-sale", "status": "draft", "pages": ["/sale"],
      "variants": [ {{ "key": "control" }}, {{ "key": "b", "changes": [ {{ "selector": ".banner", "text": "{DRAFT_COPY}" }} ] }} ] }}
  ]
}}"##
    )
}

/// A stand-in build: loaders with the config marker, the tag template with its marker.
fn fake_dist(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dist");
    for loader in ["splitbeam.js", "splitbeam-audience.js"] {
        std::fs::write(dir.join(loader), "var c={c:\"__SPLITBEAM_CONFIG__\"}.c;/* splitbeam_first.0123456789abcdef.wasm */")
            .expect("loader");
    }
    std::fs::write(dir.join("tag.js"), "x='__SPLITBEAM_TAG__'").expect("tag");
    std::fs::write(dir.join("splitbeam_first.0123456789abcdef.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
}

/// A loader's text with its compiled config decoded next to it, so a grep sees the strings the
/// browser would decode.
fn readable(body: &str) -> String {
    let mut out = body.to_string();
    if body.contains("\"b\":\"") {
        out.push_str(&String::from_utf8_lossy(&baked_config(body)));
    }
    out
}

fn splitbeam(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_splitbeam")).args(args).output().expect("the splitbeam binary runs")
}

#[test]
fn dotfiles_links_out_and_odd_paths_are_refused_under_shop() {
    let server = TestServer::start_with(CONFIG, |o| o.site = Some(o.config.with_file_name("site")));
    let site = server.path("site");
    std::fs::create_dir_all(site.join(".git")).expect("site");
    std::fs::create_dir_all(site.join("products")).expect("site");
    std::fs::write(site.join("index.html"), "<h1>shop</h1>").expect("index");
    std::fs::write(site.join("products/1.html"), "<h1>product</h1>").expect("page");
    std::fs::write(site.join(".env"), "SECRET_ENV=1").expect(".env");
    std::fs::write(site.join(".git/config"), "[remote] SECRET_GIT").expect(".git/config");
    std::fs::write(server.path("outside.txt"), "SECRET_OUTSIDE").expect("outside");
    std::fs::create_dir_all(server.path("outside-dir")).expect("outside dir");
    std::fs::write(server.path("outside-dir/index.html"), "SECRET_OUTSIDE_INDEX").expect("outside index");
    std::os::unix::fs::symlink(server.path("outside.txt"), site.join("leak.txt")).expect("symlink");
    std::os::unix::fs::symlink(server.path("outside-dir"), site.join("leak-dir")).expect("symlink");
    std::os::unix::fs::symlink(site.join("products/1.html"), site.join("alias.html")).expect("symlink inside");

    assert_eq!(server.get("/shop/").status, 200);
    assert_eq!(server.get("/shop/products/1.html").status, 200);
    assert_eq!(server.get("/shop/alias.html").status, 200, "a link that stays inside the folder is served");
    let long = "a".repeat(4096);
    let refused = [
        ("/shop/.env", 404),
        ("/shop/.git/config", 404),
        ("/shop/%2egit/config", 404),
        ("/shop/products/.env", 404),
        ("/shop/leak.txt", 404),
        ("/shop/leak-dir/", 404),
        ("/shop/leak-dir/index.html", 404),
        ("/shop/%2e%2e/outside.txt", 404),
        ("/shop/products/..%2f..%2foutside.txt", 404),
        ("/shop/%2e%2e%2f%2e%2e%2fexperiments.json", 404),
        ("/shop/a%00b", 400),
        ("/shop/a%zz", 400),
        ("/shop/a%5c..%5coutside.txt", 400),
        (&format!("/shop/{}", &long[..300]), 404),
    ];
    for (path, status) in refused {
        let response = server.get(path);
        assert_eq!(response.status, status, "{path}");
        assert!(!response.text().contains("SECRET"), "{path}: {}", response.text());
    }
    // A 4 KB path segment: refused before the file system sees it (it answered 500 before).
    let response = server.get(&format!("/shop/{long}"));
    assert!((400..500).contains(&response.status), "4 KB segment: {}", response.status);
    let response = server.get(&format!("/shop/products/{}", &long[..2000]));
    assert!((400..500).contains(&response.status), "2 KB segment: {}", response.status);
}

#[test]
fn the_dist_route_refuses_links_out_and_hidden_files() {
    let server = TestServer::start();
    let dist = server.path("dist");
    fake_dist(&dist);
    std::fs::write(dist.join(".env"), "SECRET_ENV=1").expect(".env");
    std::fs::write(server.path("outside.js"), "SECRET_OUTSIDE").expect("outside");
    std::os::unix::fs::symlink(server.path("outside.js"), dist.join("leak.js")).expect("symlink");
    std::os::unix::fs::symlink(server.path("outside.js"), dist.join("tag.js.bak")).expect("symlink");
    assert_eq!(server.get("/splitbeam_first.0123456789abcdef.wasm").status, 200);
    for path in ["/.env", "/leak.js", "/tag.js.bak", "/%2e%2e%2foutside.js", "/..%2Foutside.js", "/a%00b"] {
        let response = server.get(path);
        assert!((400..500).contains(&response.status), "{path}: {}", response.status);
        assert!(!response.text().contains("SECRET"), "{path}");
    }
    let response = server.get(&format!("/{}", "a".repeat(4096)));
    assert!((400..500).contains(&response.status), "4 KB name: {}", response.status);
    // The loader itself, linked out of the folder, is not served either.
    std::fs::remove_file(dist.join("splitbeam.js")).expect("rm");
    std::os::unix::fs::symlink(server.path("outside.js"), dist.join("splitbeam.js")).expect("symlink");
    let loader = server.get("/splitbeam.js");
    assert_eq!(loader.status, 503);
    assert!(!loader.text().contains("SECRET"));
}

#[test]
fn the_dashboard_and_the_api_forbid_framing_sniffing_and_referrers() {
    let server = TestServer::start();
    for path in ["/", "/experiments/hero", "/api/experiments", "/api/experiments/hero/results", "/metrics"] {
        let response = server.get(path);
        assert_eq!(response.status, 200, "{path}");
        let csp = response.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp:?}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
    }
    // The page has no inline script or style for that CSP to block.
    let page = server.get("/").text();
    assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains(" style="), "{page}");
    for path in ["/dashboard/app.js", "/healthz", "/experiments.json", "/nope"] {
        assert_eq!(server.get(path).header("x-content-type-options"), Some("nosniff"), "{path}");
    }
}

#[test]
fn cors_is_only_on_what_a_shop_page_uses() {
    let server = TestServer::start();
    fake_dist(&server.path("dist"));
    let origin = [("Origin", "https://shop.example")];
    for path in ["/api/experiments", "/api/experiments/hero/results", "/metrics", "/", "/dashboard/app.js", "/healthz"] {
        let response = request(server.addr, "GET", path, &[origin[0], ADMIN], b"").expect("GET");
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.header("access-control-allow-origin"), None, "{path}");
        let preflight = request(
            server.addr,
            "OPTIONS",
            path,
            &[("Origin", "https://shop.example"), ("Access-Control-Request-Method", "GET")],
            b"",
        )
        .expect("OPTIONS");
        assert_eq!(preflight.header("access-control-allow-origin"), None, "preflight {path}");
    }
    let body = batch(&[exposure("e1", "v1", "hero", "b", 100)]);
    let collect = request(server.addr, "POST", "/collect", &[("Origin", "https://shop.example"), ("Content-Type", "text/plain")], body.as_bytes())
        .expect("POST");
    assert_eq!((collect.status, collect.header("access-control-allow-origin")), (200, Some("*")));
    for path in ["/splitbeam.js", "/experiments.json", "/splitbeam_first.0123456789abcdef.wasm"] {
        let response = request(server.addr, "GET", path, &origin, b"").expect("GET");
        assert_eq!((response.status, response.header("access-control-allow-origin")), (200, Some("*")), "{path}");
    }
}

#[test]
fn no_public_route_carries_a_drafts_copy_or_a_qa_visitor_id() {
    let server = TestServer::start_with(&config_with_draft(), |_| {});
    fake_dist(&server.path("dist"));
    let loader = server.get("/splitbeam.js");
    assert_eq!(loader.status, 200);
    let loader = readable(&loader.text());
    assert!(loader.contains(RUNNING_COPY), "the running experiment is there: {loader}");
    assert!(loader.contains("Winning copy for everyone"), "a stopped experiment's winner is there: {loader}");
    let mut bodies = vec![("/splitbeam.js", loader)];
    for path in ["/experiments.json", "/tag.html", "/splitbeam-audience.js"] {
        let response = server.get(path);
        assert_eq!(response.status, 200, "{path}");
        bodies.push((path, readable(&response.text())));
    }
    let config = server.path("experiments.json");
    let dist = server.path("dist");
    let snippet = splitbeam(&["snippet", config.to_str().expect("utf-8"), "--dist", dist.to_str().expect("utf-8")]);
    assert!(snippet.status.success(), "{}", String::from_utf8_lossy(&snippet.stderr));
    let printed_snippet = readable(&String::from_utf8_lossy(&snippet.stdout));
    assert!(printed_snippet.contains(RUNNING_COPY));
    bodies.push(("splitbeam snippet", printed_snippet));
    let tag = splitbeam(&["tag", config.to_str().expect("utf-8"), "--src", "/splitbeam.js", "--dist", dist.to_str().expect("utf-8")]);
    assert!(tag.status.success(), "{}", String::from_utf8_lossy(&tag.stderr));
    bodies.push(("splitbeam tag", String::from_utf8_lossy(&tag.stdout).into_owned()));
    for (what, body) in &bodies {
        for secret in [DRAFT_COPY, "next-sale", ".banner", QA_VISITOR, "v_qa0000000000000000000000000002", "RETIRED-LOSER-COPY"] {
            assert!(!body.contains(secret), "{what} holds {secret:?}: {body}");
        }
    }
    // The group is still there, hashed: the audience can still be decided.
    let json = server.json("/experiments.json");
    assert_eq!(json["groups"]["qa"]["type"], "sha256");
    assert_eq!(json["groups"]["qa"]["values"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["experiments"].as_array().map(Vec::len), Some(2));
    assert!(server.get("/experiments.json").text().contains("Winning copy for everyone"));
}

#[test]
fn a_signed_preview_link_gets_the_draft_and_a_bad_or_expired_one_is_refused() {
    let server = TestServer::start_with(&config_with_draft(), |_| {});
    fake_dist(&server.path("dist"));
    // The key the server created at start-up, next to its database, readable by its owner only.
    let key_path = server.path("test.db.preview-key");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_path).expect("key file").permissions());
    assert_eq!(mode & 0o777, 0o600);
    let key = PreviewKey::load_or_create(&key_path).expect("key");
    let valid = key.sign("next-sale", now_secs() + 600);

    let preview = server.get(&format!("/splitbeam.js?preview={valid}"));
    assert_eq!(preview.status, 200, "{}", preview.text());
    assert_eq!(preview.header("cache-control"), Some("no-store"));
    assert!(readable(&preview.text()).contains(DRAFT_COPY));

    let other_key = PreviewKey::load_or_create(&server.path("other.key")).expect("other key");
    let tampered = valid.replacen("next-sale", "live", 1);
    let expired = key.sign("next-sale", now_secs() - 1);
    let forged = other_key.sign("next-sale", now_secs() + 600);
    for (what, token) in [("tampered", tampered.as_str()), ("expired", &expired), ("another key", &forged), ("malformed", "next-sale.1.x"), ("empty", "")] {
        let response = server.get(&format!("/splitbeam.js?preview={token}"));
        assert_eq!(response.status, 403, "{what}");
        assert!(!readable(&response.text()).contains(DRAFT_COPY), "{what}");
    }
    let unknown = key.sign("no-such-experiment", now_secs() + 600);
    assert_eq!(server.get(&format!("/splitbeam.js?preview={unknown}")).status, 404);
    // The public loader is unchanged by a preview having been served.
    assert!(!readable(&server.get("/splitbeam.js").text()).contains(DRAFT_COPY));
}

#[test]
fn preview_link_prints_a_link_the_collector_accepts() {
    let server = TestServer::start_with(&config_with_draft(), |_| {});
    fake_dist(&server.path("dist"));
    let config = server.path("experiments.json");
    let key = server.path("test.db.preview-key");
    let out = splitbeam(&[
        "preview-link", "next-sale", "--url", "https://shop.example/sale#top", "--config", config.to_str().expect("utf-8"),
        "--preview-key", key.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(link.starts_with("https://shop.example/sale?splitbeam-preview=next-sale."), "{link}");
    assert!(link.ends_with("&splitbeam=next-sale:b#top"), "{link}");
    let token = link.split("splitbeam-preview=").nth(1).and_then(|rest| rest.split('&').next()).expect("token");
    let preview = server.get(&format!("/splitbeam.js?preview={token}"));
    assert_eq!(preview.status, 200);
    assert!(readable(&preview.text()).contains(DRAFT_COPY));

    let unknown = splitbeam(&["preview-link", "nope", "--url", "https://shop.example/", "--config", config.to_str().expect("utf-8"), "--preview-key", key.to_str().expect("utf-8")]);
    assert!(!unknown.status.success());
    let bad_variant = splitbeam(&["preview-link", "next-sale", "--variant", "zzz", "--url", "https://shop.example/", "--config", config.to_str().expect("utf-8"), "--preview-key", key.to_str().expect("utf-8")]);
    assert!(!bad_variant.status.success());
}
