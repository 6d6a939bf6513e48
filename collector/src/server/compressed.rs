//! Bytes compressed once and served many times: the rendered `/splitbeam.js` and the built files
//! of `--dist` (wasm, glue) are gzip -9 and brotli 11 encoded when first served after a build or a
//! config change, instead of by the compression layer on every request (which cost 1.8 cores at
//! 4.5 k snippet requests/s).

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// One body in the three encodings a browser may take.
pub struct Compressed {
    pub plain: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
}

impl Compressed {
    /// Slow at these levels (tens of ms for a wasm file): call off the async threads.
    pub fn new(plain: Bytes) -> Compressed {
        let gzip = gzip(&plain);
        let brotli = brotli(&plain);
        Compressed { plain, gzip, brotli }
    }

    /// The encoding the request prefers; `Vary: Accept-Encoding` and `Content-Encoding` set on
    /// `response`, whose body is replaced (the compression layer leaves an encoded body alone).
    pub fn answer(&self, request: &HeaderMap, mut response: Response) -> Response {
        let (encoding, body) = match preferred(request) {
            Encoding::Brotli => (Some("br"), self.brotli.clone()),
            Encoding::Gzip => (Some("gzip"), self.gzip.clone()),
            Encoding::Identity => (None, self.plain.clone()),
        };
        *response.body_mut() = axum::body::Body::from(body);
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.remove(header::CONTENT_LENGTH);
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Brotli when the client takes it, else gzip, else the plain bytes (`;q=0` refuses a coding).
fn preferred(headers: &HeaderMap) -> Encoding {
    let accepts = |coding: &str| {
        headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let named = parts.next().is_some_and(|name| name.eq_ignore_ascii_case(coding));
            let refused = parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
            named && !refused
        })
    };
    if accepts("br") {
        Encoding::Brotli
    } else if accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}

fn brotli(bytes: &[u8]) -> Bytes {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, ..Default::default() };
    let _ = brotli::BrotliCompress(&mut std::io::Cursor::new(bytes), &mut out, &params);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn brotli_first_then_gzip_and_q_zero_refuses() {
        assert_eq!(preferred(&accept("gzip, deflate, br, zstd")), Encoding::Brotli);
        assert_eq!(preferred(&accept("gzip, br;q=0")), Encoding::Gzip);
        assert_eq!(preferred(&accept("identity")), Encoding::Identity);
        assert_eq!(preferred(&HeaderMap::new()), Encoding::Identity);
    }
}
