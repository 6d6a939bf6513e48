//! The SQLite store and the results built on it: dedupe by event id, conversions only after the
//! first exposure, out-of-order arrival, revenue sums, funnels, SRM inputs and export.

mod common;

use common::{conversions, events, exposure, funnel, goal, hero_experiment, pageview, visitors};
use splitbeam_collector::results::experiment_results;
use splitbeam_collector::store::sqlite::{Durability, SqliteStore};
use splitbeam_collector::store::{ExperimentTotals, Store};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("t.db"), Durability::Normal).expect("open");
    (dir, store)
}

fn totals(store: &SqliteStore) -> ExperimentTotals {
    store.experiment_totals("hero", &funnel()).expect("totals")
}

#[test]
fn a_resent_batch_is_stored_and_counted_once() {
    let (_dir, store) = store();
    let batch = || events(&[exposure("e1", "v1", "hero", "b", 100), goal("g1", "v1", "purchase", Some(10.0), 200)]);
    let first = store.insert_batch_blocking(batch()).expect("first send");
    let again = store.insert_batch_blocking(batch()).expect("resend");
    assert_eq!((first.stored, first.duplicates), (2, 0));
    assert_eq!((again.stored, again.duplicates), (0, 2));
    let t = totals(&store);
    assert_eq!(visitors(&t, "b"), 1);
    assert_eq!(conversions(&t, "b", "purchase"), 1);
}

#[test]
fn a_goal_before_the_first_exposure_does_not_convert() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[goal("g1", "v1", "purchase", None, 50), exposure("e1", "v1", "hero", "b", 100)]))
        .expect("insert");
    let t = totals(&store);
    assert_eq!(visitors(&t, "b"), 1);
    assert_eq!(conversions(&t, "b", "purchase"), 0);
}

#[test]
fn a_goal_stored_before_its_exposure_arrives_counts_once_the_exposure_does() {
    let (_dir, store) = store();
    store.insert_batch_blocking(events(&[goal("g1", "v1", "purchase", Some(5.0), 300)])).expect("goal first");
    assert_eq!(conversions(&totals(&store), "b", "purchase"), 0);
    store.insert_batch_blocking(events(&[exposure("e1", "v1", "hero", "b", 100)])).expect("exposure later");
    let t = totals(&store);
    assert_eq!(conversions(&t, "b", "purchase"), 1);
    assert_eq!(t.goals.iter().find(|g| g.goal == "purchase").map(|g| g.value_sum), Some(5.0));
}

#[test]
fn an_earlier_exposure_arriving_late_decides_the_variant() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[exposure("e2", "v1", "hero", "b", 200), goal("g1", "v1", "add_to_cart", None, 250)]))
        .expect("later exposure first");
    store.insert_batch_blocking(events(&[exposure("e1", "v1", "hero", "control", 100)])).expect("earlier exposure");
    let t = totals(&store);
    assert_eq!((visitors(&t, "control"), visitors(&t, "b")), (1, 0));
    assert_eq!((conversions(&t, "control", "add_to_cart"), conversions(&t, "b", "add_to_cart")), (1, 0));
}

#[test]
fn an_earlier_exposure_arriving_late_makes_goals_in_between_count() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[goal("g1", "v1", "purchase", Some(3.0), 150), exposure("e2", "v1", "hero", "b", 200)]))
        .expect("first batch");
    assert_eq!(conversions(&totals(&store), "b", "purchase"), 0);
    store.insert_batch_blocking(events(&[exposure("e1", "v1", "hero", "b", 100)])).expect("earlier exposure");
    assert_eq!(conversions(&totals(&store), "b", "purchase"), 1);
}

