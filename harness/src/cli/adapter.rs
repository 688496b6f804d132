//! `jpki-sim adapter ref-sdk|ref-pf`: the bundled reference SDK or PF as an adapter process,
//! speaking the adapter protocol on stdin and stdout (docs/adapter-protocol.md). Exits 0 after
//! `bye` or the end of input, non-zero only when the protocol itself breaks.

use std::process::ExitCode;

use anyhow::Context;

use crate::adapter::serve::{serve, Served};
use crate::platform::reference::Mutant;

#[derive(Debug, clap::Args)]
pub struct AdapterArgs {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// The reference SDK, reaching cards over the APDU bridge URL of each request.
    RefSdk,
    /// The reference PF.
    RefPf {
        /// Make this mutant's deliberate mistake (for checking that a suite catches it).
        #[arg(long, value_name = "NAME")]
        mutant: Option<Mutant>,
    },
}

pub fn run(args: AdapterArgs) -> anyhow::Result<ExitCode> {
    let served = match args.which {
        Which::RefSdk => Served::Sdk,
        Which::RefPf { mutant } => Served::Pf(mutant),
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    serve(served, stdin, stdout).context("the adapter protocol broke")?;
    Ok(ExitCode::SUCCESS)
}
