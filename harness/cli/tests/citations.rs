//! Every fact the code relies on is cited from inside the repository: no comment or document
//! points at reference notes outside it, every `docs/*.md` named exists, and every section cited
//! as `card-protocol.md §4.11` (or of `jpki-pki.md`, `vpcd.md`, `contracts.md`) is a numbered
//! heading of that document.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The repository's text files that can carry a citation: what git tracks, or, outside a git
/// checkout (a source archive), every file under the root but `target/` and hidden folders.
fn files() -> Vec<PathBuf> {
    let tracked = Command::new("git")
        .args(["ls-files"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    let mut paths: Vec<PathBuf> = tracked.lines().map(|path| root().join(path)).collect();
    if paths.is_empty() {
        walk(&root(), &mut paths);
    }
    let paths: Vec<PathBuf> = paths
        .into_iter()
        .filter(|path| {
            let name = path.to_string_lossy();
            [".rs", ".md", ".py", ".sh", ".yaml", ".toml"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        // This test names the outside notes it looks for.
        .filter(|path| !path.ends_with("harness/cli/tests/citations.rs"))
        .filter(|path| path.exists())
        .collect();
    assert!(
        paths.len() > 100,
        "found only {} files to check",
        paths.len()
    );
    paths
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

/// The section numbers (`4`, `4.11`) of a document's numbered headings, and of the numbered
/// rows of its tables (`| 12.5 | ... |`, the open questions).
fn sections(doc: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs").join(doc)).unwrap();
    text.lines()
        .filter(|line| line.starts_with('#') || line.starts_with("| "))
        .filter_map(|line| {
            let heading = line.trim_start_matches(['#', '|']).trim();
            let number: String = heading
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.');
            (!number.is_empty()).then(|| number.to_owned())
        })
        .collect()
}

/// `§4.11`, `§12.5`, `§3` as cited right after `doc` on a line (`card-protocol.md §4.11, §7`).
fn cited_sections<'a>(line: &'a str, doc: &str) -> Vec<&'a str> {
    let mut cited = Vec::new();
    for (at, _) in line.match_indices(doc) {
        let rest = &line[at + doc.len()..];
        // The citations that follow: `§a`, `§a, §b`, `§a and §b`, `§a–§b`.
        let mut tail = rest;
        while let Some(start) = tail.find('§') {
            let gap = &tail[..start];
            if gap.chars().any(|c| c.is_alphabetic() && !"and".contains(c)) || gap.len() > 8 {
                break;
            }
            let after = &tail[start + '§'.len_utf8()..];
            let end = after
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(after.len());
            let number = after[..end].trim_end_matches('.');
            if number.is_empty() {
                break;
            }
            cited.push(number);
            tail = &after[end..];
        }
    }
    cited
}

#[test]
fn nothing_cites_notes_outside_the_repository() {
    let outside = [
        "spec/card-protocol",
        "spec/jpki-pki",
        "spec/vpcd",
        "spec/card-fidelity",
        "DESIGN",
    ];
    let mut found = Vec::new();
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if outside.iter().any(|needle| line.contains(needle)) {
                found.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations of notes outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_cited_doc_and_section_exists() {
    let docs = ["card-protocol.md", "jpki-pki.md", "vpcd.md", "contracts.md"];
    let known: Vec<(&str, BTreeSet<String>)> = docs.iter().map(|d| (*d, sections(d))).collect();
    let mut broken = Vec::new();
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("docs/") {
                let name: String = line[at + 5..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                    .collect();
                let name = name.trim_end_matches('.');
                if name.ends_with(".md") && !root().join("docs").join(name).exists() {
                    broken.push(format!(
                        "{}:{}: docs/{name} does not exist",
                        path.display(),
                        number + 1
                    ));
                }
            }
            for (doc, sections) in &known {
                for section in cited_sections(line, doc) {
                    if !sections.contains(section) {
                        broken.push(format!(
                            "{}:{}: {doc} has no §{section}",
                            path.display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken citations:\n{}",
        broken.join("\n")
    );
}

/// Repository paths a document names in backticks (`harness/cli/src/run.rs`), where they start
/// with a top-level folder: the places a reader is sent to look.
fn named_paths(line: &str) -> Vec<&str> {
    const TOP: [&str; 8] = [
        "sim-card/",
        "mock-ca/",
        "mock-jlis/",
        "harness/",
        "scenarios/",
        "benches/",
        "docs/",
        "scripts/",
    ];
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| TOP.iter().any(|top| quoted.starts_with(top)))
        .filter(|quoted| !quoted.contains(['<', '{', '*', ' ', '$', '|', '…']))
        .map(|quoted| quoted.split(':').next().unwrap_or(quoted))
        .collect()
}

#[test]
fn every_path_a_document_names_exists() {
    let mut missing = Vec::new();
    for path in files() {
        let is_doc = path.extension().is_some_and(|ext| ext == "md");
        if !is_doc {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            for named in named_paths(line) {
                if !root().join(named).exists() {
                    missing.push(format!("{}:{}: {named}", path.display(), number + 1));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documents name paths that do not exist:\n{}",
        missing.join("\n")
    );
}

/// Relative Markdown links (`[text](card-protocol.md#4)`) of a line, without their anchors.
fn relative_links(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &line[at + 2..];
            let target = &rest[..rest.find(')')?];
            let target = target.split('#').next().unwrap_or("");
            let external = target.contains("://") || target.starts_with("mailto:");
            (!target.is_empty() && !external && !target.contains(' ')).then_some(target)
        })
        .collect()
}

#[test]
fn every_relative_link_of_a_document_resolves() {
    let mut broken = Vec::new();
    for path in files() {
        if path.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        let dir = path.parent().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            for target in relative_links(line) {
                if !dir.join(target).exists() {
                    broken.push(format!("{}:{}: ({target})", path.display(), number + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn citations_are_read_as_written() {
    assert_eq!(
        cited_sections("see card-protocol.md §4.11.", "card-protocol.md"),
        ["4.11"]
    );
    assert_eq!(
        cited_sections("(card-protocol.md §7.3, §7.4)", "card-protocol.md"),
        ["7.3", "7.4"]
    );
    assert_eq!(
        cited_sections("card-protocol.md §3 and §7", "card-protocol.md"),
        ["3", "7"]
    );
    assert!(sections("card-protocol.md").contains("4.11"));
    assert!(!sections("card-protocol.md").contains("99"));
    assert_eq!(
        relative_links("[a](card-protocol.md#4), [b](https://x.org/y), [c](../README.md)"),
        ["card-protocol.md", "../README.md"]
    );
    assert_eq!(
        named_paths("see `harness/cli/src/run.rs:3` and `scenarios/<area>/` and `ls`"),
        ["harness/cli/src/run.rs"]
    );
}
