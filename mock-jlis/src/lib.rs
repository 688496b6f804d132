//! The population registry behind the simulated cards.
//!
//! A card id and a generation number determine a resident's persona, keys and certificates
//! (`docs/persona-derivation.md`); personalisation turns them into a [`sim_card::CardImage`].

pub mod my_number;
pub mod persona;
pub mod personalise;
