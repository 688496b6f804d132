//! Loading scenario files: the id from the path, the model from the YAML, then the checks that
//! need the whole scenario. Every problem in a file's content is reported as
//! `file:line:column: message`, the message naming the key and what was expected.

use std::path::{Path, PathBuf};

use serde_norway::with::singleton_map_recursive;

use super::check::{check, Problem};
use super::id::{IdError, ScenarioId};
use super::locate::{key, locate, locate_key, parse_key_path, KeyPath, Position, Segment};
use super::model::Scenario;

/// A scenario that loaded, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// Its id, from its path under the suite root.
    pub id: ScenarioId,
    /// The file it was read from.
    pub path: PathBuf,
    /// What the file says, checked.
    pub scenario: Scenario,
    /// Where each step starts in the file, for reports that point at a failing step.
    pub step_positions: Vec<Position>,
}

/// Why a scenario file did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The file's path does not make a scenario id (`<area>/<name>.yaml`).
    #[error("{}: {source}", path.display())]
    Id {
        /// The file.
        path: PathBuf,
        /// What is wrong with the path.
        #[source]
        source: IdError,
    },
    /// YAML syntax, an unknown key, a missing key, or a value of the wrong type or format.
    /// `message` is the parser's: it names the key path and what was expected.
    #[error("{}:{}:{}: {message}", path.display(), at.line, at.column)]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped.
        at: Position,
        /// The parser's message.
        message: String,
    },
    /// The scenario parses but does not hold together; `key` is the path of the node at fault
    /// (`steps[3].pf.enrolment`).
    #[error("{}:{}:{}: {key}: {problem}", path.display(), at.line, at.column)]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where the node at fault starts.
        at: Position,
        /// The node's key path (`steps[3].pf.enrolment`).
        key: String,
        /// What does not hold together.
        problem: Problem,
    },
}

impl LoadError {
    /// The file (or directory) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Read { path, .. }
            | LoadError::Id { path, .. }
            | LoadError::Parse { path, .. }
            | LoadError::Invalid { path, .. } => path,
        }
    }

    /// Where in the file, for errors about its content.
    pub fn position(&self) -> Option<Position> {
        match self {
            LoadError::Parse { at, .. } | LoadError::Invalid { at, .. } => Some(*at),
            LoadError::Read { .. } | LoadError::Id { .. } => None,
        }
    }
}

/// Loads one scenario file of the suite rooted at `root`; the first problem if there are
/// several (in file order). [`load_suite`] reports them all.
pub fn load_file(path: &Path, root: &Path) -> Result<LoadedScenario, LoadError> {
    load_file_all(path, root).map_err(|mut errors| errors.swap_remove(0))
}

/// Loads every `*.yaml` file under `root`, sorted by id. On failure, every problem of every
/// file, so that one run shows an author all there is to fix.
pub fn load_suite(root: &Path) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_yaml(root, 0, &mut files, &mut errors);
    files.sort();
    let mut loaded = Vec::new();
    for file in files {
        match load_file_all(&file, root) {
            Ok(scenario) => loaded.push(scenario),
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    if errors.is_empty() {
        loaded.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(loaded)
    } else {
        Err(errors)
    }
}

/// Parses scenario text; `path` is only used in errors and kept in the result. Every problem,
/// in file order.
pub fn parse(text: &str, path: &Path, id: ScenarioId) -> Result<LoadedScenario, Vec<LoadError>> {
    // serde_norway reads enums from YAML tags (`!sdk {...}`); scenarios write one-key maps
    // (`sdk: {...}`), which this adapter maps to enums at every depth.
    let deserializer = serde_norway::Deserializer::from_str(text);
    let scenario: Scenario = singleton_map_recursive::deserialize(deserializer).map_err(|e| {
        let at = e.location().map_or(Position::START, |at| Position {
            line: at.line(),
            column: at.column(),
        });
        let message = e
            .to_string()
            .replace(&format!(" at line {} column {}", at.line, at.column), "");
        let at = refine(text, &message).unwrap_or(at);
        vec![LoadError::Parse {
            path: path.to_owned(),
            at,
            message,
        }]
    })?;
    let mut errors: Vec<LoadError> = check(&scenario)
        .into_iter()
        .map(|(key, problem)| LoadError::Invalid {
            path: path.to_owned(),
            at: locate(text, &key),
            key: KeyPath(&key).to_string(),
            problem,
        })
        .collect();
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.position());
        return Err(errors);
    }
    let step_positions = (0..scenario.steps.len())
        .map(|i| locate(text, &[key("steps"), Segment::Index(i)]))
        .collect();
    Ok(LoadedScenario {
        id,
        path: path.to_owned(),
        scenario,
        step_positions,
    })
}

/// Operations are read through a buffer (`op` selects the fields), which loses the position
/// of an unknown key inside them: the parser reports the step. Find the key itself.
fn refine(text: &str, message: &str) -> Option<Position> {
    let (path, rest) = message.split_once(": ")?;
    let field = rest.strip_prefix("unknown field `")?.split('`').next()?;
    locate_key(text, &parse_key_path(path), field)
}

fn load_file_all(path: &Path, root: &Path) -> Result<LoadedScenario, Vec<LoadError>> {
    let id = ScenarioId::from_path(path, root).map_err(|source| {
        vec![LoadError::Id {
            path: path.to_owned(),
            source,
        }]
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| {
        vec![LoadError::Read {
            path: path.to_owned(),
            source,
        }]
    })?;
    parse(&text, path, id)
}

/// Deep enough to report files one level too deep; bounded so that symlink loops end.
const MAX_DEPTH: usize = 4;

/// Every `.yaml` or `.yml` file under `dir` (`.yml` files then fail with a clear id error),
/// skipping hidden entries.
fn collect_yaml(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(LoadError::Read {
                path: dir.to_owned(),
                source,
            });
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(source) => {
                errors.push(LoadError::Read {
                    path: dir.to_owned(),
                    source,
                });
                continue;
            }
        };
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            if depth < MAX_DEPTH {
                collect_yaml(&path, depth + 1, files, errors);
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}
