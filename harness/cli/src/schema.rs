//! `jpki-sim schema`: the JSON Schemas of the contracts others write against — scenario files,
//! the JSON report, adapter protocol messages — for editors and validators outside a checkout.
//! The same text as the committed `scenarios/schema.json`, `harness/conformance/schema/report.json`
//! and `harness/protocol/schema/adapter-protocol.json`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value = "scenario")]
    pub which: Which,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// Scenario files (YAML).
    Scenario,
    /// The JSON report of `run --json`.
    Report,
    /// Adapter protocol messages (docs/adapter-protocol.md).
    Adapter,
}

pub fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let text = match args.which {
        Which::Scenario => conformance::scenario::schema::render(),
        Which::Report => conformance::report::schema::render(),
        Which::Adapter => adapter_protocol::schema::render(),
    };
    crate::print_out(&text)?;
    Ok(ExitCode::SUCCESS)
}
