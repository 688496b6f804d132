//! Running one scenario: build its world, then its steps in order until one does not return
//! what it expects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::check::StepFailure;
use super::credit::{credit, Answered, AnsweringPlatform};
use super::readers::Readers;
use super::sdk_steps::Answer;
use super::trace::{Trace, TraceEntry, TracingChannel};
use super::world::ScenarioWorld;
use super::{moves, pf_steps, sdk_steps, Outcome, RunConfig, RunError};
use crate::runner::bridge::Bridge;
use crate::scenario::model::Step;
use crate::scenario::{LoadedScenario, Position};
use adapter_protocol::{AdapterError, AdapterLink, RemotePlatform, RemoteSdk};
use adapter_protocol::{CardHandle, Operation};
use reference::channel::InProcessChannel;
use reference::sdk::ReferenceSdk;
use vocab::error_chain;
use vocab::Feature;
use vocab::KeyKind;
use vocab::Platform;
use vocab::Role;

/// Which step a running scenario is on and since when, for the hang watchdog.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Option<(usize, Instant)>>>);

/// A scenario in progress: its world, its PF, and what earlier steps left behind.
pub struct ScenarioRun<'a> {
    /// The scenario being run.
    pub loaded: &'a LoadedScenario,
    /// Its fresh world, served on loopback.
    pub world: ScenarioWorld,
    /// The PF under test: the reference PF, a mutant, or a PF adapter.
    pub platform: Box<dyn Platform>,
    /// What happened so far.
    pub trace: Trace,
    /// Enrolments by name, as `enrol` steps made them.
    pub enrolments: BTreeMap<String, Enrolment>,
    /// The SDK adapter process, when one plays the SDK, and the cards as it reaches them.
    pub remote_sdk: Option<(RemoteSdk, Vec<CardHandle>)>,
    /// Serves the APDU bridge while a remote SDK runs.
    pub bridge: Option<Bridge>,
    /// Whether a system under test (the SDK or PF adapter) has answered a step yet.
    pub answered: Answered,
    /// The mistake the in-process SDK makes in `sdk` steps, if any.
    pub sdk_mutant: Option<reference::SdkMutant>,
    /// The cards in PC/SC readers, when readers are configured and the scenario has `sdk`
    /// steps. Last, so that it is dropped (cards out, readers handed back) after the adapters
    /// have said bye.
    pub readers: Option<Readers>,
}

/// What the runner remembers of an enrolment.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The card that enrolled, as an index into `cards`.
    pub card: usize,
    /// The key whose certificate was enrolled.
    pub key: KeyKind,
    /// Whether a consent for the latest-info service was registered for it.
    pub consented: bool,
    /// The certificate presented (DER).
    pub certificate: Vec<u8>,
}

