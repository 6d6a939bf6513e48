//! Core's `JsEngine` backed by the browser's own JavaScript: its RegExp (no regex engine ships in
//! the wasm) for page rules and goals, and, with the `conditions` feature (the web layer's tests;
//! the whole snippet as built evaluates no condition), the coercions GrowthBook's conditions use.
//! An invalid pattern is an error for the caller (the config reader reports it), never a throw.

use splitbeam_core::js_engine::JsEngine;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = RegExp)]
    type JsRegExp;
    // `catch`: the RegExp constructor throws a SyntaxError on a bad pattern.
    #[wasm_bindgen(constructor, catch, js_class = "RegExp")]
    fn new(pattern: &str, flags: &str) -> Result<JsRegExp, JsValue>;
    #[wasm_bindgen(method)]
    fn test(this: &JsRegExp, text: &str) -> bool;
    #[cfg(feature = "conditions")]
    #[wasm_bindgen(js_name = Number)]
    fn number(text: &str) -> f64;
    #[cfg(feature = "conditions")]
    #[wasm_bindgen(js_name = String)]
    fn string(x: f64) -> String;
}

/// JavaScript, as GrowthBook's JS SDK evaluates `$regex`, its coercions, and page patterns.
pub struct BrowserJs;

impl JsEngine for BrowserJs {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        let re = JsRegExp::new(pattern, if ignore_case { "i" } else { "" }).map_err(|err| {
            let message = js_sys::Reflect::get(&err, &"message".into()).ok().and_then(|m| m.as_string());
            message.unwrap_or_else(|| "invalid regular expression".into())
        })?;
        Ok(re.test(text))
    }

    #[cfg(feature = "conditions")]
    fn string_to_number(&self, text: &str) -> f64 {
        number(text)
    }

    #[cfg(feature = "conditions")]
    fn number_to_string(&self, x: f64) -> String {
        string(x)
    }

    #[cfg(feature = "conditions")]
    fn lowered(&self, text: &str) -> String {
        js_sys::JsString::from(text).to_lower_case().into()
    }
    // Without the `conditions` feature (the whole snippet as built, which evaluates no condition)
    // core's defaults are stubs: no coercion imports, no Rust imitations in the wasm.
}

#[cfg(test)]
mod tests {
    use super::BrowserJs;
    use splitbeam_core::condition;
    use splitbeam_core::js_engine::JsEngine;
    use splitbeam_core::json::Value;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_coercions_are_the_pages_own() {
        assert_eq!(BrowserJs.string_to_number(" 0x1F\n"), 31.0);
        assert!(BrowserJs.string_to_number("12px").is_nan());
        assert_eq!(BrowserJs.number_to_string(1e21), "1e+21");
        assert_eq!(BrowserJs.number_to_string(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(BrowserJs.to_lower("ÄPFEL İ ΟΔΟΣ"), "äpfel i\u{307} οδος");
        assert!(matches!(BrowserJs.to_lower("already lower"), std::borrow::Cow::Borrowed(_)));
    }

    #[wasm_bindgen_test]
    fn conditions_evaluate_through_them() {
        let attributes = Value::Object(vec![("n".into(), Value::from("10")), ("s".into(), Value::from("apfel"))]);
        let holds = |condition: Value| condition::eval(&attributes, &condition::Condition::read(&condition), &Value::Null, &BrowserJs);
        let op = |path: &str, operator: &str, argument: Value| {
            Value::Object(vec![(path.into(), Value::Object(vec![(operator.into(), argument)]))])
        };
        assert!(holds(op("n", "$gt", Value::Number(5.0))), "\"10\" > 5 through Number()");
        assert!(holds(op("s", "$ini", Value::Array(vec![Value::from("APFEL")]))), "through toLowerCase()");
        assert!(holds(op("n", "$vgt", Value::Number(9.5))), "9.5 printed by String() as a version");
    }
}
