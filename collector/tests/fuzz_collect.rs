//! Hostile input: a few thousand malformed, truncated, oversized, wrong-typed and hostile
//! payloads to `POST /collect`. Every one is refused with 4xx, nothing of them is stored, and the
//! server keeps serving.

mod common;

use common::{batch, count, exposure, goal, TestServer};

/// A small deterministic generator (xorshift64*): reproducible cases without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FIELDS: [&str; 10] = ["id", "type", "ts", "visitor", "session", "url", "experiment", "variant", "goal", "value"];
const WRONG_VALUES: [&str; 12] = [
    "null", "true", "[]", "{}", "-1", "1.5", "1e400", "\"\"", "\"<script>alert(1)</script>\"", "12345678901234567890123",
    "\"exposure\"", "{\"$gt\":\"\"}",
];

/// One invalid payload. Each case is built from a valid batch and broken on purpose, so that
/// a case that accidentally stays valid would be caught by the "nothing stored" check.
fn hostile_payload(rng: &mut Rng, case: usize) -> Vec<u8> {
    let valid = batch(&[
        exposure(&format!("f{case}a"), "fuzz-visitor", "fuzz", "b", 100),
        goal(&format!("f{case}b"), "fuzz-visitor", "purchase", Some(1.0), 200),
    ]);
    match case % 8 {
        // Truncated at a random point.
        0 => valid.as_bytes()[..rng.below(valid.len() - 1)].to_vec(),
        // A random byte flipped to a random value (may break UTF-8 too).
        1 => {
            let mut bytes = valid.into_bytes();
            let i = rng.below(bytes.len());
            let replacements = b"{}[]\",:\\\x00\xff";
            bytes[i] = replacements[rng.below(replacements.len())];
            bytes.truncate(bytes.len() - 1);
            bytes
        }
        // A required field replaced by a wrong-typed value.
        2 => {
            let field = FIELDS[rng.below(8)];
            let mut event: serde_json::Value =
                serde_json::from_str(&exposure(&format!("f{case}a"), "fuzz-visitor", "fuzz", "b", 100)).expect("event");
            let wrong: serde_json::Value = serde_json::from_str(WRONG_VALUES[rng.below(WRONG_VALUES.len())])
                .unwrap_or(serde_json::Value::Null);
            // A non-empty string is a right-typed value for every field but ts: use null there.
            let wrong = if field != "ts" && wrong.as_str().is_some_and(|s| !s.is_empty()) {
                serde_json::Value::Null
            } else {
                wrong
            };
            event[field] = wrong;
            batch(&[event.to_string()]).into_bytes()
        }
        // A required field removed.
        3 => {
            let field = FIELDS[rng.below(8)];
            let mut event: serde_json::Value =
                serde_json::from_str(&exposure(&format!("f{case}a"), "fuzz-visitor", "fuzz", "b", 100)).expect("event");
            if let Some(map) = event.as_object_mut() {
                map.remove(field);
            }
            batch(&[exposure(&format!("f{case}c"), "fuzz-visitor", "fuzz", "b", 100), event.to_string()]).into_bytes()
        }
        // Not a batch at all.
        4 => {
            let shapes = ["[]", "null", "42", "\"events\"", "{\"events\":{}}", "{\"v\":2,\"events\":[]}", "{}", ""];
            shapes[rng.below(shapes.len())].as_bytes().to_vec()
        }
        // Deep nesting inside props (stack exhaustion attempt).
        5 => {
            let depth = 200 + rng.below(5000);
            let props = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            format!(
                r#"{{"events":[{{"id":"f{case}","type":"pageview","ts":1,"visitor":"v","session":"s","url":"/","props":{props}}}]}}"#
            )
            .into_bytes()
        }
        // One event over 32 KB among valid ones.
        6 => {
            let url = "u".repeat(33 * 1024 + rng.below(1000));
            let big = format!(r#"{{"id":"f{case}big","type":"pageview","ts":1,"visitor":"v","session":"s","url":"{url}"}}"#);
            batch(&[exposure(&format!("f{case}a"), "fuzz-visitor", "fuzz", "b", 100), big]).into_bytes()
        }
        // An unknown event type or an empty id.
        _ => {
            let kinds = ["\"purchase\"", "\"EXPOSURE\"", "\"\"", "\"exposure \""];
            let event = exposure(&format!("f{case}a"), "fuzz-visitor", "fuzz", "b", 100)
                .replace("\"exposure\"", kinds[rng.below(kinds.len())]);
            batch(&[event]).into_bytes()
        }
    }
}

#[test]
fn thousands_of_hostile_payloads_get_4xx_and_store_nothing() {
    // Thousands of requests from one address: the per-client rate limit (rate_limit.rs) is off.
    let server = TestServer::start_with(common::CONFIG, |o| o.ingest.rate_limit.per_second = 0);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut statuses = std::collections::BTreeMap::new();
    for case in 0..3000 {
        let payload = hostile_payload(&mut rng, case);
        let content_type = if case % 2 == 0 { "text/plain" } else { "application/json" };
        let response = server.post("/collect", content_type, &payload);
        assert!(
            (400..500).contains(&response.status),
            "case {case} answered {}: {}\npayload: {}",
            response.status,
            response.text(),
            String::from_utf8_lossy(&payload[..payload.len().min(300)])
        );
        *statuses.entry(response.status).or_insert(0) += 1;
    }
    eprintln!("status counts: {statuses:?}");
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM events"), 0, "a refused batch stored something");
    assert_eq!(count(&server.path("test.db"), "SELECT count(*) FROM exposures"), 0);

    let good = batch(&[exposure("after-fuzz", "v1", "hero", "b", 100)]);
    assert_eq!(server.post("/collect", "text/plain", good.as_bytes()).status, 200, "server stopped serving");
    assert_eq!(server.get("/healthz").status, 200);
}
