//! What a shop's pages load, rendered from the config: `/splitbeam.js` (printed by `splitbeam
//! snippet`), the loader with the compiled config and the hide list baked in, and the inline tag
//! (printed by `splitbeam tag`, served at `/tag.html`) that hides before first paint and adds it.
//!
//! Everything here renders a `PublicConfig`: what any visitor may read. Drafts (unreleased copy) are
//! left out unless a signed preview link names one, and saved groups' ids are SHA-256 hashed.

use splitbeam_core::compiled;
use splitbeam_core::condition::secure_groups;
use splitbeam_core::config::{Config, GoalTrigger, Status};
use splitbeam_core::hide::{hide_list, PagePattern};
use splitbeam_core::json::Value;

/// What of a config may reach browsers; only `public` makes one.
#[derive(Debug, Clone)]
pub struct PublicConfig(Config);

impl PublicConfig {
    pub fn config(&self) -> &Config {
        &self.0
    }
}

/// The part of `config` every visitor may read: running experiments, stopped ones with only the
/// variant they show (plus the draft `preview` names, for a valid preview link), and the saved groups
/// hashed (`secure_groups`), or none at all when no shipped experiment evaluates audiences.
pub fn public(config: &Config, preview: Option<&str>) -> PublicConfig {
    let experiments = config
        .experiments
        .iter()
        .filter(|e| e.status != Status::Draft || preview == Some(e.key.as_str()))
        .map(|e| {
            let mut shown = e.clone();
            // A stopped experiment shows everyone one variant (the winner, or control): the other
            // variants' copy is no longer needed. Their keys and weights stay (sticky fingerprints).
            if e.status == Status::Stopped {
                let kept = e.winner.unwrap_or(0);
                for (i, variant) in shown.variants.iter_mut().enumerate() {
                    if i != kept {
                        variant.changes.clear();
                        variant.redirect = None;
                    }
                }
            }
            shown
        })
        .collect();
    let mut shown = Config { version: config.version, experiments, groups: Value::Object(Vec::new()) };
    if compiled::needs_conditions(&shown) {
        shown.groups = secure_groups(&config.groups);
    }
    PublicConfig(shown)
}

/// experiments.json as `/experiments.json` shows it to anyone, with what `public` leaves out left
/// out: no drafts, a stopped experiment's variants other than the one it shows without `changes`,
/// `groups` hashed. The text as written when there is nothing to leave out, re-written otherwise.
/// `None` when the text is not JSON (never for a config that loaded).
pub fn public_json(text: &str) -> Option<String> {
    let mut root: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = root.as_object_mut()?;
    let mut changed = false;
    if let Some(serde_json::Value::Array(list)) = object.get_mut("experiments") {
        let before = list.len();
        list.retain(|e| e.get("status").and_then(|s| s.as_str()) != Some("draft"));
        changed |= list.len() != before;
        for experiment in list.iter_mut().filter(|e| e.get("status").and_then(|s| s.as_str()) == Some("stopped")) {
            let winner = experiment.get("winner").and_then(|w| w.as_str()).map(String::from);
            let Some(serde_json::Value::Array(variants)) = experiment.get_mut("variants") else { continue };
            let kept = winner
                .and_then(|w| variants.iter().position(|v| v.get("key").and_then(|k| k.as_str()) == Some(w.as_str())))
                .unwrap_or(0);
            for (i, variant) in variants.iter_mut().enumerate() {
                if i != kept {
                    changed |= variant.as_object_mut().and_then(|v| v.remove("changes")).is_some();
                }
            }
        }
    }
    if let Some(groups) = object.get("groups").filter(|g| g.as_object().is_some_and(|g| !g.is_empty())) {
        let (parsed, _) = splitbeam_core::json::parse(&groups.to_string()).ok()?;
        let hashed = core_to_serde(&secure_groups(&parsed));
        object.insert("groups".to_string(), hashed);
        changed = true;
    }
    if !changed {
        return Some(text.to_string());
    }
    serde_json::to_string_pretty(&root).ok()
}

fn core_to_serde(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(core_to_serde).collect()),
        Value::Object(entries) => serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), core_to_serde(v))).collect()),
    }
}

/// The marker the loader (www/loader.js) carries where the baked config goes, as esbuild prints it.
const MARKERS: [&str; 2] = ["\"__SPLITBEAM_CONFIG__\"", "'__SPLITBEAM_CONFIG__'"];
/// The marker of the inline tag's template (www/tag.js).
const TAG_MARKERS: [&str; 2] = ["\"__SPLITBEAM_TAG__\"", "'__SPLITBEAM_TAG__'"];

/// The built loader that fits `config`: the one whose first-paint module has the condition engine
/// only when an experiment needs it (it costs about 14 KB gzip on the critical path).
pub fn loader_file(config: &PublicConfig) -> &'static str {
    if compiled::needs_conditions(&config.0) {
        "splitbeam-audience.js"
    } else {
        "splitbeam.js"
    }
}

