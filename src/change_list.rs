//! A variant's changes handed from wasm to the loader's applier (`www/changes.js`): the JSON the
//! compiler wrote for it (`splitbeam_core::compiled::write_changes`; the first-paint module hands
//! the loader the same), read by the browser's JSON parser (`www/whole.js`). On the critical path the DOM work is a
//! few lines of JavaScript, where the same work in wasm (with its web-sys glue) cost 7.6 KB gzip of
//! the first-paint module (README, "Why the snippet has this shape").

use splitbeam_core::config::Variant;

/// `[experiment, variant, [change, …]]`, appended to `out`.
pub fn write_variant(out: &mut String, experiment: &str, variant: &Variant) {
    splitbeam_core::first_paint::write_variant(out, experiment, &variant.key, &variant.applier_json);
}
