//! The bundled reference implementations: the SDK that speaks APDUs to a card, the ways it
//! reaches one ([`channel`]: in process, the HTTP APDU bridge, PC/SC), the PF that verifies what
//! cards sign and what the world publishes, the deliberately wrong PFs (mutants) the suite must
//! catch, and the adapter side of the protocol that serves them to any harness
//! (`jpki-sim adapter ref-sdk|ref-pf`).

pub mod channel;
pub mod mutants;
pub mod pf;
pub mod sdk;
pub mod serve;

pub use channel::{CardChannel, ChannelError, InProcessChannel, TransportError};
pub use mutants::ReferenceMutant;
pub use pf::{Mutant, ReferencePf};
pub use sdk::{ReferenceSdk, SdkError, SdkMutant};
