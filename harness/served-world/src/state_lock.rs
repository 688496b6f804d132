//! One server per state directory. Two servers on one `--state` would each keep their own view of
//! the world in memory and overwrite the other's commits, so an acknowledged event could vanish
//! on the next restart. The first server holds an exclusive lock on `DIR/lock` (an advisory
//! `flock`, released by the kernel however the process ends, `kill -9` included) and writes its
//! pid there; a second one is refused, naming it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the state directory could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum StateLockError {
    /// Another process holds the directory.
    #[error(
        "state directory {dir} is in use by another jpki-sim server{}: stop it, or give this one \
         another --state",
        holder.as_ref().map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse {
        /// The state directory.
        dir: PathBuf,
        /// The pid the holder wrote, if it could be read.
        holder: Option<String>,
    },
    /// The lock file could not be created, opened or written.
    #[error("cannot lock state directory {dir}")]
    Io {
        /// The state directory.
        dir: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// The lock on a state directory, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes `dir` (created if missing) for this process, or says who has it.
    pub fn acquire(dir: &Path) -> Result<StateLock, StateLockError> {
        let io = |source| StateLockError::Io {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(dir.join("lock")).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let holder = file
                    .read_to_string(&mut pid)
                    .ok()
                    .map(|_| pid.trim().to_owned())
                    .filter(|pid| !pid.is_empty());
                return Err(StateLockError::InUse {
                    dir: dir.to_owned(),
                    holder,
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = StateLock::acquire(&state).unwrap();
        let err = StateLock::acquire(&state).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("(pid {})", std::process::id())),
            "{message}"
        );
        assert!(message.contains("in use"), "{message}");
        drop(first);
        StateLock::acquire(&state).unwrap();
    }
}
