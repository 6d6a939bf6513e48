//! A token bucket per client address on `/collect`: past it, 429 with Retry-After (which the
//! snippet honours). The defaults are far above what a shop's visitors behind one address send
//! (a visitor posts about one batch every two seconds while active), so they only slow a flood.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde_json::json;

use super::AppState;

/// How requests are limited per client (`serve --rate-limit`, `--rate-burst`, `--trust-forwarded-for`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitOptions {
    /// Sustained requests per second per client; 0 turns the limit off.
    pub per_second: u32,
    /// Requests a client may send at once before the sustained rate applies.
    pub burst: u32,
    /// The client is the last address of `X-Forwarded-For` (set by the shop's own proxy), not the
    /// peer: only behind a proxy that overwrites the header, or any caller could choose its key.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitOptions {
    fn default() -> RateLimitOptions {
        RateLimitOptions { per_second: 50, burst: 200, trust_forwarded_for: false }
    }
}

pub struct RateLimiter {
    buckets: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl RateLimiter {
    /// `None` when the limit is off.
    pub fn new(options: &RateLimitOptions) -> Option<RateLimiter> {
        let per_second = NonZeroU32::new(options.per_second)?;
        let burst = NonZeroU32::new(options.burst.max(options.per_second)).unwrap_or(per_second);
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Some(RateLimiter { buckets: DefaultKeyedRateLimiter::keyed(quota), trust_forwarded_for: options.trust_forwarded_for })
    }

    /// How long the client must wait, or `None` when the request may go on.
    fn wait(&self, client: IpAddr) -> Option<Duration> {
        self.buckets.check_key(&client).err().map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients whose bucket is full again, so the table holds only recent clients.
    pub fn forget_idle(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }

    fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        client_address(headers, peer, self.trust_forwarded_for)
    }
}

/// The client a request counts against: the last `X-Forwarded-For` entry when trusted, else the
/// peer; IPv6 by /64. Shared by `/collect`'s limit and the sign-in attempts' one.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?.rsplit(',').next()?.trim().parse().ok())
        .flatten();
    forwarded.or(peer.map(|p| p.ip())).map(bucket_key)
}

/// One bucket per IPv4 address and per IPv6 /64: one host usually holds a whole /64, so keying
/// by full IPv6 addresses would give a flood a fresh bucket per request.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// `/collect`'s check, called first thing by its handler (a middleware layer would cost every
/// request a boxed future and a service clone): the 429 to answer when the client is past its
/// bucket, `None` when the request may go on (or the limit is off).
pub fn refuse(state: &AppState, request: &Request) -> Option<Response> {
    let limiter = state.rate_limiter.as_ref()?;
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let wait = limiter.client(request.headers(), peer).and_then(|client| limiter.wait(client))?;
    state.metrics.requests_rate_limited.fetch_add(1, Ordering::Relaxed);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "error": "too many requests from this address; retry after the Retry-After delay" })),
    )
        .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    Some(response)
}

/// Every minute, drops the buckets of clients that have gone quiet.
pub fn spawn_forgetting(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Some(limiter) = &state.rate_limiter {
                limiter.forget_idle();
            }
            state.admin.forget_idle();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(bucket_key(a), bucket_key(b));
        assert_ne!(bucket_key(a), bucket_key(c));
        assert_eq!(bucket_key("::ffff:192.0.2.7".parse().expect("ip")), "192.0.2.7".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn a_burst_past_the_bucket_must_wait_and_other_clients_do_not() {
        let limiter = RateLimiter::new(&RateLimitOptions { per_second: 1, burst: 3, trust_forwarded_for: false }).expect("on");
        let one: IpAddr = "192.0.2.1".parse().expect("ip");
        let two: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!((0..3).all(|_| limiter.wait(one).is_none()));
        assert!(limiter.wait(one).is_some_and(|w| w <= Duration::from_secs(1)));
        assert!(limiter.wait(two).is_none());
        assert!(RateLimiter::new(&RateLimitOptions { per_second: 0, ..RateLimitOptions::default() }).is_none());
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.4"));
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let trusting = RateLimiter::new(&RateLimitOptions { trust_forwarded_for: true, ..RateLimitOptions::default() }).expect("on");
        let wary = RateLimiter::new(&RateLimitOptions::default()).expect("on");
        assert_eq!(trusting.client(&headers, Some(peer)), Some("198.51.100.4".parse().expect("ip")));
        assert_eq!(wary.client(&headers, Some(peer)), Some("127.0.0.1".parse().expect("ip")));
    }
}
