//! `splitbeam validate experiments.json`: every problem at once, as `file:line:col: path: message`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file to check.
    pub file: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_or_report(&args.file) else {
        return Ok(ExitCode::FAILURE);
    };
    let problems = file.problems();
    for line in &problems {
        eprintln!("{line}");
    }
    let running = file.loaded.config.experiments.len();
    if problems.is_empty() {
        println!("{}: valid ({running} experiments)", args.file.display());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{}: {} problems; {} experiments would run, {} dropped ({})",
            args.file.display(),
            problems.len(),
            running,
            file.loaded.dropped.len(),
            file.loaded.dropped.join(", ")
        );
        Ok(ExitCode::FAILURE)
    }
}
