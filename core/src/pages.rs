//! Page rules: which URLs an experiment (or a pageview goal) applies to.
//! Read from experiments.json (`pages`, a goal's `pageview`) and matched against the page's URL.
//!
//! Forms accepted in experiments.json:
//! - `"/collections/*"`: one pattern;
//! - `["/", "/collections/*", "!/collections/sale", {"regex": "^/p/\\d+$"}]`: a list; an entry
//!   starting with `!` is an exclude, the others are includes;
//! - `{"include": [...], "exclude": [...]}`: both lists spelled out (each also a single pattern).
//!
//! A page matches when it matches any include (no include = every page) and no exclude.
//!
//! Glob patterns (everything that is not `{"regex": ...}`):
//! - `*` matches any run of characters, `/` included (`/collections/*` matches
//!   `/collections/shoes/red`); it is the only special character;
//! - matching ignores the case of ASCII letters, in the host, the path and the query alike
//!   (`É` and `é` differ: Unicode case tables would cost the snippet ~10 KB);
//! - a pattern starting with `/` is matched against the path only, on any host;
//! - a pattern starting with a host (`shop.example/cart*`, `https://shop.example/cart`,
//!   `*.shop.example/*`) also checks the host; the scheme is ignored; a host without a port
//!   matches on any port; a host alone (`shop.example`) means its home page, `shop.example/*`
//!   the whole site. A URL without a host (the relative URLs of the CLI or of stored events) is
//!   taken to be on the pattern's host;
//! - a trailing slash does not matter: `/cart` matches `/cart/` and `/cart/` matches `/cart`;
//! - `?a=b&c` requires those query parameters (`c` with any value; `*` allowed in values);
//!   other parameters may be present, in any order. Without `?` the query is ignored;
//! - paths and query values are compared percent-decoded (`/été` matches `/%C3%A9t%C3%A9`);
//! - a `#fragment` in a pattern is refused: fragments identify a place on a page, not a page;
//! - `*` alone matches every page.
//!
//! Regex patterns (`{"regex": "..."}`) are tested, case-insensitively like globs, against the
//! URL exactly as given (the `href`, scheme and fragment included) and against the same URL
//! without its scheme and host (`/cart?x=1#top`), as GrowthBook does. So `^/checkout` and
//! `^https://shop\.example/checkout` both work. Unanchored regexes match anywhere.

use crate::issue::Issue;
use crate::json::{join_index, join_key, Value};
use crate::js_engine::JsEngine;
use crate::url::{self, find_scheme_separator, is_scheme, percent_decode, Url};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRules {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// Parsed once, when the config is read, not on every match.
    Glob(Glob),
    Regex(String),
}

impl PageRules {
    /// Whether the rules apply to `url`: no include means every page; an exclude always wins.
    pub fn matches(&self, url: &Url, regex: &dyn JsEngine) -> bool {
        let included =
            self.include.is_empty() || self.include.iter().any(|p| p.matches(url, regex));
        included && !self.exclude.iter().any(|p| p.matches(url, regex))
    }
}

impl Pattern {
    /// Whether this one pattern matches `url`. A pattern that does not parse matches nothing
    /// (validation reports it before it gets here).
    pub fn matches(&self, url: &Url, regex: &dyn JsEngine) -> bool {
        match self {
            Pattern::Glob(glob) => glob.matches(url),
            Pattern::Regex(pattern) => {
                let test = |text: &str| regex.is_match(pattern, text, true).unwrap_or(false);
                test(&url.href) || test(&url.after_origin())
            }
        }
    }
}

/// A glob pattern split like a URL.
#[derive(Debug, Clone)]
pub struct Glob {
    /// As written in the config (shown as such). The fields are the crate's: `compiled` writes and
    /// reads them as parsed, so that the browser needs no glob parser.
    pub(crate) text: String,
    /// `None` for a path pattern (any host).
    pub(crate) host: Option<String>,
    pub(crate) path: String,
    /// Required query parameters; `None` as value = any value.
    pub(crate) query: Vec<(String, Option<String>)>,
}

/// Two globs are the same pattern when they are written the same.
impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.text == other.text
    }
}

