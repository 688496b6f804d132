//! Load mode (`jpki-sim load`): the throughput of a system under test. One in-memory world is
//! served on loopback, N cards are provisioned and prepared, then C workers — each with its own
//! PF, SDK or adapter process — repeat one operation over the cards, and every answer is timed
//! and checked. Results are a versioned JSON document, a summary and an HTML page with plots;
//! results of several generators run at once merge exactly (docs/performance.md, "Load mode").
//!
//! - [`config`]: the operation, the SUT, cards, workers, when to stop.
//! - [`world`]: the served world and the per-card data the operations send.
//! - [`target`]: one worker's SUT and how each answer is checked.
//! - [`driver`]: the workers, warm-up and the measured phase.
//! - [`stats`], [`report`], [`html`], [`merge`]: counting, the documents, and merging them.

pub mod config;
pub mod driver;
pub mod html;
pub mod merge;
mod progress;
pub mod report;
pub mod stats;
pub mod target;
pub mod world;

pub use config::{LoadConfig, LoadOp, Stop, SutSpec};
pub use report::{LoadReport, Machine};

use adapter_protocol::AdapterError;

/// Why a load run produced no result.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The flags do not make a run.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The world could not be opened or its cards provisioned.
    #[error("the world failed")]
    World(#[from] mock_jlis::world::WorldError),
    /// The world's store failed.
    #[error("the world's store failed")]
    Store(#[from] mock_jlis::store::StoreError),
    /// The world's server did not start.
    #[error("the world's server did not start")]
    Server(#[source] served_world::ServerError),
    /// No loopback port was free for the world's server.
    #[error("no free loopback port")]
    Port(#[source] std::io::Error),
    /// The async runtime that serves the world did not start.
    #[error("cannot start the async runtime for the server")]
    Runtime(#[source] std::io::Error),
    /// A worker thread could not be spawned.
    #[error("cannot start a worker thread")]
    Thread(#[source] std::io::Error),
    /// A worker failed as a program (it panicked); the harness is to blame.
    #[error("{0}")]
    Worker(String),
    /// The harness could not prepare a card (the reference SDK over the in-process card).
    #[error("card {card}: {what} failed: {detail}")]
    Preparation {
        /// The card's id.
        card: String,
        /// What the harness was doing: `reading its certificate`, `signing`, ...
        what: String,
        /// How it failed.
        detail: String,
    },
    /// The SUT of a worker did not start (an adapter that cannot be spawned or answer `hello`).
    #[error("the system under test of worker {worker} did not start")]
    SutStart {
        /// The worker, from 0.
        worker: usize,
        /// Why the adapter did not start.
        #[source]
        source: AdapterError,
    },
    /// The SUT failed what the measured phase relies on: enrolling a good card, registering
    /// its consent.
    #[error(
        "the system under test of worker {worker} failed to prepare card {card} ({kind}): {detail}"
    )]
    SutPreparation {
        /// The card's id.
        card: String,
        /// The worker, from 0.
        worker: usize,
        /// The failure's kind, as reports count it (`rejected:revoked`, ...).
        kind: String,
        /// The failure in words.
        detail: String,
    },
}

impl From<served_world::LoopbackError> for LoadError {
    fn from(err: served_world::LoopbackError) -> LoadError {
        use served_world::LoopbackError;
        match err {
            LoopbackError::Port(err) => LoadError::Port(err),
            LoopbackError::World(err) => LoadError::World(err),
            LoopbackError::Server(err) => LoadError::Server(err),
        }
    }
}

impl LoadError {
    /// Whether the system under test is to blame (exit 1), not the harness (exit 2).
    pub fn is_sut_fault(&self) -> bool {
        matches!(
            self,
            LoadError::SutStart { .. } | LoadError::SutPreparation { .. }
        )
    }
}

/// Runs `config`: provisions the world, measures, and reports. Workers that stopped early
/// (their adapter broke) are in the report's errors as `adapter_broken`.
pub fn run(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    let world = world::LoadWorld::open(
        config.cards,
        config.key,
        config.op == LoadOp::LatestInfo,
        config.key_cache.as_deref(),
        config.key_pool,
        runtime.handle(),
    )?;
    let machine_before = Machine::current();
    let measured = driver::drive(config, &world)?;
    for lost in &measured.lost {
        tracing::warn!("{lost}");
    }
    let report = LoadReport::of_run(config, &measured, machine_before);
    drop(world);
    runtime.shutdown_background();
    Ok(report)
}
