//! The loader served as `/splitbeam.js` and printed by `splitbeam snippet`, with the current
//! experiments config baked in so that a first visit needs no extra round trip.
//! STUB: the signature is the contract; the body is being written.

/// The loader script with `config_json` (a validated experiments.json) baked in.
pub fn render(loader_js: &str, _config_json: &str) -> String {
    loader_js.to_string()
}
