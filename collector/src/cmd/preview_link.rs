//! `splitbeam preview-link <experiment> --url https://shop.example/page`: a link that shows a draft
//! (or any experiment's variant) in this browser tab before it runs for anyone. The page's inline tag
//! passes the signed token to `/splitbeam.js?preview=…`, which then holds that draft; the
//! `?splitbeam=<experiment>:<variant>` part forces the variant, as a QA link does. Signed with the
//! key `splitbeam serve` uses (the same `--preview-key`, or the default next to `--db`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config_file;
use crate::preview::{self, PreviewKey};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiment to preview (usually a draft).
    pub experiment: String,
    /// The shop page to open (with the inline tag from `splitbeam tag` or `/tag.html`).
    #[arg(long)]
    pub url: String,
    /// The variant to show; the first one after the control by default.
    #[arg(long)]
    pub variant: Option<String>,
    /// How long the link works, in hours (at most 30 days).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub hours: u64,
    /// The experiments file the collector serves.
    #[arg(long, default_value = "experiments.json")]
    pub config: PathBuf,
    /// The collector's signing key (`splitbeam serve --preview-key`); created when missing.
    #[arg(long)]
    pub preview_key: Option<PathBuf>,
    /// The collector's SQLite database: the key is next to it unless `--preview-key` is given.
    #[arg(long, default_value = "splitbeam.db")]
    pub db: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_or_report(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let Some(experiment) = file.loaded.config.experiments.iter().find(|e| e.key == args.experiment) else {
        eprintln!("{}: no valid experiment {:?}", args.config.display(), args.experiment);
        return Ok(ExitCode::FAILURE);
    };
    let variant = match &args.variant {
        Some(name) if experiment.variants.iter().any(|v| &v.key == name) => name.clone(),
        Some(name) => {
            eprintln!("experiment {:?} has no variant {name:?}", experiment.key);
            return Ok(ExitCode::FAILURE);
        }
        // Validation guarantees at least two variants.
        None => experiment.variants.get(1).map(|v| v.key.clone()).context("the experiment has one variant")?,
    };
    let key_path = args.preview_key.clone().unwrap_or_else(|| preview::default_key_path(&args.db));
    let key = PreviewKey::load_or_create(&key_path)?;
    let expires = preview::now_secs() + args.hours * 3600;
    let token = key.sign(&experiment.key, expires);
    // The parameters go before any `#fragment`. Keys and variant names are `A-Z a-z 0-9 - _ .` and
    // the token base64url: nothing to escape.
    let (page, fragment) = args.url.split_once('#').map_or((args.url.as_str(), None), |(p, f)| (p, Some(f)));
    let separator = if page.contains('?') { '&' } else { '?' };
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    println!("{page}{separator}splitbeam-preview={token}&splitbeam={}:{variant}{fragment}", experiment.key);
    eprintln!("valid for {} hours, in a tab of any browser; key {}", args.hours, key_path.display());
    Ok(ExitCode::SUCCESS)
}
