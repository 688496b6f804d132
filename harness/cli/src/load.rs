//! `jpki-sim load`: the throughput of a system under test, or (`--merge`) the results of
//! several generators as one. Exit 0 when the error rate is within `--max-error-rate`, 1 when it
//! is not or the SUT could not be prepared, 2 when the harness itself failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use load_mode::config::{parse_key, parse_via};
use load_mode::{html, merge, LoadConfig, LoadOp, LoadReport, Stop, SutSpec};
use vocab::{KeyKind, StatusChannel};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("stop").args(["duration", "ops"])))]
pub struct LoadArgs {
    /// The operation to repeat: enrol, status, latest-info (PF) or sign (SDK).
    #[arg(long, value_name = "OP", required_unless_present = "merge", value_parser = parse_op)]
    pub op: Option<LoadOp>,
    /// Who answers: ref-pf or ref-sdk (the bundled reference, in process; the default for the
    /// operation's role), or an adapter as for `jpki-sim run --sut`: pf=COMMAND / sdk=COMMAND
    /// (a process per worker) or pf=URL / sdk=URL (an HTTP session per worker)
    /// (docs/adapter-protocol.md).
    #[arg(long, value_name = "ADAPTER", value_parser = parse_sut)]
    pub sut: Option<SutSpec>,
    /// Cards provisioned and used in turn.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub cards: usize,
    /// Workers running at once, each with its own PF, SDK or adapter process. Default: one per
    /// core.
    #[arg(long, value_name = "C")]
    pub concurrency: Option<usize>,
    /// How long to measure (10s, 1m, ...). Default: 10s.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after K operations in total instead.
    #[arg(long, value_name = "K")]
    pub ops: Option<u64>,
    /// Operations run before measuring, for this long.
    #[arg(long, value_name = "D", default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// The certificate PF operations use, or the key sign uses: sign or auth.
    #[arg(long, value_name = "KEY", default_value = "sign", value_parser = parse_key_arg)]
    pub key: KeyKind,
    /// How status is checked: ocsp or crl.
    #[arg(long, value_name = "CHANNEL", default_value = "ocsp", value_parser = parse_via_arg)]
    pub via: StatusChannel,
    /// Exit 1 when more than this fraction of operations fail (0 to 1; 0.01 is 1 %).
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub max_error_rate: f64,
    /// Seconds an adapter may take to answer one request before it counts as broken.
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub timeout: u64,
    /// Where derived RSA keys are cached across runs.
    #[arg(long, value_name = "FILE", env = "JPKI_SIM_KEY_CACHE")]
    pub key_cache: Option<PathBuf>,
    /// Cards draw their key pairs from a pool of N (certificates, serials and holders stay one
    /// per card): thousands of cards without thousands of key generations.
    #[arg(long, value_name = "N", default_value_t = load_mode::config::DEFAULT_KEY_POOL,
          value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "distinct_keys")]
    pub key_pool: u32,
    /// Every card its own key pairs, as in a real population (a cold start generates six per
    /// card).
    #[arg(long)]
    pub distinct_keys: bool,
    /// Write the results as JSON (versioned; the input of --merge).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write an HTML page with a latency histogram and throughput over time.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Merge the JSON results of generators that ran at the same time, instead of running.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 1..,
        conflicts_with_all = ["op", "sut", "concurrency", "duration", "ops"]
    )]
    pub merge: Vec<PathBuf>,
}

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let report = if args.merge.is_empty() {
        match measure(&args)? {
            Ok(report) => report,
            Err(sut_fault) => {
                eprintln!("jpki-sim: {sut_fault:#}");
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        let inputs = args
            .merge
            .iter()
            .map(|path| Ok((path.clone(), merge::read(path)?)))
            .collect::<Result<Vec<_>, merge::MergeError>>()?;
        let merged = merge::merge(&inputs)?;
        if let Some(warning) = merged.overlap_warning() {
            eprintln!("jpki-sim: warning: {warning}");
        }
        merged
    };
    print!("{}", report.summary());
    write(args.json.as_deref(), || report.to_json())?;
    write(args.html.as_deref(), || html::render(&report))?;
    Ok(verdict(&report, args.max_error_rate))
}

/// Runs the load; the inner `Err` is a fault of the system under test (exit 1).
fn measure(args: &LoadArgs) -> anyhow::Result<Result<LoadReport, anyhow::Error>> {
    let op = args
        .op
        .context("--op is required unless --merge is given")?;
    let mut config = LoadConfig::new(op, args.sut.clone().unwrap_or(SutSpec::reference_for(op)));
    config.cards = args.cards;
    if let Some(concurrency) = args.concurrency {
        config.concurrency = concurrency;
    }
    config.stop = match (args.duration, args.ops) {
        (_, Some(ops)) => Stop::Ops(ops),
        (Some(duration), None) => Stop::Duration(duration),
        (None, None) => config.stop,
    };
    config.warmup = args.warmup;
    config.key = args.key;
    config.via = args.via;
    config.adapter_timeout = Duration::from_secs(args.timeout.max(1));
    config.key_pool = if args.distinct_keys {
        None
    } else {
        std::num::NonZeroU32::new(args.key_pool)
    };
    if let Some(cache) = &args.key_cache {
        config.key_cache = Some(cache.clone());
    }
    match load_mode::run(&config) {
        Ok(report) => Ok(Ok(report)),
        Err(err) if err.is_sut_fault() => Ok(Err(anyhow::Error::new(err))),
        Err(err) => Err(anyhow::Error::new(err).context("the load run failed")),
    }
}

/// 0 within the error budget, 1 beyond it or when nothing completed.
fn verdict(report: &LoadReport, max_error_rate: f64) -> ExitCode {
    match report.within_budget(max_error_rate) {
        Ok(()) => ExitCode::SUCCESS,
        Err(over) => {
            eprintln!("jpki-sim: {over}");
            ExitCode::from(1)
        }
    }
}

fn write(path: Option<&Path>, render: impl FnOnce() -> String) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, render())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn parse_op(text: &str) -> Result<LoadOp, String> {
    text.parse()
        .map_err(|err: load_mode::config::ParseError| err.to_string())
}

fn parse_sut(text: &str) -> Result<SutSpec, String> {
    text.parse()
        .map_err(|err: load_mode::config::ParseError| err.to_string())
}

fn parse_key_arg(text: &str) -> Result<KeyKind, String> {
    parse_key(text).map_err(|err| err.to_string())
}

fn parse_via_arg(text: &str) -> Result<StatusChannel, String> {
    parse_via(text).map_err(|err| err.to_string())
}

/// `10s`, `1m30s`, `2h`: as the world clock takes durations.
fn parse_duration(text: &str) -> Result<Duration, String> {
    mock_jlis::clock::parse_duration(text).map_err(|err| err.to_string())
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a fraction from 0 to 1 (0.01 is 1 %)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_fractions() {
        assert_eq!(parse_rate("0.01"), Ok(0.01));
        assert_eq!(parse_rate("1"), Ok(1.0));
        assert!(parse_rate("5%").is_err());
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("NaN").is_err());
    }
}
