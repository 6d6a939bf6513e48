//! Writing experiments.json so that a reader (the live reload, the snippet build, a person) sees
//! the old file or the new one, never half of one, even after a crash or power cut: a temp file in
//! the same folder, fsync, rename over the file, fsync the folder. And the file's version tag
//! (its ETag), from its exact bytes, so an edit made against an older version is refused.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The ETag of a file's bytes: a strong tag (quoted), the first 128 bits of their SHA-256.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-Match` header value names `etag` (a list, quoted or not; `W/` tags never match
/// a strong comparison; `*` is refused: it would be a blind overwrite, the last write winning).
pub fn if_match_accepts(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == etag || (!tag.starts_with('"') && format!("\"{tag}\"") == etag))
}

/// Replaces the file at `path` with `bytes` atomically and durably; keeps its permissions.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).context("the config path has no file name")?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random source for a temp file name: {e}"))?;
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    // A dotfile in the same folder: the same file system (so rename is atomic), hidden from listings.
    let temp = folder.join(format!(".{name}.{suffix}.tmp"));
    let result = (|| -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("creating {}", temp.display()))?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions()).with_context(|| format!("setting the permissions of {}", temp.display()))?;
        }
        file.write_all(bytes).with_context(|| format!("writing {}", temp.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", temp.display()))?;
        std::fs::rename(&temp, path).with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
        // The rename is durable only once the folder's entry is on disk.
        std::fs::File::open(&folder)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("syncing the folder {}", folder.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_follows_the_bytes() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"a "));
        let tag = etag_of(b"a");
        assert!(if_match_accepts(&tag, &tag));
        assert!(if_match_accepts(tag.trim_matches('"'), &tag), "unquoted");
        assert!(if_match_accepts(&format!("\"x\", {tag}"), &tag));
        assert!(!if_match_accepts(&format!("W/{tag}"), &tag));
        assert!(!if_match_accepts(&etag_of(b"b"), &tag));
        assert!(!if_match_accepts("*", &tag));
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("experiments.json");
        std::fs::write(&path, "old").expect("write");
        write_atomically(&path, b"new").expect("atomic write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("experiments.json")]);
    }
}
