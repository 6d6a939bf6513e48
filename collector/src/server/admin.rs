//! Who may see results: the middleware in front of the dashboard, the results API and (by
//! default) `/metrics`, and the sign-in and sign-out routes.
//!
//! A request is an admin's when it carries `Authorization: Bearer <admin token>` (scripts,
//! Prometheus) or a session cookie (`splitbeam_admin`, HttpOnly, SameSite=Strict) from signing in.
//! A session's writes (any method but GET/HEAD) also need its CSRF token in `X-CSRF-Token` and no
//! foreign `Origin`; bearer requests carry no ambient credential, so they need neither.
//! Without either: API routes answer 401 `{"error": "sign in"}`, pages 303 to `/signin`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;
use serde_json::json;

use super::rate_limit::client_address;
use super::AppState;
use crate::admin::{AdminToken, Session, SESSION_SECONDS};
use crate::preview::now_secs;

pub const COOKIE: &str = "splitbeam_admin";
/// The sign-in page's style, served at `/signin.css` to anyone (the page is shown before a session).
const SIGN_IN_CSS: &str = include_str!("../../../www/dashboard/signin.css");
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sign-in attempts per client address: 10 at once, then one per 6 s (a person mistyping is far
/// below it; with a 256-bit token it only keeps logs and CPU quiet).
const SIGN_IN_BURST: u32 = 10;
const SIGN_IN_EVERY_SECONDS: u64 = 6;
/// How long the printed sign-in link works: long enough to open it, short enough that a copy of
/// the start-up output (a log collector, scrollback) is not a key for long.
const SIGN_IN_CODE_SECONDS: u64 = 3600;

/// Who may read what (`serve --admin-token-file`, `--public-metrics`, `--private-healthz`).
pub struct Admin {
    pub token: AdminToken,
    /// The code in the sign-in link `serve` prints and when it expires (unix seconds); it works
    /// once, then only the token does.
    sign_in_code: Mutex<Option<(String, u64)>>,
    attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// Client address from X-Forwarded-For, and https from X-Forwarded-Proto (behind your own proxy).
    trust_forwarded: bool,
}

impl Admin {
    pub fn new(token: AdminToken, trust_forwarded: bool) -> anyhow::Result<Admin> {
        let mut code = [0u8; 24];
        getrandom::fill(&mut code).map_err(|e| anyhow::anyhow!("no random source for the sign-in code: {e}"))?;
        let code: String = code.iter().map(|b| format!("{b:02x}")).collect();
        let burst = NonZeroU32::new(SIGN_IN_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(std::time::Duration::from_secs(SIGN_IN_EVERY_SECONDS))
            .ok_or_else(|| anyhow::anyhow!("sign-in rate period is zero"))?
            .allow_burst(burst);
        Ok(Admin {
            token,
            sign_in_code: Mutex::new(Some((code, now_secs() + SIGN_IN_CODE_SECONDS))),
            attempts: DefaultKeyedRateLimiter::keyed(quota),
            trust_forwarded,
        })
    }

    /// The one-time code of the sign-in link, for the line `serve` prints (None once used).
    pub fn sign_in_code(&self) -> Option<String> {
        self.sign_in_code.lock().ok()?.as_ref().map(|(code, _)| code.clone())
    }

    /// Takes the one-time code if `candidate` is it (constant time) and it has not expired at
    /// `now`, so it works only once.
    fn redeem_code(&self, candidate: &str, now: u64) -> bool {
        let Ok(mut code) = self.sign_in_code.lock() else { return false };
        let Some((expected, expires)) = code.as_ref() else { return false };
        let equal = candidate.len() == expected.len()
            && candidate.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        let valid = equal && now < *expires;
        if valid || now >= *expires {
            *code = None;
        }
        valid
    }

    /// Consumes one sign-in attempt of this client; false once it has too many.
    pub(super) fn attempt_allowed(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
        match client_address(headers, peer, self.trust_forwarded) {
            Some(client) => self.attempts.check_key(&client).is_ok(),
            None => true,
        }
    }

    /// Forgets clients whose attempts are all back.
    pub fn forget_idle(&self) {
        self.attempts.retain_recent();
        self.attempts.shrink_to_fit();
    }

    /// Whether the browser reached us over https (directly is never: `serve` speaks plain HTTP).
    fn https(&self, headers: &HeaderMap) -> bool {
        self.trust_forwarded
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
    }

    fn session_cookie(&self, value: &str, headers: &HeaderMap) -> HeaderValue {
        let secure = if self.https(headers) { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}"))
            .unwrap_or_else(|_| HeaderValue::from_static("splitbeam_admin=; Path=/; Max-Age=0"))
    }

    fn cleared_cookie(&self, headers: &HeaderMap) -> HeaderValue {
        let secure = if self.https(headers) { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
            .unwrap_or_else(|_| HeaderValue::from_static("splitbeam_admin=; Path=/; Max-Age=0"))
    }

    fn session_of(&self, headers: &HeaderMap) -> Option<Session> {
        let now = now_secs();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .find_map(|value| self.token.session(value, now))
    }
}

pub(super) fn peer_of(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// A request a browser sent from another site. `Sec-Fetch-Site` decides when the browser sends it
/// (pages can't forge it, and under `Referrer-Policy: no-referrer` Chromium posts forms with
/// `Origin: null`, so Origin alone would refuse our own sign-in form); else a foreign `Origin` (its
/// host:port differs from `Host`, or `null`). Clients that send neither (curl) are not browsers.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(fetch_site) = headers.get("sec-fetch-site") {
        return !matches!(fetch_site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        // "null" (sandboxed frames, redirects across sites) or no Host: not provably ours.
        _ => true,
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn too_many_attempts() -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "too many sign-in attempts from this address; retry later");
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(SIGN_IN_EVERY_SECONDS));
    response
}

/// The answer to a request without a valid session: 401 for the API, metrics and writes (the
/// dashboard's script sends the user to sign in), 303 to the sign-in page for pages.
fn unauthenticated(request: &Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/metrics" || path == "/healthz" || !is_read(request.method()) {
        let mut response = error(StatusCode::UNAUTHORIZED, "sign in");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"splitbeam\""));
        return response;
    }
    let location = format!("/signin?next={}", encode_path(path));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Middleware on every private route.
