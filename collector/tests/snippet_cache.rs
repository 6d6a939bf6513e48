//! `/splitbeam.js` is rendered once per (built loader, live config) and then served from memory,
//! with an ETag so browsers revalidating it on every page get a 304 instead of the bytes.

mod common;

use std::time::Duration;

use common::{baked_config, request, Response, TestServer, CONFIG};

/// A built loader with the marker where the config is baked in.
const LOADER: &str = r#"var config = "__SPLITBEAM_CONFIG__"; /* loader v1 */"#;

fn server_with_loader(loader: &str) -> TestServer {
    let server = TestServer::start();
    std::fs::create_dir_all(server.path("dist")).expect("dist");
    std::fs::write(server.path("dist").join("splitbeam.js"), loader).expect("loader");
    server
}

fn snippet(server: &TestServer) -> Response {
    let response = server.get("/splitbeam.js");
    assert_eq!(response.status, 200, "{}", response.text());
    response
}

/// The compiled config baked into a served loader, as text where it is UTF-8.
fn baked(response: &Response) -> String {
    String::from_utf8_lossy(&baked_config(&response.text())).into_owned()
}

fn etag(response: &Response) -> String {
    response.header("etag").expect("an ETag on /splitbeam.js").to_string()
}

/// The value of a counter on `/metrics`.
fn counter(server: &TestServer, name: &str) -> u64 {
    let metrics = server.get("/metrics").text();
    let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name} in {metrics}"));
    line[name.len()..].trim().parse().unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn unchanged_inputs_give_the_same_body_and_etag_from_one_render() {
    let server = server_with_loader(LOADER);
    let first = snippet(&server);
    let second = snippet(&server);
    let third = snippet(&server);
    assert!(first.text().contains("/* loader v1 */") && baked(&first).contains("Free shipping"), "{}", first.text());
    assert_eq!((&second.body, etag(&second)), (&first.body, etag(&first)));
    assert_eq!((&third.body, etag(&third)), (&first.body, etag(&first)));
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 1);
}

#[test]
fn a_matching_if_none_match_is_answered_304_without_a_body() {
    let server = server_with_loader(LOADER);
    let tag = etag(&snippet(&server));
    let again = request(server.addr, "GET", "/splitbeam.js", &[("If-None-Match", &tag)], b"").expect("GET");
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    // The config can change under the same URL: revalidated on every use (in the background).
    assert_eq!(again.header("cache-control"), Some("public, max-age=0, stale-while-revalidate=86400"));
    let other = request(server.addr, "GET", "/splitbeam.js", &[("If-None-Match", "W/\"stale\"")], b"").expect("GET");
    assert_eq!(other.status, 200, "another tag gets the body");
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 1);
}

#[test]
fn a_compressed_snippet_carries_the_same_etag_and_revalidates_to_an_empty_304() {
    // A loader long enough to be worth compressing, as the built one is.
    let server = server_with_loader(&format!("{LOADER}{}", "/* padding */".repeat(200)));
    let tag = etag(&snippet(&server));
    let accept = [("Accept-Encoding", "gzip, br")];
    let compressed = request(server.addr, "GET", "/splitbeam.js", &accept, b"").expect("GET");
    assert_eq!((compressed.status, compressed.header("content-encoding")), (200, Some("br")));
    assert_eq!(compressed.header("etag"), Some(tag.as_str()));
    let again = request(server.addr, "GET", "/splitbeam.js", &[accept[0], ("If-None-Match", &tag)], b"").expect("GET");
    assert_eq!((again.status, again.body.len(), again.header("content-encoding")), (304, 0, None));
}

#[test]
fn a_config_reload_bakes_the_new_config_into_a_new_body_and_etag() {
    let server = server_with_loader(LOADER);
    let before = snippet(&server);
    let edited = CONFIG.replace("Free shipping", "Free shipping, round two");
    std::fs::write(server.path("experiments.json"), &edited).expect("edit");
    // The watcher polls the file every second.
    let reloaded = common::eventually(Duration::from_secs(5), || baked(&snippet(&server)).contains("round two"));
    assert!(reloaded, "the new config was never baked in");
    let after = snippet(&server);
    assert_ne!(etag(&after), etag(&before));
    let stale = request(server.addr, "GET", "/splitbeam.js", &[("If-None-Match", &etag(&before))], b"").expect("GET");
    assert_eq!(stale.status, 200, "the old ETag no longer matches");
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 2);
}

#[test]
fn a_rebuilt_loader_is_served_on_the_next_request() {
    let server = server_with_loader(LOADER);
    let before = snippet(&server);
    std::fs::write(server.path("dist").join("splitbeam.js"), LOADER.replace("v1", "v2, rebuilt")).expect("rebuild");
    let after = snippet(&server);
    assert!(after.text().contains("/* loader v2, rebuilt */") && baked(&after).contains("Free shipping"), "{}", after.text());
    assert_ne!(etag(&after), etag(&before));
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 2);
}