/// The loader with `config` (validated) baked in: `{b: compiled config, one character per byte, h: hide list,
/// g: [[goal, selector]] of the click goals}` (the loader holds clicks made before the whole
/// snippet starts on a page that closes that early). A loader without the marker is returned
/// unchanged (it then says it has no config).
pub fn render(loader_js: &str, config: &PublicConfig) -> String {
    let config = &config.0;
    let mut click_goals: Vec<(&str, &str)> = Vec::new();
    for goal in config.experiments.iter().flat_map(|e| &e.goals) {
        if let GoalTrigger::Click(selector) = &goal.trigger {
            if !click_goals.contains(&(goal.key.as_str(), selector.as_str())) {
                click_goals.push((&goal.key, selector));
            }
        }
    }
    let baked = serde_json::json!({
        // One character per byte (U+0000–U+00FF), not base64: the config's strings stay readable
        // to gzip, which finds their repeats (base64 shifts a repeat by its offset modulo 3). 50
        // experiments with conditions: 528 B gzip less of the critical path.
        "b": compiled::encode(config).into_iter().map(char::from).collect::<String>(),
        "h": hide_json(config),
        "g": click_goals,
    });
    replace_marker(loader_js, &MARKERS, &baked)
}

/// The inline tag for `config`: `<script>…</script>` that hides what experiments may change on the
/// page it runs on, then adds `src` (splitbeam.js) async with `attributes` (`data-collector`, …) and
/// fetches `first_module` (the first-paint module that loader names, next to it) at the same time.
pub fn tag(template_js: &str, config: &PublicConfig, src: &str, first_module: &str, timeout_ms: u32, attributes: &[(String, String)]) -> String {
    let config = &config.0;
    let attributes: serde_json::Map<String, serde_json::Value> =
        attributes.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    let filled = serde_json::json!({ "h": hide_json(config), "s": src, "w": first_module, "t": timeout_ms, "a": attributes });
    ["<script>", replace_marker(template_js, &TAG_MARKERS, &filled).trim(), "</script>"].concat()
}

/// `[[kind, pattern, [selectors]]]` as www/hide.js reads it: kind 0 every page, 1 a path regex,
/// 2 a URL regex, +4 for a draft (in a preview loader only; hidden on QA links only).
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