impl Glob {
    /// The pattern as written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parses a glob, or says why it is not one.
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        if pattern.contains('#') {
            return Err(
                "a pattern cannot contain '#': fragments are not part of a page's address"
                    .to_string(),
            );
        }
        if pattern.chars().any(char::is_control) {
            return Err("a pattern cannot contain control characters".to_string());
        }
        let (before_query, query) = match pattern.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (pattern, None),
        };
        let (host, path) = if before_query == "*" {
            (None, "*")
        } else if before_query.starts_with('/') && !before_query.starts_with("//") {
            (None, before_query)
        } else {
            let after_slashes = match find_scheme_separator(before_query) {
                Some(i) if before_query.get(..i).is_some_and(|scheme| scheme == "*" || is_scheme(scheme)) => {
                    before_query.get(i + 3..).unwrap_or_default()
                }
                _ => before_query.strip_prefix("//").unwrap_or(before_query),
            };
            let (host, path) = match after_slashes.find('/') {
                Some(i) => after_slashes.split_at_checked(i).unwrap_or((after_slashes, "/")),
                None => (after_slashes, "/"),
            };
            check_host(host)?;
            (Some(host), path)
        };
        let query: Vec<(String, Option<String>)> = query.map(|q| url::query_pairs(q).collect()).unwrap_or_default();
        if query.iter().any(|(key, _)| key.is_empty()) {
            return Err("a query parameter in the pattern has no name".to_string());
        }
        Ok(Glob {
            text: pattern.to_string(),
            host: host.map(str::to_string),
            path: percent_decode(path, false),
            query,
        })
    }

    fn matches(&self, url: &Url) -> bool {
        let host_ok = match self.host.as_deref() {
            None => true,
            Some(_) if url.host.is_empty() => true,
            Some(host) if host.contains(':') => wildcard_match(host, &url.host),
            Some(host) => wildcard_match(host, strip_port(&url.host)),
        };
        host_ok
            && path_matches(&self.path, &url.path)
            && self.query.iter().all(|(key, value)| {
                url.query.iter().any(|(url_key, url_value)| {
                    wildcard_match(key, url_key)
                        && value
                            .as_deref()
                            .is_none_or(|v| wildcard_match(v, url_value))
                })
            })
    }
}

fn strip_port(host: &str) -> &str {
    // A byte search, as `url::split_host` does for `@`.
    match host.bytes().rposition(|b| b == b':') {
        // Not an IPv6 literal's colon (`[::1]`).
        Some(i) if !host.get(i..).unwrap_or_default().contains(']') => host.get(..i).unwrap_or(host),
        _ => host,
    }
}

/// A host pattern: letters, digits, `-`, `.`, `*`, an optional `:port`, IPv6 brackets. A word
/// without a dot (`cart*`) is almost always a path that lost its leading `/`, so it is refused
/// (`localhost` and `*` excepted).
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is missing".to_string());
    }
    if host.contains(char::is_whitespace) {
        return Err(message!("the host '{host}' contains a space"));
    }
    // Non-ASCII letters are allowed for internationalised domain names.
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || !c.is_ascii()
            || matches!(c, '-' | '.' | '*' | ':' | '[' | ']' | '_')
    };
    if let Some(c) = host.chars().find(|&c| !allowed(c)) {
        return Err(message!("the host '{host}' contains '{c}'"));
    }
    let name = strip_port(host);
    let looks_like_host = name.contains(['.', '['])
        || name.eq_ignore_ascii_case("localhost")
        || name.chars().all(|c| c == '*');
    if !looks_like_host {
        return Err(message!(
            "'{host}' is neither a path (start it with '/') nor a host (shop.example/...)"
        ));
    }
    Ok(())
}

/// Path comparison that ignores one trailing slash on either side.
fn path_matches(pattern: &str, path: &str) -> bool {
    if wildcard_match(pattern, path) {
        return true;
    }
    let toggled = match path.strip_suffix('/') {
        Some("") => return false,
        Some(without) => without.to_string(),
        None => {
            let mut slashed = String::with_capacity(path.len() + 1);
            slashed.push_str(path);
            slashed.push('/');
            slashed
        }
    };
    wildcard_match(pattern, &toggled)
}

