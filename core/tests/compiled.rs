//! The compiled config: what `splitbeam snippet` encodes is what the browser decodes, and the
//! decoded config decides exactly as the one read from experiments.json.

use splitbeam_core::assign::{assign, Visitor};
use splitbeam_core::compiled::{decode, decode_without_goals, encode, needs_conditions, write_changes};
use splitbeam_core::config::{load_text, Config};
use splitbeam_core::json::Value;
use splitbeam_core::js_engine::NativeJs;

const FULL: &str = include_str!("../../tests/fixtures/config/full.json");
const SNIPPET: &str = include_str!("../../tests/fixtures/snippet/experiments.json");

fn read(text: &str) -> Config {
    load_text(text, &NativeJs).expect("fixture parses").0.config
}

/// Everything the browser uses, printed: names and funnels are not compiled, and a variant's
/// changes travel as the applier's JSON, with a split-URL redirect on its own.
fn browser_view(config: &Config) -> String {
    let mut config = config.clone();
    for exp in &mut config.experiments {
        exp.name = exp.key.clone();
        exp.funnel.clear();
        for variant in &mut exp.variants {
            if variant.applier_json.is_empty() {
                write_changes(&mut variant.applier_json, &variant.changes);
                variant.changes.clear();
            }
        }
    }
    format!("{config:?}")
}

#[test]
fn decoding_gives_back_every_field_the_browser_uses() {
    for text in [FULL, SNIPPET] {
        let config = read(text);
        let decoded = decode(&encode(&config)).expect("decodes");
        assert_eq!(browser_view(&decoded), browser_view(&config));
    }
}

#[test]
fn the_first_view_decodes_everything_but_the_goals() {
    for text in [FULL, SNIPPET] {
        let config = read(text);
        let mut want = config.clone();
        want.experiments.iter_mut().for_each(|exp| exp.goals.clear());
        let decoded = decode_without_goals(&encode(&config)).expect("decodes");
        assert_eq!(browser_view(&decoded), browser_view(&want));
    }
    assert!(read(FULL).experiments.iter().any(|exp| !exp.goals.is_empty()), "the fixture has goals to skip");
}

#[test]
fn the_decoded_config_assigns_every_visitor_as_the_original() {
    let config = read(FULL);
    let decoded = decode(&encode(&config)).expect("decodes");
    let urls = ["https://shop.example/", "https://shop.example/products/mug", "https://shop.example/checkout", "/collections/sale?utm_source=ads"];
    for i in 0..2_000 {
        let id = format!("v_{i:032x}");
        let attributes = Value::Object(vec![
            ("id".into(), Value::String(id.clone())),
            ("device".into(), Value::String(if i % 3 == 0 { "mobile" } else { "desktop" }.into())),
            ("utm_source".into(), Value::String(if i % 2 == 0 { "ads" } else { "mail" }.into())),
            ("browser".into(), Value::String("chrome".into())),
        ]);
        for href in urls {
            let visitor = Visitor { attributes: &attributes, href, now_ms: 1.79e12, forced: &[], sticky: &[], regex: &NativeJs };
            let want: Vec<_> = assign(&config, &visitor).iter().map(|d| (d.variant, d.reason)).collect();
            let got: Vec<_> = assign(&decoded, &visitor).iter().map(|d| (d.variant, d.reason)).collect();
            assert_eq!(got, want, "visitor {id} on {href}");
        }
    }
}

#[test]
fn every_truncation_and_corruption_is_refused_without_a_panic() {
    let bytes = encode(&read(FULL));
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len]).is_none(), "a {len}-byte prefix decoded");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode(&trailing).is_none(), "trailing bytes accepted");
    // Flipped bytes may still decode to some config, but never panic or allocate wildly.
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= flip;
            let _ = decode(&corrupt);
        }
    }
}

#[test]
fn a_huge_list_count_is_refused_before_allocating() {
    // An empty config's bytes end with its experiment count, 0: make it 2^34.
    let mut bytes = encode(&Config { version: 1, ..Config::default() });
    assert!(decode(&bytes).is_some());
    assert_eq!(bytes.pop(), Some(0));
    bytes.extend([0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(decode(&bytes).is_none());
}

#[test]
fn only_a_config_with_an_audience_needs_the_condition_engine() {
    assert!(needs_conditions(&read(FULL)));
    let plain = read(r#"{"version":1,"experiments":[{"key":"a","status":"running","variants":[{"key":"c"},{"key":"b"}]}]}"#);
    assert!(!needs_conditions(&plain));
}

#[test]
fn globs_travel_parsed_with_their_host_and_query() {
    let text = r#"{"experiments": [{"key": "e", "status": "running", "variants": [{"key": "a"}, {"key": "b"}],
        "pages": {"include": ["https://*.shop.example/cart*?step=pay&coupon", "shop.example:8080/été"], "exclude": ["/cart?debug=*"]}}]}"#;
    let config = read(text);
    let decoded = decode(&encode(&config)).expect("decodes");
    assert_eq!(browser_view(&decoded), browser_view(&config));
    let pages = &decoded.experiments[0].pages;
    let url = |href: &str| splitbeam_core::url::Url::parse(href);
    let on = |href: &str| pages.matches(&url(href), &NativeJs);
    assert!(on("https://eu.shop.example/cart/?coupon=X&step=pay"));
    assert!(!on("https://eu.shop.example/cart/?step=pay"), "the coupon parameter is required");
    assert!(!on("https://eu.shop.example/cart?step=pay&coupon&debug=1"), "excluded");
    assert!(on("http://shop.example:8080/%C3%A9t%C3%A9"));
    assert!(!on("http://shop.example:9090/%C3%A9t%C3%A9"), "another port");
}
