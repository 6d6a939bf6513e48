//! The dashboard a marketer looks at, compiled into the binary so `splitbeam serve` needs no files:
//! `/` (experiment list), `/experiments/{key}` (one experiment), `/experiments/{key}/edit` and
//! `/new-experiment` (the editor) serve one page; its assets live under `/dashboard/`.
//!
//! The page is static; it reads `/api/experiments` and `/api/experiments/{key}/results` (and the
//! results over time), refetching when `/api/live` says events were stored, or every 2 s when the
//! live feed cannot be had. Sources: `www/dashboard/` (plain HTML, CSS and ES modules, no build step). Every route here
//! is behind `admin::require_admin` (merged into the server's admin-only router).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("../../../www/dashboard/index.html");

/// Every file the page loads, by the name it has under `/dashboard/`.
const ASSETS: &[(&str, &str)] = &[
    ("app.js", include_str!("../../../www/dashboard/app.js")),
    ("dom.js", include_str!("../../../www/dashboard/dom.js")),
    ("format.js", include_str!("../../../www/dashboard/format.js")),
    ("charts.js", include_str!("../../../www/dashboard/charts.js")),
    ("list-view.js", include_str!("../../../www/dashboard/list-view.js")),
    ("experiment-view.js", include_str!("../../../www/dashboard/experiment-view.js")),
    ("live.js", include_str!("../../../www/dashboard/live.js")),
    ("over-time-view.js", include_str!("../../../www/dashboard/over-time-view.js")),
    ("over-time-charts.js", include_str!("../../../www/dashboard/over-time-charts.js")),
    ("dashboard.css", include_str!("../../../www/dashboard/dashboard.css")),
    ("config-api.js", include_str!("../../../www/dashboard/config-api.js")),
    ("experiment-editor.js", include_str!("../../../www/dashboard/experiment-editor.js")),
    ("experiment-form.js", include_str!("../../../www/dashboard/experiment-form.js")),
    ("history-view.js", include_str!("../../../www/dashboard/history-view.js")),
    ("editor.css", include_str!("../../../www/dashboard/editor.css")),
];

/// The dashboard's routes, to be merged into the server's router.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(page))
        .route("/experiments/{key}", get(page))
        .route("/experiments/{key}/edit", get(page))
        .route("/new-experiment", get(page))
        .route("/dashboard/{file}", get(asset))
}

/// The experiment key is read by the page's script from its URL, so every page route serves the same HTML.
async fn page() -> Response {
    // no-cache: a new binary may ship new assets; the files are small and served from memory.
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], INDEX_HTML).into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some((name, body)) = ASSETS.iter().find(|(name, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, format!("no dashboard file {file:?}\n")).into_response();
    };
    let content_type =
        if name.ends_with(".css") { "text/css; charset=utf-8" } else { "text/javascript; charset=utf-8" };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serves `router` on 127.0.0.1 and GETs `path`: (status, content type, body).
    async fn get_from(router: Router, path: &str) -> (u16, String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let path = path.to_string();
        let response = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).expect("connect");
            write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("write");
            let mut text = String::new();
            stream.read_to_string(&mut text).expect("read");
            text
        })
        .await
        .expect("client task");
        server.abort();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type: ").or_else(|| l.strip_prefix("Content-Type: ")))
            .unwrap_or_default()
            .to_string();
        (status, content_type, body.to_string())
    }

    #[tokio::test]
    async fn the_list_and_each_experiment_page_serve_the_dashboard_html() {
        for path in ["/", "/experiments/hero-headline", "/experiments/a%2Fb"] {
            let (status, content_type, body) = get_from(routes(), path).await;
            assert_eq!(status, 200, "{path}");
            assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
            assert!(body.contains("/dashboard/app.js"), "{path}");
        }
    }

    #[tokio::test]
    async fn the_scripts_and_styles_are_served_with_their_types() {
        let (status, content_type, body) = get_from(routes(), "/dashboard/app.js").await;
        assert_eq!((status, content_type.as_str()), (200, "text/javascript; charset=utf-8"));
        assert!(body.contains("POLL_MS"));
        let (status, content_type, _) = get_from(routes(), "/dashboard/dashboard.css").await;
        assert_eq!((status, content_type.as_str()), (200, "text/css; charset=utf-8"));
    }

    #[tokio::test]
    async fn an_unknown_dashboard_file_is_not_found() {
        let (status, _, _) = get_from(routes(), "/dashboard/..%2FCargo.toml").await;
        assert_eq!(status, 404);
    }

    /// A module added to www/dashboard but not to ASSETS would load in the node test server and
    /// 404 in the binary: every file the page or a module refers to must be embedded.
    #[test]
    fn every_file_the_page_and_its_modules_load_is_embedded() {
        let mut wanted: Vec<String> = Vec::new();
        for prefix in ["href=\"/dashboard/", "src=\"/dashboard/"] {
            wanted.extend(INDEX_HTML.split(prefix).skip(1).filter_map(|rest| rest.split('"').next()).map(String::from));
        }
        for (_, body) in ASSETS {
            wanted.extend(body.split("from './").skip(1).filter_map(|rest| rest.split('\'').next()).map(String::from));
        }
        assert!(wanted.len() > ASSETS.len(), "found too few references: {wanted:?}");
        for file in wanted {
            assert!(ASSETS.iter().any(|(name, _)| *name == file), "{file} is referenced but not embedded");
        }
    }

    #[test]
    fn the_routes_merge_with_the_servers_top_level_files() {
        // axum panics on conflicting routes at merge time; the server also routes these.
        let server = Router::new()
            .route("/experiments.json", get(|| async { "{}" }))
            .route("/{file}", get(|| async { "file" }))
            .route("/api/experiments/{key}/results", get(|| async { "{}" }));
        let _merged = server.merge(routes());
    }
}
