//! What a shop's pages load, rendered from the config: `/splitbeam.js` (printed by `splitbeam
//! snippet`), the loader with the compiled config and the hide list baked in, and the inline tag
//! (printed by `splitbeam tag`, served at `/tag.html`) that hides before first paint and adds it.

use base64::Engine;
use splitbeam_core::compiled;
use splitbeam_core::config::{Config, GoalTrigger};
use splitbeam_core::hide::{hide_list, PagePattern};

/// The marker the loader (www/loader.js) carries where the baked config goes, as esbuild prints it.
const MARKERS: [&str; 2] = ["\"__SPLITBEAM_CONFIG__\"", "'__SPLITBEAM_CONFIG__'"];
/// The marker of the inline tag's template (www/tag.js).
const TAG_MARKERS: [&str; 2] = ["\"__SPLITBEAM_TAG__\"", "'__SPLITBEAM_TAG__'"];

/// The built loader that fits `config`: the one whose first-paint module has the condition engine
/// only when an experiment needs it (it costs about 14 KB gzip on the critical path).
pub fn loader_file(config: &Config) -> &'static str {
    if compiled::needs_conditions(config) {
        "splitbeam-audience.js"
    } else {
        "splitbeam.js"
    }
}

/// The loader with `config` (validated) baked in: `{b: compiled config in base64, h: hide list,
/// g: [[goal, selector]] of the click goals}` (the loader holds clicks made before the whole
/// snippet starts on a page that closes that early). A loader without the marker is returned
/// unchanged (it then says it has no config).
pub fn render(loader_js: &str, config: &Config) -> String {
    let mut click_goals: Vec<(&str, &str)> = Vec::new();
    for goal in config.experiments.iter().flat_map(|e| &e.goals) {
        if let GoalTrigger::Click(selector) = &goal.trigger {
            if !click_goals.contains(&(goal.key.as_str(), selector.as_str())) {
                click_goals.push((&goal.key, selector));
            }
        }
    }
    let baked = serde_json::json!({
        "b": base64::engine::general_purpose::STANDARD.encode(compiled::encode(config)),
        "h": hide_json(config),
        "g": click_goals,
    });
    replace_marker(loader_js, &MARKERS, &baked)
}

/// The inline tag for `config`: `<script>…</script>` that hides what experiments may change on the
/// page it runs on, then adds `src` (splitbeam.js) async with `attributes` (`data-collector`, …) and
/// fetches `first_module` (the first-paint module that loader names, next to it) at the same time.
pub fn tag(template_js: &str, config: &Config, src: &str, first_module: &str, timeout_ms: u32, attributes: &[(String, String)]) -> String {
    let attributes: serde_json::Map<String, serde_json::Value> =
        attributes.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    let filled = serde_json::json!({ "h": hide_json(config), "s": src, "w": first_module, "t": timeout_ms, "a": attributes });
    ["<script>", replace_marker(template_js, &TAG_MARKERS, &filled).trim(), "</script>"].concat()
}

/// `[[kind, pattern, [selectors]]]` as www/hide.js reads it: kind 0 every page, 1 a path regex,
/// 2 a URL regex, +4 for a draft (QA links only).
fn hide_json(config: &Config) -> serde_json::Value {
    let rules = hide_list(config).into_iter().map(|rule| {
        let (kind, pattern) = match rule.pattern {
            PagePattern::Any => (0, String::new()),
            PagePattern::Path(p) => (1, p),
            PagePattern::Url(p) => (2, p),
        };
        serde_json::json!([kind + if rule.draft { 4 } else { 0 }, pattern, rule.selectors])
    });
    serde_json::Value::Array(rules.collect())
}

