//! The layering of docs/architecture.md holds: every workspace crate depends only on the
//! workspace crates its row of the "allowed dependencies" table names, and nothing depends on the
//! binary's crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The table between the `allowed-dependencies` markers: crate → allowed workspace crates.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let start = doc
        .find("<!-- allowed-dependencies")
        .expect("the table's start marker");
    let end = doc
        .find("<!-- end allowed-dependencies")
        .expect("the table's end marker");
    let mut table = BTreeMap::new();
    for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let deps = cells[1]
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_owned())
            .filter(|d| !d.is_empty() && d != "—")
            .collect();
        table.insert(name, deps);
    }
    table
}

/// Every workspace package → the workspace packages it depends on (any kind but itself).
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_owned();
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(d) && *d != name)
                .collect();
            (name, deps)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_the_architecture_allows() {
    let allowed = allowed();
    let actual = actual();
    for (name, deps) in &actual {
        let Some(allowed_deps) = allowed.get(name) else {
            panic!("{name} is not in docs/architecture.md's allowed-dependencies table");
        };
        if allowed_deps.contains("every library") {
            continue;
        }
        let extra: Vec<_> = deps.difference(allowed_deps).collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, which docs/architecture.md does not allow"
        );
    }
    for name in allowed.keys() {
        assert!(
            actual.contains_key(name),
            "the table names {name}, not a workspace crate"
        );
    }
}

#[test]
fn nothing_depends_on_the_binary() {
    for (name, deps) in actual() {
        assert!(
            !deps.contains("jpki-sim"),
            "{name} depends on the jpki-sim binary's crate"
        );
    }
}