pub async fn require_admin(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let admin = &state.admin;
    if let Some(authorization) = request.headers().get(header::AUTHORIZATION) {
        let presented = authorization.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default().trim();
        if admin.token.matches(presented) {
            return next.run(request).await;
        }
        // A wrong token is a failed sign-in, limited like one.
        if !admin.attempt_allowed(request.headers(), peer_of(&request)) {
            return too_many_attempts();
        }
        return unauthenticated(&request);
    }
    let Some(session) = admin.session_of(request.headers()) else { return unauthenticated(&request) };
    if !is_read(request.method()) {
        if cross_site(request.headers()) {
            return error(StatusCode::FORBIDDEN, "cross-site request refused");
        }
        let csrf = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !admin.token.csrf_matches(&session, csrf) {
            return error(StatusCode::FORBIDDEN, "missing or invalid CSRF token (X-CSRF-Token)");
        }
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

/// `GET /api/session`: the CSRF token the dashboard's script sends with writes (null for bearer requests).
pub async fn session_info(State(state): State<Arc<AppState>>, session: Result<Extension<Session>, axum::extract::rejection::ExtensionRejection>) -> Response {
    let csrf = session.ok().map(|Extension(s)| state.admin.token.csrf_token(&s));
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "csrf": csrf, "csrf_header": "X-CSRF-Token" })),
    )
        .into_response()
}

/// `POST /signout` (behind `require_admin`, so with the CSRF token): ends the session here and
/// clears the cookie.
pub async fn sign_out(State(state): State<Arc<AppState>>, session: Result<Extension<Session>, axum::extract::rejection::ExtensionRejection>, headers: HeaderMap) -> Response {
    if let Ok(Extension(session)) = session {
        state.admin.token.revoke(&session, now_secs());
    }
    let mut response = Json(json!({ "signed_out": true })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, state.admin.cleared_cookie(&headers));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    code: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

/// `GET /signin`: the form, or (with `?code=`) the one-time link `serve` printed, answered by a
/// redirect that sets the cookie, so the code is in no page a Referer could come from.
pub async fn sign_in_page(State(state): State<Arc<AppState>>, query: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>, request: Request) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let next = safe_next(query.next.as_deref());
    let Some(code) = query.code else { return page(StatusCode::OK, None, next) };
    if !state.admin.attempt_allowed(request.headers(), peer_of(&request)) {
        return too_many_attempts_page(next);
    }
    if !state.admin.redeem_code(&code, now_secs()) {
        return page(
            StatusCode::UNAUTHORIZED,
            Some("This sign-in link was already used, has expired or is not from this server. Sign in with the admin token."),
            next,
        );
    }
    signed_in(&state.admin, request.headers(), next)
}

