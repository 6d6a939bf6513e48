//! Regular expressions are evaluated by the platform: JavaScript's RegExp in the browser
//! (no regex engine in the wasm), the `regex` crate natively (feature `regex`, on by default).

/// Tests `text` against `pattern`. `Err` carries why the pattern is invalid.
pub trait RegexMatcher {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String>;
}

/// The native matcher, backed by the `regex` crate.
#[cfg(feature = "regex")]
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeRegex;

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
impl RegexMatcher for NativeRegex {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        native::is_match(pattern, text, ignore_case)
    }
}

#[cfg(all(test, feature = "regex"))]
mod tests {
    use super::*;

    #[test]
    fn matches_and_caches_patterns_with_their_case_setting() {
        assert_eq!(NativeRegex.is_match("^ab", "ABc", true), Ok(true));
        assert_eq!(NativeRegex.is_match("^ab", "ABc", false), Ok(false), "the cache keys on case sensitivity");
        assert_eq!(NativeRegex.is_match("^ab", "abc", false), Ok(true));
    }

    #[test]
    fn an_invalid_pattern_is_an_error_of_one_line() {
        let err = NativeRegex.is_match("(unclosed", "x", false).unwrap_err();
        assert_eq!(err, "unclosed group");
        assert_eq!(NativeRegex.is_match("(unclosed", "x", false).unwrap_err(), "unclosed group", "cached errors too");
    }
}
