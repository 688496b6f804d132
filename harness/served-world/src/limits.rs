//! How much the listener gives any one client: the time to send a request head and a body, how
//! many connections may be open at once, how long the accept queue is. Defaults are documented in
//! docs/reliability.md; `jpki-sim up` takes each as a flag.

use std::time::Duration;

/// The listener's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A connection must deliver a complete request head within this time of the server starting
    /// to wait for one — after connecting, and again after each answer on a kept-alive
    /// connection — or it is closed. So it is also the keep-alive idle timeout.
    pub header_timeout: Duration,
    /// A request's body must have arrived within this time of its head; later it gets
    /// `408 request_timeout` and the connection is closed.
    pub body_timeout: Duration,
    /// Connections open at once. A new one beyond this closes the longest-idle connection (one
    /// between requests); when none is idle it is answered `503 too_many_connections`.
    pub max_connections: usize,
    /// The TCP accept queue asked of the kernel (which caps it at `net.core.somaxconn`).
    pub backlog: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 2048,
            backlog: 1024,
        }
    }
}

/// Connections beyond [`Limits::max_connections`] that are still read far enough to be told
/// `503`; more than this at once are closed unanswered.
pub(crate) const OVERFLOW_CONNECTIONS: usize = 256;

/// How long an over-capacity connection has to send its request head before it is closed.
pub(crate) const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// File descriptors kept back from connections for the world itself (its database, key cache,
/// vpcd links, logs).
const RESERVED_FILES: u64 = 128;

/// The open-file limit once raised, and what it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit now in force.
    pub soft: u64,
    /// The soft limit before start-up raised it.
    pub before: u64,
}

impl OpenFiles {
    /// The most connections this limit can hold with the world's own files and the overflow
    /// answers kept back.
    pub fn connection_capacity(self) -> usize {
        let spare = self
            .soft
            .saturating_sub(RESERVED_FILES + OVERFLOW_CONNECTIONS as u64);
        usize::try_from(spare).unwrap_or(usize::MAX)
    }
}

/// Raises the open-file soft limit to the hard limit (a process may always do that), so that
/// the connection cap, not the default 1,024 descriptors, is what bounds clients. Returns the
/// limit in force; where it cannot be read or raised, the limit as it is.
pub fn raise_open_file_limit() -> OpenFiles {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    if limit.current == limit.maximum {
        return OpenFiles {
            soft: before,
            before,
        };
    }
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => OpenFiles {
            soft: limit.maximum.unwrap_or(u64::MAX),
            before,
        },
        Err(err) => {
            tracing::warn!(%err, "cannot raise the open-file limit");
            OpenFiles {
                soft: before,
                before,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capacity_keeps_files_back_for_the_world_and_the_overflow_answers() {
        let files = OpenFiles {
            soft: 1024,
            before: 1024,
        };
        assert_eq!(files.connection_capacity(), 1024 - 128 - 256);
        let tiny = OpenFiles {
            soft: 100,
            before: 100,
        };
        assert_eq!(tiny.connection_capacity(), 0);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let files = raise_open_file_limit();
        assert!(files.soft >= files.before);
        // Raised once, a second call finds it at the hard limit already.
        assert_eq!(raise_open_file_limit().soft, files.soft);
    }
}
