//! The web layer in headless Chromium (`cargo test -p splitbeam --target wasm32-unknown-unknown`):
//! JS values convert to core's JSON values. (Changes on the page are the loader's, in
//! www/changes.js: tests/e2e/changes.test.mjs.)

mod js_value;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
