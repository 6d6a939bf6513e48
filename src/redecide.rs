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
use wasm_bindgen::prelude::*;

use crate::identity::Identity;

#[wasm_bindgen(module = "/www/whole.js")]
extern "C" {
    #[wasm_bindgen(js_name = decide)]
    fn js_decide(decider: &JsValue, visitor: &str, new_visitor: bool, forced: &str, custom: &[u8], sticky: &str) -> Option<Vec<u8>>;
}

/// The loader's `redecide`, bound to this page's compiled config.
pub(crate) struct Decider(JsValue);

impl Decider {
    /// The `decide` option the loader starts the snippet with, if it is a function.
    pub(crate) fn from_option(value: JsValue) -> Option<Decider> {
        value.is_function().then_some(Decider(value))
    }

    /// Every experiment of `config` decided for the current URL, in config order, or `None` when
    /// the first-paint module could not answer (it then says nothing: the caller does).
    pub(crate) fn decide<'c>(&self, config: &'c Config, identity: &Identity, forced: &[(String, String)], custom: &Value) -> Option<Vec<Decision<'c>>> {
        // The sticky rows flat, `[experiment, variant, fingerprint, …]`, as JSON text.
        let mut sticky = String::new();
        let fields: Vec<&str> = identity.sticky.iter().flat_map(|row| [row.experiment.as_str(), &row.variant, &row.fingerprint]).collect();
        write_strs(&mut sticky, &fields);
        let custom = match custom {
            Value::Object(entries) if !entries.is_empty() => encode_value(custom),
            _ => Vec::new(),
        };
        let answer = js_decide(&self.0, &identity.visitor_id, identity.new_visitor, &forced_text(forced), &custom, &sticky)?;
        read_decisions(config, &answer)
    }
}
