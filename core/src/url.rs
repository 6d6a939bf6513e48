//! URLs as page rules and the snippet read them: split into host, decoded path and decoded query
//! parameters, without a URL library (its tables would cost the snippet kilobytes). A leaf module:
//! it knows nothing of experiments or configs.

/// A page URL split into what page rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Url {
    /// The URL exactly as given; regex patterns are tested against it.
    pub href: String,
    /// Lower-cased host with its port if one was given (`shop.example:8080`); empty for a
    /// relative URL.
    pub host: String,
    /// Percent-decoded path, always starting with `/`.
    pub path: String,
    /// Percent-decoded query parameters in order (`+` is a space), repeated keys kept.
    pub query: Vec<(String, String)>,
}

impl Url {
    /// Splits an absolute (`https://shop.example/a/b?x=1#h`, `//shop.example/a`) or relative
    /// (`/a/b?x=1`) URL. Never fails: whatever does not parse ends up in the path.
    pub fn parse(href: &str) -> Url {
        let without_fragment = href.split('#').next().unwrap_or_default();
        let (before_query, query) = without_fragment
            .split_once('?')
            .unwrap_or((without_fragment, ""));
        let (host, path) = split_host(before_query);
        Url {
            href: href.to_string(),
            host: host.to_ascii_lowercase(),
            path: absolute_path(percent_decode(path, false)),
            query: query_pairs(query).map(|(key, value)| (key, value.unwrap_or_default())).collect(),
        }
    }

    /// The href without its scheme and host: `/cart?x=1#top`.
    pub fn after_origin(&self) -> String {
        let (_, rest) = split_host(&self.href);
        absolute_path(rest.to_string())
    }
}

/// Where a split-URL variant sends a visitor who is on `href` (the page's whole URL): `target`
/// with this page's query string added and, unless `target` names a fragment of its own, this
/// page's fragment. `None` when `target` is this page (no redirect loop).
pub fn redirect_target(target: &str, href: &str) -> Option<String> {
    let (without_fragment, fragment) = href.split_once('#').unwrap_or((href, ""));
    let (before_query, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
    let path = absolute_path(split_host(before_query).1.to_string());
    let bare = target.split(['?', '#']).next().unwrap_or(target);
    if bare == path || bare == before_query {
        return None;
    }
    let (base, own_fragment) = target.split_once('#').map_or((target, None), |(b, f)| (b, Some(f)));
    let mut url = base.to_string();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    match own_fragment {
        Some(f) => {
            url.push('#');
            url.push_str(f);
        }
        None if !fragment.is_empty() => {
            url.push('#');
            url.push_str(fragment);
        }
        None => {}
    }
    Some(url)
}

fn absolute_path(mut path: String) -> String {
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    path
}

pub(crate) fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Where `://` starts. By hand: `str::find` with a `&str` needle brings the two-way searcher,
/// several KB of wasm for a three-byte needle.
pub(crate) fn find_scheme_separator(s: &str) -> Option<usize> {
    s.as_bytes().windows(3).position(|w| w == b"://")
}

/// Splits `scheme://user@host:port/rest` or `//host/rest` into (`host:port`, `/rest`);
/// anything else is relative: ("", the whole text).
fn split_host(s: &str) -> (&str, &str) {
    let after_slashes = match find_scheme_separator(s) {
        // `get`, not indexing: a panicking slice brings core::fmt into the snippet.
        Some(i) if is_scheme(s.get(..i).unwrap_or_default()) => s.get(i + 3..).unwrap_or_default(),
        _ => match s.strip_prefix("//") {
            Some(rest) => rest,
            None => return ("", s),
        },
    };
    let end = after_slashes
        .find(['/', '?', '#'])
        .unwrap_or(after_slashes.len());
    let (authority, rest) = after_slashes.split_at_checked(end).unwrap_or((after_slashes, ""));
    // After the last `@` (user info), searched as a byte: a `char` searcher from the end cost the
    // first-paint module 0.3 KB gzip, and `@` is ASCII, so the cut is on a character boundary.
    let host = match authority.bytes().rposition(|b| b == b'@') {
        Some(at) => authority.get(at + 1..).unwrap_or_default(),
        None => authority,
    };
    (host, rest)
}

/// The parameters of a query string (`a=1&b&c=x+y`, with or without its `?`), in order, repeated
/// keys kept: percent-decoded keys, and values (`+` is a space), `None` for a key without `=`.
/// Every reader of a query string (page rules, `?splitbeam=`, `?splitbeam-debug`) goes through it.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, Option<String>)> + '_ {
    query.strip_prefix('?').unwrap_or(query).split('&').filter(|pair| !pair.is_empty()).map(|pair| match pair.split_once('=') {
        Some((key, value)) => (percent_decode(key, true), Some(percent_decode(value, true))),
        None => (percent_decode(pair, true), None),
    })
}

