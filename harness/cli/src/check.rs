//! `jpki-sim check`: load and validate scenarios (and an expectations file) without running
//! anything, with the same `file:line:column` errors as `run`. Exit 0 when everything loads,
//! 2 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use conformance::runner::Expectations;

use crate::select;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Suite or area directories, scenario files, or ids of the suite root (as for `run`).
    #[arg(value_name = "PATH|ID")]
    pub paths: Vec<PathBuf>,
    /// Also check this expectations file against the scenarios loaded.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let paths = select::resolve(&args.paths)?;
    let scenarios = match select::load(&paths) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            select::print_problems(&errors, "");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(path) = &args.expectations {
        let expectations = match Expectations::load(path) {
            Ok(expectations) => expectations,
            Err(error) => {
                eprintln!("error: {error}");
                return Ok(ExitCode::from(2));
            }
        };
        let stale = expectations.unmatched(scenarios.iter().map(|s| &s.id));
        if !stale.is_empty() {
            for error in &stale {
                eprintln!("error: {error}");
            }
            eprintln!("{} stale expectations in {}", stale.len(), path.display());
            return Ok(ExitCode::from(2));
        }
    }
    let areas: std::collections::BTreeSet<String> = scenarios
        .iter()
        .map(|s| s.id.to_string().split('/').next().unwrap_or("").to_owned())
        .collect();
    println!(
        "ok: {} scenarios in {} areas load and check",
        scenarios.len(),
        areas.len()
    );
    Ok(ExitCode::SUCCESS)
}
