//! `jpki-sim report`: merges the JSON reports of several runs (one per adapter, or the shards of
//! one) into one conformance matrix, scenarios down and adapters across, and the JUnit and JSON
//! reports of the whole. Exit 0 when every merged result is as expected, 1 when one is not, 2
//! when a report cannot be read or two reports claim the same cell.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use conformance::report::merge::merge;
use conformance::report::{html, json, junit, Tally};
use conformance::runner::ScenarioResult;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// JSON reports written by `jpki-sim run --json`, one per adapter (or per shard); adapters
    /// become columns in the order given.
    #[arg(value_name = "FILE.json", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the HTML conformance matrix to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (a testsuite per adapter).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the merged JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The reports' title. Default: the suites the runs ran.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let (suites, results) = match merge(&args.reports) {
        Ok(merged) => merged,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let title = args.title.clone().unwrap_or_else(|| suites.join(", "));
    write(args.html.as_deref(), || html::render(&title, &results))?;
    write(args.junit.as_deref(), || junit::render(&title, &results))?;
    write(args.json.as_deref(), || json::render(&title, &results))?;
    let mut adapters: Vec<&str> = Vec::new();
    for result in &results {
        if !adapters.contains(&result.adapter.as_str()) {
            adapters.push(&result.adapter);
        }
    }
    for adapter in adapters {
        let theirs: Vec<ScenarioResult> = results
            .iter()
            .filter(|r| r.adapter == adapter)
            .cloned()
            .collect();
        println!("{adapter}: {}", Tally::of(&theirs).line());
    }
    Ok(if results.iter().all(|r| r.outcome.is_expected()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write(path: Option<&Path>, render: impl FnOnce() -> String) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, render())
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    Ok(())
}
