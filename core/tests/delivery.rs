//! The snippet's delivery policy, end to end without a browser: when batches go out, how big they
//! are, what each HTTP outcome does, persistence across page loads, and that no event is lost or doubled.

use std::collections::{BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use splitbeam_core::delivery::{FlushReason, Outbox, Outcome, Policy, PushError, RestoreReport, Send, Transport};
use splitbeam_core::event::{new_id, Event, EventKind};
use splitbeam_core::json::Value;

const T0: u64 = 1_764_216_000_000;

/// A snapshot as the snippet restores it from localStorage: text that does not parse (cut short,
/// overwritten) restores as empty, with the problem said; the rest is `Outbox::restore_value`.
fn restore(policy: Policy, snapshot: &str, now: u64) -> (Outbox, RestoreReport) {
    if snapshot.trim().is_empty() {
        return (Outbox::new(policy), RestoreReport::default());
    }
    match splitbeam_core::json::parse(snapshot) {
        Ok((root, _)) => Outbox::restore_value(policy, &root, now),
        Err(err) => (Outbox::new(policy), RestoreReport { problem: Some(format!("not JSON ({err})")), ..RestoreReport::default() }),
    }
}

fn id(i: usize) -> String {
    format!("E{i:05}")
}

/// An encoded event of exactly `bytes` bytes (padding in a prop), like `Event::to_json` output.
fn event_json(i: usize, bytes: usize) -> String {
    let head = format!("{{\"id\":\"{}\",\"type\":\"goal\",\"props\":{{\"pad\":\"", id(i));
    let tail = "\"}}";
    let pad = bytes.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(pad))
}

fn push_n(outbox: &mut Outbox, range: std::ops::Range<usize>, bytes: usize, now: u64) {
    for i in range {
        outbox.push(&id(i), event_json(i, bytes), now).expect("event fits");
    }
}

/// Parses a body with serde_json (independent of our parser) and returns the event ids it carries.
fn ids_in_body(body: &str) -> Vec<String> {
    let batch: serde_json::Value = serde_json::from_str(body).expect("a batch body is valid JSON");
    assert_eq!(batch["v"], 1, "{body}");
    assert!(batch["sent_at"].is_u64(), "{body}");
    batch["events"].as_array().expect("events array").iter().map(|e| e["id"].as_str().expect("event id").to_string()).collect()
}

fn dropped_in_body(body: &str) -> Option<u64> {
    let batch: serde_json::Value = serde_json::from_str(body).expect("valid JSON");
    batch.get("dropped").map(|d| d.as_u64().expect("dropped is a count"))
}

// ---- when a batch goes out ----

#[test]
fn twenty_pending_events_are_sent_at_once() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..19, 100, T0);
    assert!(outbox.poll(T0).is_none(), "19 events are not a full batch");
    push_n(&mut outbox, 19..20, 100, T0);
    let send = outbox.poll(T0).expect("20 events are a full batch");
    assert_eq!(send.event_ids.len(), 20);
    assert_eq!(send.transport, Transport::Fetch);
}

#[test]
fn a_few_events_wait_two_seconds_after_the_oldest() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    push_n(&mut outbox, 1..2, 100, T0 + 1_500);
    assert!(outbox.poll(T0 + 1_999).is_none());
    assert_eq!(outbox.next_wakeup(T0 + 1_999), Some(T0 + 2_000));
    let send = outbox.poll(T0 + 2_000).expect("the oldest event has waited 2 s");
    assert_eq!(send.event_ids, [id(0), id(1)]);
}

#[test]
fn pagehide_sends_everything_by_beacon_without_waiting() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..3, 100, T0);
    let sends = outbox.flush_all(T0 + 1, FlushReason::PageHide);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].transport, Transport::Beacon);
    assert_eq!(ids_in_body(&sends[0].body), [id(0), id(1), id(2)]);
}

#[test]
fn hidden_page_flushes_by_beacon_and_manual_flush_by_fetch() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    assert_eq!(outbox.flush_all(T0, FlushReason::Hidden)[0].transport, Transport::Beacon);
    push_n(&mut outbox, 1..2, 100, T0);
    assert_eq!(outbox.flush_all(T0, FlushReason::Manual)[0].transport, Transport::Fetch);
}


#[test]
fn a_refused_beacon_falls_back_to_fetch_with_the_same_events() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..2, 100, T0);
    let beacon = outbox.flush_all(T0, FlushReason::PageHide).remove(0);
    let fetch = outbox.beacon_refused(beacon.batch_id, T0).expect("a fetch replaces the beacon");
    assert_eq!(fetch.transport, Transport::Fetch);
    assert_eq!(fetch.event_ids, beacon.event_ids);
    // The refused beacon has no outcome to wait for: an answer for it changes nothing.
    assert_eq!(outbox.on_result(beacon.batch_id, Outcome::Ok, T0, 0).delivered.len(), 0);
    assert_eq!(outbox.on_result(fetch.batch_id, Outcome::Ok, T0, 0).delivered, beacon.event_ids);
}

// ---- whether a queued beacon counts as delivered ----

const MINUTE: u64 = 60_000;

/// An outbox whose collector answered a fetch with a 2xx at `at`.
fn confirmed_at(at: u64) -> Outbox {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 900..901, 100, at);
    let fetch = outbox.flush_all(at, FlushReason::Manual).remove(0);
    assert_eq!(outbox.on_result(fetch.batch_id, Outcome::Ok, at, 0).delivered, [id(900)]);
    outbox
}

/// Queues events `range` at `now`, hides the page, and reports the beacon as queued by the browser.
fn beacon_queued(outbox: &mut Outbox, range: std::ops::Range<usize>, now: u64) -> Vec<String> {
    push_n(outbox, range, 100, now);
    let beacon = outbox.flush_all(now, FlushReason::PageHide).remove(0);
    assert_eq!(beacon.transport, Transport::Beacon);
    outbox.on_result(beacon.batch_id, Outcome::Queued, now, 0).delivered
}

