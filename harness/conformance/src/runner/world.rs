//! The world a scenario runs in: fresh per scenario, frozen clock, served on a free port (of
//! loopback, or of the run's `--listen` address) because the PF reaches CRLs, OCSP and J-LIS over
//! HTTP.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig, WorldError};

use super::trace::{Trace, TraceEntry};
use super::RunError;
use crate::scenario::Scenario;
use served_world::{Exposure, HttpObserver, Server};
use vocab::PfEnvironment;

/// A scenario's world, its server, and its cards in their readers.
pub struct ScenarioWorld {
    /// The world.
    pub world: Arc<World>,
    /// The world's server on loopback: the APDU bridge, CRL, OCSP, J-LIS and CA certificates.
    pub server: Server,
    /// Per card of the scenario, in order.
    pub cards: Vec<Arc<ProvisionedCard>>,
    /// Whether each card is in its reader.
    pub present: Vec<Arc<AtomicBool>>,
}

impl ScenarioWorld {
    /// Opens a world for `scenario`, serves it, and provisions its cards.
    pub fn build(
        scenario: &Scenario,
        key_cache: Option<&Path>,
        runtime: &tokio::runtime::Handle,
        trace: &Trace,
        exposure: &Exposure,
    ) -> Result<ScenarioWorld, RunError> {
        let observer: HttpObserver = {
            let trace = trace.clone();
            Arc::new(move |exchange| trace.push(TraceEntry::http(exchange)))
        };
        let (world, server) = served_world::serve_exposed(
            |base_url| open_world(scenario, base_url, key_cache),
            runtime,
            Some(observer),
            exposure,
        )?;
        let mut cards = Vec::new();
        for card in &scenario.cards {
            let overrides = card
                .persona
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|err| RunError::Persona(err.to_string()))?;
            cards.push(world.provision(&card.id, overrides.as_deref())?);
        }
        let present = cards
            .iter()
            .map(|_| Arc::new(AtomicBool::new(true)))
            .collect();
        Ok(ScenarioWorld {
            world,
            server,
            cards,
            present,
        })
    }

    /// What the PF is told: the server and the two CA certificates it trusts.
    pub fn pf_environment(&self) -> PfEnvironment {
        served_world::pf_environment(&self.world, &self.server)
    }

    /// What an adapter is told in `hello`; `cards` are the card handles for an SDK.
    pub fn adapter_environment(
        &self,
        cards: Vec<adapter_protocol::CardHandle>,
    ) -> adapter_protocol::Environment {
        served_world::adapter_environment(&self.world, &self.server, cards)
    }

    /// The card at `index` in the scenario's `cards`; [`RunError::NoSuchCard`] past the end.
    pub fn card(&self, index: usize) -> Result<&Arc<ProvisionedCard>, RunError> {
        self.cards.get(index).ok_or(RunError::NoSuchCard(index))
    }
}

fn open_world(
    scenario: &Scenario,
    base_url: &str,
    key_cache: Option<&Path>,
) -> Result<World, WorldError> {
    let mut config = WorldConfig::new(base_url);
    config.cadence = scenario.cadence.unwrap_or_default();
    config.serial_style = scenario.serials.unwrap_or_default();
    config.ocsp_signer = scenario.ocsp_signer.unwrap_or_default();
    config.ca_key_usage = scenario.ca_key_usage.unwrap_or_default();
    config.linkage_lag = scenario.linkage_lag.map_or(Duration::ZERO, |lag| lag.0);
    config.clock = Some(ClockMode::Frozen {
        at: scenario
            .clock
            .as_ref()
            .map_or(served_world::DEFAULT_START, |clock| clock.start),
    });
    let cache = served_world::open_key_cache(key_cache);
    World::open(config, Store::in_memory()?, cache)
}