/// The features each SDK adapter command answered hello with in a scenario with readers, earlier
/// in this process: what [`Adapters::start_in_readers`] predicts skips by.
static SDK_FEATURES_SEEN: Mutex<BTreeMap<String, Vec<Feature>>> = Mutex::new(BTreeMap::new());

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
    // Features of a role an adapter process plays are known once it answers hello.
    let remote = |feature: &Feature| match feature.role() {
        Role::Sdk => config.sut_sdk.is_some(),
        Role::Pf => config.sut_pf.is_some(),
    };
    let missing: Vec<_> = loaded
        .scenario
        .features
        .iter()
        .filter(|feature| !remote(feature) && !config.features.contains(feature))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Outcome::Skipped { missing };
    }
    let world = match ScenarioWorld::build(
        &loaded.scenario,
        config.key_cache.as_deref(),
        runtime,
        trace,
        &config.exposure,
    ) {
        Ok(world) => world,
        Err(err) => return harness_error(&err),
    };
    let adapters = match Adapters::start_in_readers(&world, loaded, config, runtime, trace) {
        Ok(adapters) => adapters,
        Err(StartFailure::Harness(err)) => return harness_error(&err),
        Err(StartFailure::Adapter(err)) => {
            return Outcome::Fail {
                step: 0,
                position: Position::START,
                expected: "the adapter to answer hello".to_owned(),
                actual: error_chain(&err),
            }
        }
    };
    let missing: Vec<_> = loaded
        .scenario
        .features
        .iter()
        .filter(|feature| remote(feature) && !adapters.features.contains(feature))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Outcome::Skipped { missing };
    }
    let answered = Answered::default();
    let platform = adapters
        .pf
        .map(|adapter| {
            Box::new(AnsweringPlatform::new(
                RemotePlatform::new(adapter),
                answered.clone(),
            )) as Box<dyn Platform>
        })
        .unwrap_or_else(|| (config.platform)(world.pf_environment()));
    let mut run = ScenarioRun {
        loaded,
        world,
        platform,
        trace: trace.clone(),
        enrolments: BTreeMap::new(),
        remote_sdk: adapters
            .sdk
            .map(|adapter| (RemoteSdk::new(adapter), adapters.cards)),
        bridge: adapters.bridge,
        answered,
        sdk_mutant: config.sdk_mutant,
        readers: adapters.readers,
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
    credit(config.under_test(), &run.answered)
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
            Step::Consent(consent) => moves::consent(self, consent),
        }
    }

    /// How the SDK reaches card `index`.
    pub fn card_handle(&self, index: usize) -> CardHandle {
        self.remote_sdk
            .as_ref()
            .and_then(|(_, cards)| RemoteSdk::handle(cards, index))
            .unwrap_or_else(|| CardHandle {
                index,
                id: self
                    .world
                    .cards
                    .get(index)
                    .map_or_else(String::new, |card| card.id.to_string()),
                bridge: String::new(),
                reader: self
                    .readers
                    .as_ref()
                    .and_then(|readers| readers.reader(index))
                    .map(str::to_owned),
            })
    }

    /// Performs an SDK operation on card `index`, through the SDK adapter when there is one.
    pub fn perform(&mut self, index: usize, operation: &Operation) -> Result<Answer, RunError> {
        if let Some((sdk, _)) = self.remote_sdk.as_mut() {
            let answer = match sdk.perform(operation.clone()) {
                Ok(Some(outcome)) => Answer::Outcome(outcome),
                Ok(None) => Answer::NoCard,
                Err(err) => return Ok(Answer::Broken(error_chain(&err))),
            };
            self.answered.note();
            return Ok(answer);
        }
        // The reference SDK in process goes through the reader when its card is in one.
        if let Some(channel) = self
            .readers
            .as_mut()
            .and_then(|readers| readers.channel(index))
        {
            let mut sdk = ReferenceSdk::with_mutant(&mut *channel, self.sdk_mutant);
            // A transport failure is `Broken` with its cause, a removed card `NoCard`.
            return Ok(match reference::serve::perform(&mut sdk, operation) {
                Some(result) => Answer::of(result),
                None => Answer::Broken("not an SDK operation".to_owned()),
            });
        }
        let mut sdk = self.sdk(index)?.with_mistake(self.sdk_mutant);
        Ok(match reference::serve::perform(&mut sdk, operation) {
            Some(result) => Answer::of(result),
            None => Answer::Broken("not an SDK operation".to_owned()),
        })
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

/// The adapter processes of a scenario, after hello.
struct Adapters {
    sdk: Option<AdapterLink>,
    pf: Option<AdapterLink>,
    /// What the processes support, together.
    features: Vec<Feature>,
    cards: Vec<CardHandle>,
    bridge: Option<Bridge>,
    /// The cards in PC/SC readers; last, so that the adapters go first.
    readers: Option<Readers>,
}

enum StartFailure {
    Harness(RunError),
    Adapter(AdapterError),
}

impl Adapters {
    /// [`Adapters::start`], with the scenario's cards in PC/SC readers first when readers are
    /// configured and it has `sdk` steps (only those reach cards through readers, so a PF
    /// scenario pays no pcscd polling). Where the SDK adapter's hello earlier in this process
    /// lacked a feature the scenario needs, the scenario will almost surely be skipped: it says
    /// hello without readers, and puts the cards in them only if the adapter claims the features
    /// this time.
    fn start_in_readers(
        world: &ScenarioWorld,
        loaded: &LoadedScenario,
        config: &RunConfig,
        runtime: &tokio::runtime::Handle,
        trace: &Trace,
    ) -> Result<Adapters, StartFailure> {
        let uses_sdk = loaded
            .scenario
            .steps
            .iter()
            .any(|step| matches!(step, Step::Sdk(_)));
        if config.readers.is_empty() || !uses_sdk {
            return Adapters::start(world, None, config, runtime, trace);
        }
        let lacks = |features: &[Feature]| {
            loaded
                .scenario
                .features
                .iter()
                .any(|f| f.role() == Role::Sdk && !features.contains(f))
        };
        let seen = config.sut_sdk.as_ref().and_then(|command| {
            SDK_FEATURES_SEEN
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(command)
                .cloned()
        });
        if seen.is_some_and(|features| lacks(&features)) {
            let adapters = Adapters::start(world, None, config, runtime, trace)?;
            if lacks(&adapters.features) {
                return Ok(adapters);
            }
        }
        let readers = Readers::attach(world, &config.readers, trace)
            .map_err(|err| StartFailure::Harness(err.into()))?;
        let mut adapters = Adapters::start(world, Some(&readers), config, runtime, trace)?;
        if let Some(command) = &config.sut_sdk {
            SDK_FEATURES_SEEN
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(command.clone(), adapters.features.clone());
        }
        adapters.readers = Some(readers);
        Ok(adapters)
    }

    /// Spawns the configured adapter processes and says hello with `world`'s environment; an
    /// SDK is told the reader of each card in `readers`.
    fn start(
        world: &ScenarioWorld,
        readers: Option<&Readers>,
        config: &RunConfig,
        runtime: &tokio::runtime::Handle,
        trace: &Trace,
    ) -> Result<Adapters, StartFailure> {
        let mut adapters = Adapters {
            sdk: None,
            pf: None,
            features: Vec::new(),
            cards: Vec::new(),
            bridge: None,
            readers: None,
        };
        if config.sut_sdk.is_none() && config.sut_pf.is_none() {
            return Ok(adapters);
        }
        if config.sut_sdk.is_some() {
            let channels = (0..world.cards.len())
                .map(|index| {
                    InProcessChannel::new(world.cards[index].clone(), world.present[index].clone())
                })
                .collect();
            let bridge = Bridge::start(channels, trace, runtime, &config.exposure)
                .map_err(|err| StartFailure::Harness(err.into()))?;
            adapters.cards = world
                .cards
                .iter()
                .enumerate()
                .map(|(index, card)| CardHandle {
                    index,
                    id: card.id.to_string(),
                    bridge: bridge.card_url(index),
                    reader: readers
                        .and_then(|readers| readers.reader(index))
                        .map(str::to_owned),
                })
                .collect();
            adapters.bridge = Some(bridge);
        }
        let environment = world.adapter_environment(adapters.cards.clone());
        for (role, command) in [(Role::Sdk, &config.sut_sdk), (Role::Pf, &config.sut_pf)] {
            let Some(command) = command else { continue };
            let adapter =
                AdapterLink::open(command, role, environment.clone(), config.step_timeout)
                    .map_err(StartFailure::Adapter)?;
            adapters.features.extend(
                adapter
                    .features
                    .iter()
                    .filter(|feature| feature.role() == role),
            );
            match role {
                Role::Sdk => adapters.sdk = Some(adapter),
                Role::Pf => adapters.pf = Some(adapter),
            }
        }
        Ok(adapters)
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
    Outcome::Error {
        message: error_chain(err),
    }
}
