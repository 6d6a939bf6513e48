//! The experiments file as the server sees it: the last good version, re-read when the file
//! changes; an edit that does not parse or validate is logged and the last good config stays live.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use splitbeam_core::config::{self, Config};

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
}

impl CurrentConfig {
    fn new(text: String, config: Config) -> CurrentConfig {
        let counting = Counting::new(&config);
        let public = snippet::public(&config, None);
        // The text parsed as JSON before it loaded, so this only falls back on a serde_json limit.
        let public_text = snippet::public_json(&text).unwrap_or_else(|| "{}".to_string());
        CurrentConfig { text, config, counting, public, public_text }
    }
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading experiments config {}: {e}", path.display()))?;
        let (config, issues) = validate(&text).map_err(|reasons| {
            anyhow::anyhow!("experiments config {} is not valid JSON: {}", path.display(), reasons.join("; "))
        })?;
        for issue in &issues {
            tracing::warn!("{}: {issue}", path.display());
        }
        Ok(LiveConfig {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(CurrentConfig::new(text, config))),
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
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) => return Reload::Rejected(vec![format!("cannot read {}: {e}", self.path.display())]),
        };
        if text == self.current().text {
            return Reload::Unchanged;
        }
        match validate(&text) {
            Ok((config, issues)) if issues.is_empty() => {
                let next = Arc::new(CurrentConfig::new(text, config));
                match self.current.write() {
                    Ok(mut current) => *current = next,
                    Err(poisoned) => *poisoned.into_inner() = next,
                }
                Reload::Reloaded
            }
            Ok((_, issues)) => Reload::Rejected(issues),
            Err(reasons) => Reload::Rejected(reasons),
        }
    }
}

/// Parses and validates; `Err` when the text is not JSON, `Ok` with the issues otherwise.
fn validate(text: &str) -> Result<(Config, Vec<String>), Vec<String>> {
    let (value, _) = splitbeam_core::json::parse(text).map_err(|e| vec![e.to_string()])?;
    let loaded = config::load(&value);
    let issues = loaded.issues.iter().map(|i| format!("{}: {}", i.path, i.message)).collect();
    Ok((loaded.config, issues))
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
