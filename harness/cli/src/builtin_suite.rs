//! The conformance suite built into the binary (`scenarios/` of the checkout it was built from,
//! embedded by `build.rs`): a `jpki-sim` installed outside a checkout runs and checks it when no
//! path is given and there is no `scenarios` directory here. It is written out once, to a
//! directory named by its hash under the cache directory, so that errors and reports point at
//! real files an author can open.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_suite.rs"));

/// Why the built-in suite could not be written out.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the built-in suite to {}", dir.display())]
pub struct ExtractError {
    /// Where it was being written.
    pub dir: PathBuf,
    /// Why not.
    #[source]
    pub source: std::io::Error,
}

/// How many scenarios the built-in suite has.
pub fn scenario_count() -> usize {
    FILES
        .iter()
        .filter(|(path, _)| path.ends_with(".yaml"))
        .count()
}

/// The directory the built-in suite is (or is now) written to:
/// `$XDG_CACHE_HOME/jpki-sim/suite-HASH`, else `~/.cache/...`, else under the temporary
/// directory. Written once per suite version: an existing directory of the same hash is used
/// as it is.
pub fn extract() -> Result<PathBuf, ExtractError> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("jpki-sim");
    let dir = base.join(format!("suite-{HASH:016x}"));
    if complete(&dir) {
        return Ok(dir);
    }
    // Written beside its final name and renamed, so that a reader never sees half a suite.
    let partial = base.join(format!("suite-{HASH:016x}.partial-{}", std::process::id()));
    let fail = |source| ExtractError {
        dir: dir.clone(),
        source,
    };
    for (path, text) in FILES {
        let file = partial.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&file, text).map_err(fail)?;
    }
    match std::fs::rename(&partial, &dir) {
        Ok(()) => Ok(dir),
        // Another process finished first: its copy is the same suite.
        Err(_) if complete(&dir) => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(dir)
        }
        Err(err) => Err(fail(err)),
    }
}

/// Whether every file of the suite is in `dir`.
fn complete(dir: &Path) -> bool {
    FILES.iter().all(|(path, _)| dir.join(path).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_suite_is_the_checkouts() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        assert!(scenario_count() > 50, "{}", scenario_count());
        for (path, text) in FILES {
            let on_disk = std::fs::read_to_string(root.join(path)).unwrap();
            assert_eq!(&on_disk, text, "{path}");
        }
        assert!(FILES.iter().any(|(path, _)| *path == "schema.json"));
    }
}
