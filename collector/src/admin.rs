//! The admin token and the sessions it opens. Whoever holds the token (a file next to the
//! database, mode 0600) may read results and change experiments. Signing in with it gives a
//! session cookie `<id>.<expiry>.<HMAC>`, signed with a key derived from the token: collectors
//! sharing one token file accept each other's sessions, a restart keeps people signed in, and a
//! new token signs everyone out. Each session has a CSRF token derived from it by the same key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret_file;

type HmacSha256 = Hmac<Sha256>;

const TOKEN_BYTES: usize = 32;
/// A token of your own shorter than this is refused: it would be guessable.
const MIN_TOKEN_CHARS: usize = 32;
/// Longer tokens, cookies and CSRF headers are refused unread.
const MAX_TOKEN_CHARS: usize = 256;
/// How long a session lasts: a test runs for days, and the marketer checks it now and then.
pub const SESSION_SECONDS: u64 = 7 * 24 * 3600;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where `serve` keeps the token when `--admin-token-file` is not given: next to the SQLite
/// database (`splitbeam.db` → `splitbeam.db.admin-token`).
pub fn default_token_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "splitbeam.db".into());
    name.push(".admin-token");
    db.with_file_name(name)
}

/// The admin token, and the session key derived from it.
pub struct AdminToken {
    token: String,
    session_key: [u8; 32],
    /// Sessions signed out before their expiry: id → expiry (unix seconds). In memory only, so a
    /// signed-out cookie stays refused by this process; see README (Security).
    revoked: Mutex<HashMap<String, u64>>,
}

/// A valid session, as read from its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub expires: u64,
    /// The cookie value it was read from (the CSRF token is derived from it).
    pub cookie: String,
}