#[test]
fn on_a_first_page_a_queued_beacon_is_not_trusted_and_its_events_stay_held() {
    let mut outbox = Outbox::new(Policy::default());
    assert!(beacon_queued(&mut outbox, 0..3, T0).is_empty(), "nothing ever confirmed: not delivered");
    assert_eq!(outbox.unconfirmed_len(), 3);
    assert_eq!(outbox.pending_len() + outbox.in_flight_len(), 0);
}

#[test]
fn unconfirmed_events_are_not_sent_again_while_the_page_hides_or_goes() {
    let mut outbox = Outbox::new(Policy::default());
    beacon_queued(&mut outbox, 0..3, T0);
    assert!(outbox.flush_all(T0 + 10, FlushReason::PageHide).is_empty(), "a second beacon would carry the same doubt");
    assert!(outbox.poll(T0 + 60 * MINUTE).is_none());
    assert_eq!(outbox.next_wakeup(T0), None, "held events set no timer");
}

#[test]
fn unconfirmed_events_are_pending_again_on_the_next_page_load() {
    let mut outbox = Outbox::new(Policy::default());
    beacon_queued(&mut outbox, 0..3, T0);
    let (mut next_page, report) = restore(Policy::default(), &outbox.snapshot(), T0 + 1_000);
    assert_eq!((report.restored, report.dropped, report.problem), (3, 0, None));
    let resend = next_page.poll(T0 + 1_000).expect("due at once on the next page");
    assert_eq!(resend.transport, Transport::Fetch);
    assert_eq!(resend.event_ids, [id(0), id(1), id(2)]);
    assert_eq!(next_page.on_result(resend.batch_id, Outcome::Ok, T0 + 1_100, 0).delivered, [id(0), id(1), id(2)]);
    assert!(next_page.is_empty());
}

#[test]
fn a_beacon_soon_after_a_confirmed_fetch_is_delivered_and_dropped() {
    let mut outbox = confirmed_at(T0);
    assert_eq!(beacon_queued(&mut outbox, 0..2, T0 + 4 * MINUTE), [id(0), id(1)]);
    assert!(outbox.is_empty());
}

#[test]
fn a_beacon_long_after_the_last_confirmation_is_held() {
    let window = Policy::default().beacon_trust_ms;
    assert_eq!(window, 5 * MINUTE);
    let mut outbox = confirmed_at(T0);
    assert_eq!(beacon_queued(&mut outbox, 0..1, T0 + window).len(), 1, "trusted up to the window's end");
    assert!(beacon_queued(&mut outbox, 1..2, T0 + window + 1).is_empty());
    assert_eq!(outbox.ids().collect::<Vec<_>>(), [id(1)]);
}

#[test]
fn a_failure_since_the_confirmation_withdraws_the_trust() {
    let mut outbox = confirmed_at(T0);
    push_n(&mut outbox, 0..1, 100, T0);
    let fetch = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(fetch.batch_id, Outcome::NetworkError, T0 + 1, 0);
    assert!(beacon_queued(&mut outbox, 1..2, T0 + 2).is_empty(), "the collector just failed: a beacon proves nothing");
    assert_eq!(outbox.unconfirmed_len(), 2, "the failed event rode in the beacon too");
}

#[test]
fn the_last_confirmation_survives_a_page_load() {
    let outbox = confirmed_at(T0);
    let mut with_an_event = outbox.clone();
    push_n(&mut with_an_event, 0..1, 100, T0);
    let (mut next_page, _) = restore(Policy::default(), &with_an_event.snapshot(), T0 + MINUTE);
    assert_eq!(next_page.confirmed_at(), T0);
    next_page.flush_all(T0 + MINUTE, FlushReason::Manual);
    assert_eq!(beacon_queued(&mut next_page, 1..2, T0 + MINUTE), [id(1)]);
}

#[test]
fn a_confirmation_seen_by_another_page_makes_a_fresh_outbox_trust_its_beacons() {
    // The previous page's outbox emptied (no snapshot left); the shell kept the time of its 2xx.
    let mut fresh = Outbox::new(Policy::default());
    fresh.note_confirmation(T0);
    assert_eq!(beacon_queued(&mut fresh, 0..2, T0 + MINUTE), [id(0), id(1)]);
    // An older note never moves the confirmation back.
    fresh.note_confirmation(T0 - MINUTE);
    assert_eq!(fresh.confirmed_at(), T0);
}

#[test]
fn a_drop_count_in_an_unconfirmed_beacon_is_reported_again_by_the_resend() {
    let mut outbox = Outbox::new(Policy { max_stored_events: 2, ..Policy::default() });
    push_n(&mut outbox, 0..3, 100, T0);
    let beacon = outbox.flush_all(T0, FlushReason::PageHide).remove(0);
    assert_eq!(dropped_in_body(&beacon.body), Some(1));
    outbox.on_result(beacon.batch_id, Outcome::Queued, T0, 0);
    let (mut next_page, _) = restore(Policy::default(), &outbox.snapshot(), T0 + 1_000);
    let resend = next_page.poll(T0 + 1_000).expect("due at once");
    assert_eq!(dropped_in_body(&resend.body), Some(1), "the beacon may never have arrived: its drop count goes again");
}

#[test]
fn when_storage_is_full_events_from_an_unconfirmed_beacon_go_before_pending_ones() {
    let mut outbox = Outbox::new(Policy { max_stored_events: 3, ..Policy::default() });
    beacon_queued(&mut outbox, 0..2, T0);
    push_n(&mut outbox, 2..4, 100, T0 + 1);
    // 4 stored, 3 allowed: the oldest unconfirmed one goes, not the pending event 2.
    assert_eq!(outbox.ids().collect::<Vec<_>>(), [id(1), id(2), id(3)]);
    assert_eq!(outbox.dropped_total(), 1);
}