/// `POST /signin` with `token` (and `next`) as a form.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // SameSite=Strict keeps other sites from riding a session; this keeps them from signing a
    // browser in (or burning its address's attempts) behind its back.
    if cross_site(&headers) {
        return page(StatusCode::FORBIDDEN, Some("Sign-in from another site refused."), "/");
    }
    let Ok(Form(form)) = form else { return page(StatusCode::BAD_REQUEST, Some("Enter the admin token."), "/") };
    let next = safe_next(form.next.as_deref());
    if !state.admin.attempt_allowed(&headers, Some(peer)) {
        return too_many_attempts_page(next);
    }
    if !state.admin.token.matches(form.token.trim()) {
        return page(StatusCode::UNAUTHORIZED, Some("That is not this server's admin token."), next);
    }
    signed_in(&state.admin, &headers, next)
}

fn too_many_attempts_page(next: &str) -> Response {
    let mut response = page(StatusCode::TOO_MANY_REQUESTS, Some("Too many sign-in attempts from this address. Wait a minute."), next);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(SIGN_IN_EVERY_SECONDS));
    response
}

fn signed_in(admin: &Admin, headers: &HeaderMap, next: &str) -> Response {
    let cookie = match admin.token.open_session(now_secs()) {
        Ok(cookie) => cookie,
        Err(e) => {
            tracing::error!("opening a session: {e:#}");
            return page(StatusCode::SERVICE_UNAVAILABLE, Some("The server could not open a session; try again."), next);
        }
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, next.to_string())]).into_response();
    response.headers_mut().insert(header::SET_COOKIE, admin.session_cookie(&cookie, headers));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where to go after signing in: a path on this server, never another site (`//evil`, `/\evil`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && n.len() <= 512
            && n.bytes().all(|b| b.is_ascii_graphic()) => n,
        _ => "/",
    }
}

/// Percent-encodes a path for a query value (everything but unreserved characters and `/`).
fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// `GET /signin.css`.
pub async fn sign_in_css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SIGN_IN_CSS).into_response()
}

/// The sign-in page: one field, posted to `/signin`. No script or inline style (the private CSP).
fn page(status: StatusCode, message: Option<&str>, next: &str) -> Response {
    let message = message.map(|m| format!("<p class=\"signin-error\" role=\"alert\">{}</p>\n", escape_html(m))).unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>splitbeam · sign in</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/signin.css\">\n</head>\n<body>\n\
         <main>\n<h1>Sign in to splitbeam</h1>\n{message}\
         <form method=\"post\" action=\"/signin\">\n\
         <label for=\"token\">Admin token</label>\n\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\n\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p>The token is in the file <code>&lt;database&gt;.admin-token</code> next to the collector's database \
         (or the one given with <code>--admin-token-file</code>); <code>splitbeam serve</code> also prints a one-time sign-in link when it starts.</p>\n\
         </main>\n</body>\n</html>\n",
        escape_html(next)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_only_paths_on_this_server() {
        assert_eq!(safe_next(Some("/experiments/hero")), "/experiments/hero");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "/a b", "javascript:alert(1)"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn a_foreign_origin_or_fetch_site_is_cross_site() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&headers), "curl sends neither");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!cross_site(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!cross_site(&headers), "our own form under no-referrer: Origin null, Sec-Fetch-Site same-origin");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(cross_site(&headers));
    }

    #[test]
    fn the_one_time_code_works_once() {
        let admin = Admin::new(AdminToken::new(&"c3".repeat(32)).expect("token"), false).expect("admin");
        let code = admin.sign_in_code().expect("a code");
        let now = now_secs();
        assert!(!admin.redeem_code("wrong", now));
        assert!(admin.redeem_code(&code, now));
        assert!(!admin.redeem_code(&code, now));
        assert_eq!(admin.sign_in_code(), None);
    }

    #[test]
    fn the_one_time_code_expires() {
        let admin = Admin::new(AdminToken::new(&"c3".repeat(32)).expect("token"), false).expect("admin");
        let code = admin.sign_in_code().expect("a code");
        assert!(!admin.redeem_code(&code, now_secs() + SIGN_IN_CODE_SECONDS + 1));
        assert_eq!(admin.sign_in_code(), None, "an expired code is dropped");
    }

    #[test]
    fn paths_are_encoded_for_the_next_parameter() {
        assert_eq!(encode_path("/experiments/a&b c"), "/experiments/a%26b%20c");
    }
}
