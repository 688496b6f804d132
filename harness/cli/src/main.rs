//! `jpki-sim`: a My Number Card and JPKI simulator for testing software without a physical card.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = jpki_sim::Cli::parse();
    jpki_sim::init_tracing(&cli);
    match jpki_sim::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("jpki-sim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
