//! splitbeam's browser snippet: the thin wasm layer between splitbeam-core and the page, built as
//! two modules from this crate. Without the `full` feature it is the first-paint module
//! (`first_paint.rs`: decide from the compiled config and hand the variants' changes to the loader);
//! with it, the whole snippet (`snippet.rs`), which the loader starts once the page is revealed. Both
//! have the loader apply the changes (`change_list.rs`, `page_changes.rs`; `www/changes.js`).

/// The whole snippet's modules: in its build only (the `full` feature, for the browser; natively
/// its imports from the page would have nothing to link to).
macro_rules! whole_snippet {
    ($($module:ident),* $(,)?) => {
        $(
            #[cfg(all(feature = "full", target_family = "wasm"))]
            mod $module;
        )*
    };
}
whole_snippet!(
    api,
    change_list,
    consent,
    debug,
    goals,
    host,
    identity,
    js_engine,
    js_value,
    outbox,
    page,
    page_changes,
    page_events,
    redecide,
    session,
    snippet,
    storage,
    transport,
);

#[cfg(all(target_family = "wasm", not(feature = "full")))]
mod first_paint;

// talc instead of Rust's default dlmalloc: fewer bytes in every visitor's download (README table).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics"), feature = "full"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
// The first-paint module decides once per page and is dropped: an allocator that never frees is
// all it needs, 774 B gzip less than talc on the critical path.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics"), not(feature = "full")))]
#[global_allocator]
// SAFETY: wasm32 without the atomics feature runs one thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::LeakingAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::LeakingAllocator::new()) };
