//! Which scenarios a command means: suite directories, area directories and files as given, or
//! scenario ids (`revocation/ocsp_loss_window`, `card`) looked up in the suite root, then
//! narrowed by `--filter` globs. Shared by `run` and `check`.

use std::path::{Path, PathBuf};

use conformance::scenario::{load_file, load_suite, LoadError, LoadedScenario};

/// The suite root ids are looked up in: `JPKI_SIM_SCENARIOS`, else `scenarios` here, else the
/// suite built into the binary (written out to the cache directory; said once on stderr).
pub fn suite_root() -> Result<PathBuf, SelectError> {
    if let Some(root) = std::env::var_os("JPKI_SIM_SCENARIOS") {
        return Ok(PathBuf::from(root));
    }
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        return Ok(here);
    }
    let dir = crate::builtin_suite::extract().map_err(SelectError::Builtin)?;
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "jpki-sim: no scenarios directory here; using the suite built into jpki-sim {} ({} scenarios, in {})",
            env!("CARGO_PKG_VERSION"),
            crate::builtin_suite::scenario_count(),
            dir.display()
        );
    });
    Ok(dir)
}

/// Why the scenarios asked for cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// `JPKI_SIM_SCENARIOS` names no directory.
    #[error(
        "JPKI_SIM_SCENARIOS={root} is not a directory: point it at a suite (a directory of \
         area directories of scenario files), or unset it to use `scenarios` here or the \
         suite built into jpki-sim",
        root = root.display()
    )]
    NoSuite {
        /// The root looked for.
        root: PathBuf,
    },
    /// The built-in suite could not be written out.
    #[error("{0}; give the suite's path (jpki-sim run PATH) or set JPKI_SIM_SCENARIOS")]
    Builtin(#[source] crate::builtin_suite::ExtractError),
    /// Neither a path nor an id in the suite root.
    #[error(
        "{given}: no such file or directory, and no scenario or area of that id under {root} \
         (ids look like `area/name`; `jpki-sim run --list` lists them)",
        root = root.display()
    )]
    Unknown {
        /// The argument.
        given: String,
        /// The root looked in.
        root: PathBuf,
    },
    /// A `--filter` matched nothing.
    #[error("--filter {pattern}: no scenario id matches (`jpki-sim run --list` lists them)")]
    FilterMatchesNothing {
        /// The pattern.
        pattern: String,
    },
}

/// Each argument as a path: as given when it exists, else the id under the suite root.
pub fn resolve(given: &[PathBuf]) -> Result<Vec<PathBuf>, SelectError> {
    // Looked for only when needed: paths that exist need no suite root (nor the built-in one).
    if given.iter().all(|path| path.exists()) && !given.is_empty() {
        return Ok(given.to_vec());
    }
    let root = suite_root()?;
    if given.is_empty() {
        return if root.is_dir() {
            Ok(vec![root])
        } else {
            Err(SelectError::NoSuite { root })
        };
    }
    given
        .iter()
        .map(|path| {
            if path.exists() {
                return Ok(path.clone());
            }
            let text = path.to_string_lossy().trim_end_matches('/').to_owned();
            let file = root.join(format!("{text}.yaml"));
            let area = root.join(&text);
            if file.is_file() {
                Ok(file)
            } else if !text.contains('/') && area.is_dir() {
                Ok(area)
            } else {
                Err(SelectError::Unknown {
                    given: text,
                    root: root.clone(),
                })
            }
        })
        .collect()
}

/// The scenarios whose id matches one of `patterns` (all when there are none); a pattern that
/// matches nothing is a mistake worth saying.
pub fn filter(
    scenarios: Vec<LoadedScenario>,
    patterns: &[String],
) -> Result<Vec<LoadedScenario>, SelectError> {
    if patterns.is_empty() {
        return Ok(scenarios);
    }
    for pattern in patterns {
        if !scenarios
            .iter()
            .any(|s| glob_matches(pattern, &s.id.to_string()))
        {
            return Err(SelectError::FilterMatchesNothing {
                pattern: pattern.clone(),
            });
        }
    }
    Ok(scenarios
        .into_iter()
        .filter(|s| {
            let id = s.id.to_string();
            patterns.iter().any(|pattern| glob_matches(pattern, &id))
        })
        .collect())
}

/// `*` matches any run of characters (`/` included), everything else itself; a pattern with no
/// `*` matches ids containing it.
pub fn glob_matches(pattern: &str, id: &str) -> bool {
    if !pattern.contains('*') {
        return id.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields one part at least");
    let Some(mut remaining) = id.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = rest.split_last().expect("a pattern with * has two parts");
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// Loads every path: a directory as a suite root, a file with its grandparent as the root
/// (`scenarios/card/x.yaml` is `card/x`). Every problem of every path.
pub fn load(paths: &[PathBuf]) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if is_suite_root(path) {
            match load_suite(path) {
                Ok(mut loaded) => scenarios.append(&mut loaded),
                Err(mut problems) => errors.append(&mut problems),
            }
            continue;
        }
        let files = if path.is_dir() {
            let mut files = area_files(path);
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in &files {
            let root = file
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."));
            match load_file(file, root) {
                Ok(loaded) => scenarios.push(loaded),
                Err(problem) => errors.push(problem),
            }
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// Prints every load problem, `file:line:column: ...`, and how many there were, on stderr.
pub fn print_problems(errors: &[LoadError], after: &str) {
    for error in errors {
        eprintln!("error: {error}");
    }
    eprintln!("{} scenario file problems{after}", errors.len());
}

/// A directory of areas (`scenarios/`), as opposed to one area (`scenarios/card/`), which holds
/// scenario files itself.
pub fn is_suite_root(path: &Path) -> bool {
    path.is_dir() && area_files(path).is_empty()
}

/// The `.yaml` files directly in `dir`.
fn area_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "yaml"))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_ids_as_a_shell_would_and_plain_words_as_substrings() {
        assert!(glob_matches("card/*", "card/auth_pin_lockout"));
        assert!(glob_matches("*pin*", "card/auth_pin_lockout"));
        assert!(glob_matches(
            "*/ocsp_*_window",
            "revocation/ocsp_loss_window"
        ));
        assert!(glob_matches("revocation", "revocation/ocsp_loss_window"));
        assert!(glob_matches("*", "card/x"));
        assert!(!glob_matches("card/*", "forgery/card"));
        assert!(!glob_matches("*window", "revocation/window_x"));
        assert!(!glob_matches("a*b*c", "a_c_b"));
        // The last part is not matched inside the middle part's remainder twice.
        assert!(!glob_matches("ab*ba", "aba"));
        assert!(glob_matches("ab*ba", "abba"));
    }
}