#[test]
fn a_snapshot_without_the_confirmation_field_restores_as_never_confirmed() {
    // Written by the snippet before `confirmed_at` existed.
    let old = r#"{"v":1,"dropped":0,"failures":0,"retry_at":0,"hold_until":0,"events":[["E1","{\"id\":\"E1\"}"],["E2","{\"id\":\"E2\"}"]]}"#;
    let (mut restored, report) = restore(Policy::default(), old, T0);
    assert_eq!((report.restored, report.dropped, report.problem), (2, 0, None));
    assert_eq!(restored.confirmed_at(), 0);
    assert!(!restored.trusts_beacons(T0));
    assert_eq!(restored.poll(T0).expect("due at once").event_ids, ["E1", "E2"]);
}

#[test]
fn a_confirmation_from_a_clock_set_back_is_not_trusted() {
    let ahead = T0 + 60 * MINUTE;
    let snapshot = format!(r#"{{"v":1,"confirmed_at":{ahead},"events":[]}}"#);
    let (mut restored, _) = restore(Policy::default(), &snapshot, T0);
    assert!(!restored.trusts_beacons(T0));
    assert!(beacon_queued(&mut restored, 0..1, T0).is_empty());
}

#[test]
fn a_page_shown_again_resends_its_unconfirmed_events_by_fetch_once() {
    let mut outbox = Outbox::new(Policy::default());
    beacon_queued(&mut outbox, 0..2, T0);
    assert_eq!(outbox.resume(T0 + 5_000), 2);
    assert_eq!(outbox.resent_total(), 2);
    let fetch = outbox.poll(T0 + 5_000).expect("due at once when the page is back");
    assert_eq!((fetch.transport, fetch.event_ids.clone()), (Transport::Fetch, vec![id(0), id(1)]));
    assert_eq!(outbox.resume(T0 + 5_001), 0, "in flight now, not unconfirmed");
    assert_eq!(outbox.on_result(fetch.batch_id, Outcome::Ok, T0 + 5_100, 0).delivered, [id(0), id(1)]);
    assert!(outbox.is_empty() && outbox.trusts_beacons(T0 + 5_100));
}

#[test]
fn unconfirmed_events_neither_count_as_in_flight_nor_hold_back_timed_sends() {
    let mut outbox = Outbox::new(Policy::default());
    for round in 0..3 {
        beacon_queued(&mut outbox, round * 2..round * 2 + 2, T0);
    }
    assert_eq!(outbox.in_flight_len(), 0, "a redirect has no answer to wait for");
    push_n(&mut outbox, 10..50, 100, T0);
    assert!(outbox.poll(T0).is_some() && outbox.poll(T0).is_some(), "max_in_flight counts requests, not held beacons");
}

// ---- how big a request is ----

#[test]
fn a_large_flush_is_split_into_bodies_under_60_kb_with_every_event_exactly_once() {
    let policy = Policy::default();
    let mut outbox = Outbox::new(policy.clone());
    // 120 events of 5–9 KB: about 840 KB, far more than one request and than the stored bound.
    let mut pushed = Vec::new();
    for i in 0..120 {
        let bytes = 5_000 + (i * 37 % 4_000);
        outbox.push(&id(i), event_json(i, bytes), T0).unwrap();
        pushed.push(id(i));
    }
    let held: Vec<String> = outbox.ids().map(String::from).collect();
    let sends = outbox.flush_all(T0, FlushReason::PageHide);
    assert!(sends.len() > 1);
    let mut seen = Vec::new();
    for send in &sends {
        assert!(send.body.len() <= policy.max_body_bytes, "body of {} bytes", send.body.len());
        let ids = ids_in_body(&send.body);
        assert_eq!(ids, send.event_ids);
        seen.extend(ids);
    }
    assert_eq!(seen, held, "every held event once, in order");
    assert_eq!(outbox.dropped_total() as usize + held.len(), pushed.len(), "the rest was dropped and counted");
}

#[test]
fn an_event_larger_than_32_kb_is_refused_at_push() {
    let mut outbox = Outbox::new(Policy::default());
    let err = outbox.push(&id(0), event_json(0, 32 * 1024 + 1), T0).unwrap_err();
    assert!(matches!(err, PushError::TooLarge { bytes, limit: 32768, .. } if bytes == 32 * 1024 + 1));
    assert!(err.to_string().contains(&id(0)), "{err}");
    assert!(outbox.is_empty());
    outbox.push(&id(1), event_json(1, 32 * 1024), T0).expect("exactly 32 KB fits");
}

// ---- what an outcome does ----

#[test]
fn reject_drops_the_batch_and_never_retries_it() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..2, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    let settled = outbox.on_result(send.batch_id, Outcome::Reject, T0, 0);
    assert_eq!(settled.rejected, [id(0), id(1)]);
    assert!(outbox.is_empty());
    assert!(outbox.poll(T0 + 3_600_000).is_none());
    assert_eq!(outbox.failures(), 0, "a rejection is no reason to slow down other events");
}

#[test]
fn retry_keeps_the_events_for_the_next_attempt() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..2, 100, T0);
    let first = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    let settled = outbox.on_result(first.batch_id, Outcome::Retry { retry_after_ms: None }, T0, u32::MAX);
    assert!(settled.delivered.is_empty() && settled.rejected.is_empty());
    assert_eq!(outbox.pending_len(), 2);
    let again = outbox.poll(T0 + 1_000).expect("resent after the first backoff");
    assert_eq!(again.event_ids, first.event_ids);
    assert_ne!(again.batch_id, first.batch_id);
}

#[test]
fn a_network_error_keeps_the_events_and_backs_off() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::NetworkError, T0, u32::MAX);
    assert_eq!(outbox.failures(), 1);
    assert!(outbox.poll(T0 + 999).is_none());
    assert!(outbox.poll(T0 + 1_000).is_some());
}

/// The wait after `failures` consecutive failures with the given random draw.
fn wait_after(failures: u32, random: u32) -> u64 {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let mut now = T0;
    for _ in 0..failures {
        let send = outbox.flush_all(now, FlushReason::Manual).remove(0);
        outbox.on_result(send.batch_id, Outcome::NetworkError, now, random);
        now = outbox.retry_at();
    }
    let send = outbox.flush_all(now, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::NetworkError, now, random);
    outbox.retry_at() - now
}