/// Match where `*` stands for any run of characters and ASCII letters ignore case: the classic
/// greedy scan that backtracks only to the last `*`, so O(pattern × text) at worst. Bytes, not
/// chars: a literal that matches is a whole UTF-8 sequence, so `*` never ends inside a character.
/// ASCII-only case folding because Unicode's tables would cost the snippet ~10 KB.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            last_star = Some((p, t));
            p += 1;
        } else if pattern
            .get(p)
            .is_some_and(|c| c.eq_ignore_ascii_case(&text[t]))
        {
            p += 1;
            t += 1;
        } else if let Some((star, star_t)) = last_star {
            // Let the last `*` swallow one more byte and retry from there.
            p = star + 1;
            t = star_t + 1;
            last_star = Some((star, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Which list an entry goes to.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Include,
    Exclude,
}

/// Reads page rules (an experiment's `pages`, a goal's `pageview`) at JSON `path`. Problems are
/// pushed to `issues` with their JSON path; `None` when there was any.
pub fn read_rules(
    value: &Value,
    path: &str,
    regex: &dyn JsEngine,
    issues: &mut Vec<Issue>,
) -> Option<PageRules> {
    let issues_before = issues.len();
    let mut rules = PageRules::default();
    let mut reader = Reader {
        regex,
        issues,
        rules: &mut rules,
    };
    match value {
        Value::Object(entries) if value.get("regex").is_none() => {
            for (key, item) in entries {
                let item_path = join_key(path, key);
                match key.as_str() {
                    "include" => reader.list_or_entry(item, &item_path, Side::Include),
                    "exclude" => reader.list_or_entry(item, &item_path, Side::Exclude),
                    _ => reader.report(issue!(&item_path, "unknown key '{key}' (expected 'include' or 'exclude')")),
                }
            }
        }
        Value::String(_) | Value::Array(_) | Value::Object(_) => reader.list_or_entry(value, path, Side::Include),
        other => reader.report(issue!(path, "expected a URL pattern, a list of patterns or {{\"include\": [...], \"exclude\": [...]}}, found {}",
                other.type_name())),
    }
    (issues.len() == issues_before).then_some(rules)
}

struct Reader<'r> {
    #[cfg_attr(not(feature = "validate"), allow(dead_code))]
    regex: &'r dyn JsEngine,
    issues: &'r mut Vec<Issue>,
    rules: &'r mut PageRules,
}

impl Reader<'_> {
    fn report(&mut self, issue: Issue) {
        self.issues.push(issue);
    }

    fn list_or_entry(&mut self, value: &Value, path: &str, side: Side) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.entry(item, &join_index(path, i), side);
                }
            }
            _ => self.entry(value, path, side),
        }
    }

    fn entry(&mut self, value: &Value, path: &str, side: Side) {
        match value {
            Value::String(text) => self.glob(text, path, side),
            Value::Object(entries) => {
                for (key, _) in entries.iter().filter(|(key, _)| key != "regex") {
                    self.report(issue!(&join_key(path, key), "unknown key '{key}' (expected 'regex')"));
                }
                match value.get("regex") {
                    Some(Value::String(pattern)) => {
                        self.regex(pattern, &join_key(path, "regex"), side)
                    }
                    Some(other) => self.report(issue!(&join_key(path, "regex"), "expected a regular expression string, found {}",
                            other.type_name())),
                    None => self.report(issue!(path, "expected {{\"regex\": \"...\"}}")),
                }
            }
            other => self.report(issue!(path, "expected a URL pattern string or {{\"regex\": \"...\"}}, found {}",
                    other.type_name())),
        }
    }

    fn glob(&mut self, text: &str, path: &str, side: Side) {
        let (pattern, side) = match text.strip_prefix('!') {
            Some(_) if side == Side::Exclude => {
                return self.report(issue!(path, "'{text}' is already an exclude: remove the '!'"));
            }
            Some(rest) => (rest, Side::Exclude),
            None => (text, side),
        };
        if pattern.is_empty() {
            return self.report(issue!(path, "empty pattern"));
        }
        if pattern.trim() != pattern {
            return self.report(issue!(path, "'{text}' starts or ends with whitespace"));
        }
        match Glob::parse(pattern) {
            Ok(glob) => self.push(Pattern::Glob(glob), side),
            Err(message) => self.report(issue!(path, "'{text}': {message}")),
        }
    }

    fn regex(&mut self, pattern: &str, path: &str, side: Side) {
        if pattern.is_empty() {
            return self.report(issue!(path, "empty pattern"));
        }
        // Compiled by `splitbeam validate`; in the snippet a bad pattern simply matches nothing.
        #[cfg(feature = "validate")]
        if let Err(why) = self.regex.is_match(pattern, "", false) {
            return self.report(issue!(path, "invalid regular expression: {why}"));
        }
        self.push(Pattern::Regex(pattern.to_string()), side);
    }

    fn push(&mut self, pattern: Pattern, side: Side) {
        match side {
            Side::Include => self.rules.include.push(pattern),
            Side::Exclude => self.rules.exclude.push(pattern),
        }
    }
}

