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
