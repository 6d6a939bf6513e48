//! The page's variants, set through the loader's applier (`www/changes.js`, `window.splitbeamChanges`):
//! the first paint applied its variants there, so the whole snippet takes them over unchanged and
//! from then on only says which variants a route wants. One applier for the whole page view, in
//! JavaScript, where its DOM work costs a few hundred bytes instead of kilobytes of wasm and glue.

use splitbeam_core::config::Variant;

use crate::host::take_text;
use crate::{change_list, debug};

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    fn set_variants_to(list: *const u8, len: usize) -> *mut u8;
}

/// Makes `wanted` (experiment key, variant) the variants on the page: those already there stay as
/// they are, the others are reverted, the new ones applied. Returns one line per reverted variant
/// (`experiment: reverted variant`, for the debug log).
pub fn set_variants(wanted: &[(&str, &Variant)]) -> Vec<String> {
    let mut list = String::from("[");
    for (i, (experiment, variant)) in wanted.iter().enumerate() {
        list.push_str(if i == 0 { "" } else { "," });
        change_list::write_variant(&mut list, experiment, variant);
    }
    list.push(']');
    // SAFETY: a live `str` in; the import returns 0 or a length-prefixed string from `alloc`.
    match take_text(unsafe { set_variants_to(list.as_ptr(), list.len()) }) {
        Some(reverted) => reverted.split('\n').filter(|line| !line.is_empty()).map(String::from).collect(),
        None => {
            debug::error("the loader's page changes are missing (load splitbeam.js, not the whole snippet alone): the page shows the original");
            Vec::new()
        }
    }
}