#[test]
fn backoff_doubles_from_one_second() {
    let waits: Vec<u64> = (0..5).map(|f| wait_after(f, u32::MAX)).collect();
    // The top of full jitter: base * 2^(n-1), within one millisecond of rounding.
    for (n, wait) in waits.iter().enumerate() {
        let ceiling = 1_000u64 << n;
        assert!(*wait <= ceiling && *wait + 1 >= ceiling, "failure {}: waited {wait} ms, ceiling {ceiling}", n + 1);
    }
}

#[test]
fn backoff_is_capped_at_five_minutes() {
    assert_eq!(Policy::default().backoff_ceiling_ms(30), 300_000);
    assert_eq!(Policy::default().backoff_ceiling_ms(u32::MAX), 300_000);
    assert!(wait_after(12, u32::MAX) <= 300_000);
    assert!(wait_after(12, u32::MAX) >= 299_999);
}

#[test]
fn backoff_is_fully_jittered_within_its_ceiling() {
    let policy = Policy::default();
    let mut seen = HashSet::new();
    let mut state = 0x9E37_79B9u32;
    for _ in 0..1_000 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let wait = policy.backoff_ms(3, state);
        assert!(wait <= 4_000, "{wait}");
        seen.insert(wait * 10 / 4_001);
    }
    assert_eq!(seen.len(), 10, "waits spread over all tenths of [0, 4000]: {seen:?}");
    assert_eq!(policy.backoff_ms(3, 0), 0);
}

#[test]
fn retry_after_is_never_undercut() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::Retry { retry_after_ms: Some(10_000) }, T0, 0);
    assert!(outbox.poll(T0 + 9_999).is_none());
    assert!(outbox.flush_all(T0 + 9_999, FlushReason::PageHide).is_empty(), "not even on page hide");
    assert!(outbox.poll(T0 + 10_000).is_some());
}

#[test]
fn a_short_retry_after_does_not_shorten_our_backoff() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::Retry { retry_after_ms: Some(10) }, T0, u32::MAX);
    assert_eq!(outbox.retry_at(), T0 + 1_000);
}

#[test]
fn page_hide_ignores_our_own_backoff() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::NetworkError, T0, u32::MAX);
    assert!(outbox.poll(T0 + 10).is_none());
    assert_eq!(outbox.flush_all(T0 + 10, FlushReason::PageHide).len(), 1, "the last chance is taken");
}

#[test]
fn success_resets_the_backoff() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::NetworkError, T0, u32::MAX);
    let send = outbox.poll(T0 + 1_000).unwrap();
    outbox.on_result(send.batch_id, Outcome::Ok, T0 + 1_100, 0);
    assert_eq!((outbox.failures(), outbox.retry_at()), (0, 0));
    push_n(&mut outbox, 1..21, 100, T0 + 1_200);
    assert!(outbox.poll(T0 + 1_200).is_some());
}

// ---- in flight ----

#[test]
fn events_in_flight_are_not_sent_again_before_their_outcome() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..2, 100, T0);
    let first = outbox.poll(T0 + 2_000).unwrap();
    assert!(outbox.poll(T0 + 29_999).is_none());
    assert!(outbox.flush_all(T0 + 29_999, FlushReason::PageHide).is_empty());
    push_n(&mut outbox, 2..3, 100, T0 + 3_000);
    let second = outbox.flush_all(T0 + 3_000, FlushReason::PageHide).remove(0);
    assert_eq!(second.event_ids, [id(2)], "only the new event; {:?} is still travelling", first.event_ids);
}

#[test]
fn at_most_two_timed_requests_are_out_at_once() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..60, 100, T0);
    assert!(outbox.poll(T0).is_some());
    assert!(outbox.poll(T0).is_some());
    assert!(outbox.poll(T0).is_none(), "a third would exceed max_in_flight");
}

#[test]
fn events_of_a_request_without_outcome_are_resent_after_the_timeout() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let lost = outbox.poll(T0 + 2_000).unwrap();
    let again = outbox.poll(T0 + 2_000 + 30_000).expect("presumed lost after 30 s");
    assert_eq!(again.event_ids, lost.event_ids);
}

#[test]
fn a_late_ok_and_the_resend_ok_acknowledge_the_event_once() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..1, 100, T0);
    let slow = outbox.poll(T0 + 2_000).unwrap();
    let resend = outbox.poll(T0 + 32_000).unwrap();
    assert_eq!(outbox.on_result(slow.batch_id, Outcome::Ok, T0 + 33_000, 0).delivered, [id(0)]);
    assert!(outbox.on_result(resend.batch_id, Outcome::Ok, T0 + 34_000, 0).delivered.is_empty());
    assert!(outbox.is_empty());
}

// ---- bounded queue and drop count ----

#[test]
fn past_500_events_the_oldest_are_dropped_and_counted() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..503, 100, T0);
    assert_eq!(outbox.len(), 500);
    assert_eq!(outbox.dropped_total(), 3);
    assert_eq!(outbox.ids().next(), Some(id(3).as_str()), "the three oldest went");
}

#[test]
fn past_256_kb_the_oldest_are_dropped_and_counted() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..9, 30_000, T0);
    assert_eq!(outbox.len(), 8, "9 × 30 KB exceeds 256 KB");
    assert!(outbox.stored_bytes() <= 256 * 1024);
    assert_eq!(outbox.dropped_total(), 1);
}

#[test]
fn the_drop_count_rides_in_the_next_batch_until_it_is_delivered() {
    let policy = Policy { max_stored_events: 2, ..Policy::default() };
    let mut outbox = Outbox::new(policy);
    push_n(&mut outbox, 0..3, 100, T0);
    let failed = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    assert_eq!(dropped_in_body(&failed.body), Some(1));
    outbox.on_result(failed.batch_id, Outcome::NetworkError, T0, 0);
    let delivered = outbox.flush_all(T0 + 1, FlushReason::Manual).remove(0);
    assert_eq!(dropped_in_body(&delivered.body), Some(1), "a failed send does not lose the count");
    outbox.on_result(delivered.batch_id, Outcome::Ok, T0 + 2, 0);
    push_n(&mut outbox, 3..4, 100, T0 + 3);
    let next = outbox.flush_all(T0 + 3, FlushReason::Manual).remove(0);
    assert_eq!(dropped_in_body(&next.body), None, "reported once");
}

