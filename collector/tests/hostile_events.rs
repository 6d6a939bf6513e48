//! What an anonymous caller can make the collector do with well-formed events: invent
//! experiments, variants and goals, post one visitor's goals by the thousand, send absurd values,
//! flood from one address, or come as a crawler. Each is stored or refused as documented and
//! never reaches the results beyond its bounds. Bounded: a few thousand events per test.

mod common;

use common::{batch, count, exposure, goal, request, TestServer, CONFIG};

/// `MAX_COUNTED_GOALS` in the SQLite store.
const MAX_COUNTED_GOALS: usize = 1_000;

fn post(server: &TestServer, headers: &[(&str, &str)], body: &str) -> common::Response {
    request(server.addr, "POST", "/collect", headers, body.as_bytes()).expect("POST /collect")
}

fn no_rate_limit(o: &mut splitbeam_collector::server::Options) {
    o.ingest.rate_limit.per_second = 0;
}

#[test]
fn invented_experiments_and_variants_are_stored_for_export_but_never_aggregated() {
    let server = TestServer::start_with(CONFIG, no_rate_limit);
    // One visitor exposed to 2,000 invented experiments and an invented variant of a real one.
    let invented: Vec<String> = (0..2000).map(|i| exposure(&format!("x{i}"), "attacker", &format!("invented-{i}"), "b", 100)).collect();
    for chunk in invented.chunks(200) {
        assert_eq!(post(&server, &[], &batch(chunk)).status, 200);
    }
    assert_eq!(post(&server, &[], &batch(&[exposure("xv", "attacker", "hero", "invented", 100)])).status, 200);
    // Then 600 goals for that visitor: each re-derives at most the experiments the config names.
    let goals: Vec<String> = (0..600).map(|i| goal(&format!("g{i}"), "attacker", &format!("goal-{i}"), Some(1.0), 200 + i)).collect();
    for chunk in goals.chunks(100) {
        assert_eq!(post(&server, &[], &batch(chunk)).status, 200);
    }
    let db = server.path("test.db");
    assert_eq!(count(&db, "SELECT count(*) FROM events"), 2601, "every well-formed event is stored");
    assert_eq!(count(&db, "SELECT count(*) FROM exposures"), 0, "an invented experiment or variant was aggregated");
    assert_eq!(count(&db, "SELECT count(*) FROM variant_totals"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM conversions"), 0, "goals of a visitor with no counted exposure were aggregated");
    assert_eq!(server.get("/api/experiments/invented-7/results").status, 404);

    // An ordinary visitor is still counted.
    let shopper = batch(&[exposure("s1", "shopper", "hero", "b", 100), goal("s2", "shopper", "purchase", Some(20.0), 150)]);
    assert_eq!(post(&server, &[], &shopper).status, 200);
    let results = server.json("/api/experiments/hero/results");
    let b = results["variants"].as_array().and_then(|v| v.iter().find(|v| v["key"] == "b")).cloned().expect("variant b");
    assert_eq!(b["visitors"], 1);
    assert_eq!(b["goals"]["purchase"]["conversions"], 1);
}

#[test]
fn a_visitor_counts_with_at_most_its_first_thousand_goals() {
    let server = TestServer::start_with(CONFIG, no_rate_limit);
    assert_eq!(post(&server, &[], &batch(&[exposure("e", "busy", "hero", "control", 100)])).status, 200);
    let goals: Vec<String> =
        (0..MAX_COUNTED_GOALS + 500).map(|i| goal(&format!("p{i}"), "busy", "purchase", Some(1.0), 200 + i as i64)).collect();
    for chunk in goals.chunks(250) {
        assert_eq!(post(&server, &[], &batch(chunk)).status, 200);
    }
    let db = server.path("test.db");
    assert_eq!(count(&db, "SELECT count(*) FROM events WHERE type = 'goal'"), (MAX_COUNTED_GOALS + 500) as i64);
    assert_eq!(
        count(&db, "SELECT CAST(value_sum AS INTEGER) FROM conversions WHERE visitor = 'busy' AND goal = 'purchase'"),
        MAX_COUNTED_GOALS as i64,
        "the visitor's value should be the sum of its first {MAX_COUNTED_GOALS} goals"
    );
}

#[test]
fn a_goal_value_out_of_range_is_refused_alone_and_results_stay_numbers() {
    let server = TestServer::start_with(CONFIG, no_rate_limit);
    for (i, visitor) in ["v1", "v2"].iter().enumerate() {
        let body = batch(&[
            exposure(&format!("e{i}"), visitor, "hero", "control", 100),
            goal(&format!("huge{i}"), visitor, "purchase", Some(1e308), 150),
            goal(&format!("fine{i}"), visitor, "purchase", Some(30.0), 160),
        ]);
        let response = post(&server, &[], &body);
        assert_eq!(response.status, 200, "{}", response.text());
        let answer = response.json();
        assert_eq!(answer["stored"], 2, "{answer}");
        assert_eq!(answer["refused"][0]["index"], 1, "{answer}");
        assert_eq!(answer["refused"][0]["field"], "value", "{answer}");
    }
    let results = server.json("/api/experiments/hero/results");
    let control = results["variants"][0].clone();
    assert_eq!(control["key"], "control");
    let purchase = &control["goals"]["purchase"];
    assert_eq!(purchase["conversions"], 2, "{results}");
    let text = results.to_string();
    assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
    assert_eq!(purchase["value"]["sum"].as_f64(), Some(60.0), "{purchase}");
    assert_eq!(purchase["value"]["per_visitor"].as_f64(), Some(30.0), "{purchase}");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("splitbeam_events_refused_total 2"), "{metrics}");
}

#[test]
fn one_address_past_its_bucket_gets_429_with_retry_after_and_nothing_stored() {
    let server = TestServer::start_with(CONFIG, |o| {
        o.ingest.rate_limit.per_second = 1;
        o.ingest.rate_limit.burst = 5;
    });
    let statuses: Vec<(u16, Option<String>)> = (0..20)
        .map(|i| {
            let response = post(&server, &[], &batch(&[exposure(&format!("r{i}"), "flooder", "hero", "b", 100)]));
            (response.status, response.header("retry-after").map(String::from))
        })
        .collect();
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!limited.is_empty(), "20 requests past a burst of 5 were all served: {statuses:?}");
    assert!(limited.iter().all(|(_, retry)| retry.as_deref().and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| s >= 1)));
    let served = statuses.iter().filter(|(s, _)| *s == 200).count() as i64;
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM events"), served, "a 429 stored something");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains(&format!("splitbeam_requests_rate_limited_total {}", limited.len())), "{metrics}");
}