#[cfg(all(test, feature = "regex"))]
mod tests {
    use super::*;
    use crate::json;
    use crate::js_engine::NativeJs;

    fn glob(text: &str) -> Pattern {
        Pattern::Glob(Glob::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    /// The first value of query parameter `key` (what conditions and page rules read).
    fn q<'a>(url: &'a Url, key: &str) -> Option<&'a str> {
        url.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn rules(config: &str) -> Result<PageRules, Vec<Issue>> {
        let (value, _) = json::parse(config).expect("test config is valid JSON");
        let mut issues = Vec::new();
        read_rules(&value, "experiments[0].pages", &NativeJs, &mut issues).ok_or(issues)
    }

    fn issues_of(config: &str) -> Vec<(String, String)> {
        match rules(config) {
            Ok(rules) => panic!("{config} should be rejected, read as {rules:?}"),
            Err(issues) => issues.into_iter().map(|i| (i.path, i.message)).collect(),
        }
    }

    fn matches(config: &str, href: &str) -> bool {
        let rules = rules(config).unwrap_or_else(|issues| panic!("{config}: {issues:?}"));
        rules.matches(&Url::parse(href), &NativeJs)
    }

    // --- Url::parse

    #[test]
    fn parses_an_absolute_url() {
        let url = Url::parse("https://Shop.Example/a/b?x=1&y=two%20words#h");
        assert_eq!(url.host, "shop.example");
        assert_eq!(url.path, "/a/b");
        assert_eq!(
            url.query,
            vec![("x".into(), "1".into()), ("y".into(), "two words".into())]
        );
        assert_eq!(url.href, "https://Shop.Example/a/b?x=1&y=two%20words#h");
    }

    #[test]
    fn parses_a_relative_url() {
        let url = Url::parse("/a/b?x=1");
        assert_eq!((url.host.as_str(), url.path.as_str()), ("", "/a/b"));
        assert_eq!(q(&url, "x"), Some("1"));
    }

    #[test]
    fn keeps_the_port_and_drops_user_info() {
        let url = Url::parse("http://user:pw@localhost:8080/cart");
        assert_eq!(
            (url.host.as_str(), url.path.as_str()),
            ("localhost:8080", "/cart")
        );
    }

    #[test]
    fn a_url_without_path_is_the_home_page() {
        assert_eq!(Url::parse("https://shop.example").path, "/");
        assert_eq!(Url::parse("https://shop.example?x=1").path, "/");
        assert_eq!(Url::parse("//shop.example").host, "shop.example");
        assert_eq!(Url::parse("").path, "/");
    }

    #[test]
    fn decodes_query_values_and_paths() {
        let url =
            Url::parse("/collections/%C3%A9t%C3%A9?q=caf%C3%A9+cr%C3%A8me&bad=%zz%4&empty&=x");
        assert_eq!(url.path, "/collections/été");
        assert_eq!(q(&url, "q"), Some("café crème"));
        assert_eq!(q(&url, "bad"), Some("%zz%4"));
        assert_eq!(q(&url, "empty"), Some(""));
        assert_eq!(q(&url, ""), Some("x"));
    }

    #[test]
    fn escapes_that_are_not_utf8_are_kept_as_written() {
        assert_eq!(q(&Url::parse("/?x=%FF+1"), "x"), Some("%FF+1"));
    }

    #[test]
    fn parsing_garbage_never_panics() {
        for href in [
            "%",
            "?",
            "#",
            "://",
            "http://",
            "http://@",
            "a:b",
            "?&&=&",
            "%E2%82",
            "/\u{0}é%",
            "https://[::1]:80/x",
        ] {
            let url = Url::parse(href);
            assert!(url.path.starts_with('/'), "{href:?} → {url:?}");
        }
    }

    // --- reading the forms

    #[test]
    fn reads_a_single_pattern() {
        assert_eq!(
            rules(r#""/cart""#),
            Ok(PageRules {
                include: vec![glob("/cart")],
                exclude: vec![]
            })
        );
    }

    #[test]
    fn reads_a_list_with_excludes_and_regexes() {
        let read =
            rules(r#"["/", "/collections/*", "!/collections/sale", {"regex": "^/p/\\d+$"}]"#);
        assert_eq!(
            read,
            Ok(PageRules {
                include: vec![
                    glob("/"),
                    glob("/collections/*"),
                    Pattern::Regex("^/p/\\d+$".into())
                ],
                exclude: vec![glob("/collections/sale")],
            })
        );
    }

    #[test]
    fn reads_the_include_exclude_object() {
        let read = rules(r#"{"include": ["/a*", {"regex": "b$"}], "exclude": "/a/secret"}"#);
        assert_eq!(
            read,
            Ok(PageRules {
                include: vec![glob("/a*"), Pattern::Regex("b$".into())],
                exclude: vec![glob("/a/secret")],
            })
        );
    }

    #[test]
    fn reads_a_lone_regex_object() {
        assert_eq!(
            rules(r#"{"regex": "^/p/"}"#).map(|r| r.include),
            Ok(vec![Pattern::Regex("^/p/".into())])
        );
    }

    // --- reporting bad input

    #[test]
    fn reports_empty_patterns_with_their_path() {
        assert_eq!(
            issues_of(r#"["/ok", "", "!", {"regex": ""}]"#),
            vec![
                (
                    "experiments[0].pages[1]".to_string(),
                    "empty pattern".to_string()
                ),
                (
                    "experiments[0].pages[2]".to_string(),
                    "empty pattern".to_string()
                ),
                (
                    "experiments[0].pages[3].regex".to_string(),
                    "empty pattern".to_string()
                ),
            ]
        );
    }

    #[test]
    fn reports_wrong_types() {
        assert_eq!(issues_of("42")[0].0, "experiments[0].pages");
        assert!(issues_of("42")[0].1.contains("found number"));
        let issues = issues_of(r#"{"include": [true], "exclude": [{"regex": 1}]}"#);
        assert_eq!(issues[0].0, "experiments[0].pages.include[0]");
        assert!(issues[0].1.contains("found boolean"), "{issues:?}");
        assert_eq!(issues[1].0, "experiments[0].pages.exclude[0].regex");
        assert!(issues[1].1.contains("found number"), "{issues:?}");
    }

    #[test]
    fn reports_unknown_keys() {
        assert_eq!(
            issues_of(r#"{"includes": ["/"]}"#)[0].0,
            "experiments[0].pages.includes"
        );
        assert_eq!(
            issues_of(r#"[{"regex": "a", "flags": "i"}]"#)[0].0,
            "experiments[0].pages[0].flags"
        );
        assert_eq!(
            issues_of(r#"[{"pattern": "/a"}]"#)[0].0,
            "experiments[0].pages[0].pattern"
        );
    }

    #[test]
    fn reports_an_invalid_regex() {
        let issues = issues_of(r#"{"exclude": [{"regex": "("}]}"#);
        assert_eq!(issues[0].0, "experiments[0].pages.exclude[0].regex");
        assert!(
            issues[0].1.starts_with("invalid regular expression"),
            "{issues:?}"
        );
    }

    #[test]
    fn reports_bad_globs() {
        for (pattern, complaint) in [
            ("shop example/cart", "contains a space"),
            ("https:///cart", "host is missing"),
            ("shop.example!/x", "contains '!'"),
            ("cart*", "neither a path"),
            ("/cart#reviews", "'#'"),
            ("/cart?=1", "no name"),
            (" /cart", "whitespace"),
        ] {
            let issues = issues_of(&format!("[{}]", json_string(pattern)));
            assert!(issues[0].1.contains(complaint), "{pattern:?}: {issues:?}");
            assert_eq!(issues[0].0, "experiments[0].pages[0]");
        }
    }

    #[test]
    fn reports_a_double_negation_in_exclude() {
        assert!(issues_of(r#"{"exclude": ["!/a"]}"#)[0]
            .1
            .contains("already an exclude"));
    }

    #[test]
    fn reports_every_problem_not_just_the_first() {
        assert_eq!(issues_of(r#"["", 1, {"regex": "["}]"#).len(), 3);
    }

    fn json_string(s: &str) -> String {
        let mut out = String::new();
        json::write_str(&mut out, s);
        out
    }

    // --- glob matching

    #[test]
    fn no_include_means_every_page() {
        assert!(matches("[]", "https://shop.example/anything?x=1"));
        assert!(matches(r#"{"exclude": ["/cart"]}"#, "/checkout"));
    }

    #[test]
    fn an_exclude_wins_over_an_include() {
        assert!(matches(
            r#"["/collections/*", "!/collections/sale*"]"#,
            "/collections/shoes"
        ));
        assert!(!matches(
            r#"["/collections/*", "!/collections/sale*"]"#,
            "/collections/sale/summer"
        ));
    }

    #[test]
    fn star_matches_any_run_including_slashes() {
        assert!(matches(r#""/collections/*""#, "/collections/shoes/red"));
        assert!(matches(r#""/p/*/reviews""#, "/p/a/b/reviews"));
        assert!(matches(r#""*""#, "https://any.example/x/y?z=1"));
        assert!(!matches(r#""/p/*/reviews""#, "/p/a/b/reviews/2"));
    }

    #[test]
    fn without_star_the_path_must_match_exactly() {
        assert!(matches(r#""/cart""#, "/cart"));
        assert!(!matches(r#""/cart""#, "/cart/items"));
        assert!(!matches(r#""/""#, "/cart"));
        assert!(!matches(r#""/cart""#, "/shopping-cart"));
    }

    #[test]
    fn matching_ignores_case() {
        assert!(matches(r#""/Cart""#, "/CART"));
        assert!(matches(
            r#""SHOP.example/cart""#,
            "https://shop.EXAMPLE/cart"
        ));
        assert!(matches(r#""/été""#, "/%C3%A9T%C3%A9"));
        assert!(!matches(r#""/é""#, "/%C3%89"), "only ASCII letters fold");
    }

    #[test]
    fn a_path_pattern_matches_on_any_host() {
        assert!(matches(r#""/cart""#, "https://shop.example/cart"));
        assert!(matches(
            r#""/cart""#,
            "http://staging.shop.example:8080/cart"
        ));
    }

    #[test]
    fn a_host_pattern_checks_the_host_and_ignores_the_scheme() {
        assert!(matches(
            r#""shop.example/cart*""#,
            "https://shop.example/cart/items"
        ));
        assert!(!matches(
            r#""shop.example/cart*""#,
            "https://other.example/cart"
        ));
        assert!(matches(
            r#""https://shop.example/cart""#,
            "http://shop.example/cart"
        ));
        assert!(matches(
            r#""*://shop.example/cart""#,
            "https://shop.example/cart"
        ));
        assert!(matches(
            r#""//shop.example/cart""#,
            "https://shop.example/cart"
        ));
    }

    #[test]
    fn a_host_pattern_may_use_stars_and_ports() {
        assert!(matches(
            r#""*.shop.example/*""#,
            "https://de.shop.example/x"
        ));
        assert!(!matches(r#""*.shop.example/*""#, "https://shop.example/x"));
        assert!(matches(
            r#""shop.example/*""#,
            "https://shop.example:8443/x"
        ));
        assert!(matches(r#""localhost:8080/*""#, "http://localhost:8080/x"));
        assert!(!matches(r#""localhost:8080/*""#, "http://localhost:9090/x"));
    }

    #[test]
    fn a_host_alone_means_its_home_page() {
        assert!(matches(r#""shop.example""#, "https://shop.example/"));
        assert!(!matches(r#""shop.example""#, "https://shop.example/cart"));
    }

    #[test]
    fn a_relative_url_is_on_the_patterns_host() {
        assert!(matches(r#""shop.example/cart""#, "/cart"));
    }

    #[test]
    fn a_trailing_slash_does_not_matter() {
        assert!(matches(r#""/cart""#, "/cart/"));
        assert!(matches(r#""/cart/""#, "/cart"));
        assert!(matches(r#""/collections/*""#, "/collections"));
        assert!(matches(r#""shop.example/""#, "https://shop.example"));
    }

    #[test]
    fn a_pattern_without_query_ignores_the_query() {
        assert!(matches(r#""/search""#, "/search?q=shoes&page=2"));
    }

    #[test]
    fn a_pattern_query_requires_those_parameters_in_any_order() {
        let pattern = r#""/search?page=2&q=shoes""#;
        assert!(matches(pattern, "/search?q=shoes&page=2"));
        assert!(matches(pattern, "/search?utm_source=ads&page=2&q=shoes"));
        assert!(!matches(pattern, "/search?q=shoes"));
        assert!(!matches(pattern, "/search?q=boots&page=2"));
    }

    #[test]
    fn a_pattern_query_key_without_value_accepts_any_value() {
        assert!(matches(r#""/*?preview""#, "/p/1?preview=yes"));
        assert!(!matches(r#""/*?preview""#, "/p/1"));
    }

    #[test]
    fn pattern_query_values_are_decoded_and_may_use_star() {
        assert!(matches(
            r#""/*?q=caf%C3%A9*""#,
            "/search?q=caf%C3%A9+cr%C3%A8me"
        ));
        assert!(matches(r#""/*?q=black friday""#, "/search?q=black+friday"));
    }

    #[test]
    fn glob_matching_stays_fast_on_pathological_patterns() {
        let pattern = format!("\"/{}b\"", "*a".repeat(30));
        let href = format!("/{}", "a".repeat(5000));
        assert!(!matches(&pattern, &href));
    }

    // --- regex matching

    #[test]
    fn a_regex_is_tested_against_the_full_href() {
        assert!(matches(
            r#"[{"regex": "^https://shop\\.example/p/\\d+$"}]"#,
            "https://shop.example/p/42"
        ));
        assert!(!matches(
            r#"[{"regex": "^https://shop\\.example/p/\\d+$"}]"#,
            "https://other.example/p/42"
        ));
        assert!(matches(
            r##"[{"regex": "#reviews$"}]"##,
            "https://shop.example/p/42#reviews"
        ));
    }

    #[test]
    fn a_regex_is_also_tested_against_the_href_without_its_origin() {
        assert!(matches(
            r#"[{"regex": "^/p/\\d+$"}]"#,
            "https://shop.example/p/42"
        ));
        assert!(matches(
            r#"[{"regex": "^/p/\\d+\\?color=red$"}]"#,
            "https://shop.example/p/42?color=red"
        ));
        assert!(matches(r#"[{"regex": "^/$"}]"#, "https://shop.example"));
        assert!(!matches(
            r#"[{"regex": "^/p/\\d+$"}]"#,
            "https://shop.example/p/x"
        ));
    }

    #[test]
    fn a_regex_ignores_case_like_globs() {
        assert!(matches(r#"[{"regex": "^/cart"}]"#, "/CART"));
    }

    #[test]
    fn a_regex_can_exclude() {
        let config = r#"{"include": "/*", "exclude": [{"regex": "^/account(/|$)"}]}"#;
        assert!(!matches(config, "/account/orders"));
        assert!(matches(config, "/accounts-help"));
    }
}
