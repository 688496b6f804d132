//! The conformance runner: the scenario language (YAML files under `scenarios/`), the runner
//! that plays each scenario against an SDK and a PF in a fresh world and checks every answer,
//! adapters' known divergences, and the reports (JUnit, JSON, HTML).

pub mod adapter_check;
pub mod report;
pub mod runner;
pub mod scenario;
