//! GrowthBook-compatible hashing and bucketing: FNV-1a over UTF-16 code units, hash v1/v2,
//! bucket ranges, variant choice and namespaces, so a visitor lands where any GrowthBook SDK puts them.

/// FNV-1a 32-bit offset basis and prime.
const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// Equal weights are refused beyond this many variations: the fallback allocates one weight per
/// variation, and a hostile count must not exhaust memory (JavaScript's SDK throws past 2^32 - 1).
const MAX_EQUAL_WEIGHTS: i64 = 1 << 16;

/// FNV-1a 32-bit over the string's UTF-16 code units, as GrowthBook's JavaScript does with
/// `charCodeAt`: one xor-and-multiply step per 16-bit unit, so "é" is one step (0x00E9), not the
/// two UTF-8 bytes, and "🦄" is two steps (its surrogate pair).
pub fn fnv1a32(s: &str) -> u32 {
    fnv1a32_units(s.encode_utf16())
}

fn fnv1a32_units(units: impl Iterator<Item = u16>) -> u32 {
    units.fold(FNV_OFFSET_BASIS, |h, unit| (h ^ u32::from(unit)).wrapping_mul(FNV_PRIME))
}

/// GrowthBook's `hash(seed, value, version)`: a number in [0, 1), or `None` for an unknown version.
/// v2 (splitbeam's default) hashes the decimal string of a first hash to remove v1's bias;
/// v1 is kept because namespaces and old experiments use it.
pub fn hash(seed: &str, value: &str, version: u8) -> Option<f64> {
    match version {
        2 => {
            let first = fnv1a32_units(seed.encode_utf16().chain(value.encode_utf16()));
            let mut digits = [0u8; 10];
            let second = fnv1a32_units(decimal_digits(first, &mut digits).iter().map(|&d| u16::from(d)));
            Some(f64::from(second % 10_000) / 10_000.0)
        }
        1 => {
            // v1 puts the value first: `value + seed`.
            let n = fnv1a32_units(value.encode_utf16().chain(seed.encode_utf16()));
            Some(f64::from(n % 1_000) / 1_000.0)
        }
        _ => None,
    }
}

