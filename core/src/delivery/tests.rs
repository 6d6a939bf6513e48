//! The delivery state machines, natively.

use super::policy::{AUTOMATED, ENVELOPE_MAX};
use super::*;
use crate::json;

fn small() -> Policy {
    Policy { max_batch_events: 3, max_delay_ms: 100, ..Policy::default() }
}

fn event(i: usize) -> (String, String) {
    let id = format!("E{i:03}");
    (id.clone(), format!("{{\"id\":\"{id}\"}}"))
}

fn push(outbox: &mut Outbox, i: usize, now: u64) {
    let (id, body) = event(i);
    outbox.push(&id, body, now).unwrap();
}

#[test]
fn an_automated_browser_says_so_in_every_batch() {
    let mut outbox = Outbox::new(Policy { automated: true, ..small() });
    push(&mut outbox, 1, 0);
    let send = outbox.poll(10_000).expect("a batch is due");
    assert!(send.body.ends_with(r#"],"automated":true}"#), "{}", send.body);
    let mut outbox = Outbox::new(small());
    push(&mut outbox, 1, 0);
    assert!(!outbox.poll(10_000).expect("a batch is due").body.contains("automated"));
}

#[test]
fn envelope_bound_covers_the_longest_envelope() {
    let longest = format!("{{\"v\":1,\"sent_at\":{},\"events\":[],\"dropped\":{}{AUTOMATED}}}", u64::MAX, u64::MAX);
    assert_eq!(longest.len(), ENVELOPE_MAX);
}

#[test]
fn batch_body_is_the_documented_envelope() {
    let mut outbox = Outbox::new(small());
    push(&mut outbox, 1, 0);
    push(&mut outbox, 2, 0);
    let send = outbox.poll(100).expect("due after max_delay");
    assert_eq!(send.body, r#"{"v":1,"sent_at":100,"events":[{"id":"E001"},{"id":"E002"}]}"#);
    assert_eq!(send.event_ids, ["E001", "E002"]);
    assert_eq!(send.transport, Transport::Fetch);
}

#[test]
fn a_duplicate_id_is_refused() {
    let mut outbox = Outbox::new(small());
    push(&mut outbox, 1, 0);
    let (id, body) = event(1);
    assert_eq!(outbox.push(&id, body, 0), Err(PushError::Duplicate { id }));
    assert_eq!(outbox.len(), 1);
}

#[test]
fn statuses_map_to_outcomes() {
    assert_eq!(Outcome::from_status(204, None), Outcome::Ok);
    assert_eq!(Outcome::from_status(429, Some(5)), Outcome::Retry { retry_after_ms: Some(5) });
    assert_eq!(Outcome::from_status(503, None), Outcome::Retry { retry_after_ms: None });
    assert_eq!(Outcome::from_status(400, None), Outcome::Reject);
    assert_eq!(Outcome::from_status(413, None), Outcome::TooLarge);
    assert_eq!(Outcome::from_status(404, None), Outcome::Reject);
    assert_eq!(Outcome::from_status(0, None), Outcome::NetworkError);
}

#[test]
fn retry_after_reads_seconds_and_ignores_dates() {
    assert_eq!(parse_retry_after(" 120 "), Some(120_000));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    assert_eq!(parse_retry_after("-1"), None);
    assert_eq!(parse_retry_after("99999999999999999999999"), Some(u64::MAX));
}

#[test]
fn lease_round_trips_and_garbage_is_no_lease() {
    let lease = Lease { owner: "tab \"1\"".into(), until_ms: 1_764_216_005_000 };
    let decode = |text: &str| json::parse(text).ok().and_then(|(root, _)| Lease::from_value(&root));
    assert_eq!(decode(&lease.encode()), Some(lease));
    assert_eq!(decode("{\"owner\":1}"), None);
}

#[test]
fn only_the_lease_holder_sends_until_the_lease_expires() {
    let policy = Policy::default();
    let lease = Lease::take("tab-a", 1_000, &policy);
    assert!(may_send(Some(&lease), "tab-a", 2_000));
    assert!(!may_send(Some(&lease), "tab-b", 2_000));
    assert!(may_send(Some(&lease), "tab-b", 1_000 + policy.lease_ms));
    assert!(may_send(None, "tab-b", 0));
}

#[test]
fn a_lease_is_renewed_after_half_its_time() {
    let policy = Policy::default();
    let lease = Lease::take("tab-a", 0, &policy);
    assert!(!lease.needs_renewal(policy.lease_ms / 2 - 1, &policy));
    assert!(lease.needs_renewal(policy.lease_ms / 2, &policy));
}

#[test]
fn next_wakeup_is_when_the_oldest_event_is_due() {
    let mut outbox = Outbox::new(small());
    assert_eq!(outbox.next_wakeup(0), None);
    push(&mut outbox, 1, 10);
    push(&mut outbox, 2, 50);
    assert_eq!(outbox.next_wakeup(60), Some(110));
    let send = outbox.poll(110).unwrap();
    // Now only the in-flight timeout is left to wait for.
    assert_eq!(outbox.next_wakeup(110), Some(110 + outbox.policy().in_flight_timeout_ms));
    outbox.on_result(send.batch_id, Outcome::Ok, 120, 0);
    assert_eq!(outbox.next_wakeup(120), None);
}

/// How many times each event left, over a run of sends and outcomes.
fn count_sends(sends: &[Send], counts: &mut std::collections::HashMap<String, u32>) {
    for send in sends {
        for id in &send.event_ids {
            *counts.entry(id.clone()).or_default() += 1;
        }
    }
}

#[test]
fn an_unreadable_collector_gets_each_event_once_then_fire_and_forget() {
    let mut outbox = Outbox::new(small());
    let mut counts = std::collections::HashMap::new();
    for i in 0..3 {
        push(&mut outbox, i, 0);
    }
    let first = outbox.poll(0).unwrap();
    assert_eq!(first.transport, Transport::Fetch);
    count_sends(std::slice::from_ref(&first), &mut counts);
    let settled = outbox.on_result(first.batch_id, Outcome::Unreadable, 10, 0);
    assert_eq!(settled.delivered.len(), 3, "the probe was answered: the batch arrived");
    assert!(outbox.is_unreadable(10));
    assert_eq!((outbox.failures(), outbox.retry_at()), (0, 0));
    // Later batches go no-cors and settle on their opaque answer; no retry, no growth.
    for round in 0..50u64 {
        let now = 1_000 + round * 1_000;
        for i in 0..3 {
            push(&mut outbox, 100 + round as usize * 3 + i, now);
        }
        let send = outbox.poll(now).unwrap();
        assert_eq!(send.transport, Transport::Blind);
        count_sends(std::slice::from_ref(&send), &mut counts);
        outbox.on_result(send.batch_id, Outcome::Sent, now + 5, 0);
        assert!(outbox.is_empty());
    }
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    // Beacons are trusted: nothing is held for a resend that could only duplicate.
    push(&mut outbox, 900, 60_000);
    let beacon = outbox.flush_all(60_000, FlushReason::PageHide).remove(0);
    assert_eq!(beacon.transport, Transport::Beacon);
    assert_eq!(outbox.on_result(beacon.batch_id, Outcome::Queued, 60_000, 0).delivered, [event(900).0]);
    // A manual flush is fire-and-forget too.
    push(&mut outbox, 901, 60_000);
    assert_eq!(outbox.flush_all(60_000, FlushReason::Manual)[0].transport, Transport::Blind);
}

#[test]
fn events_left_by_an_untrusted_beacon_go_at_most_twice_to_an_unreadable_collector() {
    let mut outbox = Outbox::new(small());
    push(&mut outbox, 1, 0);
    let beacon = outbox.flush_all(0, FlushReason::PageHide).remove(0);
    outbox.on_result(beacon.batch_id, Outcome::Queued, 0, 0);
    // The next page load restores them and tries a readable fetch: that is the second send.
    let (snapshot, _) = json::parse(&outbox.snapshot()).expect("a snapshot is JSON");
    let (mut next, _) = Outbox::restore_value(small(), &snapshot, 1_000);
    let fetch = next.poll(1_000).unwrap();
    assert_eq!(fetch.transport, Transport::Fetch);
    assert_eq!(next.on_result(fetch.batch_id, Outcome::Unreadable, 1_010, 0).delivered, [event(1).0]);
    assert!(next.is_empty(), "nothing left for a third send");
}

#[test]
fn a_blind_send_that_never_left_is_retried_and_unreadable_memory_expires() {
    let policy = small();
    let memory = policy.unreadable_memory_ms;
    let mut outbox = Outbox::new(policy);
    outbox.note_unreadable(1_000);
    push(&mut outbox, 1, 1_000);
    let send = outbox.poll(1_100).unwrap();
    assert_eq!(send.transport, Transport::Blind);
    // A no-cors fetch rejects only when nothing was answered: the events never arrived.
    outbox.on_result(send.batch_id, Outcome::NetworkError, 1_110, u32::MAX);
    assert_eq!(outbox.pending_len(), 1);
    assert_eq!(outbox.failures(), 1);
    // Not trusted while failing: a beacon now could be lost for good.
    assert!(!outbox.trusts_beacons(1_200));
    // After the memory lapses a readable fetch tries again; a 2xx forgets the unreadability.
    let later = 1_000 + memory;
    assert!(!outbox.is_unreadable(later));
    let send = outbox.poll(later).unwrap();
    assert_eq!(send.transport, Transport::Fetch);
    outbox.on_result(send.batch_id, Outcome::Ok, later, 0);
    assert_eq!(outbox.unreadable_at(), 0);
}

#[test]
fn a_413_splits_the_batch_until_it_fits_and_drops_only_a_single_event_refused() {
    let mut outbox = Outbox::new(Policy { max_batch_events: 8, max_delay_ms: 100, ..Policy::default() });
    for i in 0..8 {
        push(&mut outbox, i, 10_000);
    }
    let big = outbox.poll(10_000).unwrap();
    assert_eq!(big.event_ids.len(), 8);
    let settled = outbox.on_result(big.batch_id, Outcome::TooLarge, 10_010, 0);
    assert!(settled.rejected.is_empty());
    assert_eq!(outbox.failures(), 0, "a 413 is an answer, not a failure");
    let halves: Vec<Send> = std::iter::from_fn(|| outbox.poll(10_010)).collect();
    assert_eq!(halves.iter().map(|s| s.event_ids.len()).collect::<Vec<_>>(), [4, 4]);
    for half in &halves {
        assert_eq!(outbox.on_result(half.batch_id, Outcome::Ok, 20, 0).delivered.len(), 4);
    }
    push(&mut outbox, 99, 30);
    let single = outbox.poll(200).unwrap();
    assert_eq!(outbox.on_result(single.batch_id, Outcome::TooLarge, 210, 0).rejected, [event(99).0]);
    assert!(outbox.is_empty());
}

#[test]
fn an_unreadable_answer_from_a_collector_that_answered_readably_is_retried() {
    let mut outbox = Outbox::new(small());
    push(&mut outbox, 1, 0);
    let ok = outbox.poll(100).unwrap();
    outbox.on_result(ok.batch_id, Outcome::Ok, 110, 0);
    push(&mut outbox, 2, 200);
    let failed = outbox.poll(300).unwrap();
    assert!(outbox.on_result(failed.batch_id, Outcome::Unreadable, 310, 0).delivered.is_empty());
    assert_eq!((outbox.pending_len(), outbox.failures()), (1, 1));
    assert!(!outbox.is_unreadable(310), "still a readable collector: confirmed delivery goes on");
}
