//! `jpki-sim run`: the conformance suite against the bundled reference SDK and PF, with
//! reports. Exit 0 when every outcome is as expected (passes, skips, scenarios the system under
//! test took no part in, known divergences), 1 on unexpected ones, 2 when the harness itself
//! failed (docs/contracts.md §3).
//!
//! With `--mutants` (or `--mutant NAME`), a passing suite is then run against deliberately wrong
//! variants of the reference PF: each must fail at least one scenario (be killed), or the run
//! exits 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use conformance::report::{html, json, junit, Tally};
use conformance::runner::{run_suite, run_suite_until, Expectations, RunConfig, ScenarioResult};
use conformance::scenario::LoadedScenario;

use crate::{interrupt, select};
use reference::ReferenceMutant;
use vocab::Role;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Suite directories (`<area>/<name>.yaml` under each), area directories (`scenarios/card`),
    /// single scenario files, or scenario ids (`revocation/ocsp_loss_window`) and areas (`card`)
    /// of the suite root (`JPKI_SIM_SCENARIOS`, default `scenarios`). Default: the suite root.
    #[arg(value_name = "PATH|ID")]
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose id matches PATTERN (`*` matches anything; a word without `*`
    /// matches ids containing it). Repeatable: any may match.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,
    /// Print the selected scenarios' ids and descriptions, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Start no further scenario after the first unexpected outcome (those running finish);
    /// the reports cover what ran.
    #[arg(long)]
    pub fail_fast: bool,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML conformance matrix to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Scenarios run at once. Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Seconds one step may take before its scenario counts as hung.
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub step_timeout: u64,
    /// Where derived RSA keys are cached across runs.
    #[arg(long, value_name = "FILE", env = "JPKI_SIM_KEY_CACHE")]
    pub key_cache: Option<PathBuf>,
    /// Run only shard I of N (1-based): scenario k of the id-sorted suite belongs to shard
    /// k mod N + 1, so N CI runners with `--shard 1/N` … `--shard N/N` cover the suite once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Then run the suite against every mutant of the reference PF and SDK; exit 1 if one
    /// survives.
    #[arg(long)]
    pub mutants: bool,
    /// Then run the suite against this mutant (repeatable; SDK mutants are named `sdk-...`);
    /// exit 1 if it survives.
    #[arg(long, value_name = "NAME")]
    pub mutant: Vec<ReferenceMutant>,
    /// An adapter playing a role instead of the bundled reference: `pf=COMMAND` or
    /// `sdk=COMMAND`, run with `sh -c` once per scenario, or `pf=URL` (`http://...`), an HTTP
    /// adapter with a session per scenario (docs/adapter-protocol.md). Repeat for both roles.
    #[arg(long, value_name = "ROLE=COMMAND|URL")]
    pub sut: Vec<adapter_protocol::AdapterSpec>,
    /// The adapter's known divergences (docs/adapter-protocol.md): a listed failure is expected,
    /// a listed pass is not. Its `adapter:` names the adapter in reports.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<PathBuf>,
    /// The adapter's name in reports (the matrix column), instead of the expectations file's
    /// `adapter:` or the adapter command.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Serve each scenario's world and APDU bridge on this address (a free port each) instead
    /// of 127.0.0.1, so that a PF, an SDK or a phone on another machine reaches them. Off
    /// loopback it needs --admin-token; every interface (`0.0.0.0`, `::`) needs --advertise.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
    /// The host name or address clients reach this machine by, written into the worlds' URLs and
    /// certificates. Default: the --listen address.
    #[arg(long, value_name = "HOST")]
    pub advertise: Option<String>,
    /// The token that guards the worlds' admin routes and the APDU bridges off loopback; adapters
    /// are given it in `hello` (`environment.admin_token`).
    #[arg(
        long,
        env = "JPKI_SIM_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub admin_token: Option<String>,
    /// Put the cards of scenarios with `sdk` steps in the four vpcd readers of
    /// `scripts/pcscd.sh` ("Virtual PCD 00 00" on 127.0.0.1:35963 ... "Virtual PCD B 00 01" on
    /// 35966), leased per scenario (docs/pcsc.md).
    #[arg(long)]
    pub pcsc: bool,
    /// A PC/SC reader to put cards in: its name as pcscd lists it and its vpcd slot's address
    /// (repeatable; with --pcsc, in addition to its four).
    #[arg(
        long,
        value_name = "NAME=HOST:PORT",
        value_parser = conformance::runner::readers::ReaderSlot::parse
    )]
    pub reader: Vec<conformance::runner::readers::ReaderSlot>,
    /// Colour the outcome of each result line: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: Colour,
}

