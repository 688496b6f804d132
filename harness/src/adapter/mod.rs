//! Adapters: any SDK or PF as a separate process speaking JSON lines, or an HTTP endpoint taking
//! the same messages (docs/adapter-protocol.md, DESIGN §5). The harness side reaches them through
//! an [`AdapterLink`] ([`process`] or [`http`]) and drives them ([`remote`]); [`serve`] and
//! [`serve_http`] are the adapter side, which `jpki-sim adapter ref-sdk|ref-pf [--listen ADDR]`
//! runs over the bundled reference implementations.

pub mod bridge;
pub mod http;
pub mod link;
pub mod process;
pub mod protocol;
pub mod remote;
pub mod serve;
pub mod serve_http;

pub use http::HttpAdapter;
pub use link::AdapterLink;
pub use process::ProcessAdapter;
pub use protocol::Role;
pub use remote::{RemotePlatform, RemoteSdk};

use crate::scenario::Feature;

/// An adapter failed as a program, or refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// `sh -c COMMAND` could not be started.
    #[error("cannot start the adapter `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The process died, wrote something that is not a message, or did not answer in time; or
    /// the HTTP adapter could not be reached, answered an error status or a body that is not a
    /// message. `stderr` is a process's last lines, `None` for an HTTP adapter.
    #[error("the adapter broke: {detail}{}", stderr_suffix(.stderr.as_deref()))]
    Broken {
        detail: String,
        stderr: Option<String>,
    },
    /// The adapter answered with an `error` instead of a result.
    #[error("the adapter could not do it ({code:?}): {message}")]
    Refused {
        code: protocol::ErrorCode,
        message: String,
    },
    /// The `result` does not have the shape the operation returns.
    #[error("the adapter's result does not parse: {0}")]
    BadResult(String),
}

/// Which role a feature belongs to: a scenario's feature is covered by the adapter playing
/// that role (or by the bundled reference when no adapter does).
pub fn feature_role(feature: Feature) -> Role {
    use Feature::*;
    match feature {
        Pcsc | SignKey | TextAp | VisualAp | PinChange | CardRemoval => Role::Sdk,
        Ocsp | Crl | LatestInfo | Linkage | Faults | WorldClock => Role::Pf,
    }
}

fn stderr_suffix(stderr: Option<&str>) -> String {
    match stderr {
        None => String::new(),
        Some("") => "; its stderr was empty".to_owned(),
        Some(stderr) => format!("; its stderr ended with:\n{stderr}"),
    }
}
