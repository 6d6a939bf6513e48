//! The visitor attributes that audience conditions and `hashAttribute` are evaluated over,
//! built from what the page knows: URL, user agent, language, plus the site's own attributes.
//!
//! Keys: `id`, `url`, `path`, `host`, `query` (object of parameters, first value of a repeated
//! key), `utm_source` `utm_medium` `utm_campaign` `utm_term` `utm_content` (only when in the
//! query), `device` (`mobile` | `tablet` | `desktop`), `browser` (`chrome` | `safari` |
//! `firefox` | `edge` | `opera` | `samsung` | `other`), `language`, `new_visitor`, then every key
//! of the custom attributes (`splitbeam.attributes({...})`), which override the built-in ones.

use crate::json::Value;
use crate::url::Url;

/// What the page knows about the visitor at assignment time.
#[derive(Debug, Clone, Copy)]
pub struct PageContext<'a> {
    pub visitor_id: &'a str,
    pub href: &'a str,
    pub user_agent: &'a str,
    /// `navigator.language`, e.g. `de-DE`.
    pub language: &'a str,
    pub new_visitor: bool,
    /// Site-provided attributes; only an object is used.
    pub custom: Option<&'a Value>,
}

const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// Builds the attribute object for `ctx`.
pub fn build(ctx: &PageContext) -> Value {
    let url = Url::parse(ctx.href);
    let mut query: Vec<(String, Value)> = Vec::with_capacity(url.query.len());
    for (key, value) in &url.query {
        // URLSearchParams.get semantics: the first value of a repeated key wins.
        if !query.iter().any(|(k, _)| k == key) {
            query.push((key.clone(), Value::from(value.as_str())));
        }
    }

    let mut attributes = vec![
        ("id".to_string(), Value::from(ctx.visitor_id)),
        ("url".to_string(), Value::from(ctx.href)),
        ("path".to_string(), Value::from(url.path.as_str())),
        ("host".to_string(), Value::from(url.host.as_str())),
    ];
    let utm: Vec<(String, Value)> = UTM_KEYS
        .iter()
        .filter_map(|&key| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(k, v)| (k.clone(), v.clone()))
        })
        .collect();
    attributes.push(("query".to_string(), Value::Object(query)));
    attributes.extend(utm);
    attributes.push(("device".to_string(), Value::from(device(ctx.user_agent))));
    attributes.push(("browser".to_string(), Value::from(browser(ctx.user_agent))));
    attributes.push(("language".to_string(), Value::from(ctx.language)));
    attributes.push(("new_visitor".to_string(), Value::from(ctx.new_visitor)));

    let mut attributes = Value::Object(attributes);
    if let Some(Value::Object(custom)) = ctx.custom {
        for (key, value) in custom {
            attributes.set(key, value.clone());
        }
    }
    attributes
}

/// The device class from the user agent. Tablets are checked first because iPad and Android
/// tablet agents also carry phone tokens (`Mobile/15E148`); Android phones say `Mobile`, Android
/// tablets do not. iPadOS 13+ Safari sends a macOS agent by default, so it reads as desktop.
pub fn device(user_agent: &str) -> &'static str {
    let has = |token: &str| contains(user_agent, token);
    if has("iPad") || has("Tablet") || (has("Android") && !has("Mobile")) {
        "tablet"
    } else if has("iPhone")
        || has("iPod")
        || has("Mobi")
        || has("Windows Phone")
        || has("Opera Mini")
    {
        "mobile"
    } else {
        "desktop"
    }
}

/// The browser family from the user agent. Order matters: Edge, Opera and Samsung Internet all
/// also say `Chrome/` and `Safari/`, and Chrome says `Safari/`, so the specific tokens go first.
pub fn browser(user_agent: &str) -> &'static str {
    let has = |token: &str| contains(user_agent, token);
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        "edge"
    } else if has("OPR/") || has("OPiOS/") || has("OPT/") || has("Opera") {
        "opera"
    } else if has("SamsungBrowser/") {
        "samsung"
    } else if has("Firefox/") || has("FxiOS/") {
        "firefox"
    } else if has("CriOS/") || has("Chrome/") || has("Chromium/") {
        "chrome"
    } else if has("Safari/") && has("Version/") {
        "safari"
    } else {
        "other"
    }
}

