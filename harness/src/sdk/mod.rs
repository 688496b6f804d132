//! The reference SDK: the card side of DESIGN §5, spoken as APDUs over a [`CardChannel`].
//!
//! It does what a careful client does (docs/card.md): select the AP, select the PIN EF and
//! VERIFY, select the data or key EF, then READ BINARY or COMPUTE DIGITAL SIGNATURE. Card
//! answers, wrong PINs included, come back as [`SdkOutcome`] values; only a transport that
//! cannot reach the card is an error.

pub mod apdu;
pub mod channel;
pub mod client;
pub mod digest;
pub mod parse;

pub use channel::{CardChannel, ChannelError, InProcessChannel};
pub use client::{ReferenceSdk, SdkError};
pub use parse::CardBasicInfo;

use sim_card::StatusWord;

/// What an SDK operation came back with: the status word of the APDU that decided it and, on
/// success, the data read or computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkOutcome {
    pub status: StatusWord,
    pub data: Option<SdkData>,
}

/// Data an operation returns on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkData {
    /// A certificate, DER.
    Certificate(Vec<u8>),
    /// Tries a PIN has left (`63Cx` to a VERIFY without data).
    RetriesLeft(u8),
    /// A PKCS#1 v1.5 signature.
    Signature(Vec<u8>),
    /// The basic 4 info of the text AP.
    BasicInfo(CardBasicInfo),
    /// The 12-digit my number (個人番号).
    MyNumber(String),
    /// The visual AP's card-face file, as read.
    CardFace(Vec<u8>),
}

impl SdkOutcome {
    /// An outcome that carries only a status word (a refusal, or success without data).
    pub fn status(status: StatusWord) -> SdkOutcome {
        SdkOutcome { status, data: None }
    }

    pub fn with_data(data: SdkData) -> SdkOutcome {
        SdkOutcome {
            status: StatusWord::SUCCESS,
            data: Some(data),
        }
    }
}
