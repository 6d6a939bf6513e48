//! `splitbeam snippet experiments.json [--dist dist] > splitbeam.js`: the loader with the config
//! baked in, so a first visit hides and decides without fetching the config. Validates first.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file to bake in.
    pub file: PathBuf,
    /// The folder built by `npm run build` (holds splitbeam.js and splitbeam_bg.<hash>.wasm).
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_or_report(&args.file) else {
        return Ok(ExitCode::FAILURE);
    };
    let problems = file.problems();
    if !problems.is_empty() {
        for line in &problems {
            eprintln!("{line}");
        }
        eprintln!("{}: {} problems; nothing printed (fix them, then run again)", args.file.display(), problems.len());
        return Ok(ExitCode::FAILURE);
    }
    let loader_path = args.dist.join("splitbeam.js");
    let loader = std::fs::read_to_string(&loader_path)
        .with_context(|| format!("cannot read {} (run `npm run build` first)", loader_path.display()))?;
    let out = crate::snippet::render(&loader, &file.text);
    std::io::stdout().write_all(out.as_bytes()).context("cannot write to stdout")?;
    let wasm = args.dist.join(crate::snippet::wasm_name(&loader));
    eprintln!("{}: baked into splitbeam.js; serve it next to {}", args.file.display(), wasm.display());
    if !wasm.exists() {
        eprintln!("warning: {} is missing: the loader will not start without it (run `npm run build`)", wasm.display());
    }
    Ok(ExitCode::SUCCESS)
}
