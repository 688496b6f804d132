//! Running one scenario: build its world, then its steps in order until one does not return
//! what it expects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::check::StepFailure;
use super::trace::{Trace, TraceEntry, TracingChannel};
use super::world::ScenarioWorld;
use super::{moves, pf_steps, sdk_steps, Outcome, RunConfig, RunError};
use crate::platform::Platform;
use crate::scenario::model::{KeyKind, Step};
use crate::scenario::{LoadedScenario, Position};
use crate::sdk::{InProcessChannel, ReferenceSdk};

/// Which step a running scenario is on and since when, for the hang watchdog.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Option<(usize, Instant)>>>);

/// A scenario in progress: its world, its PF, and what earlier steps left behind.
pub struct ScenarioRun<'a> {
    pub loaded: &'a LoadedScenario,
    pub world: ScenarioWorld,
    pub platform: Box<dyn Platform>,
    pub trace: Trace,
    /// Enrolments by name, as `enrol` steps made them.
    pub enrolments: BTreeMap<String, Enrolment>,
}

/// What the runner remembers of an enrolment.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub card: usize,
    pub key: KeyKind,
    /// Whether a consent for the latest-info service was registered for it.
    pub consented: bool,
}

/// The SDK as the runner uses it: the reference SDK over a traced in-process card.
pub type RunnerSdk = ReferenceSdk<TracingChannel<InProcessChannel>>;

/// Runs `loaded` to its outcome; `progress` and `trace` are shared with the watchdog.
pub fn run_scenario(
    loaded: &LoadedScenario,
    config: &RunConfig,
    runtime: &tokio::runtime::Handle,
    progress: &Progress,
    trace: &Trace,
) -> Outcome {
    let missing: Vec<_> = loaded
        .scenario
        .features
        .iter()
        .filter(|feature| !config.features.contains(feature))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Outcome::Skipped { missing };
    }
    let world = match ScenarioWorld::build(&loaded.scenario, config.key_cache.as_deref(), runtime) {
        Ok(world) => world,
        Err(err) => return harness_error(&err),
    };
    let platform = (config.platform)(world.pf_environment());
    let mut run = ScenarioRun {
        loaded,
        world,
        platform,
        trace: trace.clone(),
        enrolments: BTreeMap::new(),
    };
    for (index, step) in loaded.scenario.steps.iter().enumerate() {
        progress.start(index);
        trace.push(TraceEntry::Step {
            index,
            summary: step_summary(step),
        });
        match run.step(index, step) {
            Ok(()) => {}
            Err(StepFailure::Mismatch(mismatch)) => {
                return Outcome::Fail {
                    step: index,
                    position: loaded
                        .step_positions
                        .get(index)
                        .copied()
                        .unwrap_or(Position::START),
                    expected: mismatch.expected,
                    actual: mismatch.actual,
                }
            }
            Err(StepFailure::Harness(err)) => return harness_error(&err),
        }
    }
    progress.finish();
    Outcome::Pass
}

impl ScenarioRun<'_> {
    fn step(&mut self, index: usize, step: &Step) -> Result<(), StepFailure> {
        match step {
            Step::Sdk(step) => sdk_steps::run(self, step),
            Step::Pf(step) => pf_steps::run(self, index, step),
            Step::Event(event) => moves::event(self, event),
            Step::Clock(clock) => moves::clock(self, clock),
            Step::Fault(fault) => moves::fault(self, fault),
            Step::ClearFaults => moves::clear_faults(self),
            Step::Card(card) => moves::card(self, card),
        }
    }

    /// The reference SDK on card `card`, tracing into this scenario's trace.
    pub fn sdk(&self, card: usize) -> Result<RunnerSdk, RunError> {
        let channel = InProcessChannel::new(
            self.world.card(card)?.clone(),
            self.world.present[card].clone(),
        );
        Ok(ReferenceSdk::new(TracingChannel::new(
            channel,
            card,
            self.trace.clone(),
        )))
    }
}

impl Progress {
    fn start(&self, step: usize) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((step, Instant::now()));
    }

    fn finish(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The step running now and since when.
    pub fn current(&self) -> Option<(usize, Instant)> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The step as YAML-ish text for the trace: `sdk verify_pin`, `clock`.
fn step_summary(step: &Step) -> String {
    match step {
        Step::Sdk(sdk) => format!("sdk {}", sdk.op()),
        Step::Pf(pf) => format!("pf {}", pf.op()),
        other => other.kind().to_owned(),
    }
}

/// The error with its causes, for a report.
fn harness_error(err: &RunError) -> Outcome {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Outcome::Error { message }
}
