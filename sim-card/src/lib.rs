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
#[allow(unsafe_code)] // aws-lc's raw RSA private operation: see the SAFETY notes.
pub mod key;
pub mod layout;
pub mod status;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[allow(unsafe_code)] // setsockopt(TCP_QUICKACK) on the vpcd socket: see the SAFETY note.
pub mod transport;

pub use apdu::{Apdu, ApduError, Le};
pub use card::{
    Card, CardConfig, CardError, PinObserver, PinPersistError, PinRef, PinSnapshot, PinState,
    PinValue,
};
pub use card_id::{CardId, CardIdError};
pub use image::{Access, Aid, AppletImage, CardImage, FileId, FileImage, KeyImage, PinImage};
pub use key::{CardKey, KeyError, KeyRing, SignError, SignatureScheme};
pub use status::StatusWord;
