//! `splitbeam tag experiments.json --src URL [--collector URL] > tag.html`: the inline tag a shop
//! pastes at the top of `<head>`. It hides what experiments may change on each page and adds
//! splitbeam.js async, so no request to the collector can hold up the page. Validates first.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file whose hide list goes into the tag.
    pub file: PathBuf,
    /// Where the page loads splitbeam.js from (`splitbeam serve`'s /splitbeam.js, or your copy of
    /// `splitbeam snippet`'s output).
    #[arg(long)]
    pub src: String,
    /// Where events go (the script's `data-collector`).
    #[arg(long)]
    pub collector: Option<String>,
    /// How long elements under test may stay hidden, in ms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub timeout: u32,
    /// `required`: nothing is stored or sent before `splitbeam.consent(true)`.
    #[arg(long)]
    pub consent: Option<String>,
    /// Respect Do-Not-Track and Global Privacy Control.
    #[arg(long)]
    pub respect_dnt: bool,
    /// The folder built by `npm run build` (holds tag.js, the tag's template).
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_valid_or_report(&args.file) else {
        return Ok(ExitCode::FAILURE);
    };
    let template_path = args.dist.join("tag.js");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("cannot read {} (run `npm run build` first)", template_path.display()))?;
    let mut attributes = Vec::new();
    if let Some(collector) = args.collector {
        attributes.push(("data-collector".to_string(), collector));
    }
    if let Some(consent) = args.consent {
        attributes.push(("data-consent".to_string(), consent));
    }
    if args.respect_dnt {
        attributes.push(("data-respect-dnt".to_string(), String::new()));
    }
    // Drafts stay out of the public hide list (a preview loader brings its own).
    let config = &crate::snippet::public(&file.loaded.config, None);
    let loader_path = args.dist.join(crate::snippet::loader_file(config));
    let loader = std::fs::read_to_string(&loader_path)
        .with_context(|| format!("cannot read {} (run `npm run build` first)", loader_path.display()))?;
    let first = crate::snippet::first_module(&loader)
        .with_context(|| format!("{} names no first-paint module (run `npm run build`)", loader_path.display()))?;
    let tag = crate::snippet::tag(&template, config, &args.src, &first, args.timeout, &attributes);
    writeln!(std::io::stdout(), "{tag}").context("cannot write to stdout")?;
    eprintln!(
        "{}: paste this at the top of <head> on every page; paste it again when an experiment changes other elements or pages, and after upgrading splitbeam (it names {first})",
        args.file.display()
    );
    Ok(ExitCode::SUCCESS)
}
