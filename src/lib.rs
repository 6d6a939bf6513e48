//! splitbeam's browser snippet: the thin wasm layer between splitbeam-core and the page, built as
//! two modules from this crate. Without the `full` feature it is the first-paint module
//! (`first_paint.rs`: decide from the compiled config and hand the variants' changes to the loader);
//! with it, the whole snippet (`snippet.rs`), which the loader starts once the page is revealed. Both
//! have the loader apply the changes (`change_list.rs`, `page_changes.rs`; `www/changes.js`).

mod consent;
mod debug;
mod identity;
mod regex;
mod storage;

#[cfg(feature = "full")]
mod api;
#[cfg(feature = "full")]
mod page_changes;
#[cfg(feature = "full")]
mod goals;
#[cfg(feature = "full")]
mod js_value;
#[cfg(feature = "full")]
mod outbox;
#[cfg(feature = "full")]
mod session;
#[cfg(feature = "full")]
mod snippet;
#[cfg(feature = "full")]
mod spa;
#[cfg(feature = "full")]
mod transport;

mod change_list;
#[cfg(not(feature = "full"))]
mod first_paint;

#[cfg(feature = "full")]
pub use js_value::to_value;
#[cfg(feature = "full")]
pub use snippet::*;
#[cfg(not(feature = "full"))]
pub use first_paint::*;

// talc instead of Rust's default dlmalloc: fewer bytes in every visitor's download (README table).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
