//! How the SDK reaches a card: one APDU exchange at a time, in process, over the HTTP APDU
//! bridge ([`bridge`]) or through a PC/SC reader ([`pcsc`]).

pub mod bridge;
pub mod pcsc;

pub use bridge::{BridgeChannel, BridgeError};
pub use pcsc::{PcscChannel, PcscError};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mock_jlis::world::ProvisionedCard;

/// Why an APDU got no answer from the card.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The card is not in the reader (removed by the scenario, or never inserted).
    #[error("no card in the reader")]
    NoCard,
    /// The card answered fewer than the two status bytes every response ends with.
    #[error("the card answered {len} bytes, fewer than a status word")]
    ShortResponse {
        /// How many bytes it answered.
        len: usize,
    },
    /// The way to the card failed before the card could answer: pcscd, the reader, the HTTP
    /// APDU bridge. The cause says which, and how.
    #[error("the transport to the card failed")]
    Transport(#[source] TransportError),
}

/// What failed on the way to the card.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A PC/SC call, with the call and the reader.
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    /// The HTTP APDU bridge: no answer, or an HTTP error status.
    #[error(transparent)]
    Bridge(#[from] BridgeError),
}

/// A transport to one card: PC/SC, the HTTP APDU bridge, or the world in process.
pub trait CardChannel {
    /// Sends one command APDU and returns the response, data and status word.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError>;
}

/// A card of an in-process world, in a reader the runner can empty and fill again.
#[derive(Clone)]
pub struct InProcessChannel {
    card: Arc<ProvisionedCard>,
    present: Arc<AtomicBool>,
}

impl InProcessChannel {
    /// A channel to `card`, present while `present` holds.
    pub fn new(card: Arc<ProvisionedCard>, present: Arc<AtomicBool>) -> InProcessChannel {
        InProcessChannel { card, present }
    }
}

impl CardChannel for InProcessChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        if !self.present.load(Ordering::SeqCst) {
            return Err(ChannelError::NoCard);
        }
        // An empty answer is a card that left the field mid-command (a `pulled` card fault).
        let response = self.card.transmit(apdu);
        if response.is_empty() {
            return Err(ChannelError::NoCard);
        }
        Ok(response)
    }
}

impl<C: CardChannel + ?Sized> CardChannel for &mut C {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        (**self).transmit(apdu)
    }
}
