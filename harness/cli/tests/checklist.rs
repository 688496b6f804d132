//! docs/conformance.md's checklist is true: every row names scenarios and mutants that exist,
//! every mutant is in some row, the correct PF passes each row's scenarios, and each of the row's
//! mutants fails at least one of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conformance::runner::{run_suite, Outcome, RunConfig};
use conformance::scenario::load_file;
use reference::ReferenceMutant as Mutant;

struct Row {
    id: String,
    scenarios: Vec<String>,
    mutants: Vec<Mutant>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("checklist-keys.sqlite")
}

/// The backticked names of a cell.
fn names(cell: &str) -> Vec<String> {
    cell.split(',')
        .map(|name| name.trim().trim_matches('`').to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

fn checklist() -> Vec<Row> {
    let text = std::fs::read_to_string(root().join("docs/conformance.md")).unwrap();
    let table = text
        .split("## Checklist")
        .nth(1)
        .expect("a Checklist section")
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<Row> = table
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| id "))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 5, "a row has 5 cells: {line}");
            Row {
                id: cells[0].trim().to_owned(),
                scenarios: names(cells[3]),
                mutants: names(cells[4])
                    .iter()
                    .map(|name| name.parse().unwrap_or_else(|err| panic!("{line}: {err}")))
                    .collect(),
            }
        })
        .collect();
    assert!(rows.len() >= 40, "only {} checklist rows", rows.len());
    rows
}

#[test]
fn every_row_has_scenarios_and_mutants_and_every_mutant_a_row() {
    let rows = checklist();
    let mut ids = BTreeSet::new();
    for row in &rows {
        assert!(ids.insert(&row.id), "row {} twice", row.id);
        assert!(!row.scenarios.is_empty(), "row {} has no scenario", row.id);
        assert!(!row.mutants.is_empty(), "row {} has no mutant", row.id);
        for scenario in &row.scenarios {
            let path = root().join("scenarios").join(format!("{scenario}.yaml"));
            assert!(path.is_file(), "row {}: no scenario {scenario}", row.id);
        }
    }
    let listed: BTreeSet<Mutant> = rows.iter().flat_map(|row| row.mutants.clone()).collect();
    for mutant in Mutant::all() {
        assert!(listed.contains(&mutant), "{mutant} is in no checklist row");
    }
}

#[test]
fn each_row_passes_the_correct_pf_and_kills_its_mutants() {
    let suite = root().join("scenarios");
    let mut config = RunConfig::reference();
    config.key_cache = Some(key_cache());
    for row in checklist() {
        let scenarios: Vec<_> = row
            .scenarios
            .iter()
            .map(|id| load_file(&suite.join(format!("{id}.yaml")), &suite).unwrap())
            .collect();
        for result in run_suite(&scenarios, &config).unwrap() {
            assert_eq!(
                result.outcome,
                Outcome::Pass,
                "row {}: {}",
                row.id,
                result.summary()
            );
        }
        for mutant in &row.mutants {
            let config = config.against(*mutant);
            let results = run_suite(&scenarios, &config).unwrap();
            assert!(
                results
                    .iter()
                    .any(|r| matches!(r.outcome, Outcome::Fail { .. })),
                "row {}: {mutant} passes {:?}",
                row.id,
                row.scenarios
            );
        }
    }
}
