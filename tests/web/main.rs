//! The web layer in headless Chromium (`cargo test -p splitbeam --target wasm32-unknown-unknown`):
//! DOM changes apply and revert, and JS values convert to core's JSON values.

mod dom;
mod js_value;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
