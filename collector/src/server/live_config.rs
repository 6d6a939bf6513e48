//! The experiments file as the server sees it: the last good version, re-read when the file
//! changes; an edit that does not parse or validate is logged and the last good config stays live.
//! Read and checked as `splitbeam validate` does (`config_file`): the same problems, the same words.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use splitbeam_core::config::Config;

use crate::config_file;
use crate::counting::Counting;
use crate::snippet::{self, PublicConfig};

/// A config that passed validation, with the exact text it came from, and what of it browsers get.
#[derive(Debug)]
pub struct CurrentConfig {
    pub text: String,
    pub config: Config,
    /// What of an incoming batch enters the results under this config.
    pub counting: Counting,
    /// Without drafts, saved groups hashed: what the snippet and the tag are rendered from.
    pub public: PublicConfig,
    /// `/experiments.json`: the text without drafts, groups hashed.
    pub public_text: String,
    /// Keys of the experiments marked `"archived": true` (the dashboard's list leaves them out).
    pub archived: Vec<String>,
}

impl CurrentConfig {
    fn new(text: String, config: Config) -> CurrentConfig {
        let counting = Counting::new(&config);
        let public = snippet::public(&config, None);
        // The text parsed as JSON before it loaded, so this only falls back on a serde_json limit.
        let public_text = snippet::public_json(&text).unwrap_or_else(|| "{}".to_string());
        let archived = archived_keys(&text);
        CurrentConfig { text, config, counting, public, public_text, archived }
    }
}

/// `"archived"` is dashboard bookkeeping, not part of the typed config that decides for browsers.
fn archived_keys(text: &str) -> Vec<String> {
    let Ok(root) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    root.get("experiments")
        .and_then(|e| e.as_array())
        .map(|list| {
            list.iter()
                .filter(|e| e.get("archived").and_then(|a| a.as_bool()) == Some(true))
                .filter_map(|e| e.get("key").and_then(|k| k.as_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What a reload check did.
#[derive(Debug, PartialEq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    /// The new text was refused; the reasons, one per line.
    Rejected(Vec<String>),
}

pub struct LiveConfig {
    path: PathBuf,
    current: RwLock<Arc<CurrentConfig>>,
    /// (modified time, length) of the file last looked at, good or bad: a bad edit is logged once.
    last_seen: Mutex<Option<(SystemTime, u64)>>,
}

impl LiveConfig {
    /// Loads the file at start-up. Unreadable or unparsable is an error; validation issues are
    /// logged and the valid experiments run, as the snippet itself would do.
    pub fn load(path: &Path) -> anyhow::Result<LiveConfig> {
        let stamp = file_stamp(path);
        let file = config_file::read(path).map_err(|e| anyhow::anyhow!("experiments config {e}"))?;
        for problem in file.problems() {
            tracing::warn!("{problem}");
        }
        Ok(LiveConfig {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(CurrentConfig::new(file.text, file.loaded.config))),
            last_seen: Mutex::new(stamp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn current(&self) -> Arc<CurrentConfig> {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the file if its modification time or size changed since last looked at.
    pub fn reload_if_changed(&self) -> Reload {
        let stamp = file_stamp(&self.path);
        {
            let Ok(mut last) = self.last_seen.lock() else { return Reload::Unchanged };
            if stamp.is_none() || *last == stamp {
                return Reload::Unchanged;
            }
            *last = stamp;
        }
        let file = match config_file::read(&self.path) {
            Ok(file) => file,
            Err(e) => return Reload::Rejected(vec![e.to_string()]),
        };
        if file.text == self.current().text {
            return Reload::Unchanged;
        }
        if !file.is_valid() {
            return Reload::Rejected(file.problems());
        }
        let next = Arc::new(CurrentConfig::new(file.text, file.loaded.config));
        match self.current.write() {
            Ok(mut current) => *current = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        Reload::Reloaded
    }
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"version":1,"experiments":[{"key":"hero","status":"running","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}]}"#;

    /// Writes `text` as the config file; the size changes with every text below, so the reload
    /// check sees the edit even within one tick of the file system's clock.
    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).expect("write the config file");
    }

    #[test]
    fn a_reload_refuses_duplicate_keys_as_validate_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("experiments.json");
        write(&path, VALID);
        let live = LiveConfig::load(&path).expect("a valid config loads");
        // The same experiment with a duplicated "status": JSON.parse takes the last one silently.
        write(&path, &VALID.replace(r#""status":"running","#, r#""status":"running","status":"stopped","#));
        match live.reload_if_changed() {
            Reload::Rejected(problems) => {
                assert!(problems.iter().any(|p| p.contains("experiments[0].status: duplicate key")), "{problems:?}");
                assert_eq!(problems, config_file::read(&path).expect("the file reads").problems(), "the words of validate");
            }
            other => panic!("a config with a duplicate key was not refused: {other:?}"),
        }
        assert_eq!(live.current().text, VALID, "the last good config stays live");
    }

    #[test]
    fn a_reload_refuses_a_file_over_the_size_limit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("experiments.json");
        write(&path, VALID);
        let live = LiveConfig::load(&path).expect("a valid config loads");
        // Valid JSON (trailing whitespace), one byte over the limit.
        let padding = config_file::MAX_CONFIG_BYTES as usize + 1 - VALID.len();
        write(&path, &format!("{VALID}{}", " ".repeat(padding)));
        match live.reload_if_changed() {
            Reload::Rejected(problems) => assert!(problems.iter().any(|p| p.contains("too large")), "{problems:?}"),
            other => panic!("a config over 5 MB was not refused: {other:?}"),
        }
        assert_eq!(live.current().text, VALID);
    }

    #[test]
    fn a_valid_edit_is_reloaded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("experiments.json");
        write(&path, VALID);
        let live = LiveConfig::load(&path).expect("a valid config loads");
        let edited = VALID.replace(r#""weight":1}]"#, r#""weight":10}]"#);
        write(&path, &edited);
        assert_eq!(live.reload_if_changed(), Reload::Reloaded);
        assert_eq!(live.current().text, edited);
    }

    #[test]
    fn start_up_refuses_a_file_over_the_size_limit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("experiments.json");
        write(&path, &format!("{VALID}{}", " ".repeat(config_file::MAX_CONFIG_BYTES as usize)));
        let err = LiveConfig::load(&path).err().expect("a config over 5 MB is refused");
        assert!(err.to_string().contains("too large"), "{err}");
    }
}
