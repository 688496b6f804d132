//! The population registry behind the simulated cards.
//!
//! A card id and a generation number determine a resident's persona, keys and certificates
//! (`docs/persona-derivation.md`); personalisation turns them into a [`sim_card::CardImage`].
//!
//! [`world::World`] composes the parts of the simulation (keys, issuer, registry, cards, clock,
//! faults, store) and is the registry mock-ca's publisher reads; [`routes::router`] serves it:
//! the CA's routes from `mock_ca::publication`, [`admin`], [`bridge`] and [`jlis_routes`].

pub mod admin;
pub mod bridge;
pub mod clock;
pub mod consent;
pub mod events;
pub mod faults;
pub mod jlis_routes;
pub mod journal;
pub mod my_number;
#[cfg(feature = "openapi-check")]
pub mod openapi_check;
pub mod overrides;
pub mod persona;
pub mod personalise;
pub mod registry;
pub mod routes;
pub mod store;
pub mod world;

pub use my_number::{MyNumber, MyNumberError};
pub use overrides::{LoadError, OverrideError, PersonaOverrides, PinOverrides};
pub use persona::{Persona, Pins, Sex};
pub use personalise::{personalise, CardCredentials, PersonaliseError};
