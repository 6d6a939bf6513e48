//! Decimal digits → the nearest f64 (ties to even), exactly, for the JSON reader and JavaScript's
//! `Number(string)`. Our own because core's float parsing (dec2flt and its tables) costs ~15 KB of wasm.
//!
//! Clinger's fast path when the digits and the power of ten are both exact doubles; otherwise an
//! f64 estimate corrected one unit in the last place at a time by exact big-integer comparisons with
//! the halfway points to its neighbours (Clinger's AlgorithmR). Slow for long inputs, small and exact.

use std::cmp::Ordering;

/// The nearest double to `digits × 10^exponent`, where `digits` are ASCII decimal digits
/// (leading zeros allowed, possibly none). Out of range gives infinity or zero, as JavaScript's
/// `Number("1e400")` and `Number("1e-400")` do.
pub fn to_f64(digits: &[u8], exponent: i64) -> f64 {
    let digits = trim_zeros_start(digits);
    let mut exponent = exponent;
    let mut digits = digits;
    while let [rest @ .., b'0'] = digits {
        digits = rest;
        exponent = exponent.saturating_add(1);
    }
    if digits.is_empty() {
        return 0.0;
    }
    // Digit count as a magnitude bound: 10^(len + exponent - 1) <= value < 10^(len + exponent).
    let magnitude = (digits.len() as i64).saturating_add(exponent);
    if magnitude > 310 {
        return f64::INFINITY;
    }
    if magnitude < -330 {
        return 0.0;
    }
    // Within these bounds the exponent fits an i32 comfortably (digits are bounded by the text).
    let exponent = exponent as i32;

    // Fast path: both operands are exact doubles, so one IEEE operation rounds correctly.
    if digits.len() <= 15 && (-22..=22).contains(&exponent) {
        let m = leading_u64(digits) as f64;
        let p = pow10(exponent.unsigned_abs());
        return if exponent < 0 { m / p } else { m * p };
    }

    // Estimate from the first 19 digits, then walk to the correctly rounded neighbour.
    let kept = digits.len().min(19);
    let mut estimate = leading_u64(&digits[..kept]) as f64;
    let mut scale = exponent + (digits.len() - kept) as i32;
    while scale != 0 {
        let step = scale.unsigned_abs().min(22);
        if scale > 0 {
            estimate *= pow10(step);
            scale -= step as i32;
        } else {
            estimate /= pow10(step);
            scale += step as i32;
        }
    }
    let exact = Big::from_digits(digits);
    let (mut m, mut k) = split(estimate);
    loop {
        // Above the halfway point to the next double up (or on it, from an odd mantissa): go up.
        let up = compare(&exact, exponent, 2 * m + 1, k - 1);
        if up == Ordering::Greater || (up == Ordering::Equal && m % 2 == 1) {
            m += 1;
            if m == 1 << 53 {
                m = 1 << 52;
                k += 1;
                if k > MAX_K {
                    return f64::INFINITY;
                }
            }
            continue;
        }
        if m == 0 {
            break;
        }
        // Below the next double down: at a power of two that gap is half as wide.
        let narrow = m == 1 << 52 && k > MIN_K;
        let down = if narrow { compare(&exact, exponent, 4 * m - 1, k - 2) } else { compare(&exact, exponent, 2 * m - 1, k - 1) };
        if down == Ordering::Less || (down == Ordering::Equal && m % 2 == 1) {
            if narrow {
                m = (1 << 53) - 1;
                k -= 1;
            } else {
                m -= 1;
            }
            continue;
        }
        break;
    }
    join(m, k)
}

/// The exponent of the smallest subnormal and of the largest finite double, for a 53-bit mantissa.
const MIN_K: i32 = -1074;
const MAX_K: i32 = 971;

fn trim_zeros_start(mut digits: &[u8]) -> &[u8] {
    while let [b'0', rest @ ..] = digits {
        digits = rest;
    }
    digits
}

