//! The rules of a browser's identity, apart from the storage that keeps it (both wasm modules
//! read and write that): the visitor id, QA overrides kept for the session, sticky assignments.

use crate::assign::{forced_from_query, Sticky};
use crate::json::write_strs;

/// `splitbeam_visitor` in localStorage: the visitor id.
pub const VISITOR_KEY: &str = "splitbeam_visitor";
/// `splitbeam_sticky` in localStorage: `[[experiment, variant, fingerprint], …]` as JSON.
pub const STICKY_KEY: &str = "splitbeam_sticky";
/// `splitbeam_forced` in sessionStorage: QA overrides live for the browser session only.
pub const FORCED_KEY: &str = "splitbeam_forced";

/// The stored visitor id if it is one of ours, or a new one from `random`; whether it is new.
pub fn visitor_id(stored: Option<&str>, random: &[u8; 16]) -> (String, bool) {
    match stored.filter(|id| id.starts_with("v_")) {
        Some(id) => (id.to_string(), false),
        None => (new_visitor_id(random), true),
    }
}

/// `v_` and 32 hex digits.
pub fn new_visitor_id(random: &[u8; 16]) -> String {
    let mut id = String::with_capacity(34);
    id.push_str("v_");
    push_hex(random, &mut id);
    id
}

/// Lower-case hex digits of `bytes`.
pub fn push_hex(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// QA overrides: the session's earlier ones (`FORCED_KEY`) with this URL's `?splitbeam=` value
/// over them, experiment by experiment.
pub fn forced(earlier: &str, query_value: Option<&str>) -> Vec<(String, String)> {
    let mut forced = forced_from_query(earlier);
    for (experiment, variant) in forced_from_query(query_value.unwrap_or("")) {
        forced.retain(|(e, _)| *e != experiment);
        forced.push((experiment, variant));
    }
    forced
}

/// `experiment:variant,…`, the `?splitbeam=` form, as `FORCED_KEY` keeps it.
pub fn forced_text(forced: &[(String, String)]) -> String {
    let mut text = String::new();
    for (i, (experiment, variant)) in forced.iter().enumerate() {
        text.push_str(if i == 0 { "" } else { "," });
        text.push_str(experiment);
        text.push(':');
        text.push_str(variant);
    }
    text
}

/// Records new assignments, each replacing an older one for the same experiment; whether
/// anything changed (and so needs writing).
pub fn note_sticky(sticky: &mut Vec<Sticky>, assigned: Vec<Sticky>) -> bool {
    if assigned.is_empty() {
        return false;
    }
    for new in assigned {
        sticky.retain(|s| s.experiment != new.experiment);
        sticky.push(new);
    }
    true
}

/// Appends the rows as `STICKY_KEY` keeps them: `[[experiment, variant, fingerprint], …]`.
pub fn write_sticky(out: &mut String, sticky: &[Sticky]) {
    out.push('[');
    for (i, row) in sticky.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { "," });
        write_strs(out, &[&row.experiment, &row.variant, &row.fingerprint]);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sticky(experiment: &str, variant: &str) -> Sticky {
        Sticky { experiment: experiment.into(), variant: variant.into(), fingerprint: "control|b".into() }
    }

    #[test]
    fn sticky_rows_are_written_as_the_stored_json() {
        let mut out = String::new();
        write_sticky(&mut out, &[]);
        assert_eq!(out, "[]");
        out.clear();
        write_sticky(&mut out, &[sticky("hero", "b"), sticky("q\"x", "a")]);
        assert_eq!(out, r#"[["hero","b","control|b"],["q\"x","a","control|b"]]"#);
    }

    #[test]
    fn a_stored_id_is_kept_and_anything_else_replaced() {
        let random = [0xab; 16];
        assert_eq!(visitor_id(Some("v_1234"), &random), ("v_1234".to_string(), false));
        let fresh = ("v_".to_string() + &"ab".repeat(16), true);
        assert_eq!(visitor_id(None, &random), fresh);
        assert_eq!(visitor_id(Some("x_1234"), &random), fresh);
        assert_eq!(visitor_id(Some(""), &random), fresh);
    }

    #[test]
    fn new_ids_are_hex_of_the_random_bytes() {
        let random: [u8; 16] = core::array::from_fn(|i| i as u8 * 17);
        assert_eq!(new_visitor_id(&random), "v_00112233445566778899aabbccddeeff");
    }

    #[test]
    fn the_url_overrides_earlier_overrides_of_the_same_experiment() {
        let forced = forced("hero:b,cta:x", Some("hero:c,price:y"));
        let pairs: Vec<(&str, &str)> = forced.iter().map(|(e, v)| (e.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("cta", "x"), ("hero", "c"), ("price", "y")]);
        assert_eq!(forced_text(&forced), "cta:x,hero:c,price:y");
        assert!(super::forced("", None).is_empty());
        assert_eq!(forced_text(&[]), "");
    }

    #[test]
    fn a_new_assignment_replaces_the_old_one_of_its_experiment() {
        let mut rows = vec![sticky("hero", "control"), sticky("cta", "b")];
        assert!(!note_sticky(&mut rows, Vec::new()));
        assert!(note_sticky(&mut rows, vec![sticky("hero", "b")]));
        assert_eq!(rows, [sticky("cta", "b"), sticky("hero", "b")]);
    }

    /// The first-paint module's loader (www/first.js) reads and writes storage itself: its key
    /// names are written out there once, and must stay these.
    #[test]
    fn the_loader_uses_the_same_storage_keys() {
        let loader = include_str!("../../www/first.js");
        for (name, key) in [("VISITOR", VISITOR_KEY), ("STICKY", STICKY_KEY), ("FORCED", FORCED_KEY)] {
            let line = ["const ", name, " = '", key, "';"].concat();
            assert!(loader.contains(&line), "www/first.js should say {line}");
        }
    }
}
