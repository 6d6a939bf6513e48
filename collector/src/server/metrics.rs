//! Counters and request-duration histograms for `/metrics`, in the Prometheus text format.
//! Kept by hand: a handful of atomics needs no metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    pub events_ingested: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub batches_accepted: AtomicU64,
    pub batches_rejected: AtomicU64,
    pub batches_overloaded: AtomicU64,
    /// Requests answered 429 by the per-client rate limit.
    pub requests_rate_limited: AtomicU64,
    /// Well-formed events refused one by one (a goal value out of range).
    pub events_refused: AtomicU64,
    /// Events stored from crawlers and automated browsers (kept out of results unless counted).
    pub events_from_bots: AtomicU64,
    /// Times `/splitbeam.js` was built from the loader file and the config (not served from cache).
    pub snippet_renders: AtomicU64,
    /// By method, then route: looked up with the request's own strings, allocating only for a
    /// route's first request.
    durations: Mutex<BTreeMap<String, BTreeMap<String, Histogram>>>,
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts one answered request of `route` (its pattern, or "unmatched") in its histogram.
    pub fn observe(&self, method: &str, route: &str, seconds: f64) {
        let Ok(mut durations) = self.durations.lock() else { return };
        if !durations.get(method).is_some_and(|routes| routes.contains_key(route)) {
            durations.entry(method.to_string()).or_default().insert(route.to_string(), Histogram::default());
        }
        let Some(h) = durations.get_mut(method).and_then(|routes| routes.get_mut(route)) else { return };
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("splitbeam_events_ingested_total", "Events stored for the first time.", &self.events_ingested),
            ("splitbeam_events_duplicate_total", "Events ignored because their id was already stored.", &self.events_duplicate),
            ("splitbeam_batches_accepted_total", "Batches committed.", &self.batches_accepted),
            ("splitbeam_batches_rejected_total", "Batches refused as invalid or too large.", &self.batches_rejected),
            ("splitbeam_batches_overloaded_total", "Batches refused with 503 because the writer queue or the ingest memory budget was full.", &self.batches_overloaded),
            ("splitbeam_requests_rate_limited_total", "Requests answered 429 by the per-client rate limit.", &self.requests_rate_limited),
            ("splitbeam_events_refused_total", "Well-formed events refused one by one (goal value out of range).", &self.events_refused),
            ("splitbeam_events_from_bots_total", "Events stored from crawlers and automated browsers.", &self.events_from_bots),
            ("splitbeam_snippet_renders_total", "Times /splitbeam.js was rendered: on first request, then after a rebuild or a config change.", &self.snippet_renders),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "splitbeam_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time to answer HTTP requests, by route.\n# TYPE {name} histogram");
        let durations = match self.durations.lock() {
            Ok(d) => d.clone(),
            Err(_) => BTreeMap::new(),
        };
        for (method, route, h) in durations.iter().flat_map(|(method, routes)| routes.iter().map(move |(route, h)| (method, route, h))) {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
