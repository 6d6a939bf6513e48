//! `splitbeam export KEY --format csv|ndjson [--db PATH | --store clickhouse ...]`: an experiment's
//! raw events (its exposures and its exposed visitors' goals and page views) to standard output.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::store_args::{OpenMode, StoreArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiment key.
    pub key: String,
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: Format,
    /// Where the events are: `--store`, `--db`, `--clickhouse-url`, `--clickhouse-database`.
    #[command(flatten)]
    pub storage: StoreArgs,
}

/// `bot` is 1 for a crawler's or an automated browser's event (kept out of results, not out of export).
pub const CSV_COLUMNS: [&str; 12] =
    ["id", "type", "ts", "visitor", "session", "url", "experiment", "variant", "goal", "value", "props", "bot"];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = args.storage.open(OpenMode::Existing)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.format {
        Format::Ndjson => store.export(&args.key, &mut |event| {
            writeln!(out, "{}", event.body).context("writing to standard output")
        })?,
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(&mut out);
            csv.write_record(CSV_COLUMNS)?;
            let written = store.export(&args.key, &mut |event| {
                let props = serde_json::from_str::<serde_json::Value>(&event.body)
                    .ok()
                    .and_then(|body| body.get("props").map(|p| p.to_string()))
                    .unwrap_or_default();
                let value = event.value.map(|v| v.to_string()).unwrap_or_default();
                let record = [
                    event.id.as_ref(),
                    event.kind.as_ref(),
                    &event.ts.to_string(),
                    &event.visitor,
                    &event.session,
                    &event.url,
                    event.experiment.as_deref().unwrap_or(""),
                    event.variant.as_deref().unwrap_or(""),
                    event.goal.as_deref().unwrap_or(""),
                    &value,
                    &props,
                    if event.bot { "1" } else { "0" },
                ]
                .map(defuse_formula);
                csv.write_record(&record).context("writing CSV")
            })?;
            csv.flush()?;
            written
        }
    };
    out.flush()?;
    drop(out);
    eprintln!("exported {written} events of experiment {:?}", args.key);
    Ok(ExitCode::SUCCESS)
}

/// Visitor-controlled text must not run as a spreadsheet formula when the CSV is opened:
/// cells starting with = + - @ (and tab/CR) get a leading apostrophe (OWASP's advice).
/// Numbers are written by us and never start with one except negative values, left as they are.
pub fn defuse_formula(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '@', '\t', '\r']) || (cell.starts_with('-') && cell.parse::<f64>().is_err());
    if risky {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}
