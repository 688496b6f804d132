//! The adapter protocol: how any SDK or PF, as a separate process speaking JSON lines or an HTTP
//! endpoint taking the same messages, plugs into the harness (docs/adapter-protocol.md).
//!
//! [`wire`] is the contract itself — the messages both ends exchange, with a JSON Schema third
//! parties can check against ([`schema`], committed as `schema/adapter-protocol.json`). The
//! harness's end reaches an adapter through an [`AdapterLink`] ([`process`] or [`http`]) and
//! drives it as a [`vocab::Platform`] or an SDK ([`remote`]); [`spec`] parses how a user names
//! one (`--sut ROLE=COMMAND|URL`). The adapter's end over the bundled reference implementations
//! lives in the `reference` crate.

pub mod http;
pub mod http_agent;
pub mod link;
pub mod process;
pub mod remote;
pub mod schema;
pub mod spec;
pub mod wire;

pub use http::HttpAdapter;
pub use link::AdapterLink;
pub use process::ProcessAdapter;
pub use remote::{RemotePlatform, RemoteSdk};
pub use spec::{AdapterSpec, AdapterSpecError};
pub use vocab::Role;
pub use wire::*;

/// An adapter failed as a program, or refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// `sh -c COMMAND` could not be started.
    #[error("cannot start the adapter `{command}`")]
    Spawn {
        /// The adapter command as given to `--sut`.
        command: String,
        /// Why the shell could not be started.
        #[source]
        source: std::io::Error,
    },
    /// The process died, wrote something that is not a message, or did not answer in time; or
    /// the HTTP adapter could not be reached, answered an error status or a body that is not a
    /// message. `stderr` is a process's last lines, `None` for an HTTP adapter.
    #[error("the adapter broke: {detail}{}", stderr_suffix(.stderr.as_deref()))]
    Broken {
        /// What went wrong, for the report.
        detail: String,
        /// The last lines the process wrote on stderr; `None` for an HTTP adapter.
        stderr: Option<String>,
    },
    /// The adapter answered with an `error` instead of a result.
    #[error("the adapter could not do it ({code:?}): {message}")]
    Refused {
        /// The `error`'s code.
        code: wire::ErrorCode,
        /// The `error`'s message.
        message: String,
    },
    /// The `result` does not have the shape the operation returns.
    #[error("the adapter's result does not parse: {0}")]
    BadResult(String),
}

fn stderr_suffix(stderr: Option<&str>) -> String {
    match stderr {
        None => String::new(),
        Some("") => "; its stderr was empty".to_owned(),
        Some(stderr) => format!("; its stderr ended with:\n{stderr}"),
    }
}
