//! What the whole snippet reads of the page and does to it beyond the changes (`www/whole.js`):
//! the URL's parts, the referrer and title, the navigator's flags, console lines and a split-URL
//! redirect. One JavaScript function each costs the wasm less than web-sys calls and their errors.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = pageText)]
    fn js_text(part: u32) -> String;
    #[wasm_bindgen(js_name = pageFlag)]
    fn js_flag(which: u32) -> bool;
    #[wasm_bindgen(js_name = say)]
    fn js_say(level: u32, line: &str);
    #[wasm_bindgen(js_name = navigate)]
    fn js_navigate(url: &str) -> bool;
    #[wasm_bindgen(js_name = scriptAttribute)]
    fn js_script_attribute(name: &str) -> Option<String>;
}

/// The page's whole URL.
pub fn href() -> String {
    js_text(0)
}

/// Path and query: what events carry as `url` (never the origin or the fragment).
pub fn url() -> String {
    js_text(1)
}

pub fn origin() -> String {
    js_text(2)
}

/// The query string, with its `?` (empty without one).
pub fn search() -> String {
    js_text(3)
}

pub fn referrer() -> String {
    js_text(4)
}

pub fn title() -> String {
    js_text(5)
}

/// `navigator.webdriver`: an automated browser (a crawler running JavaScript, a test harness).
pub fn automated() -> bool {
    js_flag(0)
}

/// Whether the browser thinks it is online.
pub fn online() -> bool {
    js_flag(1)
}

/// The browser's Do-Not-Track or Global Privacy Control signal.
pub fn do_not_track() -> bool {
    js_flag(2)
}

/// How loud a console line is.
#[derive(Clone, Copy)]
pub enum Level {
    Log = 0,
    Warn = 1,
    Error = 2,
}

pub fn say(level: Level, line: &str) {
    js_say(level as u32, line);
}

/// Replaces this page with `url`; `false` when the browser refused.
pub fn navigate(url: &str) -> bool {
    js_navigate(url)
}

/// An attribute of the loader's `<script data-collector=...>` element, if the page has one.
pub fn script_attribute(name: &str) -> Option<String> {
    js_script_attribute(name)
}