#[test]
fn revenue_is_summed_per_visitor_then_squared() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            goal("g1", "v1", "purchase", Some(10.0), 110),
            goal("g2", "v1", "purchase", Some(5.0), 120),
            exposure("e2", "v2", "hero", "b", 100),
            goal("g3", "v2", "purchase", Some(2.0), 130),
        ]))
        .expect("insert");
    let t = totals(&store);
    let purchase = t.goals.iter().find(|g| g.variant == "b" && g.goal == "purchase").expect("purchase totals");
    assert_eq!(purchase.conversions, 2);
    assert_eq!(purchase.value_sum, 17.0);
    assert_eq!(purchase.value_sum_sq, 15.0 * 15.0 + 2.0 * 2.0);
}

#[test]
fn goals_count_for_every_experiment_the_visitor_was_exposed_to() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            exposure("e2", "v1", "cart-button", "big", 100),
            goal("g1", "v1", "purchase", None, 200),
        ]))
        .expect("insert");
    let other = store.experiment_totals("cart-button", &[]).expect("totals");
    assert_eq!(conversions(&other, "big", "purchase"), 1);
    assert_eq!(conversions(&totals(&store), "b", "purchase"), 1);
}

#[test]
fn the_funnel_counts_visitors_reaching_each_step_in_order() {
    let (_dir, store) = store();
    store.register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            goal("g1", "v1", "add_to_cart", None, 110),
            goal("g2", "v1", "purchase", None, 120),
            exposure("e2", "v2", "hero", "b", 100),
            goal("g3", "v2", "purchase", None, 110),
            goal("g4", "v2", "add_to_cart", None, 120),
            exposure("e3", "v3", "hero", "b", 100),
            goal("g5", "v3", "add_to_cart", None, 130),
        ]))
        .expect("insert");
    let t = totals(&store);
    let b = t.funnel.iter().find(|f| f.variant == "b").expect("funnel of b");
    assert_eq!(b.counts, vec![3, 1]);
}

#[test]
fn a_funnel_registered_after_the_data_matches_the_scan() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "control", 100),
            goal("g1", "v1", "add_to_cart", None, 110),
            goal("g2", "v1", "purchase", None, 120),
            exposure("e2", "v2", "hero", "control", 100),
            goal("g3", "v2", "add_to_cart", None, 130),
        ]))
        .expect("insert");
    let scanned = totals(&store).funnel;
    store.register_funnels(vec![("hero".to_string(), funnel())]).expect("register");
    let aggregated = totals(&store).funnel;
    assert_eq!(scanned, aggregated);
    assert_eq!(aggregated[0].counts, vec![2, 1]);
}

#[test]
fn results_compare_each_variant_with_control() {
    let (_dir, store) = store();
    let mut items = Vec::new();
    for i in 0..40 {
        let variant = if i % 2 == 0 { "control" } else { "b" };
        items.push(exposure(&format!("e{i}"), &format!("v{i}"), "hero", variant, 100));
        if i % 4 == 1 || i % 8 == 0 {
            items.push(goal(&format!("g{i}"), &format!("v{i}"), "purchase", Some(20.0), 200));
        }
    }
    store.insert_batch_blocking(events(&items)).expect("insert");
    let experiment = hero_experiment();
    let results = experiment_results("hero", Some(&experiment), &totals(&store), 1);
    let json = serde_json::to_value(&results).expect("serialise");

    assert_eq!(json["experiment"], "hero");
    assert_eq!(json["goals"], serde_json::json!(["add_to_cart", "purchase"]));
    let control = &json["variants"][0];
    let b = &json["variants"][1];
    assert_eq!((control["key"].as_str(), control["visitors"].as_u64()), (Some("control"), Some(20)));
    assert_eq!(control["weight"], 0.5);
    assert_eq!(control["goals"]["purchase"]["conversions"], 5);
    assert_eq!(control["goals"]["purchase"]["rate"], 0.25);
    assert!(control["goals"]["purchase"]["lift"].is_null(), "control has no lift against itself");
    assert_eq!(b["goals"]["purchase"]["conversions"], 10);
    assert_eq!(b["goals"]["purchase"]["value"]["per_visitor"], 10.0);
    assert!(b["goals"]["add_to_cart"]["value"].is_null(), "a goal without a value has no value block");
    assert_eq!(json["srm"]["observed"], serde_json::json!([20, 20]));
    assert_eq!(json["funnel"]["steps"], serde_json::json!(["add_to_cart", "purchase"]));
}