/// When result lines are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Colour {
    /// On a terminal, unless `NO_COLOR` is set (no-color.org).
    Auto,
    /// Always, for a CI log that renders ANSI colours.
    Always,
    /// Never.
    Never,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    // Watching from the start: a Ctrl-C while the suite loads still ends with reports (empty).
    let interrupted = interrupt::Watch::start();
    let paths = select::resolve(&args.paths)?;
    let scenarios = match select::load(&paths) {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            select::print_problems(&errors, "; nothing was run");
            return Ok(ExitCode::from(2));
        }
    };
    let whole_suites =
        args.filter.is_empty() && paths.iter().all(|path| select::is_suite_root(path));
    let scenarios = select::filter(scenarios, &args.filter)?;
    if args.list {
        crate::print_out(&listing(&scenarios))?;
        return Ok(ExitCode::SUCCESS);
    }
    // A report that cannot be written is found out now, not after the whole run. `-` is
    // stdout, and then the result lines go to stderr so that the report can be piped.
    let reports: Vec<&PathBuf> = [&args.junit, &args.json, &args.html]
        .into_iter()
        .flatten()
        .collect();
    let to_stdout = reports.iter().filter(|path| is_stdout(path)).count();
    anyhow::ensure!(to_stdout <= 1, "only one report can go to stdout (-)");
    for path in reports.iter().filter(|path| !is_stdout(path)) {
        prepare_report(path)?;
    }
    let say = |text: &str| {
        if to_stdout == 1 {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    let colour = match args.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => {
            use std::io::IsTerminal;
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let terminal = if to_stdout == 1 {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            terminal && !no_color
        }
    };
    let expectations = match &args.expectations {
        Some(path) => match Expectations::load(path) {
            Ok(expectations) => Some(expectations),
            Err(error) => {
                eprintln!("error: {error}");
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    // A stale entry is only certain against whole suites: a shard or single files leave
    // entries unmatched legitimately, and a glob may cover scenarios not loaded. Stale too:
    // an entry covering only scenarios without a step of the role under test, which could
    // only ever come out not exercised.
    if let (Some(expectations), None, true) = (&expectations, args.shard, whole_suites) {
        let under_test: Vec<Role> = [Role::Sdk, Role::Pf]
            .into_iter()
            .filter(|role| args.sut.iter().any(|sut| sut.role == *role))
            .collect();
        let mut stale = expectations.unmatched(scenarios.iter().map(|s| &s.id));
        stale.extend(expectations.not_exercised(&scenarios, &under_test));
        if !stale.is_empty() {
            for error in &stale {
                eprintln!("error: {error}");
            }
            eprintln!(
                "{} stale expectations in {}; nothing was run",
                stale.len(),
                expectations.path.display()
            );
            return Ok(ExitCode::from(2));
        }
    }
    let scenarios = match args.shard {
        Some(shard) => shard.select(scenarios),
        None => scenarios,
    };
    let mut config = RunConfig::reference();
    config.exposure = served_world::Exposure::new(
        args.listen,
        args.advertise.clone(),
        args.admin_token.clone(),
    )?;
    if let Some(jobs) = args.jobs {
        config.jobs = usize::from(jobs);
    }
    config.step_timeout = Duration::from_secs(args.step_timeout.max(1));
    if let Some(cache) = &args.key_cache {
        config.key_cache = Some(cache.clone());
    }
    if args.pcsc {
        config.readers = conformance::runner::readers::ReaderSlot::pcscd_sh();
    }
    for reader in &args.reader {
        anyhow::ensure!(
            !config
                .readers
                .iter()
                .any(|r| r.vpcd == reader.vpcd || r.name == reader.name),
            "--reader {:?}={}: that reader is already configured",
            reader.name,
            reader.vpcd
        );
        config.readers.push(reader.clone());
    }
    for sut in &args.sut {
        let slot = match sut.role {
            Role::Sdk => &mut config.sut_sdk,
            Role::Pf => &mut config.sut_pf,
        };
        anyhow::ensure!(slot.is_none(), "--sut names the {:?} role twice", sut.role);
        *slot = Some(sut.target.clone());
    }
    if !args.sut.is_empty() {
        config.adapter = args
            .sut
            .iter()
            .map(|sut| sut.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        anyhow::ensure!(
            !args.mutants && args.mutant.is_empty(),
            "--mutant/--mutants vary the in-process reference PF and SDK; with --sut, give a PF mutant to the adapter (jpki-sim adapter ref-pf --mutant NAME)"
        );
    }
    if let Some(name) = args
        .name
        .clone()
        .or_else(|| expectations.as_ref().map(|e| e.adapter.clone()))
    {
        config.adapter = name;
    }
    let progress = ProgressLine::start(scenarios.len());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let late = std::sync::Mutex::new(Vec::<String>::new());
    let results = std::thread::scope(|scope| {
        // Ctrl-C starts no further scenario; a second one quits at once.
        scope.spawn(|| {
            if interrupted.wait() {
                progress.suspend(|| {
                    eprintln!(
                        "jpki-sim: interrupted: finishing the running scenarios, then writing \
                         the reports of those that finished before (Ctrl-C again to quit now)"
                    );
                });
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let results = run_suite_until(
            &scenarios,
            &config,
            &|result| {
                if interrupted.happened() {
                    // Finished after Ctrl-C, which the adapters' processes got too: not a
                    // result to report.
                    late.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(result.id.to_string());
                    return;
                }
                let shown = match &expectations {
                    Some(expectations) => expectations.apply(result.clone()),
                    None => result.clone(),
                };
                let expected = shown.outcome.is_expected();
                // Each result as it finishes; the unexpected ones again at the end.
                progress.suspend(|| say(&line(&shown, colour)));
                progress.record(expected);
                if !expected && args.fail_fast {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            },
            &stop,
        );
        interrupted.release();
        results
    });
    progress.finish();
    let late = late.into_inner().unwrap_or_else(|e| e.into_inner());
    let results: Vec<ScenarioResult> = results
        .context("cannot run the suite")?
        .into_iter()
        .filter(|result| !late.contains(&result.id.to_string()))
        .collect();
    let results: Vec<ScenarioResult> = match &expectations {
        Some(expectations) => results.into_iter().map(|r| expectations.apply(r)).collect(),
        None => results,
    };
    let mut unexpected: Vec<&ScenarioResult> = results
        .iter()
        .filter(|result| !result.outcome.is_expected())
        .collect();
    unexpected.sort_by(|a, b| a.id.cmp(&b.id));
    if !unexpected.is_empty() {
        // Indented under its heading: the lines above stay the one list of results.
        say(&format!("\n{} unexpected:", unexpected.len()));
        for result in unexpected {
            say(&format!("  {}", line(result, colour)));
        }
    }
    // Named as the user would: relative to here when under here, not by a machine's path.
    let here = std::env::current_dir().ok();
    let mut suite = paths
        .iter()
        .map(|p| {
            here.as_deref()
                .and_then(|here| p.strip_prefix(here).ok())
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let cut_short = results.len() < scenarios.len();
    if cut_short {
        suite += &format!(
            " ({} of {} scenarios reported)",
            results.len(),
            scenarios.len()
        );
    }
    write_report(args.junit.as_deref(), || junit::render(&suite, &results))?;
    write_report(args.json.as_deref(), || json::render(&suite, &results))?;
    write_report(args.html.as_deref(), || html::render(&suite, &results))?;
    if interrupted.happened() {
        let tally = Tally::of(&results);
        say(&tally.line());
        eprintln!(
            "jpki-sim: interrupted after {} of {} scenarios; the reports cover those",
            results.len(),
            scenarios.len()
        );
        return Ok(ExitCode::from(130));
    }
    if cut_short {
        eprintln!(
            "jpki-sim: --fail-fast: stopped after the first unexpected outcome; {} of {} \
             scenarios ran",
            results.len(),
            scenarios.len()
        );
    }
    let tally = Tally::of(&results);
    say(&tally.line());
    if tally.errors > 0 {
        say(&format!("{} harness errors", tally.errors));
        return Ok(ExitCode::from(2));
    }
    if !results.iter().all(|r| r.outcome.is_expected()) {
        return Ok(ExitCode::from(1));
    }
    let mutants = if args.mutants {
        ReferenceMutant::all()
    } else {
        args.mutant.clone()
    };
    if mutants.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let verdicts = mutants
        .into_iter()
        .map(|mutant| {
            let config = config.against(mutant);
            let results = run_suite(&scenarios, &config)
                .with_context(|| format!("cannot run the suite against mutant {mutant}"))?;
            Ok(MutantVerdict::of(mutant, &results))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    say(mutant_table(&verdicts).trim_end());
    Ok(if verdicts.iter().all(MutantVerdict::killed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What the suite did to one mutant: the scenarios that noticed its mistake, in suite order.
struct MutantVerdict {
    mutant: ReferenceMutant,
    failed: Vec<String>,
}

impl MutantVerdict {
    fn of(mutant: ReferenceMutant, results: &[ScenarioResult]) -> MutantVerdict {
        MutantVerdict {
            mutant,
            failed: results
                .iter()
                .filter(|r| !r.outcome.is_expected())
                .map(|r| r.id.to_string())
                .collect(),
        }
    }

    /// Killed: at least one scenario failed, hung or errored against it.
    fn killed(&self) -> bool {
        !self.failed.is_empty()
    }
}

/// `mutant | killed by | scenarios failed` rows and the `kill rate: K/N` line.
fn mutant_table(verdicts: &[MutantVerdict]) -> String {
    let width = verdicts
        .iter()
        .map(|v| v.mutant.name().len())
        .chain(["mutant".len()])
        .max()
        .unwrap_or(0);
    let by_width = verdicts
        .iter()
        .filter_map(|v| v.failed.first().map(String::len))
        .chain(["SURVIVED".len(), "killed by".len()])
        .max()
        .unwrap_or(0);
    let mut table = format!(
        "{:<width$} | {:<by_width$} | scenarios failed\n",
        "mutant", "killed by"
    );
    for verdict in verdicts {
        let by = verdict.failed.first().map_or("SURVIVED", String::as_str);
        table += &format!(
            "{:<width$} | {by:<by_width$} | {}\n",
            verdict.mutant.name(),
            verdict.failed.len()
        );
    }
    let killed = verdicts.iter().filter(|v| v.killed()).count();
    table += &format!("kill rate: {killed}/{}\n", verdicts.len());
    table
}

/// One of N deterministic parts of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The scenarios of this shard, by position in id order.
    pub fn select(self, mut scenarios: Vec<LoadedScenario>) -> Vec<LoadedScenario> {
        scenarios.sort_by_cached_key(|s| s.id.to_string());
        scenarios
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % self.count + 1 == self.index)
            .map(|(_, s)| s)
            .collect()
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("{text:?} is not a shard: expected I/N with 1 <= I <= N, e.g. 2/4");
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let index: usize = index.trim().parse().map_err(|_| bad())?;
    let count: usize = count.trim().parse().map_err(|_| bad())?;
    if count == 0 || index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// `pass    card/auth_pin_lockout`, with the reason for anything else (`not_exercised
/// card/x  not exercised: the PF under test answered none of its steps`); with `colour`, the
/// outcome's name in ANSI colour (green as expected, red not, yellow a known divergence).
fn line(result: &ScenarioResult, colour: bool) -> String {
    use conformance::runner::Outcome;
    let name = result.outcome.name();
    let padded = format!("{name:<7}");
    let name = if colour {
        let code = match &result.outcome {
            Outcome::Pass => "32",
            Outcome::KnownDivergence { .. } => "33",
            Outcome::Skipped { .. } | Outcome::NotExercised { .. } => "2",
            Outcome::UnexpectedPass { .. } => "35",
            _ => "1;31",
        };
        format!("\x1b[{code}m{padded}\x1b[0m")
    } else {
        padded
    };
    if result.outcome == Outcome::Pass {
        format!("{name} {}", result.id)
    } else {
        format!("{name} {}  {}", result.id, result.summary())
    }
}

/// Characters of a description `--list` shows.
const LISTED_DESCRIPTION: usize = 90;

/// `card/auth_pin_lockout  Three wrong PINs block the auth PIN`, one line per scenario.
fn listing(scenarios: &[LoadedScenario]) -> String {
    let width = scenarios
        .iter()
        .map(|s| s.id.to_string().len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for scenario in scenarios {
        let description = scenario
            .scenario
            .description
            .lines()
            .next()
            .unwrap_or("")
            .trim();
        let description = match description.char_indices().nth(LISTED_DESCRIPTION) {
            Some((cut, _)) => format!("{}…", &description[..cut]),
            None => description.to_owned(),
        };
        text += &format!("{:<width$}  {description}\n", scenario.id.to_string());
    }
    text
}

/// Makes the directory a report goes into, and checks the file can be created there.
fn prepare_report(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the report directory {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    Ok(())
}

/// `-`: the report goes to stdout.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn write_report(path: Option<&Path>, render: impl FnOnce() -> String) -> anyhow::Result<()> {
    if path.is_some_and(is_stdout) {
        crate::print_out(&render())?;
        return Ok(());
    }
    if let Some(path) = path {
        std::fs::write(path, render())
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    Ok(())
}

/// A progress bar on stderr while the suite runs, when stderr is a terminal: scenarios done of
/// all, and how many came out other than expected so far. Hidden otherwise, so that CI logs and
/// piped output stay clean.
struct ProgressLine {
    bar: indicatif::ProgressBar,
    unexpected: std::sync::atomic::AtomicUsize,
}

impl ProgressLine {
    fn start(total: usize) -> ProgressLine {
        use std::io::IsTerminal;
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} scenarios, {msg} [{elapsed}]",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_message("0 failed");
        ProgressLine {
            bar,
            unexpected: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// One scenario finished; `expected` as its outcome (after expectations) is.
    fn record(&self, expected: bool) {
        if !expected {
            let failed = self
                .unexpected
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            self.bar.set_message(format!("{failed} failed"));
        }
        self.bar.inc(1);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Prints around the bar without tearing it.
    fn suspend(&self, print: impl FnOnce()) {
        self.bar.suspend(print);
    }
}