// ---- persistence ----

#[test]
fn snapshot_and_restore_round_trip_the_queue() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..5, 300, T0);
    let in_flight = outbox.flush_all(T0, FlushReason::PageHide).remove(0);
    push_n(&mut outbox, 5..7, 300, T0);
    let (restored, report) = restore(Policy::default(), &outbox.snapshot(), T0 + 60_000);
    assert_eq!(report.restored, 7);
    assert_eq!(report.problem, None);
    assert_eq!(restored.ids().collect::<Vec<_>>(), outbox.ids().collect::<Vec<_>>(), "in-flight events are kept too");
    assert_eq!(restored.stored_bytes(), outbox.stored_bytes());
    let mut restored = restored;
    let resend = restored.poll(T0 + 60_000).expect("restored events are due at once");
    assert_eq!(resend.event_ids[..5], in_flight.event_ids[..]);
}

#[test]
fn restore_keeps_the_backoff_and_the_drop_count() {
    let policy = Policy { max_stored_events: 1, ..Policy::default() };
    let mut outbox = Outbox::new(policy.clone());
    push_n(&mut outbox, 0..2, 100, T0);
    let send = outbox.flush_all(T0, FlushReason::Manual).remove(0);
    outbox.on_result(send.batch_id, Outcome::Retry { retry_after_ms: Some(60_000) }, T0, 0);
    let (mut restored, _) = restore(policy, &outbox.snapshot(), T0 + 1_000);
    assert_eq!(restored.failures(), 1);
    assert!(restored.poll(T0 + 59_999).is_none(), "Retry-After survives a page load");
    let send = restored.poll(T0 + 60_000).unwrap();
    assert_eq!(dropped_in_body(&send.body), Some(1));
}

#[test]
fn restore_applies_the_bounds_and_counts_what_it_drops() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..10, 100, T0);
    let smaller = Policy { max_stored_events: 4, ..Policy::default() };
    let (mut restored, report) = restore(smaller, &outbox.snapshot(), T0);
    assert_eq!((restored.len(), report.restored, report.dropped), (4, 4, 6));
    assert_eq!(restored.ids().next(), Some(id(6).as_str()), "the newest are kept");
    let send = restored.flush_all(T0, FlushReason::Manual).remove(0);
    assert_eq!(dropped_in_body(&send.body), Some(6));
}

#[test]
fn a_corrupt_snapshot_restores_as_empty() {
    let mut outbox = Outbox::new(Policy::default());
    push_n(&mut outbox, 0..3, 100, T0);
    let good = outbox.snapshot();
    let truncated = &good[..good.len() / 2];
    for bad in [truncated, "null", "[]", "{}", "{\"v\":2,\"events\":[]}", "{\"v\":1,\"events\":{}}", "\u{0}\u{ffff}", "{\"v\":1e999}"] {
        let (restored, report) = restore(Policy::default(), bad, T0);
        assert!(restored.is_empty(), "{bad:?}");
        assert!(report.problem.is_some(), "{bad:?} should be reported");
    }
    let (restored, report) = restore(Policy::default(), "", T0);
    assert!(restored.is_empty() && report.problem.is_none(), "nothing stored is not a problem");
}

#[test]
fn unreadable_entries_are_dropped_counted_and_the_rest_kept() {
    let snapshot = r#"{"v":1,"events":[["E1","{\"id\":\"E1\"}"],[1,2],["E2","not json"],"x",["E3","{\"id\":\"E3\"}"]]}"#;
    let (mut restored, report) = restore(Policy::default(), snapshot, T0);
    assert_eq!(restored.ids().collect::<Vec<_>>(), ["E1", "E3"]);
    assert_eq!(report.dropped, 3);
    assert!(report.problem.unwrap().contains("3 stored events"));
    assert_eq!(dropped_in_body(&restored.flush_all(T0, FlushReason::Manual)[0].body), Some(3));
}

