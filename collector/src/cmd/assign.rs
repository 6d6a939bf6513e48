//! `splitbeam assign`: which variant a visitor gets in each experiment, and why, exactly as the
//! snippet decides it (same core), so a support question can be answered from the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use splitbeam_core::assign::{assign, forced_from_query, Visitor};
use splitbeam_core::attributes::{self, PageContext};
use splitbeam_core::js_engine::NativeJs;
use splitbeam_core::{json, time};

use crate::config_file;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiments file.
    pub file: PathBuf,
    /// The visitor id (the snippet's `v_...` id, or any id used as hash attribute).
    #[arg(long)]
    pub visitor: String,
    /// The page URL the visitor is on.
    #[arg(long, default_value = "/")]
    pub url: String,
    /// Extra visitor attributes as a JSON object, e.g. '{"country":"DE","plan":{"tier":2}}'.
    #[arg(long)]
    pub attributes: Option<String>,
    /// Force a variant like the QA link does: `experiment:variant` (repeatable).
    #[arg(long)]
    pub force: Vec<String>,
    /// The browser's user agent (decides `device` and `browser`).
    #[arg(long, default_value = "")]
    pub user_agent: String,
    /// Evaluate at this moment (ISO date) instead of now, for start/end dates.
    #[arg(long)]
    pub now: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(file) = config_file::read_or_report(&args.file) else {
        return Ok(ExitCode::FAILURE);
    };
    // Like the snippet: invalid experiments are reported and skipped, the valid ones decided.
    for line in file.problems() {
        eprintln!("{line}");
    }
    let custom = match &args.attributes {
        None => None,
        Some(text) => {
            let (value, _) = json::parse(text).map_err(|e| anyhow::anyhow!("--attributes: {e}"))?;
            if value.as_object().is_none() {
                bail!("--attributes must be a JSON object, got {}", value.type_name());
            }
            Some(value)
        }
    };
    let attributes = attributes::build(&PageContext {
        visitor_id: &args.visitor,
        href: &args.url,
        user_agent: &args.user_agent,
        language: "",
        new_visitor: false,
        custom: custom.as_ref(),
    });
    let now_ms = match &args.now {
        Some(text) => time::parse_date(text).with_context(|| format!("--now: \"{text}\" is not an ISO date"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or(0.0),
    };
    let forced: Vec<(String, String)> = args.force.iter().flat_map(|f| forced_from_query(f)).collect();
    let visitor = Visitor { attributes: &attributes, href: &args.url, now_ms, forced: &forced, sticky: &[], regex: &NativeJs };
    let decisions = assign(&file.loaded.config, &visitor);

    if args.json {
        let experiments: Vec<serde_json::Value> = decisions
            .iter()
            .map(|d| {
                serde_json::json!({
                    "key": d.experiment.key,
                    "in_experiment": d.in_experiment(),
                    "variant": d.variant_key(),
                    "variant_index": d.variant,
                    "reason": d.reason.as_str(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "experiments": experiments }));
    } else {
        let width = decisions.iter().map(|d| d.experiment.key.len()).max().unwrap_or(10).max(10);
        println!("{:width$}  {:3}  {:16}  reason", "experiment", "in", "variant");
        for d in &decisions {
            let inside = if d.in_experiment() { "yes" } else { "no" };
            println!("{:width$}  {:3}  {:16}  {}", d.experiment.key, inside, d.variant_key().unwrap_or("-"), d.reason.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}