#[test]
fn export_streams_the_experiments_exposures_and_its_visitors_events() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            pageview("p1", "v1", 105),
            goal("g1", "v1", "purchase", Some(1.0), 110),
            exposure("e2", "v1", "other", "x", 100),
            pageview("p2", "v-never-exposed", 100),
        ]))
        .expect("insert");
    let mut ids = Vec::new();
    let written = store
        .export("hero", &mut |e| {
            ids.push(e.id.to_string());
            Ok(())
        })
        .expect("export");
    assert_eq!(written, 3);
    assert_eq!(ids, vec!["e1", "p1", "g1"]);
}

#[test]
fn aggregates_survive_reopening_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    {
        let store = SqliteStore::open(&path, Durability::Full).expect("open");
        store.insert_batch_blocking(events(&[exposure("e1", "v1", "hero", "b", 100)])).expect("insert");
    }
    let store = SqliteStore::open_existing(&path).expect("reopen");
    assert_eq!(visitors(&totals(&store), "b"), 1);
}

#[test]
fn the_leader_is_the_best_rate_on_the_first_goal_anyone_converted_on() {
    let (_dir, store) = store();
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "control", 100),
            exposure("e2", "v2", "hero", "b", 100),
            goal("g1", "v2", "purchase", Some(5.0), 200),
        ]))
        .expect("insert");
    let experiment = hero_experiment();
    let results = experiment_results("hero", Some(&experiment), &totals(&store), 1);
    assert_eq!(splitbeam_collector::results::leading_variant(&results).as_deref(), Some("b"));
}

/// README "Events", goal attribution: the variant of the visitor's first exposure, not the goal's
/// own `experiments` map. Here a changed variant list reset the sticky assignment: the visitor was
/// first shown b, later control, and the purchase says control.
#[test]
fn a_goal_is_attributed_by_the_first_exposure_not_by_its_experiments_map() {
    let (_dir, store) = store();
    let purchase_saying_control = r#"{"id":"g1","type":"goal","goal":"purchase","value":5,"ts":300,"visitor":"v1","session":"s-v1","url":"/done","experiments":{"hero":"control"}}"#;
    store
        .insert_batch_blocking(events(&[
            exposure("e1", "v1", "hero", "b", 100),
            exposure("e2", "v1", "hero", "control", 200),
            purchase_saying_control.to_string(),
        ]))
        .expect("insert");
    let t = totals(&store);
    assert_eq!((visitors(&t, "b"), visitors(&t, "control")), (1, 0));
    assert_eq!((conversions(&t, "b", "purchase"), conversions(&t, "control", "purchase")), (1, 0));
}

/// Two exposures to different variants in the same millisecond: the lower event id is the first
/// (the rule ClickHouse's argMin by (ts, id) follows), whichever arrives first.
#[test]
fn exposures_in_the_same_millisecond_are_ordered_by_event_id() {
    let (_dir, one_batch) = store();
    one_batch
        .insert_batch_blocking(events(&[exposure("e2", "v1", "hero", "b", 100), exposure("e1", "v1", "hero", "control", 100)]))
        .expect("insert");
    let (_dir2, two_batches) = store();
    two_batches.insert_batch_blocking(events(&[exposure("e2", "v1", "hero", "b", 100)])).expect("insert b");
    two_batches.insert_batch_blocking(events(&[exposure("e1", "v1", "hero", "control", 100)])).expect("insert control");
    for t in [totals(&one_batch), totals(&two_batches)] {
        assert_eq!((visitors(&t, "control"), visitors(&t, "b")), (1, 0));
    }
}
