//! The world a scenario runs in: fresh per scenario, frozen clock, served on a free loopback
//! port because the PF reaches CRLs, OCSP and J-LIS over HTTP.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use mock_ca::Hierarchy;
use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig, WorldError};
use time::macros::datetime;
use time::OffsetDateTime;

use super::trace::{Trace, TraceEntry};
use super::RunError;
use crate::platform::PfEnvironment;
use crate::scenario::Scenario;
use crate::server::{HttpObserver, Server};

/// Where the clock starts when a scenario does not say: a weekday morning in JST, inside every
/// derived card's validity.
pub const DEFAULT_START: OffsetDateTime = datetime!(2026-11-01 03:01 UTC);

/// A scenario's world, its server, and its cards in their readers.
pub struct ScenarioWorld {
    pub world: Arc<World>,
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
    ) -> Result<ScenarioWorld, RunError> {
        let observer: HttpObserver = {
            let trace = trace.clone();
            Arc::new(move |exchange| trace.push(TraceEntry::http(exchange)))
        };
        let (world, server) = crate::server::serve_on_loopback(
            |base_url| open_world(scenario, base_url, key_cache),
            runtime,
            Some(observer),
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
        pf_environment(&self.world, &self.server)
    }

    /// What an adapter is told in `hello`; `cards` are the card handles for an SDK.
    pub fn adapter_environment(
        &self,
        cards: Vec<crate::adapter::protocol::CardHandle>,
    ) -> crate::adapter::protocol::Environment {
        adapter_environment(&self.world, &self.server, cards)
    }

    pub fn card(&self, index: usize) -> Result<&Arc<ProvisionedCard>, RunError> {
        self.cards.get(index).ok_or(RunError::NoSuchCard(index))
    }
}

/// What a PF is told: the world's server and the two CA certificates it trusts.
pub fn pf_environment(world: &World, server: &Server) -> PfEnvironment {
    PfEnvironment {
        base_url: server.url(),
        sign_ca_pem: world.ca(Hierarchy::Sign).certificate_pem(),
        auth_ca_pem: world.ca(Hierarchy::Auth).certificate_pem(),
    }
}

/// What an adapter is told in `hello`; `cards` are the card handles for an SDK.
pub fn adapter_environment(
    world: &World,
    server: &Server,
    cards: Vec<crate::adapter::protocol::CardHandle>,
) -> crate::adapter::protocol::Environment {
    let base_url = server.url();
    crate::adapter::protocol::Environment {
        ca_url: format!("{base_url}/ca"),
        crl_url: format!("{base_url}/crl"),
        ocsp_url: format!("{base_url}/ocsp"),
        jlis_url: format!("{base_url}/jlis/v1"),
        sign_ca_pem: world.ca(Hierarchy::Sign).certificate_pem(),
        auth_ca_pem: world.ca(Hierarchy::Auth).certificate_pem(),
        base_url,
        cards,
    }
}

fn open_world(
    scenario: &Scenario,
    base_url: &str,
    key_cache: Option<&Path>,
) -> Result<World, WorldError> {
    let mut config = WorldConfig::new(base_url);
    config.cadence = scenario.cadence.unwrap_or_default();
    config.clock = Some(ClockMode::Frozen {
        at: scenario
            .clock
            .as_ref()
            .map_or(DEFAULT_START, |clock| clock.start),
    });
    let cache = crate::server::open_key_cache(key_cache);
    World::open(config, Store::in_memory()?, cache)
}