#[test]
fn a_rebuild_of_the_same_length_with_the_old_modification_time_is_still_noticed() {
    // Copies that keep mtimes (`cp -p`, rsync, reproducible builds) must not hide a new glue.
    let server = server_with_loader(LOADER);
    let file = server.path("dist").join("splitbeam.js");
    let before = snippet(&server);
    let modified = std::fs::metadata(&file).and_then(|m| m.modified()).expect("mtime");
    std::fs::write(&file, LOADER.replace("v1", "v2")).expect("rebuild");
    std::fs::File::options().write(true).open(&file).and_then(|f| f.set_modified(modified)).expect("keep the old mtime");
    let after = snippet(&server);
    assert!(after.text().contains("/* loader v2 */"), "the old loader was served: {}", after.text());
    assert_ne!(etag(&after), etag(&before));
}

#[test]
fn an_unbuilt_loader_is_a_503_that_names_no_path_of_the_server() {
    let server = TestServer::start();
    let response = server.get("/splitbeam.js");
    assert_eq!(response.status, 503);
    assert!(response.text().contains("not built"), "{}", response.text());
    // Where the server keeps its files is its own business (the log says it, with how to build).
    let dir = server.dir.path().display().to_string();
    assert!(!response.text().contains(&dir) && !response.text().contains("/dist"), "{}", response.text());
}

#[test]
fn a_deleted_loader_is_not_hidden_by_the_cache() {
    let server = server_with_loader(LOADER);
    snippet(&server);
    std::fs::remove_file(server.path("dist").join("splitbeam.js")).expect("delete");
    let response = server.get("/splitbeam.js");
    assert_eq!(response.status, 503);
    assert!(response.text().contains("not built"), "{}", response.text());
}

#[test]
fn compressed_bytes_are_made_once_per_render_and_decode_to_the_plain_loader() {
    use std::io::Read;
    let server = server_with_loader(LOADER);
    let plain = snippet(&server);
    assert_eq!(plain.header("content-encoding"), None);
    let get = |encoding: &str| request(server.addr, "GET", "/splitbeam.js", &[("Accept-Encoding", encoding)], b"").expect("GET");
    for _ in 0..3 {
        let br = get("gzip, deflate, br");
        assert_eq!(br.header("content-encoding"), Some("br"));
        assert_eq!(br.header("vary"), Some("accept-encoding"));
        let mut decoded = Vec::new();
        brotli::Decompressor::new(br.body.as_slice(), 4096).read_to_end(&mut decoded).expect("brotli");
        assert_eq!(decoded, plain.body);
        let gz = get("gzip, br;q=0");
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(gz.body.as_slice()).read_to_end(&mut decoded).expect("gzip");
        assert_eq!(decoded, plain.body);
        assert_eq!(etag(&gz), etag(&plain));
    }
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 1, "a compressed answer rendered the loader again");
}

#[test]
fn built_files_are_served_compressed_and_a_rebuild_is_served_at_once() {
    use std::io::Read;
    let server = server_with_loader(LOADER);
    let file = server.path("dist").join("splitbeam_bg.0123456789abcdef.wasm");
    let original: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(&file, &original).expect("wasm");
    let get = |encoding: &str| {
        request(server.addr, "GET", "/splitbeam_bg.0123456789abcdef.wasm", &[("Accept-Encoding", encoding)], b"").expect("GET")
    };
    for _ in 0..2 {
        let br = get("br");
        assert_eq!((br.status, br.header("content-encoding")), (200, Some("br")));
        let mut decoded = Vec::new();
        brotli::Decompressor::new(br.body.as_slice(), 4096).read_to_end(&mut decoded).expect("brotli");
        assert_eq!(decoded, original);
        assert!(br.body.len() < original.len() / 10, "not compressed: {} bytes", br.body.len());
        let plain = get("identity");
        assert_eq!((plain.header("content-encoding"), &plain.body), (None, &original));
    }
    let rebuilt: Vec<u8> = (0..50_001u32).map(|i| (i % 5) as u8).collect();
    std::fs::write(&file, &rebuilt).expect("rebuild");
    let gz = get("gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice()).read_to_end(&mut decoded).expect("gzip");
    assert_eq!(decoded, rebuilt, "the cache hid a rebuilt file");
}

#[test]
fn a_config_reload_renders_the_loader_before_any_shop_page_asks_for_it() {
    let server = server_with_loader(LOADER);
    snippet(&server);
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 1);
    let edited = CONFIG.replace("Free shipping", "Free shipping, warmed");
    std::fs::write(server.path("experiments.json"), &edited).expect("edit");
    // Nothing asks for /splitbeam.js meanwhile: the watcher renders it after the reload.
    let warmed = common::eventually(Duration::from_secs(10), || counter(&server, "splitbeam_snippet_renders_total") == 2);
    assert!(warmed, "the reloaded config's loader was not rendered ahead of a request");
    assert!(baked(&snippet(&server)).contains("warmed"));
    assert_eq!(counter(&server, "splitbeam_snippet_renders_total"), 2, "the request rendered it again");
}
