//! Deciding again after the first view (an SPA route change, new attributes). The whole snippet
//! carries no decision engine of its own: it asks the first-paint module, through the loader
//! (`www/first.js`'s `redecide`), with the identity it holds, and rebuilds each decision from the
//! variant and reason that module answers (`splitbeam_core::first_paint::read_decisions`). One engine
//! decides every view in the browser, and the whole snippet is that much smaller.

use js_sys::{Array, Function, Uint8Array};
use splitbeam_core::assign::Decision;
use splitbeam_core::compiled::encode_value;
use splitbeam_core::config::Config;
use splitbeam_core::first_paint::read_decisions;
use splitbeam_core::identity::forced_text;
use splitbeam_core::json::Value;
use wasm_bindgen::{JsCast, JsValue};

use crate::identity::Identity;

/// The loader's `redecide`, bound to this page's compiled config.
pub(crate) struct Decider(Function);

impl Decider {
    /// The `decide` option the loader starts the snippet with, if it is a function.
    pub(crate) fn from_option(value: JsValue) -> Option<Decider> {
        value.dyn_into::<Function>().ok().map(Decider)
    }

    /// Every experiment of `config` decided for the current URL, in config order, or `None` when
    /// the first-paint module could not answer (it then says nothing: the caller does).
    pub(crate) fn decide<'c>(&self, config: &'c Config, identity: &Identity, forced: &[(String, String)], custom: &Value) -> Option<Vec<Decision<'c>>> {
        let sticky = Array::new();
        for row in &identity.sticky {
            for field in [&row.experiment, &row.variant, &row.fingerprint] {
                sticky.push(&field.as_str().into());
            }
        }
        let custom = match custom {
            Value::Object(entries) if !entries.is_empty() => encode_value(custom),
            _ => Vec::new(),
        };
        let args = Array::of5(
            &identity.visitor_id.as_str().into(),
            &identity.new_visitor.into(),
            &forced_text(forced).into(),
            &Uint8Array::from(custom.as_slice()),
            &sticky,
        );
        let answer: Uint8Array = self.0.apply(&JsValue::NULL, &args).ok()?.dyn_into().ok()?;
        read_decisions(config, &answer.to_vec())
    }
}
