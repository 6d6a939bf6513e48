//! Deciding again after the first view (an SPA route change, new attributes). The whole snippet
//! carries no decision engine of its own: it asks the first-paint module, through the loader
//! (`www/first.js`'s `redecide`), with the identity it holds, and rebuilds each decision from the
//! variant and reason that module answers (`splitbeam_core::first_paint::read_decisions`). One engine
//! decides every view in the browser, and the whole snippet is that much smaller.

use splitbeam_core::assign::Decision;
use splitbeam_core::compiled::encode_value;
use splitbeam_core::config::Config;
use splitbeam_core::first_paint::read_decisions;
use splitbeam_core::identity::forced_text;
use splitbeam_core::json::{write_strs, Value};

use crate::host::take;
use crate::identity::Identity;

#[link(wasm_import_module = "splitbeam")]
extern "C" {
    /// The loader's `decide` option (www/whole.js keeps it): the answer's bytes, or 0.
    fn redecide(visitor: *const u8, visitor_len: usize, new_visitor: u32, forced: *const u8, forced_len: usize, custom: *const u8, custom_len: usize, sticky: *const u8, sticky_len: usize) -> *mut u8;
}

/// Every experiment of `config` decided for the current URL by the loader's `redecide`, bound to
/// this page's compiled config (www/whole.js holds it), in config order, or `None` when the
/// first-paint module could not answer (it then says nothing: the caller does).
pub(crate) fn decide<'c>(config: &'c Config, identity: &Identity, forced: &[(String, String)], custom: &Value) -> Option<Vec<Decision<'c>>> {
    // The sticky rows flat, `[experiment, variant, fingerprint, …]`, as JSON text.
    let mut sticky = String::new();
    let fields: Vec<&str> = identity.sticky.iter().flat_map(|row| [row.experiment.as_str(), &row.variant, &row.fingerprint]).collect();
    write_strs(&mut sticky, &fields);
    let custom = match custom {
        Value::Object(entries) if !entries.is_empty() => encode_value(custom),
        _ => Vec::new(),
    };
    let (visitor, forced) = (&identity.visitor_id, forced_text(forced));
    // SAFETY: live `str`s and a live slice; the import only reads them and returns 0 or
    // length-prefixed bytes from `alloc`.
    let answer = take(unsafe {
        redecide(visitor.as_ptr(), visitor.len(), identity.new_visitor.into(), forced.as_ptr(), forced.len(), custom.as_ptr(), custom.len(), sticky.as_ptr(), sticky.len())
    })?;
    read_decisions(config, &answer)
}
