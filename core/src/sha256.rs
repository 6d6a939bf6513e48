//! SHA-256 (FIPS 180-4), written small: saved groups reach browsers hashed
//! (`condition::secure_groups`), and the condition engine hashes a visitor's value to test
//! membership. With the `sha2` crate, hashed groups added 10.6 KB (3.6–3.9 KB gzip) to each wasm
//! module that has the engine; with this rolled-loop version 2.5 KB (1.5 KB gzip), figures in README,
//! 1.2 KB gzip in the audience first-paint module of 2026-12-05, 1.0 KB since its constants are computed.
//! Checked against the FIPS 180 test vectors and the `sha2` crate (tests below).

/// The first 32 bits of the fractional parts of the square roots (or, with `cube`, the cube roots)
/// of the first `N` primes: SHA-256's initial state and round constants (FIPS 180-4 5.3.3, 4.2.2).
/// Computed rather than tabled: 225 B gzip less of the audience first-paint module, for about 3 µs
/// more per digest natively. Only `+ - * /` and `sqrt`, which IEEE 754 rounds alike everywhere, so
/// the wasm gets the bits a native test checks against the standard's tables.
fn prime_root_fractions<const N: usize>(cube: bool) -> [u32; N] {
    let mut out = [0u32; N];
    let mut found = 0;
    let mut n = 2u32;
    while found < N {
        if (2..n).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d)) {
            let x = f64::from(n);
            let mut root = x.sqrt();
            // Newton's method on r^3 = x, from above (the square root), falls until it converges.
            if cube {
                loop {
                    let next = root - (root * root * root - x) / (3.0 * root * root);
                    if next >= root {
                        break;
                    }
                    root = next;
                }
            }
            out[found] = ((root - (root as u32) as f64) * 4294967296.0) as u32;
            found += 1;
        }
        n += 1;
    }
    out
}

/// The SHA-256 digest of the concatenated `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let k: [u32; 64] = prime_root_fractions(true);
    let mut state: [u32; 8] = prime_root_fractions(false);
    let total: usize = parts.iter().map(|p| p.len()).sum();
    // The message, the 0x80 byte, zeros, and the length in bits: a whole number of 64-byte blocks.
    let mut message = Vec::with_capacity(total + 72);
    for part in parts {
        message.extend_from_slice(part);
    }
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((total as u64).wrapping_mul(8)).to_be_bytes());
    let mut w = [0u32; 64];
    for block in message.chunks_exact(64) {
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = state;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, h] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(k[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            v = [t1.wrapping_add(s0).wrapping_add(maj), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (s, x) in state.iter_mut().zip(v) {
            *s = s.wrapping_add(x);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// `sha256(parts)` as 64 lowercase hex digits.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in sha256(parts) {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{prime_root_fractions, sha256_hex};

    #[test]
    fn the_computed_constants_are_the_standards_tables() {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ];
        const H: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        assert_eq!(prime_root_fractions::<64>(true), K);
        assert_eq!(prime_root_fractions::<8>(false), H);
    }

    #[test]
    fn the_fips_180_vectors() {
        assert_eq!(sha256_hex(&[b""]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(&[b"abc"]), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha256_hex(&[b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        let million = vec![b'a'; 1_000_000];
        assert_eq!(sha256_hex(&[&million]), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        // Parts are concatenated: every split gives the same digest, across block boundaries too.
        let text = [b'x'; 130];
        for at in [0, 1, 55, 56, 63, 64, 65, 129, 130] {
            assert_eq!(sha256_hex(&[&text[..at], &text[at..]]), sha256_hex(&[&text]), "split at {at}");
        }
    }

    #[test]
    fn the_same_digest_as_the_sha2_crate_for_every_length_around_the_block_sizes() {
        use sha2::{Digest, Sha256};
        for len in 0..300usize {
            let text: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let expected: String = Sha256::digest(&text).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(sha256_hex(&[&text]), expected, "length {len}");
        }
    }
}
