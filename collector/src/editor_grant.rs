//! The in-page editor's credentials. An admin asks for an editor link (one experiment, from the
//! dashboard); its one-time code works once, for a few minutes, and is exchanged on the shop's
//! page for an editor token: `<experiment>.<expiry>.<HMAC-SHA256, base64url>`, signed with a key
//! derived from the admin token (a new admin token ends every editor token). The token may only
//! read and write that one experiment; it is sent as a bearer header, never as a cookie.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// Long enough to open the link the dashboard just made; short enough that a leaked URL (history,
/// a Referer before the editor strips it) is soon worthless.
pub const CODE_SECONDS: u64 = 300;
/// One editing sitting: the copywriter edits, previews and starts within it.
pub const TOKEN_SECONDS: u64 = 2 * 3600;
/// Codes not yet used at once; more means someone is clicking the button in a loop.
const MAX_OPEN_CODES: usize = 256;
/// Longer tokens are refused unread (a key is at most 64 characters, plus expiry and signature).
const MAX_TOKEN_BYTES: usize = 160;

/// More unused editor links are open than `MAX_OPEN_CODES` (someone clicks in a loop): retry later.
#[derive(Debug)]
pub struct TooManyOpenCodes;

impl std::fmt::Display for TooManyOpenCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "too many unused editor links; wait {CODE_SECONDS} s")
    }
}

impl std::error::Error for TooManyOpenCodes {}

/// Editor codes waiting to be used, and the key that signs editor tokens.
pub struct EditorGrants {
    key: [u8; 32],
    codes: Mutex<HashMap<String, (String, u64)>>,
}

impl EditorGrants {
    pub fn new(key: [u8; 32]) -> EditorGrants {
        EditorGrants { key, codes: Mutex::new(HashMap::new()) }
    }

    /// A new one-time code for `experiment`, valid until `now + CODE_SECONDS`.
    pub fn issue_code(&self, experiment: &str, now: u64) -> anyhow::Result<String> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random source for an editor code: {e}"))?;
        let code = B64.encode(bytes);
        let mut codes = self.codes.lock().map_err(|_| anyhow::anyhow!("the editor codes lock is poisoned"))?;
        codes.retain(|_, (_, expires)| *expires > now);
        if codes.len() >= MAX_OPEN_CODES {
            return Err(anyhow::Error::new(TooManyOpenCodes));
        }
        codes.insert(code.clone(), (experiment.to_string(), now + CODE_SECONDS));
        Ok(code)
    }

    /// The experiment of `code` if it is open and unexpired at `now`; it is used up either way.
    pub fn redeem(&self, code: &str, now: u64) -> Option<String> {
        let mut codes = self.codes.lock().ok()?;
        // A map lookup by the code itself: its timing says nothing useful about a 192-bit random value.
        let (experiment, expires) = codes.remove(code)?;
        (now < expires).then_some(experiment)
    }

    /// An editor token for `experiment` until `expires`.
    pub fn token(&self, experiment: &str, expires: u64) -> String {
        let signature = self.mac(experiment, expires).finalize().into_bytes();
        format!("{experiment}.{expires}.{}", B64.encode(signature))
    }

    /// The experiment a token may edit, if this collector signed it and it has not expired.
    pub fn verify(&self, token: &str, now: u64) -> Option<String> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        // Experiment keys may hold dots; the expiry and the signature cannot.
        let mut parts = token.rsplitn(3, '.');
        let (signature, expires, experiment) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: u64 = expires.parse().ok()?;
        let signature = B64.decode(signature).ok()?;
        if experiment.is_empty() {
            return None;
        }
        self.mac(experiment, expires).verify_slice(&signature).ok()?;
        (now < expires).then(|| experiment.to_string())
    }

    fn mac(&self, experiment: &str, expires: u64) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"splitbeam-editor-v1\n");
        mac.update(experiment.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_not_after_it_expires() {
        let grants = EditorGrants::new([7; 32]);
        let code = grants.issue_code("hero", 1000).expect("code");
        assert_eq!(grants.redeem("not-it", 1000), None);
        assert_eq!(grants.redeem(&code, 1001).as_deref(), Some("hero"));
        assert_eq!(grants.redeem(&code, 1001), None, "used up");
        let late = grants.issue_code("hero", 1000).expect("code");
        assert_eq!(grants.redeem(&late, 1000 + CODE_SECONDS), None, "expired");
    }

    #[test]
    fn a_token_names_its_experiment_until_it_expires_and_not_once_altered() {
        let grants = EditorGrants::new([7; 32]);
        let token = grants.token("hero.v2", 2000);
        assert_eq!(grants.verify(&token, 1999).as_deref(), Some("hero.v2"));
        assert_eq!(grants.verify(&token, 2000), None, "expired");
        assert_eq!(grants.verify(&token.replacen("hero.v2", "cart", 1), 1999), None, "another experiment");
        assert_eq!(grants.verify(&token.replacen(".2000.", ".9000.", 1), 1999), None, "a later expiry");
        assert_eq!(EditorGrants::new([8; 32]).verify(&token, 1999), None, "another key");
        assert_eq!(grants.verify("x", 0), None);
    }
}
