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
impl RegexMatcher for NativeRegex {
    fn is_match(&self, pattern: &str, text: &str, ignore_case: bool) -> Result<bool, String> {
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(ignore_case)
            .size_limit(1 << 20)
            .build()
            // The crate's message draws the pattern over several lines; keep its last line.
            .map_err(|e| e.to_string().lines().last().unwrap_or("invalid pattern").trim_start_matches("error: ").to_string())?;
        Ok(re.is_match(text))
    }
}
