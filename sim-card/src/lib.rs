//! A virtual My Number Card (マイナンバーカード).
//!
//! The card is built from a [`CardImage`] (what a personalisation bureau writes: files, PINs,
//! keys) and answers ISO 7816-4 APDUs the way the real applets do (see `docs/card.md`). Transports
//! carry APDUs to it: in-process calls, vsmartcard's vpcd protocol into a real `pcscd`, and the
//! HTTP bridge served by the harness.

pub mod apdu;
pub mod card;
pub mod card_id;
pub mod image;
pub mod key;
pub mod layout;
pub mod status;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transport;

pub use apdu::{Apdu, ApduError, Le};
pub use card::{
    Card, CardConfig, CardError, PinObserver, PinPersistError, PinRef, PinSnapshot, PinState,
    PinValue,
};
pub use card_id::{CardId, CardIdError};
pub use image::{Access, Aid, AppletImage, CardImage, FileId, FileImage, KeyImage, PinImage};
pub use key::{CardKey, KeyError, SignError, SignatureScheme};
pub use status::StatusWord;