/// `js` with the first marker found replaced by `value` as a JavaScript expression. JSON is one;
/// `<` is escaped so the script can sit inline in a page (`</script>` in a string would end it), and
/// U+2028/U+2029 for old engines.
fn replace_marker(js: &str, markers: &[&str], value: &serde_json::Value) -> String {
    let json = value.to_string();
    let mut escaped = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            // Outside strings JSON has no `<` and no line separators, so this only touches strings.
            '<' => escaped.push_str("\\u003c"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    match markers.iter().find(|m| js.contains(*m)) {
        Some(marker) => js.replacen(marker, &escaped, 1),
        None => js.to_string(),
    }
}

/// `name.<hex hash>.ext`, as `npm run build` names the modules: at least 8 hex digits before the
/// extension. Such a file never changes, so it may be cached for good.
pub fn is_content_hashed(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next(), parts.next());
    parts.next().is_some() && hash.is_some_and(|h| h.len() >= 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The first-paint module a built loader fetches (`splitbeam_first….<hash>.wasm`).
pub fn first_module(loader_js: &str) -> Option<String> {
    files_named_by(loader_js).into_iter().find(|name| name.starts_with("splitbeam_first"))
}

/// The content-hashed files a built loader names (`splitbeam_first.<hash>.wasm`, …): what must be
/// served next to it.
pub fn files_named_by(loader_js: &str) -> Vec<String> {
    let mut names = Vec::new();
    for prefix in ["splitbeam_first_audience.", "splitbeam_first.", "splitbeam_full.", "splitbeam_bg."] {
        for (at, _) in loader_js.match_indices(prefix) {
            let rest = &loader_js[at + prefix.len()..];
            let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
            let ext = if rest[hex..].starts_with(".wasm") { ".wasm" } else if rest[hex..].starts_with(".js") { ".js" } else { continue };
            let name = [prefix, &rest[..hex], ext].concat();
            if is_content_hashed(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::{files_named_by, render, tag};
    use splitbeam_core::config::load_text;
    use splitbeam_core::regex::NativeRegex;

    fn config(text: &str) -> splitbeam_core::config::Config {
        load_text(text, &NativeRegex).expect("parses").0.config
    }

    const ONE: &str = r##"{"version":1,"experiments":[{"key":"h","status":"running","pages":["/"],
        "variants":[{"key":"c"},{"key":"b","changes":[{"selector":"#hero h1","text":"</script><b>x"}]}]}]}"##;

    #[test]
    fn the_compiled_config_and_the_hide_list_replace_the_marker() {
        let out = render("var c={c:\"__SPLITBEAM_CONFIG__\"}.c;", &config(ONE));
        assert!(out.starts_with("var c={c:{\"b\":\"U0IB"), "{out}");
        assert!(out.contains(r##""h":[[1,"^(?:)/?$",["#hero h1"]]]"##), "{out}");
    }

    #[test]
    fn a_closing_script_tag_in_the_config_cannot_end_an_inline_script() {
        let text = ONE.replace("\"#hero h1\"", "\"#a[title='</script>']\"");
        let out = tag("x='__SPLITBEAM_TAG__'", &config(&text), "/s.js", "f.wasm", 1000, &[]);
        assert!(!out.trim_end_matches("</script>").contains("</script>"), "{out}");
        assert!(out.contains("\\u003c/script>"));
    }

    #[test]
    fn the_tag_carries_the_script_url_timeout_and_attributes() {
        let out = tag("x='__SPLITBEAM_TAG__'", &config(ONE), "https://c.example/splitbeam.js", "splitbeam_first.0123456789abcdef.wasm", 800, &[("data-collector".into(), "https://c.example/collect".into())]);
        assert!(out.starts_with("<script>x={") && out.ends_with("}</script>"), "{out}");
        assert!(out.contains(r#""s":"https://c.example/splitbeam.js""#) && out.contains(r#""t":800"#) && out.contains(r#""w":"splitbeam_first.0123456789abcdef.wasm""#) && out.contains(r#""data-collector":"https://c.example/collect""#), "{out}");
    }

    #[test]
    fn a_loader_without_the_marker_is_returned_unchanged() {
        assert_eq!(render("console.log(1)", &config(ONE)), "console.log(1)");
    }

    #[test]
    fn the_files_a_loader_names_are_found_by_their_hashes() {
        let loader = r#"a="splitbeam_first.57ad79dbfc17bc5f.wasm",b="splitbeam_full.0123456789abcdef.js",c="splitbeam_bg.abc.wasm""#;
        assert_eq!(files_named_by(loader), ["splitbeam_first.57ad79dbfc17bc5f.wasm", "splitbeam_full.0123456789abcdef.js"]);
    }
}