impl AdminToken {
    /// Reads the token at `path`, or creates it there (32 random bytes as hex, mode 0600).
    /// `created` tells the caller whether this start made it.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(AdminToken, bool)> {
        let (text, created) = secret_file::read_or_create(path, "admin token file", TOKEN_BYTES)?;
        if !created {
            warn_if_readable_by_others(path);
        }
        Ok((AdminToken::new(&text).with_context(|| format!("admin token file {}", path.display()))?, created))
    }

    /// A token of your own: at least 32 visible ASCII characters (it travels in a header and a form).
    pub fn new(token: &str) -> anyhow::Result<AdminToken> {
        anyhow::ensure!(
            (MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&token.len()),
            "the admin token must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} characters (found {})",
            token.len()
        );
        anyhow::ensure!(token.bytes().all(|b| b.is_ascii_graphic()), "the admin token must be visible ASCII, no spaces");
        let mut derive = mac_with(token.as_bytes());
        derive.update(b"splitbeam-session-key-v1");
        let session_key = derive.finalize().into_bytes().into();
        Ok(AdminToken { token: token.to_string(), session_key, revoked: Mutex::new(HashMap::new()) })
    }

    /// Whether `candidate` is the token, compared in constant time (HMAC verify).
    pub fn matches(&self, candidate: &str) -> bool {
        if candidate.len() > MAX_TOKEN_CHARS {
            return false;
        }
        // Both sides through the same MAC: equal lengths, and the comparison is hmac's constant-time one.
        let expected = self.keyed(b"token\n", self.token.as_bytes()).finalize().into_bytes();
        self.keyed(b"token\n", candidate.as_bytes()).verify_slice(&expected).is_ok()
    }

    /// The token itself, for the one sign-in line `serve` prints.
    pub fn reveal(&self) -> &str {
        &self.token
    }

    fn keyed(&self, purpose: &[u8], data: &[u8]) -> HmacSha256 {
        let mut mac = mac_with(&self.session_key);
        mac.update(purpose);
        mac.update(data);
        mac
    }

    /// A key for another credential signed by this token (e.g. the in-page editor's), so that a
    /// new token also ends those; `purpose` keeps each use's signatures apart.
    pub fn derived_key(&self, purpose: &[u8]) -> [u8; 32] {
        self.keyed(b"derived-key\n", purpose).finalize().into_bytes().into()
    }

    /// A new session until `now + SESSION_SECONDS`: the cookie value.
    pub fn open_session(&self, now: u64) -> anyhow::Result<String> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| anyhow::anyhow!("no random source for a session id: {e}"))?;
        let id = B64.encode(id);
        let expires = now + SESSION_SECONDS;
        let signed = format!("{id}.{expires}");
        let signature = B64.encode(self.keyed(b"session\n", signed.as_bytes()).finalize().into_bytes());
        Ok(format!("{signed}.{signature}"))
    }

    /// The session a cookie value holds, if this token signed it, it has not expired at `now`
    /// and it was not signed out.
    pub fn session(&self, cookie: &str, now: u64) -> Option<Session> {
        if cookie.len() > MAX_TOKEN_CHARS {
            return None;
        }
        let (signed, signature) = cookie.rsplit_once('.')?;
        let signature = B64.decode(signature).ok()?;
        self.keyed(b"session\n", signed.as_bytes()).verify_slice(&signature).ok()?;
        let (id, expires) = signed.split_once('.')?;
        let expires: u64 = expires.parse().ok()?;
        if now >= expires || self.revoked.lock().map_or(true, |r| r.contains_key(id)) {
            return None;
        }
        Some(Session { id: id.to_string(), expires, cookie: cookie.to_string() })
    }

    /// The CSRF token of a session: what the dashboard sends in `X-CSRF-Token` on every write.
    pub fn csrf_token(&self, session: &Session) -> String {
        B64.encode(self.keyed(b"csrf\n", session.cookie.as_bytes()).finalize().into_bytes())
    }

    /// Whether `candidate` is the session's CSRF token (constant time).
    pub fn csrf_matches(&self, session: &Session, candidate: &str) -> bool {
        let Ok(bytes) = B64.decode(candidate.as_bytes()) else { return false };
        self.keyed(b"csrf\n", session.cookie.as_bytes()).verify_slice(&bytes).is_ok()
    }

    /// Signs a session out in this process; expired entries are dropped on the way.
    pub fn revoke(&self, session: &Session, now: u64) {
        if let Ok(mut revoked) = self.revoked.lock() {
            revoked.retain(|_, expires| *expires > now);
            revoked.insert(session.id.clone(), session.expires);
        }
    }
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// A token file others can read is a token others can use: say so (the file is the user's to fix).
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!("{}: the admin token file is readable by other users; chmod 600 it", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> AdminToken {
        AdminToken::new(&"a1".repeat(32)).expect("token")
    }

    #[test]
    fn a_session_verifies_until_it_expires_or_is_signed_out_and_not_once_altered() {
        let admin = token();
        let cookie = admin.open_session(1_000).expect("session");
        let session = admin.session(&cookie, 1_001).expect("valid");
        assert_eq!(admin.session(&cookie, 1_000 + SESSION_SECONDS), None, "expired");
        let (id, rest) = cookie.split_once('.').expect("id");
        let later = rest.replacen(&(1_000 + SESSION_SECONDS).to_string(), &(9_000 + SESSION_SECONDS).to_string(), 1);
        assert_eq!(admin.session(&format!("{id}.{later}"), 1_001), None, "a later expiry breaks the signature");
        let other = AdminToken::new(&"b2".repeat(32)).expect("token");
        assert_eq!(other.session(&cookie, 1_001), None, "another token's key");
        for bad in ["", ".", "a.b.c", "a.1.!!!", &"a".repeat(500)] {
            assert_eq!(admin.session(bad, 0), None, "{bad}");
        }
        admin.revoke(&session, 1_002);
        assert_eq!(admin.session(&cookie, 1_003), None, "signed out");
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let admin = token();
        let one = admin.session(&admin.open_session(0).expect("one"), 1).expect("one");
        let two = admin.session(&admin.open_session(0).expect("two"), 1).expect("two");
        let csrf = admin.csrf_token(&one);
        assert!(admin.csrf_matches(&one, &csrf));
        assert!(!admin.csrf_matches(&two, &csrf));
        assert!(!admin.csrf_matches(&one, ""));
        assert!(!admin.csrf_matches(&one, "not base64!"));
    }

    #[test]
    fn the_token_matches_only_itself_and_short_tokens_are_refused() {
        let admin = token();
        assert!(admin.matches(&"a1".repeat(32)));
        assert!(!admin.matches(&"a1".repeat(31)));
        assert!(!admin.matches(""));
        assert!(AdminToken::new("short").is_err());
        assert!(AdminToken::new(&format!("{} x", "a".repeat(40))).is_err());
    }

    #[test]
    fn the_token_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = default_token_path(&dir.path().join("test.db"));
        assert!(path.ends_with("test.db.admin-token"));
        let (first, created) = AdminToken::load_or_create(&path).expect("created");
        assert!(created);
        let (again, created) = AdminToken::load_or_create(&path).expect("read");
        assert!(!created);
        assert_eq!(first.reveal(), again.reveal());
        assert_eq!(first.reveal().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").expect("overwrite");
        assert!(AdminToken::load_or_create(&path).is_err());
    }
}
