//! Reading an experiments.json file from disk for the CLI and the server: size limit, UTF-8,
//! JSON syntax and schema, with every problem placed at `file:line:col: path: message`.

use std::fmt;
use std::path::{Path, PathBuf};

use splitbeam_core::config::{load_text, Loaded};
use splitbeam_core::json::{Pos, Positions};
use splitbeam_core::js_engine::NativeJs;

/// The snippet downloads the config on every first visit; anything near this size is a mistake.
pub const MAX_CONFIG_BYTES: u64 = 5 * 1024 * 1024;

/// A config file that was read and parsed: what runs, and its problems with positions.
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
    pub loaded: Loaded,
    pub positions: Positions,
}

impl ConfigFile {
    /// Every validation problem as `file:line:col: path: message`.
    pub fn problems(&self) -> Vec<String> {
        self.loaded
            .issues
            .iter()
            .map(|issue| {
                let pos = self.positions.find(&issue.path).unwrap_or(Pos { line: 1, col: 1 });
                let path = if issue.path.is_empty() { "(root)" } else { issue.path.as_str() };
                format!("{}:{}: {}: {}", self.path.display(), pos, path, issue.message)
            })
            .collect()
    }

    pub fn is_valid(&self) -> bool {
        self.loaded.issues.is_empty()
    }
}

/// Why a file could not be read as JSON at all.
#[derive(Debug)]
pub struct ConfigFileError {
    pub path: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{}: {}", self.path.display(), pos, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigFileError {}

/// `read` for the CLI commands: a file that cannot be read as JSON is reported on stderr
/// (`file:line:col: message`, which editors can jump to) and the command should exit with 1.
pub fn read_or_report(path: &Path) -> Option<ConfigFile> {
    read(path).map_err(|err| eprintln!("{err}")).ok()
}

/// `read_or_report` for the commands that print something built from the config (`snippet`, `tag`):
/// any problem at all is reported with its position and nothing should be printed.
pub fn read_valid_or_report(path: &Path) -> Option<ConfigFile> {
    let file = read_or_report(path)?;
    let problems = file.problems();
    if problems.is_empty() {
        return Some(file);
    }
    for line in &problems {
        eprintln!("{line}");
    }
    eprintln!("{}: {} problems; nothing printed (fix them, then run again)", path.display(), problems.len());
    None
}

pub fn read(path: &Path) -> Result<ConfigFile, ConfigFileError> {
    let fail = |pos, message: String| ConfigFileError { path: path.to_path_buf(), pos, message };
    let meta = std::fs::metadata(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(fail(None, format!("{} bytes is too large for an experiments file (limit {MAX_CONFIG_BYTES})", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(None, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        fail(Some(position_of_end(valid)), "invalid UTF-8 (save the file as UTF-8)".into())
    })?;
    let (loaded, positions) = load_text(&text, &NativeJs).map_err(|e| fail(Some(e.pos), e.message))?;
    Ok(ConfigFile { path: path.to_path_buf(), text, loaded, positions })
}

/// Line and column just after `valid` (valid UTF-8 bytes), counting characters.
fn position_of_end(valid: &[u8]) -> Pos {
    let text = String::from_utf8_lossy(valid);
    let line = text.matches('\n').count() as u32 + 1;
    let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos { line, col }
}
