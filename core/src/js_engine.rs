//! What GrowthBook's SDK gets from JavaScript itself, asked of the platform: regular expressions,
//! the three coercions its condition operators lean on (`Number(string)`, `String(number)`,
//! `toLowerCase`), and its version padding, which is regular expressions at heart. In the browser the page's own engine answers (no regex engine, number printer or
//! case table ships in the first-paint wasm: `src/first_paint.rs`); natively, the `regex` crate
//! (feature `regex`, on by default) and Rust imitations of the coercions (`condition::js`), which
//! the conformance tests check against GrowthBook's vectors.

use std::borrow::Cow;

/// JavaScript, as the condition engine and page rules need it.
pub trait JsEngine {
    /// Tests `text` against `pattern`. `Err` carries why the pattern is invalid.
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String>;

    /// `Number(text)`.
    fn string_to_number(&self, text: &str) -> f64 {
        imitation::string_to_number(text)
    }

    /// `String(x)`.
    fn number_to_string(&self, x: f64) -> String {
        imitation::number_to_string(x)
    }

    /// `text.toLowerCase()`: borrowed when `text` is lower-case ASCII already, else `lowered`.
    fn to_lower<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if text.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
            Cow::Owned(self.lowered(text))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// `text.toLowerCase()` of a text that may change: what a platform answers.
    fn lowered(&self, text: &str) -> String {
        imitation::lowered(text)
    }

    /// GrowthBook's `paddedVersionString` of a non-empty text: two regular expressions and
    /// `padStart` there (`condition/version.rs` imitates them).
    fn padded_version(&self, version: &str) -> String {
        imitation::padded_version(version)
    }
}

/// The Rust imitations the coercions default to (`condition::js`, `condition/version.rs`); in
/// core's own tests always, so that they are checked in every feature set.
#[cfg(any(feature = "conditions", test))]
mod imitation {
    pub(super) use crate::condition::{number_to_string, padded_version, string_to_number};

    pub(super) fn lowered(text: &str) -> String {
        crate::condition::to_lower(text).into_owned()
    }
}

/// Without the condition engine nothing coerces or compares versions: the defaults stand in for
/// the imitations, so that no implementor's vtable keeps them in a browser module (the shells'
/// `JsEngine`s then answer `RegExp` alone).
#[cfg(not(any(feature = "conditions", test)))]
mod imitation {
    pub(super) fn string_to_number(_: &str) -> f64 {
        f64::NAN
    }

    pub(super) fn number_to_string(_: f64) -> String {
        String::new()
    }

    pub(super) fn lowered(_: &str) -> String {
        String::new()
    }

    pub(super) fn padded_version(_: &str) -> String {
        String::new()
    }
}

/// The native matcher, backed by the `regex` crate.
#[cfg(feature = "regex")]
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeJs;

#[cfg(feature = "regex")]
mod native {
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Compiling dominates a match, and a config uses few patterns, evaluated for every visitor:
    /// keep the compiled ones (and the errors) per thread, bounded so hostile input cannot grow it.
    const CACHE_LIMIT: usize = 512;

    type Compiled = Result<regex::Regex, String>;

    thread_local! {
        static CACHE: RefCell<HashMap<(String, bool), Compiled>> = RefCell::new(HashMap::new());
    }

    fn compile(pattern: &str, ignore_case: bool) -> Compiled {
        regex::RegexBuilder::new(pattern)
            .case_insensitive(ignore_case)
            .size_limit(1 << 20)
            .build()
            // The crate's message draws the pattern over several lines; keep its last line.
            .map_err(|e| e.to_string().lines().last().unwrap_or("invalid pattern").trim_start_matches("error: ").to_string())
    }

    pub(super) fn is_match(pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let key = (pattern.to_string(), ignore_case);
            if !cache.contains_key(&key) {
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(key.clone(), compile(pattern, ignore_case));
            }
            match &cache[&key] {
                Ok(re) => Ok(re.is_match(text)),
                Err(why) => Err(why.clone()),
            }
        })
    }
}

#[cfg(feature = "regex")]
impl JsEngine for NativeJs {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        native::is_match(pattern, text, ignore_case)
    }
}

#[cfg(all(test, feature = "regex"))]
mod tests {
    use super::*;

    #[test]
    fn matches_and_caches_patterns_with_their_case_setting() {
        assert_eq!(NativeJs.is_match("^ab", "ABc", true), Ok(true));
        assert_eq!(NativeJs.is_match("^ab", "ABc", false), Ok(false), "the cache keys on case sensitivity");
        assert_eq!(NativeJs.is_match("^ab", "abc", false), Ok(true));
    }

    #[test]
    fn an_invalid_pattern_is_an_error_of_one_line() {
        let err = NativeJs.is_match("(unclosed", "x", false).unwrap_err();
        assert_eq!(err, "unclosed group");
        assert_eq!(NativeJs.is_match("(unclosed", "x", false).unwrap_err(), "unclosed group", "cached errors too");
    }
}
