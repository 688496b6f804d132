//! The reference SDK: the card side of the adapter protocol, spoken as APDUs over a
//! [`CardChannel`](crate::channel::CardChannel).
//!
//! It does what a careful client does (docs/card.md): select the AP, select the PIN EF and
//! VERIFY, select the data or key EF, then READ BINARY or COMPUTE DIGITAL SIGNATURE. Card
//! answers, wrong PINs included, come back as [`vocab::SdkOutcome`] values; only a transport that
//! cannot reach the card is an error.

pub mod apdu;
pub mod client;
pub mod digest;
mod mutant;
pub mod parse;

pub use client::{ReferenceSdk, SdkError};
pub use mutant::SdkMutant;
