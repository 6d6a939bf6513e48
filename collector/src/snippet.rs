//! The loader served as `/splitbeam.js` and printed by `splitbeam snippet`, with the current
//! experiments config baked in so that a first visit needs no extra round trip.

/// The marker the loader (www/loader.js) carries where a baked config goes, as esbuild prints it.
const MARKERS: [&str; 2] = ["\"__SPLITBEAM_CONFIG__\"", "'__SPLITBEAM_CONFIG__'"];

/// The loader script with `config_json` (a validated experiments.json) baked in.
///
/// JSON is a JavaScript expression, so it replaces the marker as is; `<` is escaped so the script can
/// also be inlined in a page (`</script>` inside a string would end it), and U+2028/U+2029 for old
/// engines. A loader without the marker is returned unchanged (it then reads `data-config`).
pub fn render(loader_js: &str, config_json: &str) -> String {
    let mut config = String::with_capacity(config_json.len());
    for c in config_json.trim().chars() {
        match c {
            // Outside strings JSON has no `<` and no line separators, so this only touches strings.
            '<' => config.push_str("\\u003c"),
            '\u{2028}' => config.push_str("\\u2028"),
            '\u{2029}' => config.push_str("\\u2029"),
            c => config.push(c),
        }
    }
    match MARKERS.iter().find(|m| loader_js.contains(*m)) {
        Some(marker) => loader_js.replacen(marker, &config, 1),
        None => loader_js.to_string(),
    }
}

/// `name.<hex hash>.ext`, as `npm run build` names the wasm: at least 8 hex digits before the
/// extension. Such a file never changes, so it may be cached for good.
pub fn is_content_hashed(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next(), parts.next());
    parts.next().is_some() && hash.is_some_and(|h| h.len() >= 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The wasm file a built loader fetches (`splitbeam_bg.<hash>.wasm`); the plain name otherwise.
pub fn wasm_name(loader_js: &str) -> String {
    const PREFIX: &str = "splitbeam_bg.";
    loader_js
        .match_indices(PREFIX)
        .filter_map(|(at, _)| {
            let rest = &loader_js[at..];
            let hex = rest[PREFIX.len()..].chars().take_while(char::is_ascii_hexdigit).count();
            let name = rest.get(..PREFIX.len() + hex + ".wasm".len())?;
            (name.ends_with(".wasm") && is_content_hashed(name)).then(|| name.to_string())
        })
        .next()
        .unwrap_or_else(|| "splitbeam_bg.wasm".to_string())
}

#[cfg(test)]
mod tests {
    use super::{render, wasm_name};

    #[test]
    fn the_config_replaces_the_marker() {
        let out = render("var c={c:\"__SPLITBEAM_CONFIG__\"}.c;", "{\"version\":1}");
        assert_eq!(out, "var c={c:{\"version\":1}}.c;");
    }

    #[test]
    fn a_closing_script_tag_in_the_config_cannot_end_an_inline_script() {
        let out = render("x=\"__SPLITBEAM_CONFIG__\"", "{\"a\":\"</script>\"}");
        assert!(!out.contains("</script>"), "{out}");
        assert!(out.contains("\\u003c/script>"));
    }

    #[test]
    fn a_loader_without_the_marker_is_returned_unchanged() {
        assert_eq!(render("console.log(1)", "{}"), "console.log(1)");
    }

    #[test]
    fn the_wasm_named_by_the_loader_is_found_by_its_hash() {
        let loader = r#"X="splitbeam_bg.57ad79dbfc17bc5f.wasm";new URL("splitbeam_bg.wasm",u)"#;
        assert_eq!(wasm_name(loader), "splitbeam_bg.57ad79dbfc17bc5f.wasm");
    }

    #[test]
    fn a_loader_without_a_hashed_name_points_to_the_plain_file() {
        assert_eq!(wasm_name(r#"new URL("splitbeam_bg.wasm",u)"#), "splitbeam_bg.wasm");
        assert_eq!(wasm_name(r#""splitbeam_bg.abc.wasm""#), "splitbeam_bg.wasm", "too short for a hash");
    }
}