/// At most 19 digits as an integer (19 nines fit a u64).
fn leading_u64(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

/// 10^n for n <= 22: exact doubles.
fn pow10(n: u32) -> f64 {
    (0..n).fold(1.0, |p, _| p * 10.0)
}

/// A finite non-negative double as m × 2^k (m < 2^53; m >= 2^52 unless subnormal). Infinity becomes
/// the largest double, so the correction loop decides between it and overflow.
fn split(x: f64) -> (u64, i32) {
    if x.is_infinite() {
        return ((1 << 53) - 1, MAX_K);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32; // 11 bits
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0 {
        (fraction, MIN_K)
    } else {
        (fraction | (1 << 52), biased - 1075)
    }
}

/// The inverse of `split`.
fn join(m: u64, k: i32) -> f64 {
    if m < 1 << 52 {
        return f64::from_bits(m); // subnormal (or zero): k is MIN_K
    }
    // k + 1075 is in 1..=2046 here: a valid biased exponent.
    f64::from_bits((((k + 1075) as u64) << 52) | (m - (1 << 52)))
}

/// `exact × 10^exponent` against `h × 2^k`, both scaled to integers.
fn compare(exact: &Big, exponent: i32, h: u64, k: i32) -> Ordering {
    let mut left = exact.clone();
    let mut right = Big::from_u64(h);
    if exponent >= 0 {
        left.mul_pow10(exponent.unsigned_abs());
    } else {
        right.mul_pow10(exponent.unsigned_abs());
    }
    if k >= 0 {
        right.shl(k.unsigned_abs());
    } else {
        left.shl(k.unsigned_abs());
    }
    left.cmp(&right)
}

/// A non-negative integer, little-endian base 2^32 limbs, no high zero limbs.
#[derive(Clone, Debug)]
pub(crate) struct Big(Vec<u32>);

impl Big {
    pub(crate) fn from_u64(n: u64) -> Big {
        // Splitting into the low and high halves: both casts keep exactly 32 bits.
        let mut big = Big(vec![n as u32, (n >> 32) as u32]);
        big.trim();
        big
    }
    pub(crate) fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    pub(crate) fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(m) + carry;
            *limb = product as u32; // low 32 bits
            carry = product >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32); // carry < 2^32
        }
        self.trim();
    }
    pub(crate) fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_small(1_000_000_000);
            n -= 9;
        }
        self.mul_small(10u32.pow(n));
    }
    pub(crate) fn shl(&mut self, bits: u32) {
        if self.0.is_empty() {
            return;
        }
        let shift = bits % 32;
        if shift > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let next = *limb >> (32 - shift);
                *limb = (*limb << shift) | carry;
                carry = next;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        let words = (bits / 32) as usize;
        self.0.splice(0..0, std::iter::repeat_n(0, words));
    }
    pub(crate) fn add(&self, other: &Big) -> Big {
        let mut sum = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let total =
                u64::from(*self.0.get(i).unwrap_or(&0)) + u64::from(*other.0.get(i).unwrap_or(&0)) + carry;
            sum.push(total as u32); // low 32 bits
            carry = total >> 32;
        }
        if carry > 0 {
            sum.push(1);
        }
        Big(sum)
    }
    /// `self -= other`; callers guarantee `self >= other`.
    pub(crate) fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let difference = i64::from(self.0[i]) - i64::from(*other.0.get(i).unwrap_or(&0)) - borrow;
            borrow = i64::from(difference < 0);
            self.0[i] = (difference + (borrow << 32)) as u32; // in 0..2^32 after the borrow
        }
        self.trim();
    }
}

impl PartialEq for Big {
    fn eq(&self, other: &Big) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Big {}
impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

impl Big {
    /// ASCII decimal digits as an integer.
    fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::new());
        for chunk in digits.chunks(9) {
            big.mul_pow10(chunk.len() as u32); // at most 9
            big = big.add(&Big::from_u64(leading_u64(chunk)));
        }
        big
    }
}

#[cfg(test)]
mod tests {
    use super::to_f64;

    fn parse(text: &str) -> f64 {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = [integer, fraction].concat();
        to_f64(digits.as_bytes(), exponent.parse::<i64>().unwrap() - fraction.len() as i64)
    }

    #[test]
    fn agrees_with_std_on_hard_cases() {
        for text in [
            "0", "1", "0.1", "0.3", "123.456", "9007199254740993", "2.2250738585072011e-308",
            "2.2250738585072014e-308", "4.9406564584124654e-324", "2.4703282292062327e-324",
            "2.4703282292062328e-324", "1.7976931348623157e308", "1.7976931348623158e308",
            "1.7976931348623159e308", "1e23", "8.98846567431158e307", "179769313486231580793728971405301e276",
            "7.038531e-26", "9.9999999999999999999999999e-5", "123456789012345678901234567890e-40",
            "0.000000000000000000000000000000000000000000001", "1e-400", "1e400", "5e-324", "3e-324",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124",
            "1.00000000000000011102230246251565404236316680908203126",
        ] {
            let expected: f64 = text.parse().unwrap();
            assert_eq!(parse(text).to_bits(), expected.to_bits(), "{text}");
        }
    }

    /// Random digit strings and exponents, and every kind of double printed shortest and long.
    #[test]
    fn agrees_with_std_on_random_inputs() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = 1 + next() % 40;
            let digits: String = (0..len).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            let exponent = (next() % 700) as i64 - 350;
            let expected: f64 = format!("{digits}e{exponent}").parse().unwrap();
            assert_eq!(to_f64(digits.as_bytes(), exponent).to_bits(), expected.to_bits(), "{digits}e{exponent}");

            let x = f64::from_bits(next() >> 1);
            if x.is_finite() {
                for text in [format!("{x:e}"), format!("{x:.25e}")] {
                    let expected: f64 = text.parse().unwrap();
                    assert_eq!(parse(&text).to_bits(), expected.to_bits(), "{text}");
                }
            }
        }
    }

    #[test]
    fn leading_and_trailing_zeros_do_not_change_the_value() {
        assert_eq!(to_f64(b"000125000", -5), 1.25);
        assert_eq!(to_f64(b"", 7), 0.0);
        assert_eq!(to_f64(b"0000", 99999), 0.0);
    }

    #[test]
    fn huge_exponents_saturate() {
        assert_eq!(to_f64(b"1", i64::MAX), f64::INFINITY);
        assert_eq!(to_f64(b"1", i64::MIN), 0.0);
    }
}
