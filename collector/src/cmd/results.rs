//! `splitbeam results KEY [--db PATH | --store clickhouse ...] [--config PATH] [--json]`: an
//! experiment's results read straight from the store, as a terminal table or as the API's JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use splitbeam_core::config::Experiment;

use super::store_args::{OpenMode, StoreArgs};
use crate::results::{experiment_results, ExperimentResults};
use crate::server::api::now_ms;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiment key.
    pub key: String,
    /// Where the events are: `--store`, `--db`, `--clickhouse-url`, `--clickhouse-database`.
    #[command(flatten)]
    pub storage: StoreArgs,
    /// The experiments file: variant order, weights, goals and funnel (without it they are
    /// inferred from the data and equal weights are assumed for the SRM check).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the JSON of `GET /api/experiments/KEY/results` instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let experiment = match &args.config {
        Some(path) => Some(find_experiment(path, &args.key)?),
        None => None,
    };
    let store = args.storage.open(OpenMode::Existing)?;
    let funnel = experiment.as_ref().map(|e| e.funnel.clone()).unwrap_or_default();
    let totals = store.experiment_totals(&args.key, &funnel)?;
    if experiment.is_none() && totals.variants.is_empty() {
        anyhow::bail!("no events for experiment {:?} in {}", args.key, args.storage.describe());
    }
    let results = experiment_results(&args.key, experiment.as_ref(), &totals, now_ms());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print!("{}", table(&results));
    }
    Ok(ExitCode::SUCCESS)
}

fn find_experiment(path: &std::path::Path, key: &str) -> anyhow::Result<Experiment> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (value, _) = splitbeam_core::json::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let loaded = splitbeam_core::config::load(&value);
    loaded
        .config
        .experiments
        .into_iter()
        .find(|e| e.key == key)
        .with_context(|| format!("no valid experiment {key:?} in {}", path.display()))
}

/// The results as aligned text: one block per goal, one row per variant.
pub fn table(results: &ExperimentResults) -> String {
    let mut out = format!("{} ({}) — {}\n", results.name, results.experiment, results.status);
    let total: u64 = results.variants.iter().map(|v| v.visitors).sum();
    out.push_str(&format!("visitors: {total}"));
    match results.srm.p_value {
        Some(p) if results.srm.alarm => out.push_str(&format!("   SRM ALARM: p = {p:.2e} (traffic split differs from the weights)\n")),
        Some(p) => out.push_str(&format!("   SRM p = {p:.3}\n")),
        None => out.push('\n'),
    }
    for goal in &results.goals {
        out.push_str(&format!("\ngoal {goal}\n"));
        let header = ["variant", "visitors", "conv", "rate", "lift", "95% CI", "p", "P(win)", "seq. CI", "value/visitor"];
        let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        for v in &results.variants {
            let g = v.goals.get(goal);
            let pct = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{:+.1}%", x * 100.0));
            let range = |x: Option<[f64; 2]>| x.map_or("—".to_string(), |[a, b]| format!("[{:+.1}%, {:+.1}%]", a * 100.0, b * 100.0));
            let per_visitor = g
                .and_then(|g| g.value.as_ref())
                .and_then(|val| val.per_visitor)
                .map_or("—".to_string(), |x| format!("{x:.2}"));
            rows.push(vec![
                v.key.clone(),
                v.visitors.to_string(),
                g.map_or(0, |g| g.conversions).to_string(),
                g.and_then(|g| g.rate).map_or("—".to_string(), |r| format!("{:.2}%", r * 100.0)),
                pct(g.and_then(|g| g.lift)),
                range(g.and_then(|g| g.ci)),
                g.and_then(|g| g.p_value).map_or("—".to_string(), |p| format!("{p:.4}")),
                g.and_then(|g| g.chance_to_win).map_or("—".to_string(), |c| format!("{:.1}%", c * 100.0)),
                range(g.and_then(|g| g.sequential_ci)),
                per_visitor,
            ]);
        }
        out.push_str(&align(&rows));
    }
    if !results.funnel.steps.is_empty() {
        out.push_str(&format!("\nfunnel {}\n", results.funnel.steps.join(" → ")));
        let mut rows = vec![std::iter::once("variant".to_string()).chain(results.funnel.steps.iter().cloned()).collect()];
        for f in &results.funnel.variants {
            rows.push(std::iter::once(f.key.clone()).chain(f.counts.iter().map(|c| c.to_string())).collect());
        }
        out.push_str(&align(&rows));
    }
    out
}

fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell}{}", " ".repeat(widths[c] - cell.chars().count())))
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