/// `js` with the first marker found replaced by `value` as a JavaScript expression: its JSON, in
/// ASCII only (a shop may serve the file without a charset, and the page's own then applies), with
/// `<` escaped so the script can sit inline in a page (`</script>` in a string would end it). What
/// serde_json writes as `\u00XX` and the characters up to U+00FF become JavaScript's shorter
/// `\xXX` (the compiled config is such characters); the rest of Unicode `\uXXXX`.
fn replace_marker(js: &str, markers: &[&str], value: &serde_json::Value) -> String {
    let json = value.to_string();
    let mut escaped = String::with_capacity(json.len());
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        match c {
            // JSON's only backslashes start escapes: keep each whole, `\u00XX` shortened.
            '\\' => {
                let rest = chars.as_str();
                match rest.strip_prefix("u00") {
                    Some(hex) if hex.len() >= 2 => {
                        escaped.push_str("\\x");
                        escaped.push_str(&hex[..2]);
                        chars = hex[2..].chars();
                    }
                    _ => {
                        escaped.push('\\');
                        escaped.extend(chars.next());
                    }
                }
            }
            // Outside strings JSON has no `<` and nothing but ASCII, so this only touches strings.
            '<' => escaped.push_str("\\x3c"),
            c if c.is_ascii() => escaped.push(c),
            c if u32::from(c) <= 0xFF => escaped.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    escaped.push_str(&format!("\\u{unit:04x}"));
                }
            }
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
    use super::{files_named_by, public, public_json, render, tag, PublicConfig};
    use splitbeam_core::config::load_text;
    use splitbeam_core::js_engine::NativeJs;

    fn config(text: &str) -> PublicConfig {
        public(&load_text(text, &NativeJs).expect("parses").0.config, None)
    }

    const WITH_DRAFT: &str = r##"{"version":1,"groups":{"qa":["v_secret_tester"]},"experiments":[
        {"key":"live","status":"running","audience":{"id":{"$inGroup":"qa"}},
         "variants":[{"key":"c"},{"key":"b","changes":[{"selector":"h1","text":"Released copy"}]}]},
        {"key":"next","status":"draft",
         "variants":[{"key":"c"},{"key":"b","changes":[{"selector":"h2","text":"Unreleased copy"}]}]}]}"##;

    #[test]
    fn drafts_and_clear_group_ids_never_reach_the_loader_the_tag_or_the_json() {
        let full = load_text(WITH_DRAFT, &NativeJs).expect("parses").0.config;
        let shown = public(&full, None);
        assert_eq!(shown.config().experiments.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["live"]);
        let bytes = splitbeam_core::compiled::encode(shown.config());
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Released copy") && !text.contains("Unreleased copy"), "{text}");
        assert!(!text.contains("v_secret_tester"), "{text}");
        let tag = tag("x='__SPLITBEAM_TAG__'", &shown, "/s.js", "f.wasm", 1000, &[]);
        assert!(!tag.contains("h2"), "{tag}");
        let json = public_json(WITH_DRAFT).expect("json");
        assert!(json.contains("Released copy") && !json.contains("Unreleased copy") && !json.contains("v_secret_tester"), "{json}");
        // A valid preview link's loader holds that one draft.
        let preview = public(&full, Some("next"));
        assert_eq!(preview.config().experiments.len(), 2);
    }

    #[test]
    fn a_stopped_experiment_ships_only_the_kept_variants_changes_and_redirect() {
        let stopped = r##"{"version":1,"experiments":[{"key":"checkout","status":"stopped","winner":"c",
            "variants":[{"key":"c"},{"key":"one-page","changes":[{"redirect":"/checkout/one-page"},{"selector":"h1","text":"Pay now"}]}]}]}"##;
        let shown = config(stopped);
        let lost = &shown.config().experiments[0].variants[1];
        assert_eq!((lost.changes.len(), lost.redirect.as_deref()), (0, None), "{lost:?}");
        let text = String::from_utf8_lossy(&splitbeam_core::compiled::encode(shown.config())).into_owned();
        assert!(!text.contains("/checkout/one-page") && !text.contains("Pay now"), "{text}");
    }

    const ONE: &str = r##"{"version":1,"experiments":[{"key":"h","status":"running","pages":["/"],
        "variants":[{"key":"c"},{"key":"b","changes":[{"selector":"#hero h1","text":"</script><b>x"}]}]}]}"##;

    #[test]
    fn the_compiled_config_and_the_hide_list_replace_the_marker() {
        let out = render("var c={c:\"__SPLITBEAM_CONFIG__\"}.c;", &config(ONE));
        assert!(out.starts_with("var c={c:{\"b\":\"SB\\x04"), "{out}");
        assert!(out.contains(r##""h":[[1,"^(?:)/?$",["#hero h1"]]]"##), "{out}");
    }

    /// A JavaScript string literal's value (the escapes `replace_marker` and serde_json write).
    fn js_string(literal: &str) -> String {
        let mut out = String::new();
        let mut chars = literal.chars();
        let mut units = Vec::new();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.extend(char::decode_utf16(units.drain(..)).map(|r| r.expect("paired surrogates")));
                out.push(c);
                continue;
            }
            let hex = |chars: &mut std::str::Chars, n| u16::from_str_radix(&chars.by_ref().take(n).collect::<String>(), 16).expect("hex digits");
            match chars.next() {
                Some('x') => units.push(hex(&mut chars, 2)),
                Some('u') => units.push(hex(&mut chars, 4)),
                Some('b') => units.push(8),
                Some('t') => units.push(9),
                Some('n') => units.push(10),
                Some('f') => units.push(12),
                Some('r') => units.push(13),
                Some(other) => units.push(other as u16),
                None => panic!("a lone backslash"),
            }
        }
        out.extend(char::decode_utf16(units).map(|r| r.expect("paired surrogates")));
        out
    }

    #[test]
    fn the_baked_config_is_ascii_and_reads_back_byte_for_byte() {
        let text = ONE.replace("\"#hero h1\"", "\"#héro-😀 h1\"").replace("</script><b>x", "café \\\"q\\\" \u{2028} 😀");
        let shown = config(&text);
        let out = render("var c={c:\"__SPLITBEAM_CONFIG__\"}.c;", &shown);
        assert!(out.is_ascii(), "{out}");
        // The string literal after `"b":"`, up to its closing quote (escaped quotes inside).
        let rest = out.split("\"b\":\"").nth(1).expect("the b string");
        let mut escaped = false;
        let end = rest
            .find(|c| {
                let closing = !escaped && c == '"';
                escaped = !escaped && c == '\\';
                closing
            })
            .expect("a closing quote");
        let literal = &rest[..end];
        let bytes: Vec<u8> = js_string(literal).chars().map(|c| u8::try_from(u32::from(c)).expect("one byte per character")).collect();
        assert_eq!(bytes, splitbeam_core::compiled::encode(shown.config()));
        let hide = out.split("\"h\":").nth(1).expect("the hide list");
        assert!(js_string(hide).contains("#h\u{e9}ro-\u{1F600} h1"), "{hide}");
    }

    #[test]
    fn a_closing_script_tag_in_the_config_cannot_end_an_inline_script() {
        let text = ONE.replace("\"#hero h1\"", "\"#a[title='</script>']\"");
        let out = tag("x='__SPLITBEAM_TAG__'", &config(&text), "/s.js", "f.wasm", 1000, &[]);
        assert!(!out.trim_end_matches("</script>").contains("</script>"), "{out}");
        assert!(out.contains("\\x3c/script>"));
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
