//! Signed preview links for draft experiments. Drafts never reach the public snippet; a person with
//! a link `splitbeam preview-link` printed gets a loader that also holds that one draft, until the
//! link expires. The token is `<experiment>.<expiry, unix seconds>.<HMAC-SHA256, base64url>`, signed
//! with a random key kept next to the database (mode 0600): anyone without the key cannot make one,
//! and changing the experiment or the expiry breaks the signature.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret_file;

type HmacSha256 = Hmac<Sha256>;

const KEY_BYTES: usize = 32;
/// Longer tokens are refused unread (a key is at most 64 characters, plus expiry and signature).
const MAX_TOKEN_BYTES: usize = 160;
/// Tells these signatures from any other use of the same key.
const CONTEXT: &[u8] = b"splitbeam-preview-v1\n";

/// The key that signs and checks preview links.
pub struct PreviewKey([u8; KEY_BYTES]);

/// Why a preview token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    BadSignature,
    Expired,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Invalid::Malformed => "the preview token is malformed",
            Invalid::BadSignature => "the preview token's signature is not valid for this collector",
            Invalid::Expired => "the preview link has expired",
        })
    }
}

/// Where `serve` and `preview-link` keep the key when `--preview-key` is not given: next to the
/// SQLite database (`splitbeam.db` → `splitbeam.db.preview-key`).
pub fn default_key_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "splitbeam.db".into());
    name.push(".preview-key");
    db.with_file_name(name)
}

impl PreviewKey {
    /// Reads the key at `path`, or creates it there (32 random bytes as hex, mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> anyhow::Result<PreviewKey> {
        let (text, _) = secret_file::read_or_create(path, "preview key", KEY_BYTES)?;
        PreviewKey::parse(&text).with_context(|| format!("preview key {}", path.display()))
    }

    fn parse(hex: &str) -> anyhow::Result<PreviewKey> {
        let bytes = hex.as_bytes();
        anyhow::ensure!(bytes.len() == KEY_BYTES * 2, "expected {} hex digits", KEY_BYTES * 2);
        let mut key = [0u8; KEY_BYTES];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digits = std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok());
            key[i] = digits.context("not hex")?;
        }
        Ok(PreviewKey(key))
    }

    fn mac(&self, experiment: &str, expires: u64) -> HmacSha256 {
        // Any key length is valid for HMAC, so this cannot fail; a fresh one per call.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(CONTEXT);
        mac.update(experiment.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The token for previewing `experiment` until `expires` (unix seconds).
    pub fn sign(&self, experiment: &str, expires: u64) -> String {
        let signature = self.mac(experiment, expires).finalize().into_bytes();
        format!("{experiment}.{expires}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature))
    }

    /// The experiment a token lets its holder preview, if it was signed with this key and has
    /// not expired at `now` (unix seconds). The signature is compared in constant time.
    pub fn verify(&self, token: &str, now: u64) -> Result<String, Invalid> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Invalid::Malformed);
        }
        // Experiment keys may hold dots; the expiry and the signature cannot.
        let mut parts = token.rsplitn(3, '.');
        let (Some(signature), Some(expires), Some(experiment)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Invalid::Malformed);
        };
        let expires: u64 = expires.parse().map_err(|_| Invalid::Malformed)?;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).map_err(|_| Invalid::Malformed)?;
        if experiment.is_empty() {
            return Err(Invalid::Malformed);
        }
        self.mac(experiment, expires).verify_slice(&signature).map_err(|_| Invalid::BadSignature)?;
        if now >= expires {
            return Err(Invalid::Expired);
        }
        Ok(experiment.to_string())
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_not_once_altered() {
        let key = PreviewKey([7; KEY_BYTES]);
        let token = key.sign("checkout.v2", 1_000);
        assert_eq!(key.verify(&token, 999), Ok("checkout.v2".to_string()));
        assert_eq!(key.verify(&token, 1_000), Err(Invalid::Expired));
        assert_eq!(key.verify(&token.replace(".1000.", ".2000."), 999), Err(Invalid::BadSignature));
        assert_eq!(key.verify(&token.replace("checkout.v2", "checkout.v3"), 999), Err(Invalid::BadSignature));
        assert_eq!(PreviewKey([8; KEY_BYTES]).verify(&token, 999), Err(Invalid::BadSignature));
        for bad in ["", "x", "a.b.c", "a.1.!!!", &"a".repeat(500)] {
            assert_eq!(key.verify(bad, 0), Err(Invalid::Malformed), "{bad}");
        }
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = default_key_path(&dir.path().join("test.db"));
        assert!(path.ends_with("test.db.preview-key"));
        let first = PreviewKey::load_or_create(&path).expect("created");
        let again = PreviewKey::load_or_create(&path).expect("read");
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").expect("overwrite");
        assert!(PreviewKey::load_or_create(&path).is_err());
    }
}
