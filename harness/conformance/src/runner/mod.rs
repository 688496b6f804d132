//! The conformance runner: each scenario in a fresh in-process world, its SDK steps through the
//! reference SDK (or an SDK adapter process), its PF steps through a [`Platform`] (or a PF
//! adapter process, `adapter_protocol`), its world moves applied directly; one
//! [`ScenarioResult`] per scenario, with a trace. A scenario that passed without a system under
//! test answering any of its steps is [`Outcome::NotExercised`] ([`credit`]).
//!
//! Scenarios run in parallel, one worker per core. Each runs on its own thread, watched: a step
//! that takes longer than [`RunConfig::step_timeout`] ends the scenario as a hang instead of
//! stalling the suite.

pub mod bridge;
pub mod check;
pub mod credit;
pub mod expectations;
pub mod moves;
pub mod outcome;
pub mod pf_steps;
pub mod pool;
pub mod readers;
pub mod scenario;
pub mod sdk_steps;
pub mod trace;
pub mod verify;
pub mod world;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use expectations::Expectations;
pub use outcome::{Listing, Outcome, ScenarioResult};
pub use pool::{run_suite, run_suite_observed, run_suite_until};
pub use trace::{Trace, TraceEntry};

use reference::pf::{Mutant, ReferencePf};
use vocab::Feature;
use vocab::{PfEnvironment, Platform};

/// Builds the PF under test for one scenario, given where that scenario's world is.
pub type PlatformFactory = Arc<dyn Fn(PfEnvironment) -> Box<dyn Platform> + Send + Sync>;

/// How to run a suite.
#[derive(Clone)]
pub struct RunConfig {
    /// The name reports give the adapter.
    pub adapter: String,
    /// The PF under test.
    pub platform: PlatformFactory,
    /// What the adapter supports; scenarios needing more are skipped.
    pub features: BTreeSet<Feature>,
    /// How long one step may take before the scenario is a hang.
    pub step_timeout: Duration,
    /// Scenarios run at once.
    pub jobs: usize,
    /// Where derived RSA keys are cached across worlds and runs (`None`: derived every time).
    pub key_cache: Option<PathBuf>,
    /// An adapter process (`sh -c COMMAND`) playing the SDK instead of the reference SDK,
    /// spawned per scenario.
    pub sut_sdk: Option<String>,
    /// An adapter process playing the PF instead of [`RunConfig::platform`], spawned per
    /// scenario.
    pub sut_pf: Option<String>,
    /// PC/SC readers the cards of scenarios with `sdk` steps are put in (`--pcsc`); empty:
    /// cards stay in process, reached through the APDU bridge only.
    pub readers: Vec<readers::ReaderSlot>,
    /// The mistake the in-process reference SDK makes in `sdk` steps (`--mutant sdk-...`);
    /// the holder's own signatures in `pf` steps always come from the correct SDK.
    pub sdk_mutant: Option<reference::SdkMutant>,
    /// Where scenario worlds and APDU bridges listen and the host their URLs name (`--listen`,
    /// `--advertise`): loopback unless a PF or a phone on another machine must reach them.
    pub exposure: served_world::Exposure,
}

/// A fault of the harness, not of the adapter: the scenario ends as [`Outcome::Error`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario's world could not be opened or did not accept a move.
    #[error("the world failed")]
    World(#[from] mock_jlis::world::WorldError),
    /// The scenario's world server did not start.
    #[error("the scenario server did not start")]
    Server(#[source] served_world::ServerError),
    /// No loopback port was free for the scenario's servers.
    #[error("no free loopback port")]
    Port(#[source] std::io::Error),
    /// The async runtime for the scenario's servers did not start.
    #[error("cannot start the async runtime for the servers")]
    Runtime(#[source] std::io::Error),
    /// A card's persona overrides could not be turned into the world's form.
    #[error("persona overrides do not serialise: {0}")]
    Persona(String),
    /// A life event came out otherwise than the step's `expect` says.
    #[error("the event was {got}, the scenario expects it {expected}")]
    Event {
        /// What the step expects (`applied`, `refused: card_not_active`).
        expected: String,
        /// What the world did, with its reason when it refused.
        got: String,
    },
    /// The world refused to withdraw a consent (or the enrolment is unknown).
    #[error("cannot withdraw the consent: {0}")]
    Consent(String),
    /// A step names a card index the scenario does not have (the checks at load time prevent
    /// this).
    #[error("the scenario has no card {0}")]
    NoSuchCard(usize),
    /// The world clock refused a move.
    #[error("the clock refused to move")]
    Clock(#[from] mock_jlis::clock::ClockError),
    /// The world refused to arm a fault.
    #[error("the fault was refused")]
    Fault(#[from] mock_jlis::faults::FaultError),
    /// A card refused to arm a fault.
    #[error("the card fault was refused")]
    CardFault(#[source] sim_card::card::faults::CardFaultError),
    /// The scenario's APDU bridge could not be served.
    #[error("cannot serve the APDU bridge")]
    Bridge(#[from] crate::runner::bridge::BridgeError),
    /// The scenario's cards could not be put in PC/SC readers.
    #[error("cannot put the cards in PC/SC readers")]
    Readers(#[from] readers::ReaderError),
}

impl From<served_world::LoopbackError> for RunError {
    fn from(err: served_world::LoopbackError) -> RunError {
        use served_world::LoopbackError;
        match err {
            LoopbackError::Port(err) => RunError::Port(err),
            LoopbackError::World(err) => RunError::World(err),
            LoopbackError::Server(err) => RunError::Server(err),
        }
    }
}

impl RunConfig {
    /// This configuration with the in-process reference making `mutant`'s mistake, and the
    /// adapter named after it (`reference+NAME`).
    pub fn against(&self, mutant: reference::ReferenceMutant) -> RunConfig {
        let mut config = self.clone();
        config.adapter = format!("reference+{mutant}");
        match mutant {
            reference::ReferenceMutant::Pf(mutant) => config.platform = mutant_platform(mutant),
            reference::ReferenceMutant::Sdk(mutant) => config.sdk_mutant = Some(mutant),
        }
        config
    }

    /// The bundled reference SDK and PF, a worker per core, a 20 s step timeout, and the
    /// per-user key cache.
    pub fn reference() -> RunConfig {
        RunConfig {
            adapter: "reference".to_owned(),
            platform: Arc::new(reference_platform),
            features: Feature::all(),
            step_timeout: Duration::from_secs(20),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            key_cache: served_world::default_key_cache(),
            sut_sdk: None,
            sut_pf: None,
            readers: Vec::new(),
            sdk_mutant: None,
            exposure: served_world::Exposure::loopback(),
        }
    }
}

/// The bundled reference PF.
pub fn reference_platform(env: PfEnvironment) -> Box<dyn Platform> {
    Box::new(ReferencePf::new(env))
}

/// The reference PF making `mutant`'s mistake.
pub fn mutant_platform(mutant: Mutant) -> PlatformFactory {
    Arc::new(move |env| Box::new(ReferencePf::with_mutant(env, Some(mutant))))
}
