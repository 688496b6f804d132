//! Ways to reach a card: in-process calls ([`VirtualCard`]) and vsmartcard's vpcd protocol into
//! a real `pcscd` ([`vpcd`]). The HTTP APDU bridge lives with the server wiring (mock-jlis's
//! `bridge` module) and reaches the same cards.

pub mod vpcd;

use std::sync::{Arc, Mutex};

/// What a transport needs from a card: the contact interface's power and reset lines, the ATR,
/// and APDU exchange. A response always ends in a status word.
pub trait VirtualCard: Send {
    /// The answer to reset, sent when vpcd asks for it (control code 4).
    fn atr(&self) -> Vec<u8>;
    /// Cold start: nothing selected, nothing verified.
    fn power_on(&mut self);
    /// Power loss, also what removing the card means: verified PINs are cleared.
    fn power_off(&mut self);
    /// Warm reset.
    fn reset(&mut self);
    /// Exchanges one command APDU for its response (data, then SW1 SW2).
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
}

/// A card shared between transports (vpcd and the HTTP bridge may reach the same card).
pub type SharedCard = Arc<Mutex<dyn VirtualCard>>;

impl VirtualCard for crate::Card {
    fn atr(&self) -> Vec<u8> {
        crate::Card::atr(self).to_vec()
    }
    fn power_on(&mut self) {
        crate::Card::power_on(self)
    }
    fn power_off(&mut self) {
        crate::Card::power_off(self)
    }
    fn reset(&mut self) {
        crate::Card::reset(self)
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        crate::Card::transmit(self, command)
    }
}
