//! `splitbeam`: the collector and the command line. Thin: parses arguments, dispatches to `cmd`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use splitbeam_collector::cmd;

#[derive(Parser)]
#[command(name = "splitbeam", version, about = "Flicker-free A/B experiments and funnel analytics")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an experiments.json; exit 0 when valid, 1 otherwise.
    Validate(cmd::validate::Args),
    /// Show which variant a visitor gets in each experiment, and why.
    Assign(cmd::assign::Args),
    /// Run the collector: ingest, results API, dashboard, snippet and config.
    Serve(cmd::serve::Args),
    /// Print an experiment's results from a database.
    Results(cmd::results::Args),
    /// Export an experiment's raw events as CSV or NDJSON.
    Export(cmd::export::Args),
    /// Send synthetic visitors with a known uplift through the demo funnel.
    Simulate(cmd::simulate::Args),
    /// Print a splitbeam.js loader with the compiled config baked in.
    Snippet(cmd::snippet::Args),
    /// Print the inline tag to paste at the top of <head> (hides, then adds splitbeam.js async).
    Tag(cmd::tag::Args),
    /// Print a signed link that shows a draft experiment in one browser tab, before it runs.
    PreviewLink(cmd::preview_link::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Validate(args) => cmd::validate::run(args),
        Command::Assign(args) => cmd::assign::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Results(args) => cmd::results::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Snippet(args) => cmd::snippet::run(args),
        Command::Tag(args) => cmd::tag::run(args),
        Command::PreviewLink(args) => cmd::preview_link::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("splitbeam: {err:#}");
            ExitCode::FAILURE
        }
    }
}