/// Substring search by hand: `str::contains(&str)` brings the two-way searcher, ~2 KB of wasm
/// gzipped, for needles of a few bytes in a 150-byte user agent.
fn contains(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const PIXEL_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36";
    const IPAD_SAFARI: &str = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1";
    const SAMSUNG_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36";
    const SAMSUNG_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36";
    const WINDOWS_EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87";
    const WINDOWS_CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    const MACOS_SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
    const LINUX_FIREFOX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
    const ANDROID_FIREFOX: &str =
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0";
    const IPHONE_CHROME: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1";
    const WINDOWS_OPERA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0";
    const INSTAGRAM_IN_APP: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98";

    fn context<'a>(href: &'a str, custom: Option<&'a Value>) -> PageContext<'a> {
        PageContext {
            visitor_id: "v_123",
            href,
            user_agent: PIXEL_CHROME,
            language: "de-DE",
            new_visitor: true,
            custom,
        }
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    #[test]
    fn phones_are_mobile() {
        for ua in [
            IPHONE_SAFARI,
            PIXEL_CHROME,
            SAMSUNG_PHONE,
            ANDROID_FIREFOX,
            IPHONE_CHROME,
            INSTAGRAM_IN_APP,
        ] {
            assert_eq!(device(ua), "mobile", "{ua}");
        }
    }

    #[test]
    fn ipads_and_android_tablets_are_tablets() {
        assert_eq!(device(IPAD_SAFARI), "tablet");
        assert_eq!(device(SAMSUNG_TABLET), "tablet");
        assert_eq!(
            device("Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0"),
            "tablet"
        );
    }

    #[test]
    fn computers_are_desktop() {
        for ua in [
            WINDOWS_EDGE,
            WINDOWS_CHROME,
            MACOS_SAFARI,
            LINUX_FIREFOX,
            WINDOWS_OPERA,
            "",
        ] {
            assert_eq!(device(ua), "desktop", "{ua}");
        }
    }

    #[test]
    fn browsers_are_told_apart_despite_shared_tokens() {
        let expected = [
            (IPHONE_SAFARI, "safari"),
            (MACOS_SAFARI, "safari"),
            (IPAD_SAFARI, "safari"),
            (PIXEL_CHROME, "chrome"),
            (WINDOWS_CHROME, "chrome"),
            (IPHONE_CHROME, "chrome"),
            (WINDOWS_EDGE, "edge"),
            (SAMSUNG_TABLET, "samsung"),
            (SAMSUNG_PHONE, "samsung"),
            (LINUX_FIREFOX, "firefox"),
            (ANDROID_FIREFOX, "firefox"),
            (WINDOWS_OPERA, "opera"),
            (INSTAGRAM_IN_APP, "other"),
            ("curl/8.5.0", "other"),
        ];
        for (ua, name) in expected {
            assert_eq!(browser(ua), name, "{ua}");
        }
    }

    #[test]
    fn url_parts_come_from_the_href() {
        let attributes = build(&context(
            "https://shop.example/collections/été?color=red&size=m#top",
            None,
        ));
        assert_eq!(
            attributes.get("url").and_then(Value::as_str),
            Some("https://shop.example/collections/été?color=red&size=m#top")
        );
        assert_eq!(
            attributes.get("path").and_then(Value::as_str),
            Some("/collections/été")
        );
        assert_eq!(
            attributes.get("host").and_then(Value::as_str),
            Some("shop.example")
        );
        let query = attributes.get("query").expect("query");
        assert_eq!(query.get("color").and_then(Value::as_str), Some("red"));
        assert_eq!(query.get("size").and_then(Value::as_str), Some("m"));
    }

    #[test]
    fn a_repeated_query_key_keeps_its_first_value() {
        let attributes = build(&context("/?tag=a&tag=b", None));
        assert_eq!(
            attributes
                .get("query")
                .and_then(|q| q.get("tag"))
                .and_then(Value::as_str),
            Some("a")
        );
    }

    #[test]
    fn utm_parameters_are_lifted_only_when_present() {
        let attributes = build(&context(
            "/?utm_source=newsletter&utm_campaign=black%20friday",
            None,
        ));
        assert_eq!(
            attributes.get("utm_source").and_then(Value::as_str),
            Some("newsletter")
        );
        assert_eq!(
            attributes.get("utm_campaign").and_then(Value::as_str),
            Some("black friday")
        );
        assert_eq!(attributes.get("utm_medium"), None);
        assert_eq!(attributes.get("utm_term"), None);
        assert_eq!(attributes.get("utm_content"), None);
    }

    #[test]
    fn visitor_device_browser_language_and_newness_are_set() {
        let attributes = build(&context("/", None));
        assert_eq!(attributes.get("id").and_then(Value::as_str), Some("v_123"));
        assert_eq!(
            attributes.get("device").and_then(Value::as_str),
            Some("mobile")
        );
        assert_eq!(
            attributes.get("browser").and_then(Value::as_str),
            Some("chrome")
        );
        assert_eq!(
            attributes.get("language").and_then(Value::as_str),
            Some("de-DE")
        );
        assert_eq!(
            attributes.get("new_visitor").and_then(Value::as_bool),
            Some(true)
        );
    }

    #[test]
    fn keys_come_in_a_stable_order() {
        let attributes = build(&context("/?utm_medium=email", None));
        assert_eq!(
            keys(&attributes),
            [
                "id",
                "url",
                "path",
                "host",
                "query",
                "utm_medium",
                "device",
                "browser",
                "language",
                "new_visitor"
            ]
        );
    }

    #[test]
    fn custom_attributes_are_added_and_override_built_in_ones() {
        let custom = Value::Object(vec![
            ("plan".to_string(), Value::from("gold")),
            ("device".to_string(), Value::from("kiosk")),
        ]);
        let attributes = build(&context("/", Some(&custom)));
        assert_eq!(attributes.get("plan").and_then(Value::as_str), Some("gold"));
        assert_eq!(
            attributes.get("device").and_then(Value::as_str),
            Some("kiosk")
        );
        assert_eq!(
            keys(&attributes).iter().filter(|&&k| k == "device").count(),
            1
        );
    }

    #[test]
    fn custom_attributes_that_are_not_an_object_are_ignored() {
        let custom = Value::from("plan=gold");
        let with = build(&context("/", Some(&custom)));
        let without = build(&context("/", None));
        assert_eq!(with, without);
    }
}
