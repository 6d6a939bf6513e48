//! Assignment throughput: one experiment, and a 50-experiment config with audience conditions
//! and page rules (what a large shop's snippet evaluates on every page view).
//! Run: `cargo bench -p splitbeam-core --bench assign`. Criterion prints elements/s = evaluations/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use splitbeam_core::assign::{assign, Visitor};
use splitbeam_core::config::{load_text, Config};
use splitbeam_core::json::Value;
use splitbeam_core::js_engine::NativeJs;

fn config(experiments: &[String]) -> Config {
    let text = format!(r#"{{"version": 1, "experiments": [{}]}}"#, experiments.join(","));
    let (loaded, _) = load_text(&text, &NativeJs).expect("bench config parses");
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
    loaded.config
}

fn single() -> Config {
    config(&[r#"{"key": "hero", "status": "running", "variants": [{"key": "a"}, {"key": "b"}]}"#.to_string()])
}

/// 50 experiments, each with page rules and an audience of several operators.
fn fifty() -> Config {
    let experiments: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"key": "exp-{i}", "status": "running", "traffic": 0.9, "pages": ["/", "/collections/*", "!/collections/sale"],
                   "audience": {{"device": {{"$in": ["mobile", "desktop"]}}, "language": {{"$regex": "^(de|en)"}},
                                 "visits": {{"$gte": {i}}}, "utm_source": {{"$ne": "spam"}}}},
                   "variants": [{{"key": "a", "weight": 1}}, {{"key": "b", "weight": 1}}, {{"key": "c", "weight": 2}}]}}"#
            )
        })
        .collect();
    config(&experiments)
}

fn bench(c: &mut Criterion) {
    let attributes = Value::Object(vec![
        ("id".into(), "v_01JD3XKQ8M2".into()),
        ("device".into(), "mobile".into()),
        ("language".into(), "de-DE".into()),
        ("visits".into(), Value::Number(30.0)),
        ("utm_source".into(), "newsletter".into()),
    ]);
    let visitor =
        Visitor { attributes: &attributes, href: "https://shop.example/collections/shoes", now_ms: 0.0, forced: &[], sticky: &[], regex: &NativeJs };
    let mut group = c.benchmark_group("assign");
    for (name, cfg) in [("1 experiment", single()), ("50 experiments with conditions", fifty())] {
        group.throughput(Throughput::Elements(cfg.experiments.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &cfg, |b, cfg| b.iter(|| assign(cfg, &visitor)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
