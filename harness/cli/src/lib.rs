//! The `jpki-sim` command line: parses flags and wires the libraries. Command and flag names are
//! a fixed contract (docs/contracts.md §3).

mod adapter;
mod builtin_suite;
mod check;
mod interrupt;
mod load;
mod persona;
mod report;
mod run;
mod schema;
mod select;
mod shell;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sim_card::CardId;

/// `0.1.0 (commit abc123def456)`: the crate version and the commit built from (`unknown`
/// outside a git checkout).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("JPKI_SIM_COMMIT"),
    ")"
);

/// A simulated My Number Card and JPKI world (simulator only: never the real J-LIS).
#[derive(Debug, Parser)]
#[command(name = "jpki-sim", version = VERSION, about)]
pub struct Cli {
    /// Log more (repeat for debug and trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `jpki-sim`, one module each.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (APDU bridge, CA certificates, admin API) and attach cards to vpcd.
    Up(up::UpArgs),
    /// Print a card's derived persona, PINs and certificate serials.
    Persona(persona::PersonaArgs),
    /// Run conformance scenarios against the reference SDK and PF and write reports.
    Run(run::RunArgs),
    /// Load and validate scenarios (and an expectations file) without running them.
    Check(check::CheckArgs),
    /// Print the JSON Schema of scenario files, the JSON report or adapter messages.
    Schema(schema::SchemaArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the man page, or write a page per command into a directory.
    Man(shell::ManArgs),
    /// Merge the JSON reports of several runs into one conformance matrix (HTML, JUnit, JSON).
    Report(report::ReportArgs),
    /// Serve the bundled reference SDK or PF as an adapter process (JSON lines on stdin/stdout).
    Adapter(adapter::AdapterArgs),
    /// Measure a system under test's throughput (ops/s, latency percentiles), or merge results.
    Load(load::LoadArgs),
}

/// Options shared by commands that build a world.
#[derive(Debug, clap::Args)]
pub struct WorldArgs {
    /// Persist the world (keys, cards, PIN counters) in DIR/world.sqlite. Without it the world
    /// lives in memory and derived keys are cached in the user cache directory.
    #[arg(long, value_name = "DIR", env = "JPKI_SIM_STATE")]
    pub state: Option<PathBuf>,
    /// Where derived RSA keys are cached when no --state is given.
    #[arg(long, value_name = "FILE", env = "JPKI_SIM_KEY_CACHE")]
    pub key_cache: Option<PathBuf>,
    /// YAML persona overrides applied to every card given on the command line.
    #[arg(long, value_name = "FILE")]
    pub persona: Option<PathBuf>,
}

/// Runs the parsed command. `Ok` carries the exit code the command chose (`run`, `report` and
/// `load` say through it that checks failed); `Err` is what stopped the command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Persona(args) => persona::run(args),
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
        Command::Report(args) => report::run(args),
        Command::Adapter(args) => adapter::run(args),
        Command::Load(args) => load::run(args),
    }
}

/// Logs on stderr. Commands that print their own results and progress (`run`, `report`,
/// `load`) log warnings only unless `-v` is given, so the world's servers and cards starting in
/// every scenario do not bury the results; the others log from `info`.
pub fn init_tracing(cli: &Cli) {
    let quiet = matches!(
        cli.command,
        Command::Run(_) | Command::Report(_) | Command::Load(_)
    );
    let levels = ["warn", "info", "debug", "trace"];
    let level = usize::from(cli.verbose) + usize::from(!quiet);
    let default = levels[level.min(levels.len() - 1)];
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Writes `text` to stdout. A reader that went away (`| head`) is not an error: what it wanted
/// it has, so the command ends quietly instead of panicking on the broken pipe.
pub fn print_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Parses a card id with the error text users see for a bad `--card`.
pub fn parse_card_id(text: &str) -> Result<CardId, String> {
    text.parse::<CardId>().map_err(|err| err.to_string())
}

impl WorldArgs {
    /// The `--persona` file's text, checked here so errors name the file, line and column.
    pub fn persona_overrides(&self) -> anyhow::Result<Option<String>> {
        let Some(path) = &self.persona else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read persona file {}", path.display()))?;
        mock_jlis::PersonaOverrides::from_yaml_str(&text, &path.display().to_string())?;
        Ok(Some(text))
    }
}
