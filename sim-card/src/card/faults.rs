//! Card faults: a card that misbehaves on purpose, so a client's handling of odd but possible
//! answers can be tested — a `6C xx` asking for another Le, a `6F 00`, a slow card, a card
//! pulled out in the middle of a command, a file that ends before its header says.
//!
//! Faults are armed on the [`Card`](super::Card) itself, so they reach the client over every
//! transport (in process, the HTTP APDU bridge, PC/SC through vpcd). They live in the card's
//! volatile state: a life event that re-personalises the card drops them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::apdu::Apdu;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CardFault {
    /// READ BINARY answers `6C xx` (ISO/IEC 7816-4 §5.6: wrong Le field, `xx` the exact
    /// length available) instead of the data; the same command sent again with Le = `xx` is
    /// answered (each `6C` uses one `count`).
    WrongLe,
    /// The next command of the class answers `6F 00` (no precise diagnosis) and does nothing.
    NoDiagnosis {
        /// Which commands.
        on: CommandClass,
    },
    /// Every answer comes `millis` milliseconds late.
    Slow {
        /// How late, in milliseconds (at most 10,000).
        millis: u64,
    },
    /// The card leaves the reader's field when a command of the class arrives: it answers
    /// nothing (a reader reports the card removed), loses power, and comes back cold, with no
    /// PIN verified.
    Pulled {
        /// Which commands.
        on: CommandClass,
    },
    /// Binary files read as if cut at half their length: READ BINARY returns data only up to
    /// there and answers `6B 00` (offset outside the EF) past it, while the file's TLV header
    /// still claims the whole length.
    TruncatedFile,
}

/// The commands a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CommandClass {
    /// SELECT, by DF name or file id.
    Select,
    /// READ BINARY.
    ReadBinary,
    /// VERIFY, with or without data.
    Verify,
    /// COMPUTE DIGITAL SIGNATURE.
    Sign,
    /// Every command.
    Any,
}

impl CommandClass {
    /// Whether `apdu` is of this class.
    pub fn covers(self, apdu: &Apdu) -> bool {
        let proprietary = apdu.cla & 0x80 != 0;
        match self {
            CommandClass::Select => apdu.ins == 0xA4,
            CommandClass::ReadBinary => apdu.ins == 0xB0,
            CommandClass::Verify => apdu.ins == 0x20,
            CommandClass::Sign => proprietary && apdu.ins == 0x2A,
            CommandClass::Any => true,
        }
    }
}

/// The longest delay a `slow` fault may ask for: longer would look like a hang, not a card.
pub const MAX_SLOW: Duration = Duration::from_secs(10);

/// Why a card fault was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardFaultError {
    /// A `slow` fault over [`MAX_SLOW`].
    #[error("a slow card answers within {} ms at most, not {millis} ms", MAX_SLOW.as_millis())]
    TooSlow {
        /// The delay asked for.
        millis: u64,
    },
    /// `count: 0`: a fault that would never fire.
    #[error("a card fault's count must be at least 1")]
    ZeroCount,
}

/// A fault and how often it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ArmedFault {
    pub(super) fault: CardFault,
    /// Commands left that it applies to; `None`: until cleared.
    pub(super) left: Option<u32>,
}

impl ArmedFault {
    /// Checks the fault and arms it for the next `count` commands it applies to.
    pub(super) fn new(fault: CardFault, count: Option<u32>) -> Result<ArmedFault, CardFaultError> {
        if count == Some(0) {
            return Err(CardFaultError::ZeroCount);
        }
        if let CardFault::Slow { millis } = fault {
            if u128::from(millis) > MAX_SLOW.as_millis() {
                return Err(CardFaultError::TooSlow { millis });
            }
        }
        Ok(ArmedFault { fault, left: count })
    }

    /// Whether the fault applies to `apdu` at all.
    pub(super) fn applies_to(&self, apdu: &Apdu) -> bool {
        match self.fault {
            CardFault::WrongLe | CardFault::TruncatedFile => CommandClass::ReadBinary.covers(apdu),
            CardFault::NoDiagnosis { on } | CardFault::Pulled { on } => on.covers(apdu),
            CardFault::Slow { .. } => true,
        }
    }

    /// Uses up one firing; `true` when it was the last (a count is never armed at 0).
    pub(super) fn spend(&mut self) -> bool {
        match &mut self.left {
            None => false,
            Some(left) => {
                *left = left.saturating_sub(1);
                *left == 0
            }
        }
    }
}