#[test]
fn forwarded_addresses_are_separate_clients_only_behind_a_trusted_proxy() {
    let server = TestServer::start_with(CONFIG, |o| {
        o.ingest.rate_limit.per_second = 1;
        o.ingest.rate_limit.burst = 2;
        o.ingest.rate_limit.trust_forwarded_for = true;
    });
    let mut statuses = Vec::new();
    for i in 0..6 {
        let forwarded = format!("203.0.113.{i}");
        let body = batch(&[exposure(&format!("f{i}"), &format!("v{i}"), "hero", "b", 100)]);
        statuses.push(post(&server, &[("X-Forwarded-For", &forwarded)], &body).status);
    }
    assert_eq!(statuses, [200; 6], "six clients behind one proxy share no bucket");
    let same: Vec<u16> = (0..6)
        .map(|i| post(&server, &[("X-Forwarded-For", "198.51.100.7")], &batch(&[exposure(&format!("s{i}"), "same", "hero", "b", 100)])).status)
        .collect();
    assert!(same.contains(&429), "one forwarded client past its burst was never limited: {same:?}");
}

#[test]
fn crawlers_and_automated_browsers_are_stored_and_exported_but_kept_out_of_results() {
    let server = TestServer::start_with(CONFIG, no_rate_limit);
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let shopper = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
    let visit = |id: &str, visitor: &str| batch(&[exposure(&format!("{id}-x"), visitor, "hero", "b", 100), goal(&format!("{id}-g"), visitor, "purchase", Some(5.0), 150)]);
    assert_eq!(post(&server, &[("User-Agent", googlebot)], &visit("crawl", "crawler")).status, 200);
    let automated = visit("auto", "harness").replace(r#""events":"#, r#""automated":true,"events":"#);
    assert_eq!(post(&server, &[("User-Agent", shopper)], &automated).status, 200);
    assert_eq!(post(&server, &[("User-Agent", shopper)], &visit("real", "person")).status, 200);

    let db = server.path("test.db");
    assert_eq!(count(&db, "SELECT count(*) FROM events"), 6);
    assert_eq!(count(&db, "SELECT count(*) FROM events WHERE bot = 1"), 4);
    let results = server.json("/api/experiments/hero/results");
    let b = results["variants"].as_array().and_then(|v| v.iter().find(|v| v["key"] == "b")).cloned().expect("variant b");
    assert_eq!(b["visitors"], 1, "{results}");
    assert_eq!(b["goals"]["purchase"]["conversions"], 1, "{results}");
    assert_eq!(results["bot_visitors_excluded"], 2, "{results}");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("splitbeam_events_from_bots_total 4"), "{metrics}");

    // Export keeps the bots' events.
    let export = splitbeam_collector::store::Store::export;
    let mut exported = Vec::new();
    export(server.store.as_ref(), "hero", &mut |e| {
        exported.push((e.visitor.to_string(), e.bot));
        Ok(())
    })
    .expect("export");
    assert_eq!(exported.iter().filter(|(_, bot)| *bot).count(), 4, "{exported:?}");
    assert_eq!(exported.len(), 6);
}

#[test]
fn count_bots_puts_them_back_in_the_results() {
    let server = TestServer::start_with(CONFIG, |o| {
        no_rate_limit(o);
        o.ingest.count_bots = true;
    });
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    assert_eq!(post(&server, &[("User-Agent", googlebot)], &batch(&[exposure("x", "crawler", "hero", "b", 100)])).status, 200);
    let results = server.json("/api/experiments/hero/results");
    assert_eq!(results["variants"][1]["visitors"], 1, "{results}");
    assert_eq!(results["bot_visitors_excluded"], 0);
}
