//! What the static routes may serve: files inside their folder and meant for the public. The demo
//! shop (`--site`, under `/shop/`) and the built snippet (`--dist`, at `/{file}`) refuse dotfiles
//! (`.env`, `.git/config`: any path segment starting with `.`), symlinks that lead out of the folder,
//! and odd paths (bad percent-encoding, NUL, backslashes, overlong names) with a 4xx: the file
//! system's own errors for such names (ENAMETOOLONG, ELOOP, …) never become a 500.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// No file system the collector runs on names a file longer than this (NAME_MAX).
const MAX_SEGMENT_BYTES: usize = 255;
/// Longer request paths are refused before any file system call.
const MAX_PATH_BYTES: usize = 4096;

/// Why a request path names nothing servable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Hidden, outside the folder, or a name no file can have: as if it did not exist.
    NotFound,
    /// Not a path at all (bad percent-encoding, invalid UTF-8, NUL, backslash).
    BadRequest,
    /// Longer than any path this server serves.
    TooLong,
}

impl Refused {
    pub fn status(self) -> StatusCode {
        match self {
            Refused::NotFound => StatusCode::NOT_FOUND,
            Refused::BadRequest => StatusCode::BAD_REQUEST,
            Refused::TooLong => StatusCode::URI_TOO_LONG,
        }
    }
}

/// The URL path `raw` (percent-encoded, relative to the folder) as plain segments joined into a
/// relative path. Decoded first, so `%2e%2e%2f` is the `..` segment it spells.
pub fn relative_path(raw: &str) -> Result<PathBuf, Refused> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(Refused::TooLong);
    }
    let bytes = percent_decode(raw.as_bytes()).ok_or(Refused::BadRequest)?;
    let text = String::from_utf8(bytes).map_err(|_| Refused::BadRequest)?;
    if text.contains(['\0', '\\']) {
        return Err(Refused::BadRequest);
    }
    let mut relative = PathBuf::new();
    for segment in text.split('/').filter(|s| !s.is_empty()) {
        // `.`, `..` and every dotfile or dot-folder (`.git`, `.env`, `.well-known`) alike.
        if segment.starts_with('.') || segment.len() > MAX_SEGMENT_BYTES {
            return Err(Refused::NotFound);
        }
        relative.push(segment);
    }
    // Belt and braces: only plain names may remain (no root, prefix or parent component).
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Refused::NotFound);
    }
    Ok(relative)
}

/// `%XX` decoded; `None` for a `%` not followed by two hex digits.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `relative` under `root_real` (the folder, already canonical), once every symlink is followed, if
/// it exists and stays inside the folder. A directory counts only if its `index.html` (what the
/// shop's ServeDir would answer) does not lead out either.
pub async fn resolve_inside(root_real: &Path, relative: &Path) -> Result<PathBuf, Refused> {
    let real = tokio::fs::canonicalize(root_real.join(relative)).await.map_err(|_| Refused::NotFound)?;
    if !real.starts_with(root_real) {
        return Err(Refused::NotFound);
    }
    if tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_dir()) {
        if let Ok(index) = tokio::fs::canonicalize(real.join("index.html")).await {
            if !index.starts_with(root_real) {
                return Err(Refused::NotFound);
            }
        }
    }
    Ok(real)
}

/// The file `name` (one plain segment) of the folder `dir`, if it is a file inside it.
pub async fn file_inside(dir: &Path, name: &str) -> Result<PathBuf, Refused> {
    let relative = relative_path(name)?;
    if relative.components().count() != 1 {
        return Err(Refused::NotFound);
    }
    // Canonical on every call: `--dist` may be a symlink that a deploy switches.
    let root_real = tokio::fs::canonicalize(dir).await.map_err(|_| Refused::NotFound)?;
    resolve_inside(&root_real, &relative).await
}

/// In front of the shop's ServeDir (the folder is the state): refuses what is hidden, outside or
/// odd, and turns the 500 ServeDir answers for a file system error on a request path into a 404
/// (a path an attacker chose is never the server's fault).
pub async fn guard_site(State(root): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    let checked = match relative_path(request.uri().path()) {
        // Canonical on every request: the folder may be created or switched while serving.
        Ok(relative) => match tokio::fs::canonicalize(root.as_path()).await {
            Ok(root_real) => resolve_inside(&root_real, &relative).await,
            Err(_) => Err(Refused::NotFound),
        },
        Err(refused) => Err(refused),
    };
    if let Err(refused) = checked {
        return (refused.status(), "not found\n").into_response();
    }
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if response.status().is_server_error() {
        tracing::warn!("shop: {path}: the file server answered {}; sent 404", response.status());
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_hidden_or_odd_ones_are_refused() {
        assert_eq!(relative_path("/products/1.html"), Ok(PathBuf::from("products/1.html")));
        assert_eq!(relative_path("/"), Ok(PathBuf::new()));
        assert_eq!(relative_path("/a%20b.html"), Ok(PathBuf::from("a b.html")));
        for hidden in ["/.env", "/.git/config", "/a/../b", "/%2e%2e/etc/passwd", "/a/%2e%2e%2f%2e%2e%2fetc", "/./x"] {
            assert_eq!(relative_path(hidden), Err(Refused::NotFound), "{hidden}");
        }
        for odd in ["/a%00b", "/a%zz", "/a%2", "/a%5cb", "/%ff%fe"] {
            assert_eq!(relative_path(odd), Err(Refused::BadRequest), "{odd}");
        }
        assert_eq!(relative_path(&format!("/{}", "a".repeat(300))), Err(Refused::NotFound));
        assert_eq!(relative_path(&format!("/{}", "a".repeat(4096))), Err(Refused::TooLong));
    }
}
