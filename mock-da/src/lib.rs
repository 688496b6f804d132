//! A simulator of the Digital Agency's authentication and sign APIs for デジタル認証アプリ (OpenID
//! Connect, authorization-code flow with PKCE and private_key_jwt; sign transactions opened with
//! client credentials, results as JWE), over the mock-jlis world: the user is authenticated, and
//! signs, for real with the world's virtual card, and the certificate it presents is checked
//! against the world's registry. Every key is a test key; nothing here is the real
//! service (docs/digital-agency.md).
//!
//! [`provider::Provider`] holds the rules and state; [`routes::router`] serves it under `/da`;
//! [`holder`] plays the user's card; [`jose`] signs and verifies the JWTs; [`sign`] parses what
//! the SP wants signed; [`jwe`] encrypts the sign result; [`faults`] holds what an SP must
//! survive, armed through the admin API; [`test_response`] renders the page where a tester
//! answers for the user in the browser.

pub mod error;
pub mod faults;
pub mod holder;
pub mod jose;
pub mod jwe;
pub mod provider;
pub mod routes;
pub mod sign;
pub mod test_response;

use std::sync::Arc;

use mock_jlis::world::World;

pub use provider::{DaError, Provider};

/// The OpenAPI 3.1 document of the `/da` routes ([`routes::ROUTES`]), served as part of the
/// listener's `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The `/da` routes and their document, to serve beside the world's with
/// [`mock_jlis::routes::router_with`]: journaled and documented with the rest.
pub fn extension(world: Arc<World>) -> Result<mock_jlis::routes::Extension, DaError> {
    Ok(mock_jlis::routes::Extension {
        routes: routes(world)?,
        document: OPENAPI,
    })
}

/// The `/da` routes over `world`, ready to merge into the world's router: derives (or loads
/// from the key cache) the provider's signing key.
pub fn routes<S: Clone + Send + Sync + 'static>(
    world: Arc<World>,
) -> Result<axum::Router<S>, DaError> {
    Ok(routes::router(Arc::new(Provider::new(world)?)))
}
