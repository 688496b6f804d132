//! Merging the JSON reports of several runs (one per adapter, or the shards of one) into one
//! set of results, scenarios × adapters.

use std::collections::HashMap;
use std::path::PathBuf;

use super::json;
use crate::runner::ScenarioResult;

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A report cannot be read back (unreadable, not JSON, an unknown version, a result that
    /// does not hold together).
    #[error(transparent)]
    Read(#[from] json::ReadError),
    /// Two runs reported the same scenario for the same adapter name: the matrix would have
    /// to pick one.
    #[error(
        "{id} against {adapter} is in both {} and {}: name each run's adapter apart (jpki-sim run --name NAME)",
        first.display(),
        second.display()
    )]
    Duplicate {
        /// The scenario id, `<area>/<name>`.
        id: String,
        /// The adapter name both runs gave.
        adapter: String,
        /// The report read first.
        first: PathBuf,
        /// The report that has it again.
        second: PathBuf,
    },
}

/// Reads every report: the distinct suite names in order, and all results.
pub fn merge(paths: &[PathBuf]) -> Result<(Vec<String>, Vec<ScenarioResult>), MergeError> {
    let mut suites: Vec<String> = Vec::new();
    let mut results = Vec::new();
    let mut seen: HashMap<(String, String), PathBuf> = HashMap::new();
    for path in paths {
        let report = json::read(path)?;
        if !suites.contains(&report.suite) {
            suites.push(report.suite);
        }
        for result in report.results {
            let key = (result.adapter.clone(), result.id.to_string());
            if let Some(first) = seen.get(&key) {
                return Err(MergeError::Duplicate {
                    id: key.1,
                    adapter: key.0,
                    first: first.clone(),
                    second: path.clone(),
                });
            }
            seen.insert(key, path.clone());
            results.push(result);
        }
    }
    Ok((suites, results))
}
