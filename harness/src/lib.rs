//! The `jpki-sim` command: server wiring, card attachment and (later) the scenario runner.
//!
//! Everything here is thin glue over the `sim-card`, `mock-ca` and `mock-jlis` libraries.

pub mod adapter;
pub mod cli;
pub mod http_agent;
pub mod load;
pub mod platform;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sdk;
pub mod server;

/// An error and its causes, `: `-separated, for reports and adapter answers.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
