//! Integers as decimal text, without `core::fmt`: its machinery (`Formatter`, padding, the integer
//! `Display`s) cost each wasm module about 1.5 KB gzip for a handful of counters and timestamps.

/// Appends `n` in decimal.
pub fn push_unsigned(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.push_str(core::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `n` in decimal, as `n.to_string()` writes it.
pub fn unsigned(n: u64) -> String {
    let mut out = String::new();
    push_unsigned(&mut out, n);
    out
}

/// `n` in decimal with a `-` when negative, as `n.to_string()` writes it.
pub fn signed(n: i64) -> String {
    let mut out = String::from(if n < 0 { "-" } else { "" });
    push_unsigned(&mut out, n.unsigned_abs());
    out
}

/// The number `text` writes in decimal digits only (no sign, no spaces), as `push_unsigned` writes
/// it; `None` for anything else or above `u64::MAX`. One reader for the browser's stored
/// timestamps and headers, where `str::parse` compiled once per call site.
pub fn parse_unsigned(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_push_unsigned_writes_and_nothing_else() {
        for n in [0, 7, 10, 99, 1_764_216_000_000, u64::MAX] {
            assert_eq!(parse_unsigned(&unsigned(n)), Some(n));
        }
        for text in ["", "+1", "-1", " 1", "1 ", "1.0", "18446744073709551616", "x"] {
            assert_eq!(parse_unsigned(text), None, "{text:?}");
        }
    }

    #[test]
    fn writes_what_to_string_writes() {
        for n in [0, 7, 10, 99, 100, 123_456_789, 9_007_199_254_740_991, u64::MAX] {
            assert_eq!(unsigned(n), n.to_string());
        }
        for n in [0, 7, -7, 10, -10, -8_999_999_999_999_999, i64::MIN, i64::MAX] {
            assert_eq!(signed(n), n.to_string());
        }
        let mut out = String::from("x=");
        push_unsigned(&mut out, 42);
        assert_eq!(out, "x=42");
    }
}