#[test]
fn a_backoff_from_a_clock_far_ahead_is_clamped() {
    let snapshot = format!(r#"{{"v":1,"failures":3,"retry_at":{},"events":[["E1","{{}}"]]}}"#, u64::MAX / 2);
    let (mut restored, _) = restore(Policy::default(), &snapshot, T0);
    assert!(restored.retry_at() <= T0 + Policy::default().max_retry_after_ms);
    assert!(restored.poll(T0 + Policy::default().max_retry_after_ms).is_some());
}

#[test]
fn a_parsed_snapshot_of_the_wrong_shape_restores_as_empty() {
    for bad in [Value::Null, Value::Array(Vec::new()), Value::Object(vec![("v".into(), Value::Number(2.0))])] {
        let (restored, report) = Outbox::restore_value(Policy::default(), &bad, T0);
        assert!(restored.is_empty(), "{bad:?}");
        assert!(report.problem.is_some(), "{bad:?} should be reported");
    }
}

#[test]
fn merging_another_tabs_snapshot_adopts_only_new_events() {
    let mut mine = Outbox::new(Policy::default());
    push_n(&mut mine, 0..3, 100, T0);
    let mut theirs = Outbox::new(Policy::default());
    push_n(&mut theirs, 2..5, 100, T0);
    let (theirs, _) = splitbeam_core::json::parse(&theirs.snapshot()).expect("a snapshot is JSON");
    let report = mine.merge_value(&theirs, T0);
    assert_eq!(report.restored, 2);
    let ids: Vec<&str> = mine.ids().collect();
    assert_eq!(ids, [id(0), id(1), id(2), id(3), id(4)]);
}

// ---- the whole path with real events ----

#[test]
fn encoded_events_arrive_in_the_documented_batch_shape() {
    let event = Event {
        id: new_id([7; 16], T0),
        ts: T0,
        visitor: "v_1".into(),
        session: "s_1".into(),
        url: "/checkout/done".into(),
        kind: EventKind::Goal {
            goal: "purchase".into(),
            value: Some(49.9),
            experiments: vec![("hero-headline".into(), "free-shipping".into())],
            props: Value::Object(vec![("currency".into(), "EUR".into())]),
        },
    };
    let mut outbox = Outbox::new(Policy::default());
    outbox.push(&event.id, event.to_json(&|n| n.to_string()), T0).unwrap();
    let send = outbox.flush_all(T0 + 5, FlushReason::PageHide).remove(0);
    let batch: serde_json::Value = serde_json::from_str(&send.body).unwrap();
    assert_eq!(batch["sent_at"], T0 + 5);
    let sent = &batch["events"][0];
    assert_eq!(sent["id"], event.id.as_str());
    assert_eq!(sent["type"], "goal");
    assert_eq!(sent["value"], 49.9);
    assert_eq!(sent["experiments"]["hero-headline"], "free-shipping");
    assert_eq!(sent["props"]["currency"], "EUR");
}

// ---- no event lost, none delivered twice ----

#[derive(Debug, Clone)]
enum Step {
    Push { bytes: usize },
    Advance { ms: u64 },
    Poll,
    Flush { hide: bool },
    /// Answer the `pick`-th outstanding request.
    Answer { pick: usize, outcome: u8, retry_after_ms: Option<u64>, random: u32 },
    BeaconRefused { pick: usize },
    /// The page is shown again: events held after an unconfirmed beacon become pending.
    Resume,
    /// The page reloads: outstanding requests are never answered; the snapshot is restored.
    Restart { corrupt: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (20usize..220).prop_map(|bytes| Step::Push { bytes }),
        2 => (0u64..700).prop_map(|ms| Step::Advance { ms }),
        3 => Just(Step::Poll),
        1 => any::<bool>().prop_map(|hide| Step::Flush { hide }),
        5 => (any::<usize>(), 0u8..6, proptest::option::of(0u64..400), any::<u32>())
            .prop_map(|(pick, outcome, retry_after_ms, random)| Step::Answer { pick, outcome, retry_after_ms, random }),
        1 => any::<usize>().prop_map(|pick| Step::BeaconRefused { pick }),
        1 => Just(Step::Resume),
        1 => prop::bool::weighted(0.1).prop_map(|corrupt| Step::Restart { corrupt }),
    ]
}

fn tiny_policy() -> Policy {
    Policy {
        max_batch_events: 4,
        max_delay_ms: 100,
        max_body_bytes: 420,
        max_event_bytes: 180,
        max_stored_events: 12,
        max_stored_bytes: 1_200,
        backoff_base_ms: 10,
        backoff_factor: 2,
        backoff_cap_ms: 300,
        max_retry_after_ms: 1_000,
        in_flight_timeout_ms: 500,
        max_in_flight: 2,
        lease_ms: 50,
        beacon_trust_ms: 1_000,
        unreadable_memory_ms: 2_000,
        automated: false,
    }
}

/// What the test knows independently of the outbox.
struct Ledger {
    /// Pushed and accepted, not yet delivered, rejected or dropped.
    open: BTreeSet<String>,
    delivered: HashSet<String>,
    rejected: usize,
    dropped: u64,
    /// Lost with a corrupt snapshot: the outbox cannot count them, but reports the corruption.
    corrupted: usize,
    /// Held after a beacon nobody confirmed: not to be sent again before `resume` or a restart.
    unconfirmed: BTreeSet<String>,
    /// How many requests carried each event: more than one is allowed, delivered more than once is not.
    sent: HashMap<String, usize>,
}

impl Ledger {
    /// Everything that left the outbox since `before` must be explained by `delivered` and
    /// `rejected` (by id) and by `dropped` (by count): nothing vanishes silently.
    fn settle(&mut self, outbox: &Outbox, delivered: &[String], rejected: &[String], dropped: u64) -> Result<(), TestCaseError> {
        let held: BTreeSet<String> = outbox.ids().map(String::from).collect();
        prop_assert!(held.is_subset(&self.open), "the outbox holds an event that was settled or never pushed");
        let vanished: BTreeSet<String> = self.open.difference(&held).cloned().collect();
        for id in delivered {
            prop_assert!(self.delivered.insert(id.clone()), "{} delivered twice", id);
            prop_assert!(vanished.contains(id), "{} reported delivered but still held or never open", id);
        }
        for id in rejected {
            prop_assert!(vanished.contains(id), "{} reported rejected but still held", id);
        }
        let unexplained = vanished.len() - delivered.len() - rejected.len();
        prop_assert_eq!(unexplained as u64, dropped, "events vanished without being counted as dropped");
        self.rejected += rejected.len();
        self.dropped += dropped;
        self.unconfirmed.retain(|id| held.contains(id));
        self.open = held;
        prop_assert_eq!(outbox.unconfirmed_len(), self.unconfirmed.len(), "the outbox holds other events as unconfirmed than the beacons left");
        Ok(())
    }
}

/// An unanswered request, and when it was made.
struct Outstanding {
    send: Send,
    sent_at: u64,
    /// A beacon sent while the outbox trusted beacons: its `Queued` acknowledges it.
    trusted: bool,
}

/// A new request may not carry an event that travels in another request still within its timeout.
fn check_not_in_flight(send: &Send, outstanding: &[Outstanding], policy: &Policy, now: u64) -> Result<(), TestCaseError> {
    for other in outstanding.iter().filter(|o| now < o.sent_at + policy.in_flight_timeout_ms) {
        for id in &send.event_ids {
            prop_assert!(!other.send.event_ids.contains(id), "{} sent again while batch {} is in flight", id, other.send.batch_id);
        }
    }
    Ok(())
}

fn check_send(send: &Send, policy: &Policy, ledger: &mut Ledger) -> Result<(), TestCaseError> {
    prop_assert!(send.body.len() <= policy.max_body_bytes, "body of {} bytes", send.body.len());
    let ids = ids_in_body(&send.body);
    prop_assert_eq!(&ids, &send.event_ids);
    let unique: HashSet<&String> = ids.iter().collect();
    prop_assert_eq!(unique.len(), ids.len(), "an event twice in one body");
    for id in &ids {
        prop_assert!(ledger.open.contains(id), "{} sent although it is settled", id);
        prop_assert!(!ledger.unconfirmed.contains(id), "{} sent again on the page whose beacon left it unconfirmed", id);
        *ledger.sent.entry(id.clone()).or_default() += 1;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_event_is_delivered_exactly_once_or_counted_as_dropped(steps in prop::collection::vec(step(), 1..120)) {
        let policy = tiny_policy();
        let mut outbox = Outbox::new(policy.clone());
        let mut ledger = Ledger {
            open: BTreeSet::new(),
            delivered: HashSet::new(),
            rejected: 0,
            dropped: 0,
            corrupted: 0,
            unconfirmed: BTreeSet::new(),
            sent: HashMap::new(),
        };
        // When the test's collector last answered 2xx: the outbox may trust a beacon only shortly after.
        let mut last_ok: Option<u64> = None;
        let mut accepted = 0usize;
        let mut outstanding: Vec<Outstanding> = Vec::new();
        let mut now = T0;
        let mut next = 0usize;

        for step in steps {
            let dropped_before = outbox.dropped_total();
            match step {
                Step::Push { bytes } => {
                    next += 1;
                    match outbox.push(&id(next), event_json(next, bytes), now) {
                        Ok(()) => { ledger.open.insert(id(next)); accepted += 1; }
                        Err(PushError::TooLarge { .. }) => prop_assert!(bytes > policy.event_limit()),
                        Err(other) => prop_assert!(false, "unexpected {}", other),
                    }
                    ledger.settle(&outbox, &[], &[], outbox.dropped_total() - dropped_before)?;
                }
                Step::Advance { ms } => now += ms,
                Step::Poll => {
                    while let Some(send) = outbox.poll(now) {
                        check_send(&send, &policy, &mut ledger)?;
                        check_not_in_flight(&send, &outstanding, &policy, now)?;
                        let trusted = send.transport == Transport::Beacon && outbox.trusts_beacons(now);
                        if trusted {
                            prop_assert!(last_ok.is_some_and(|t| now - t <= policy.beacon_trust_ms), "a beacon trusted without a recent 2xx");
                        }
                        outstanding.push(Outstanding { send, sent_at: now, trusted });
                    }
                }
                Step::Flush { hide } => {
                    let reason = if hide { FlushReason::PageHide } else { FlushReason::Manual };
                    for send in outbox.flush_all(now, reason) {
                        check_send(&send, &policy, &mut ledger)?;
                        check_not_in_flight(&send, &outstanding, &policy, now)?;
                        let trusted = send.transport == Transport::Beacon && outbox.trusts_beacons(now);
                        if trusted {
                            prop_assert!(last_ok.is_some_and(|t| now - t <= policy.beacon_trust_ms), "a beacon trusted without a recent 2xx");
                        }
                        outstanding.push(Outstanding { send, sent_at: now, trusted });
                    }
                }
                Step::Answer { pick, outcome, retry_after_ms, random } => {
                    if outstanding.is_empty() { continue; }
                    let Outstanding { send, sent_at, trusted } = outstanding.remove(pick % outstanding.len());
                    let outcome = match outcome {
                        0 => Outcome::Ok,
                        1 => Outcome::Retry { retry_after_ms },
                        2 => Outcome::Reject,
                        3 => Outcome::NetworkError,
                        4 => Outcome::TooLarge,
                        _ => Outcome::Queued,
                    };
                    let held_before: BTreeSet<String> = outbox.ids().map(String::from).collect();
                    let settled = outbox.on_result(send.batch_id, outcome, now, random);
                    if outcome == Outcome::Ok { last_ok = Some(now); }
                    let acknowledges = outcome == Outcome::Ok || (outcome == Outcome::Queued && trusted);
                    if !acknowledges { prop_assert!(settled.delivered.is_empty()); }
                    if outcome == Outcome::Queued && !trusted && now < sent_at + policy.in_flight_timeout_ms {
                        // Still travelling with this beacon when it was queued: now held, unconfirmed.
                        ledger.unconfirmed.extend(send.event_ids.iter().filter(|id| held_before.contains(*id)).cloned());
                    }
                    ledger.settle(&outbox, &settled.delivered, &settled.rejected, 0)?;
                }
                Step::BeaconRefused { pick } => {
                    if outstanding.is_empty() { continue; }
                    let refused = outstanding.remove(pick % outstanding.len());
                    if let Some(fetch) = outbox.beacon_refused(refused.send.batch_id, now) {
                        prop_assert_eq!(refused.send.transport, Transport::Beacon);
                        prop_assert!(now < refused.sent_at + policy.in_flight_timeout_ms, "a timed-out beacon was replaced");
                        check_send(&fetch, &policy, &mut ledger)?;
                        check_not_in_flight(&fetch, &outstanding, &policy, now)?;
                        outstanding.push(Outstanding { send: fetch, sent_at: now, trusted: false });
                    }
                }
                Step::Resume => {
                    let resent = outbox.resume(now);
                    prop_assert_eq!(resent, ledger.unconfirmed.len());
                    ledger.unconfirmed.clear();
                }
                Step::Restart { corrupt } => {
                    outstanding.clear();
                    // Every held event is restored as pending, those of unconfirmed beacons too.
                    ledger.unconfirmed.clear();
                    let mut snapshot = outbox.snapshot();
                    if corrupt {
                        snapshot.truncate(snapshot.len() / 2);
                    }
                    let (restored, report) = restore(policy.clone(), &snapshot, now);
                    outbox = restored;
                    // A corrupt snapshot loses what it held, and says so; otherwise only bounds drop.
                    prop_assert_eq!(corrupt, report.problem.is_some());
                    if corrupt {
                        prop_assert!(outbox.is_empty());
                        ledger.corrupted += ledger.open.len();
                        ledger.open.clear();
                        last_ok = None;
                    }
                    ledger.settle(&outbox, &[], &[], report.dropped)?;
                }
            }
            // Polls, flushes and timeouts only move events between pending and in flight.
            ledger.settle(&outbox, &[], &[], 0)?;
        }

        // Let the collector recover on later page loads (held beacons' events pending again):
        // everything still open gets delivered, each event once.
        outstanding.clear();
        outbox.resume(now);
        ledger.unconfirmed.clear();
        for _ in 0..200 {
            now += 10_000;
            let mut sends = Vec::new();
            while let Some(send) = outbox.poll(now) { sends.push(send); }
            for send in sends {
                check_send(&send, &policy, &mut ledger)?;
                let settled = outbox.on_result(send.batch_id, Outcome::Ok, now, 0);
                ledger.settle(&outbox, &settled.delivered, &[], 0)?;
            }
            if outbox.is_empty() { break; }
        }
        prop_assert!(outbox.is_empty(), "{} events never delivered", outbox.len());
        prop_assert!(ledger.open.is_empty());
        prop_assert_eq!(ledger.delivered.len() + ledger.rejected + ledger.dropped as usize + ledger.corrupted, accepted);
        for id in &ledger.delivered {
            prop_assert!(ledger.sent.get(id).is_some_and(|n| *n >= 1), "{} delivered without being sent", id);
        }
    }
}

/// Steps against a collector that stores every request it gets but whose answers the page cannot
/// read (no CORS headers): a readable fetch ends `Unreadable` (its probe was answered), a no-cors one
/// `Sent`, a beacon `Queued`; any request may also never leave (`NetworkError`). Answers come within
/// the in-flight timeout (a slower collector can get a batch again: see the README).
#[derive(Debug, Clone)]
enum BlindStep {
    Push,
    Advance { ms: u64 },
    Poll,
    Flush { hide: bool },
    Answer { pick: usize, lost: bool },
    Resume,
    Restart,
}

fn blind_step() -> impl Strategy<Value = BlindStep> {
    prop_oneof![
        4 => Just(BlindStep::Push),
        2 => (0u64..700).prop_map(|ms| BlindStep::Advance { ms }),
        3 => Just(BlindStep::Poll),
        1 => any::<bool>().prop_map(|hide| BlindStep::Flush { hide }),
        5 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(pick, lost)| BlindStep::Answer { pick, lost }),
        1 => Just(BlindStep::Resume),
        1 => Just(BlindStep::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn an_unreadable_collector_receives_each_event_at_most_twice_and_the_queue_empties(steps in prop::collection::vec(blind_step(), 1..120)) {
        let policy = Policy { in_flight_timeout_ms: u64::MAX / 4, ..tiny_policy() };
        let mut outbox = Outbox::new(policy.clone());
        let mut outstanding: Vec<Send> = Vec::new();
        // How many requests that reached the collector carried each event.
        let mut arrived: HashMap<String, usize> = HashMap::new();
        let mut now = T0;
        let mut next = 0usize;
        let answer = |outbox: &mut Outbox, send: &Send, lost: bool, now: u64, arrived: &mut HashMap<String, usize>| {
            let outcome = match (lost, send.transport) {
                (true, Transport::Beacon) => Outcome::Queued, // a beacon never says it was lost
                (true, _) => Outcome::NetworkError,
                (false, Transport::Fetch) => Outcome::Unreadable,
                (false, Transport::Blind) => Outcome::Sent,
                (false, Transport::Beacon) => Outcome::Queued,
            };
            if !(lost && send.transport != Transport::Beacon) {
                for id in &send.event_ids {
                    *arrived.entry(id.clone()).or_default() += 1;
                }
            }
            outbox.on_result(send.batch_id, outcome, now, 7);
        };
        for step in steps {
            match step {
                BlindStep::Push => {
                    next += 1;
                    let _ = outbox.push(&id(next), event_json(next, 60), now);
                }
                BlindStep::Advance { ms } => now += ms,
                BlindStep::Poll => outstanding.extend(std::iter::from_fn(|| outbox.poll(now))),
                BlindStep::Flush { hide } => {
                    let reason = if hide { FlushReason::PageHide } else { FlushReason::Manual };
                    outstanding.extend(outbox.flush_all(now, reason));
                }
                BlindStep::Answer { pick, lost } => {
                    if outstanding.is_empty() { continue; }
                    let send = outstanding.remove(pick % outstanding.len());
                    answer(&mut outbox, &send, lost, now, &mut arrived);
                }
                BlindStep::Resume => { outbox.resume(now); }
                BlindStep::Restart => {
                    // The page goes: its unanswered requests are answered (or lost) as it unloads.
                    for send in std::mem::take(&mut outstanding) {
                        answer(&mut outbox, &send, false, now, &mut arrived);
                    }
                    let unreadable_at = outbox.unreadable_at();
                    outbox = restore(policy.clone(), &outbox.snapshot(), now).0;
                    // The shell carries this across pages in localStorage.
                    outbox.note_unreadable(unreadable_at);
                }
            }
            prop_assert!(outbox.len() <= policy.max_stored_events);
            for (id, n) in &arrived {
                prop_assert!(*n <= 2, "{} reached the collector {} times", id, n);
            }
        }
        // Whatever is left goes from later page loads and is answered: the queue ends empty.
        for _ in 0..50 {
            for send in std::mem::take(&mut outstanding) {
                answer(&mut outbox, &send, false, now, &mut arrived);
            }
            now += 400_000;
            let unreadable_at = outbox.unreadable_at();
            outbox = restore(policy.clone(), &outbox.snapshot(), now).0;
            outbox.note_unreadable(unreadable_at);
            outstanding.extend(std::iter::from_fn(|| outbox.poll(now)));
            if outbox.is_empty() { break; }
        }
        prop_assert!(outbox.is_empty(), "{} events left queued", outbox.len());
        for (id, n) in &arrived {
            prop_assert!(*n <= 2, "{} reached the collector {} times", id, n);
        }
    }
}
