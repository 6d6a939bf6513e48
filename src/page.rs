//! What the whole snippet reads of the page and does to it beyond the changes (`www/whole.js`):
//! the URL's parts, the referrer and title, the navigator's flags, the clock, console lines and a
//! split-URL redirect. One JavaScript function each costs the wasm less than web-sys calls and
//! their errors.

use crate::host::take_text;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn page_text(part: u32) -> *mut u8;
    fn page_flag(which: u32) -> u32;
    fn now_ms() -> f64;
    fn number_text(n: f64) -> *mut u8;
    fn say_line(level: u32, line: *const u8, len: usize);
    fn navigate_to(url: *const u8, len: usize) -> u32;
    fn script_attribute_of(name: *const u8, len: usize) -> *mut u8;
}

/// One of `www/whole.js` `page_text`'s parts (it numbers them alike).
fn text(part: u32) -> String {
    // SAFETY: the import returns 0 or room from `alloc` with a length-prefixed string.
    take_text(unsafe { page_text(part) }).unwrap_or_default()
}

/// The page's whole URL.
pub fn href() -> String {
    text(0)
}

/// Path and query: what events carry as `url` (never the origin or the fragment).
pub fn url() -> String {
    text(1)
}

pub fn origin() -> String {
    text(2)
}

/// The query string, with its `?` (empty without one).
pub fn search() -> String {
    text(3)
}

pub fn referrer() -> String {
    text(4)
}

pub fn title() -> String {
    text(5)
}

fn flag(which: u32) -> bool {
    // SAFETY: numbers only.
    unsafe { page_flag(which) != 0 }
}

/// `navigator.webdriver`: an automated browser (a crawler running JavaScript, a test harness).
pub fn automated() -> bool {
    flag(0)
}

/// Whether the browser thinks it is online.
pub fn online() -> bool {
    flag(1)
}

/// The browser's Do-Not-Track or Global Privacy Control signal.
pub fn do_not_track() -> bool {
    flag(2)
}

/// `Date.now()`.
pub fn now() -> f64 {
    // SAFETY: no arguments.
    unsafe { now_ms() }
}

/// JavaScript's Number→String (event values): no Rust float formatting in the wasm.
pub fn number(n: f64) -> String {
    // SAFETY: the import returns room from `alloc` with a length-prefixed string.
    take_text(unsafe { number_text(n) }).unwrap_or_default()
}

/// How loud a console line is.
#[derive(Clone, Copy)]
pub enum Level {
    Log = 0,
    Warn = 1,
    Error = 2,
}

pub fn say(level: Level, line: &str) {
    // SAFETY: a live `str`; the import only reads it.
    unsafe { say_line(level as u32, line.as_ptr(), line.len()) }
}

/// Replaces this page with `url`; `false` when the browser refused.
pub fn navigate(url: &str) -> bool {
    // SAFETY: a live `str`; the import only reads it.
    unsafe { navigate_to(url.as_ptr(), url.len()) != 0 }
}

/// An attribute of the loader's `<script data-collector=...>` element, if the page has one.
pub fn script_attribute(name: &str) -> Option<String> {
    // SAFETY: a live `str` in; the import returns 0 or a length-prefixed string from `alloc`.
    take_text(unsafe { script_attribute_of(name.as_ptr(), name.len()) })
}
