//! splitbeam's browser snippet: the thin wasm layer between splitbeam-core and the page.
