//! What a system under test is told about a served world: where its services are and which CA
//! certificates it trusts.

use mock_ca::Hierarchy;
use mock_jlis::world::World;
use time::macros::datetime;
use time::OffsetDateTime;
use vocab::PfEnvironment;

use crate::Server;

/// Where the clock starts when a scenario does not say: a weekday morning in JST, inside every
/// derived card's validity.
pub const DEFAULT_START: OffsetDateTime = datetime!(2026-11-01 03:01 UTC);

/// What a PF is told: the world's server and the two CA certificates it trusts.
pub fn pf_environment(world: &World, server: &Server) -> PfEnvironment {
    PfEnvironment {
        base_url: base_url(world),
        sign_ca_pem: world.ca(Hierarchy::Sign).certificate_pem(),
        auth_ca_pem: world.ca(Hierarchy::Auth).certificate_pem(),
        admin_token: server.admin_token().map(str::to_owned),
    }
}

/// The URL the world was opened with, the one in its certificates: the server's own address on
/// loopback, the advertised host when it listens on every interface.
fn base_url(world: &World) -> String {
    world
        .ca(Hierarchy::Auth)
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}

/// What an adapter is told in `hello`; `cards` are the card handles for an SDK.
pub fn adapter_environment(
    world: &World,
    server: &Server,
    cards: Vec<adapter_protocol::CardHandle>,
) -> adapter_protocol::Environment {
    let base_url = base_url(world);
    adapter_protocol::Environment {
        ca_url: format!("{base_url}/ca"),
        crl_url: format!("{base_url}/crl"),
        ocsp_url: format!("{base_url}/ocsp"),
        jlis_url: format!("{base_url}/jlis/v1"),
        sign_ca_pem: world.ca(Hierarchy::Sign).certificate_pem(),
        auth_ca_pem: world.ca(Hierarchy::Auth).certificate_pem(),
        base_url,
        cards,
        admin_token: server.admin_token().map(str::to_owned),
    }
}