/// The first value of `name` in a query string: `Some("")` when present without a value.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query_pairs(query).find(|(key, _)| key == name).map(|(_, value)| value.unwrap_or_default())
}

/// Decodes `%XX` escapes (and `+` as a space in query strings, as browsers' forms encode it).
/// Malformed escapes are kept as written, and so is the whole text when the escapes do not
/// decode to UTF-8 (a legacy Latin-1 link): nothing is guessed.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    if !s.contains(['%', '+']) {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (
                bytes.get(i + 1).and_then(hex_value),
                bytes.get(i + 2).and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex_value(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_keys_and_values_and_tell_a_bare_key() {
        let pairs: Vec<_> = query_pairs("?a=1&b&c=x+y%21&&a=2&d=").collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            pairs,
            vec![("a".into(), some("1")), ("b".into(), None), ("c".into(), some("x y!")), ("a".into(), some("2")), ("d".into(), some(""))]
        );
    }

    #[test]
    fn a_redirect_keeps_the_query_and_the_fragment_and_never_loops() {
        let go = |target: &str, href: &str| redirect_target(target, href);
        assert_eq!(go("/b", "https://shop.example/a?utm=x&k=1#top").as_deref(), Some("/b?utm=x&k=1#top"));
        assert_eq!(go("/b?v=2", "https://shop.example/a?utm=x").as_deref(), Some("/b?v=2&utm=x"));
        // The target's own fragment wins; an empty query or fragment adds nothing.
        assert_eq!(go("/b#new", "https://shop.example/a?#old").as_deref(), Some("/b#new"));
        assert_eq!(go("https://other.example/b", "https://shop.example/a?#").as_deref(), Some("https://other.example/b"));
        assert_eq!(go("/b", "https://shop.example").as_deref(), Some("/b"));
        // Already there: by path or by whole URL, whatever the query or fragment.
        assert_eq!(go("/a?v=2", "https://shop.example/a?utm=x#top"), None);
        assert_eq!(go("https://shop.example/a#x", "https://shop.example/a"), None);
        assert_eq!(go("/", "https://shop.example"), None);
    }

    #[test]
    fn query_param_finds_the_first_value_and_a_bare_key() {
        assert_eq!(query_param("?splitbeam=hero:b%2Cx&splitbeam=no", "splitbeam").as_deref(), Some("hero:b,x"));
        assert_eq!(query_param("?x=1&splitbeam-debug", "splitbeam-debug").as_deref(), Some(""));
        assert_eq!(query_param("splitbeam-debugger=1", "splitbeam-debug"), None);
        assert_eq!(query_param("", "a"), None);
    }

    #[test]
    fn url_parse_keeps_a_bare_key_as_an_empty_value() {
        let url = Url::parse("https://Shop.example:8080/caf%C3%A9?q=a+b&flag#top");
        assert_eq!(url.host, "shop.example:8080");
        assert_eq!(url.path, "/café");
        assert_eq!(url.query, vec![("q".to_string(), "a b".to_string()), ("flag".to_string(), String::new())]);
    }
}
