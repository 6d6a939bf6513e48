//! The inline tag's hide list never hides too little: wherever an experiment's page rules match, a
//! rule hiding its selectors matches too (it may hide more, until the first-paint module decides).

use regex::RegexBuilder;
use splitbeam_core::config::{load_text, Config};
use splitbeam_core::hide::{hide_list, PagePattern};
use splitbeam_core::url::Url;
use splitbeam_core::js_engine::NativeJs;

const FULL: &str = include_str!("../../tests/fixtures/config/full.json");

fn read(text: &str) -> Config {
    load_text(text, &NativeJs).expect("parses").0.config
}

/// What the tag tests path rules against: the decoded path (`decodeURIComponent(location.pathname)`).
fn tag_path(url: &Url) -> String {
    url.path.clone()
}

fn rule_matches(pattern: &PagePattern, url: &Url) -> bool {
    let test = |src: &str, text: &str| RegexBuilder::new(src).case_insensitive(true).build().expect("valid regex").is_match(text);
    match pattern {
        PagePattern::Any => true,
        PagePattern::Path(src) => test(src, &tag_path(url)),
        PagePattern::Url(src) => test(src, &url.href) || test(src, &url.after_origin()),
    }
}

#[test]
fn wherever_an_experiment_runs_its_selectors_are_hidden() {
    let config = read(&FULL.replace("\"/collections/*\"", "\"/collections/*\", \"Shop.Example/Sale/%C3%A9t%C3%A9/*?ref=x\", \"/Cart/\""));
    let rules = hide_list(&config);
    let urls = [
        "https://shop.example/", "https://shop.example", "https://shop.example/collections/mugs", "https://shop.example/collections/",
        "https://shop.example/products/mug", "https://shop.example/products/gift-card", "https://shop.example/checkout",
        "https://shop.example/checkout/one-page?x=1", "https://other.example/sale/%C3%A9t%C3%A9/hats?ref=x",
        "https://shop.example/cart", "https://shop.example/CART/", "https://shop.example/about",
    ];
    let mut checked = 0;
    for exp in &config.experiments {
        let selectors: Vec<&str> = exp.variants.iter().flat_map(|v| &v.changes).filter_map(|c| c.selector.as_deref()).collect();
        if selectors.is_empty() {
            continue;
        }
        for href in urls {
            let url = Url::parse(href);
            if !exp.pages.matches(&url, &NativeJs) {
                continue;
            }
            checked += 1;
            for selector in &selectors {
                assert!(
                    rules.iter().any(|r| r.selectors.iter().any(|s| s == selector) && rule_matches(&r.pattern, &url)),
                    "{}: {selector} not hidden on {href}",
                    exp.key
                );
            }
        }
    }
    assert!(checked >= 6, "only {checked} experiment pages checked");
}

#[test]
fn a_page_no_experiment_runs_on_hides_nothing() {
    let config = read(FULL);
    let url = Url::parse("https://shop.example/about/us");
    assert!(hide_list(&config).iter().all(|r| !rule_matches(&r.pattern, &url)), "{:?}", hide_list(&config));
}

#[test]
fn stopped_experiments_without_a_winner_hide_nothing_and_drafts_only_for_qa() {
    let config = read(
        r##"{"version":1,"experiments":[
        {"key":"s","status":"stopped","variants":[{"key":"c"},{"key":"b","changes":[{"selector":"#s","text":"x"}]}]},
        {"key":"d","status":"draft","variants":[{"key":"c"},{"key":"b","changes":[{"selector":"#d","text":"x"}]}]}]}"##,
    );
    let rules = hide_list(&config);
    assert_eq!(rules.len(), 1);
    assert!(rules[0].draft && rules[0].selectors == ["#d"] && rules[0].pattern == PagePattern::Any);
}
