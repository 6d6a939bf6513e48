//! `splitbeam snippet experiments.json [--dist dist] > splitbeam.js`: the loader with the compiled
//! config baked in, so a first visit decides without fetching the config. Validates first.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file to bake in.
    pub file: PathBuf,
    /// The folder built by `npm run build` (the loaders and the content-hashed modules).
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_valid_or_report(&args.file) else {
        return Ok(ExitCode::FAILURE);
    };
    // Drafts stay out, saved groups are hashed: this file is public (previews: `splitbeam preview-link`).
    let config = &crate::snippet::public(&file.loaded.config, None);
    let loader_path = args.dist.join(crate::snippet::loader_file(config));
    let loader = std::fs::read_to_string(&loader_path)
        .with_context(|| format!("cannot read {} (run `npm run build` first)", loader_path.display()))?;
    let out = crate::snippet::render(&loader, config);
    std::io::stdout().write_all(out.as_bytes()).context("cannot write to stdout")?;
    let files = crate::snippet::files_named_by(&loader);
    eprintln!("{}: compiled into {}; serve it next to {}", args.file.display(), loader_path.display(), files.join(", "));
    for name in files.iter().filter(|name| !args.dist.join(name).exists()) {
        eprintln!("warning: {} is missing from {}: the loader will not start without it (run `npm run build`)", name, args.dist.display());
    }
    Ok(ExitCode::SUCCESS)
}
