//! Each change kind applies to an element and reverts to exactly what was there.

use splitbeam::apply;
use splitbeam_core::config::{Change, Move};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::Element;

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh fixture in the body: `<div id=box><p id=a class="x y" title="t" style="color: blue">Hello <b>you</b></p><p id=b>B</p></div>`.
fn fixture() -> Element {
    let doc = document();
    if let Some(old) = doc.get_element_by_id("box") {
        old.remove();
    }
    let wrapper = doc.create_element("div").unwrap();
    wrapper.set_id("box");
    wrapper.set_inner_html(r#"<p id="a" class="x y" title="t" style="color: blue">Hello <b>you</b></p><p id="b">B</p>"#);
    doc.body().unwrap().append_child(&wrapper).unwrap();
    doc.get_element_by_id("a").unwrap()
}

fn box_html() -> String {
    document().get_element_by_id("box").unwrap().inner_html()
}

#[wasm_bindgen_test]
fn text_is_set_and_reverted() {
    let el = fixture();
    let before = box_html();
    let applied = apply(&Change { text: Some("Free shipping".into()), ..Change::default() }, &el);
    assert_eq!(el.text_content().unwrap(), "Free shipping");
    assert!(applied.holds());
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn html_is_set_and_reverted() {
    let el = fixture();
    let before = box_html();
    let applied = apply(&Change { html: Some("<em>New</em> copy".into()), ..Change::default() }, &el);
    assert_eq!(el.inner_html(), "<em>New</em> copy");
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn attributes_are_set_and_restored_or_removed() {
    let el = fixture();
    let before = box_html();
    let change = Change { attr: vec![("title".into(), "new".into()), ("data-variant".into(), "b".into())], ..Change::default() };
    let applied = apply(&change, &el);
    assert_eq!(el.get_attribute("title").as_deref(), Some("new"));
    assert_eq!(el.get_attribute("data-variant").as_deref(), Some("b"));
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn classes_are_added_and_removed_then_reverted() {
    let el = fixture();
    let before = box_html();
    let change = Change { add_class: Some("big x".into()), remove_class: Some("y".into()), ..Change::default() };
    let applied = apply(&change, &el);
    assert_eq!(el.class_name(), "x big");
    applied.revert();
    // `x` was there before, so reverting the add keeps it.
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn style_wins_over_the_inline_style_and_is_reverted() {
    let el = fixture();
    let before = box_html();
    let applied = apply(&Change { style: Some("color: red".into()), ..Change::default() }, &el);
    // Appended after the element's own declaration, so it is the one that applies.
    assert_eq!(el.get_attribute("style").as_deref(), Some("color: blue;color: red"));
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn remove_takes_the_element_out_and_revert_puts_it_back_in_place() {
    let el = fixture();
    let before = box_html();
    let applied = apply(&Change { remove: true, ..Change::default() }, &el);
    assert!(document().get_element_by_id("a").is_none());
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn move_after_another_element_and_back() {
    let el = fixture();
    let before = box_html();
    let applied = apply(&Change { move_to: Some(Move::After("#b".into())), ..Change::default() }, &el);
    assert_eq!(el.previous_element_sibling().unwrap().id(), "b");
    assert!(applied.holds());
    applied.revert();
    assert_eq!(box_html(), before);
}

#[wasm_bindgen_test]
fn an_overwritten_change_no_longer_holds_and_reapply_restores_it() {
    let el = fixture();
    let mut applied = apply(&Change { text: Some("Variant".into()), ..Change::default() }, &el);
    el.set_text_content(Some("Framework render"));
    assert!(!applied.holds());
    applied.reapply();
    assert_eq!(el.text_content().unwrap(), "Variant");
    // The page's latest copy is what a revert (e.g. on a route change) brings back.
    applied.revert();
    assert_eq!(el.text_content().unwrap(), "Framework render");
}
