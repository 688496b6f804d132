//! The CI workflow example (`examples/ci/github-actions.yml`) against the CLI's own definition:
//! every `jpki-sim` command line in its `run:` steps, with the workflow's `env` substituted, must
//! parse, and the install step must name this package and this repository. A renamed command or
//! flag fails here before it fails a user's pipeline.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Parser;
use jpki_sim::{Cli, Command};

fn workflow() -> serde_norway::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ci/github-actions.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The workflow's `env`, as the shell would see it.
fn environment(workflow: &serde_norway::Value) -> BTreeMap<String, String> {
    workflow["env"]
        .as_mapping()
        .expect("the workflow has an env")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_owned(),
                v.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every shell command of every `run:` step, continuation lines joined.
fn commands(workflow: &serde_norway::Value) -> Vec<String> {
    let mut commands = Vec::new();
    for job in workflow["jobs"].as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let mut current = String::new();
            for line in script.lines() {
                let line = line.trim();
                match line.strip_suffix('\\') {
                    Some(head) => {
                        current.push_str(head);
                        current.push(' ');
                    }
                    None => {
                        current.push_str(line);
                        if !current.trim().is_empty() {
                            commands.push(std::mem::take(&mut current));
                        }
                        current.clear();
                    }
                }
            }
        }
    }
    commands
}

/// Splits a command as `sh` would for the quoting the example uses: words separated by
/// spaces, `"..."` kept whole, `$NAME` replaced from `env` (inside quotes too).
fn words(command: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut expanded = String::new();
    let mut rest = command;
    while let Some(at) = rest.find('$') {
        expanded.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..end];
        let value = env
            .get(name)
            .unwrap_or_else(|| panic!("`${name}` is not in the workflow's env: {command}"));
        // Quoted, so that a value with spaces stays one word where the script quoted it, and
        // marks where it came from.
        expanded.push_str(&value.replace(' ', "\u{0}"));
        rest = &after[end..];
    }
    expanded.push_str(rest);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in expanded.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            '\u{0}' if !quoted => {
                // An unquoted expansion splits on its spaces, as the shell would.
                words.push(std::mem::take(&mut word));
            }
            '\u{0}' => word.push(' '),
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes: {command}");
    if started {
        words.push(word);
    }
    words
}

#[test]
fn every_jpki_sim_command_of_the_ci_example_parses() {
    let workflow = workflow();
    let env = environment(&workflow);
    let mut seen = Vec::new();
    for command in commands(&workflow) {
        let words = words(&command, &env);
        if words.first().map(String::as_str) != Some("jpki-sim") {
            continue;
        }
        let cli = match Cli::try_parse_from(&words) {
            Ok(cli) => cli,
            Err(err) if err.kind() == clap::error::ErrorKind::DisplayVersion => {
                seen.push("--version");
                continue;
            }
            Err(err) => panic!("{command}\n  as {words:?}\n{err}"),
        };
        seen.push(match cli.command {
            Command::Run(_) => "run",
            Command::Adapter(_) => "adapter",
            _ => "other",
        });
    }
    assert!(
        seen.contains(&"--version"),
        "the example logs the version it installed"
    );
    assert!(seen.contains(&"run"), "no `jpki-sim run` in the example");
    assert!(seen.contains(&"adapter"), "no `jpki-sim adapter check`");
}

#[test]
fn the_ci_example_installs_this_package_from_this_repository() {
    let workflow = workflow();
    let env = environment(&workflow);
    let install = commands(&workflow)
        .into_iter()
        .map(|command| words(&command, &env))
        .find(|words| words.starts_with(&["cargo".to_owned(), "install".to_owned()]))
        .expect("the example installs jpki-sim with cargo install");
    let git = install
        .iter()
        .position(|word| word == "--git")
        .map(|at| install[at + 1].as_str());
    assert_eq!(git, Some(env!("CARGO_PKG_REPOSITORY")), "{install:?}");
    assert_eq!(
        install.last().map(String::as_str),
        Some(env!("CARGO_PKG_NAME"))
    );
    assert!(install.iter().any(|word| word == "--locked"), "{install:?}");
}

#[test]
fn the_splitter_reads_the_quoting_the_example_uses() {
    let env = BTreeMap::from([("A".to_owned(), "pf=x y".to_owned())]);
    assert_eq!(
        words(r#"jpki-sim run --sut "$A" --name n"#, &env),
        ["jpki-sim", "run", "--sut", "pf=x y", "--name", "n"]
    );
    assert_eq!(words("echo $A", &env), ["echo", "pf=x", "y"]);
}