/// Writes `n` in decimal (ASCII) into `buf` and returns the used tail: JavaScript's `n + ""` for
/// a u32, without pulling formatting machinery into the wasm.
fn decimal_digits(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// `num_variations` equal weights summing to 1; empty for zero or fewer variations.
pub fn equal_weights(num_variations: i64) -> Vec<f64> {
    if num_variations <= 0 || num_variations > MAX_EQUAL_WEIGHTS {
        return Vec::new();
    }
    // Both bounds were checked above, so the conversions are exact.
    let n = num_variations as usize;
    vec![1.0 / num_variations as f64; n]
}

/// GrowthBook's `getBucketRanges`: variant i owns `[start_i, start_i + coverage * w_i)` where
/// `start_i` is the sum of the earlier weights, so raising coverage (traffic) only adds visitors
/// and never moves one between variants.
pub fn bucket_ranges(num_variations: i64, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    // Clamped like GrowthBook. NaN would give NaN ranges there (nobody matches); 0 does the same.
    let coverage = if coverage.is_nan() { 0.0 } else { coverage.clamp(0.0, 1.0) };

    let equal;
    let weights = match weights {
        Some(w) if usize::try_from(num_variations).is_ok_and(|n| n == w.len()) => w,
        _ => {
            equal = equal_weights(num_variations);
            &equal[..]
        }
    };
    // Summed left to right from 0 like JavaScript's reduce, so rounding matches. Written as two
    // comparisons, not a range check, because GrowthBook lets a NaN total through.
    let total = weights.iter().fold(0.0, |sum, w| sum + w);
    #[allow(clippy::manual_range_contains)]
    if total < 0.99 || total > 1.01 {
        let fallback = equal_weights(num_variations);
        return ranges_from(&fallback, coverage);
    }
    ranges_from(weights, coverage)
}

fn ranges_from(weights: &[f64], coverage: f64) -> Vec<(f64, f64)> {
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

/// The index of the first range holding `n` (start inclusive, end exclusive), or `None` when
/// `n` falls outside every range: that visitor is not in the experiment.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> Option<usize> {
    ranges.iter().position(|&(start, end)| n >= start && n < end)
}

/// Whether a visitor is in a namespace's slice `[start, end)`: GrowthBook hashes the visitor with
/// seed `"__" + namespace_id` and hash v1, so experiments sharing a namespace never overlap.
pub fn in_namespace(hash_value: &str, namespace_id: &str, start: f64, end: f64) -> bool {
    // Pushed, not format! or concat: neither's machinery in the wasm (see `digits`).
    let mut seed = String::with_capacity(2 + namespace_id.len());
    seed.push_str("__");
    seed.push_str(namespace_id);
    match hash(&seed, hash_value, 1) {
        Some(n) => n >= start && n < end,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values for non-ASCII input were computed outside Rust with Node 20, from an
    // independent implementation of the spec on `charCodeAt`:
    //   function fnv(s){let h=0x811c9dc5;for(let i=0;i<s.length;i++){h^=s.charCodeAt(i);
    //     h=Math.imul(h,0x01000193)>>>0}return h}
    //   v2 = (fnv(fnv(seed+value)+"") % 10000) / 10000;  v1 = (fnv(value+seed) % 1000) / 1000
    // and cross-checked against `hash()` of the @growthbook/growthbook 1.8.0 npm package.

    #[test]
    fn fnv1a32_of_the_empty_string_is_the_offset_basis() {
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
    }

    #[test]
    fn fnv1a32_of_non_ascii_matches_javascript_char_code_at() {
        assert_eq!(fnv1a32("é"), 0x6c0b_6c44);
        assert_eq!(fnv1a32("🦄"), 0xc12b_d8bf);
        assert_eq!(fnv1a32("日本語"), 0x5406_374e);
        assert_eq!(fnv1a32("naïve"), 0x36e9_9b4c);
    }

    #[test]
    fn fnv1a32_hashes_utf16_code_units_not_utf8_bytes() {
        // "é" is one UTF-16 unit (0x00E9) but two UTF-8 bytes (0xC3 0xA9).
        let utf8_bytes = "é".bytes().fold(FNV_OFFSET_BASIS, |h, b| (h ^ u32::from(b)).wrapping_mul(FNV_PRIME));
        assert_eq!(utf8_bytes, 513_665_217, "reference: FNV-1a over the UTF-8 bytes of é (Node)");
        assert_eq!(fnv1a32("é"), 1_812_687_940);
        assert_ne!(fnv1a32("é"), utf8_bytes);
        // "🦄" (U+1F984) must be hashed as its surrogate pair D83E DD84, not as one code point.
        let surrogates = [0xD83E_u16, 0xDD84];
        assert_eq!(fnv1a32("🦄"), fnv1a32_units(surrogates.iter().copied()));
        let code_point = (FNV_OFFSET_BASIS ^ 0x1F984).wrapping_mul(FNV_PRIME);
        assert_ne!(fnv1a32("🦄"), code_point);
    }

    #[test]
    fn hash_v2_of_non_ascii_values_matches_growthbook() {
        assert_eq!(hash("", "é", 2), Some(0.8917));
        assert_eq!(hash("seed", "é", 2), Some(0.8663));
        assert_eq!(hash("exp", "🦄", 2), Some(0.2103));
        assert_eq!(hash("hero-headline", "日本語", 2), Some(0.2176));
        assert_eq!(hash("", "naïve", 2), Some(0.5774));
        assert_eq!(hash("checkout", "naïve", 2), Some(0.1704));
    }

    #[test]
    fn hash_v1_of_non_ascii_values_matches_growthbook() {
        assert_eq!(hash("", "é", 1), Some(0.94));
        assert_eq!(hash("seed", "é", 1), Some(0.137));
        assert_eq!(hash("exp", "🦄", 1), Some(0.734));
        assert_eq!(hash("hero-headline", "日本語", 1), Some(0.733));
        assert_eq!(hash("", "naïve", 1), Some(0.308));
        assert_eq!(hash("checkout", "naïve", 1), Some(0.856));
    }

    #[test]
    fn hash_v2_hashes_the_decimal_string_of_the_first_hash() {
        // fnv("seed" + "é") = 2730975391 (Node, as above).
        assert_eq!(fnv1a32("seedé"), 2_730_975_391);
        let expected = f64::from(fnv1a32("2730975391") % 10_000) / 10_000.0;
        assert_eq!(hash("seed", "é", 2), Some(expected));
    }

    #[test]
    fn hash_of_an_unknown_version_is_none() {
        assert_eq!(hash("seed", "visitor", 0), None);
        assert_eq!(hash("seed", "visitor", 3), None);
    }

    #[test]
    fn decimal_digits_writes_u32_like_javascript() {
        let mut buf = [0u8; 10];
        assert_eq!(decimal_digits(0, &mut buf), b"0");
        assert_eq!(decimal_digits(7, &mut buf), b"7");
        assert_eq!(decimal_digits(u32::MAX, &mut buf), b"4294967295");
    }

    #[test]
    fn equal_weights_are_empty_for_absurd_variation_counts() {
        assert!(equal_weights(i64::MAX).is_empty());
        assert_eq!(equal_weights(3).len(), 3);
    }

    #[test]
    fn raising_coverage_never_moves_a_visitor_between_variants() {
        let weights = [0.2, 0.3, 0.5];
        let low = bucket_ranges(3, 0.3, Some(&weights));
        let high = bucket_ranges(3, 0.9, Some(&weights));
        let mut checked = 0;
        for i in 0..200 {
            let visitor = format!("visitor-{i}");
            let n = hash("exp", &visitor, 2).unwrap_or(-1.0);
            if let Some(variant) = choose_variation(n, &low) {
                assert_eq!(choose_variation(n, &high), Some(variant), "{visitor}");
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} of 200 visitors were in at 30 % coverage");
    }

    #[test]
    fn nan_coverage_buckets_nobody() {
        let ranges = bucket_ranges(2, f64::NAN, None);
        assert_eq!(ranges, vec![(0.0, 0.0), (0.5, 0.5)]);
        assert_eq!(choose_variation(0.25, &ranges), None);
    }

    #[test]
    fn in_namespace_uses_hash_v1_with_a_double_underscore_seed() {
        let n = hash("__checkout", "visitor-1", 1).unwrap_or(-1.0);
        assert!(in_namespace("visitor-1", "checkout", n, n + 0.001));
        assert!(!in_namespace("visitor-1", "checkout", n + 0.001, 1.0));
    }
}
