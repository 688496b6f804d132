//! Running a suite: a small pool of workers, each running one scenario at a time on a watched
//! thread, so that a stuck adapter costs one scenario a timeout and not the whole run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use super::scenario::{run_scenario, Progress};
use super::{Outcome, RunConfig, RunError, ScenarioResult, Trace};
use crate::scenario::{LoadedScenario, Position};

/// How often the watchdog looks at a running scenario.
const POLL: Duration = Duration::from_millis(100);

/// Runs every scenario; results come back in the order given.
pub fn run_suite(
    scenarios: &[LoadedScenario],
    config: &RunConfig,
) -> Result<Vec<ScenarioResult>, RunError> {
    run_suite_observed(scenarios, config, &|_| {})
}

/// [`run_suite`], calling `on_result` with each result as its scenario finishes (from the
/// worker that ran it, in completion order): for progress shown while the suite runs.
pub fn run_suite_observed(
    scenarios: &[LoadedScenario],
    config: &RunConfig,
    on_result: &(dyn Fn(&ScenarioResult) + Sync),
) -> Result<Vec<ScenarioResult>, RunError> {
    run_suite_until(scenarios, config, on_result, &AtomicBool::new(false))
}

/// [`run_suite_observed`] that starts no further scenario once `stop` is set (Ctrl-C, or
/// `--fail-fast` after an unexpected outcome); the scenarios already running finish. The
/// results are those of the scenarios that ran, in the order given.
pub fn run_suite_until(
    scenarios: &[LoadedScenario],
    config: &RunConfig,
    on_result: &(dyn Fn(&ScenarioResult) + Sync),
    stop: &AtomicBool,
) -> Result<Vec<ScenarioResult>, RunError> {
    // The scenario servers live here; scenario threads only enter it to start them.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ScenarioResult>>> =
        Mutex::new(scenarios.iter().map(|_| None).collect());
    let workers = config.jobs.clamp(1, scenarios.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(loaded) = scenarios.get(index) else {
                    break;
                };
                let result = run_watched(loaded, config, runtime.handle());
                on_result(&result);
                results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    runtime.shutdown_background();
    // Every scenario below `started` was taken by a worker; the rest were never begun.
    let started = next.load(Ordering::SeqCst).min(scenarios.len());
    Ok(results
        .into_iter()
        .zip(scenarios)
        .take(started)
        .map(|(result, loaded)| {
            result.unwrap_or_else(|| {
                finish(
                    loaded,
                    config,
                    Outcome::Error {
                        message: "the worker running the scenario stopped".to_owned(),
                    },
                    Vec::new(),
                    Duration::ZERO,
                )
            })
        })
        .collect())
}

/// Runs one scenario on its own thread and waits for it, or for a step to overrun.
fn run_watched(
    loaded: &LoadedScenario,
    config: &RunConfig,
    runtime: &tokio::runtime::Handle,
) -> ScenarioResult {
    let started = Instant::now();
    let progress = Progress::default();
    let trace = Trace::default();
    let (done, outcome) = mpsc::channel();
    let spawned = {
        let (loaded, config, runtime) = (loaded.clone(), config.clone(), runtime.clone());
        let (progress, trace) = (progress.clone(), trace.clone());
        std::thread::Builder::new()
            .name(format!("scenario {}", loaded.id))
            .spawn(move || {
                let outcome = run_scenario(&loaded, &config, &runtime, &progress, &trace);
                let _ = done.send(outcome);
            })
    };
    if let Err(err) = spawned {
        let message = format!("cannot start a thread for the scenario: {err}");
        return finish(
            loaded,
            config,
            Outcome::Error { message },
            Vec::new(),
            started.elapsed(),
        );
    }
    let outcome = loop {
        match outcome.recv_timeout(POLL) {
            Ok(outcome) => break outcome,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Outcome::Error {
                    message: "the scenario thread panicked".to_owned(),
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some((step, since)) = progress.current() {
                    let after = since.elapsed();
                    if after > config.step_timeout {
                        // The thread is left to finish or not; its world dies with it.
                        break Outcome::Hang {
                            step,
                            position: loaded
                                .step_positions
                                .get(step)
                                .copied()
                                .unwrap_or(Position::START),
                            after,
                        };
                    }
                }
            }
        }
    };
    finish(loaded, config, outcome, trace.entries(), started.elapsed())
}

fn finish(
    loaded: &LoadedScenario,
    config: &RunConfig,
    outcome: Outcome,
    trace: Vec<super::TraceEntry>,
    duration: Duration,
) -> ScenarioResult {
    ScenarioResult {
        id: loaded.id.clone(),
        path: loaded.path.clone(),
        description: loaded.scenario.description.clone(),
        importance: loaded.scenario.importance,
        adapter: config.adapter.clone(),
        outcome,
        trace,
        duration,
    }
}
