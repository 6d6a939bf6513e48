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

#[cfg(test)]
mod tests {
    use super::*;

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
