//! Secrets kept in a file next to the database (the preview key, the admin token): read when the
//! file is there, else made of random bytes, written as hex to a new file only its owner may read.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// The file's text (trimmed), and whether this call created it with `bytes` random bytes as hex.
/// `what` names the secret in errors ("preview key").
pub fn read_or_create(path: &Path, what: &str, bytes: usize) -> anyhow::Result<(String, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text.trim().to_string(), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path, what, bytes),
        Err(e) => Err(e).with_context(|| format!("reading the {what} {}", path.display())),
    }
}

fn create(path: &Path, what: &str, bytes: usize) -> anyhow::Result<(String, bool)> {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random source for the {what}: {e}"))?;
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    // create_new: two collectors starting at once must not overwrite each other's secret.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{hex}\n").as_bytes())
                .and_then(|_| file.sync_all())
                .with_context(|| format!("writing the {what} {}", path.display()))?;
            Ok((hex, true))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))?;
            Ok((text.trim().to_string(), false))
        }
        Err(e) => Err(e).with_context(|| format!("creating the {what} {}", path.display())),
    }
}
