//! The page's variants, set through the loader's applier (`www/changes.js`, `window.splitbeamChanges`):
//! the first paint applied its variants there, so the whole snippet takes them over unchanged and
//! from then on only says which variants a route wants. One applier for the whole page view, in
//! JavaScript, where its DOM work costs a few hundred bytes instead of kilobytes of wasm and glue.

use js_sys::Array;
use splitbeam_core::config::Variant;
use wasm_bindgen::prelude::*;

use crate::{change_list, debug};

#[wasm_bindgen]
extern "C" {
    // `catch`: without the loader's applier (a page that loaded the whole snippet on its own) the
    // call throws, and the page keeps its original copy.
    #[wasm_bindgen(catch, js_namespace = splitbeamChanges, js_name = set)]
    fn set(variants: &Array) -> Result<Array, JsValue>;
}

/// Makes `wanted` (experiment key, variant) the variants on the page: those already there stay as
/// they are, the others are reverted, the new ones applied. Returns the reverted (experiment, variant).
pub fn set_variants(wanted: &[(&str, &Variant)]) -> Vec<(String, String)> {
    let list: Array = wanted.iter().map(|(experiment, variant)| change_list::variant(experiment, variant)).collect();
    match set(&list) {
        Ok(reverted) => reverted
            .iter()
            .filter_map(|pair| {
                let pair = Array::from(&pair);
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect(),
        Err(_) => {
            debug::error("the loader's page changes are missing (load splitbeam.js, not the whole snippet alone): the page shows the original");
            Vec::new()
        }
    }
}
