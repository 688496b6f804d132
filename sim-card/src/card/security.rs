//! Volatile security state: which PINs are verified, and for which AP (docs/card-protocol.md §1.4).
//!
//! A successful VERIFY holds until the card loses power or another AP is selected; re-selecting
//! the same AP keeps it (JICSAP 5.1.3). A warm reset keeps it on the real card.

use std::collections::BTreeSet;

use crate::image::{Access, FileId};

#[derive(Clone, Debug, Default)]
pub(crate) struct SecurityState {
    /// The AP (index into the image's applets) whose verifications are held.
    owner: Option<usize>,
    verified: BTreeSet<FileId>,
}

impl SecurityState {
    /// Called when `applet` is selected (`None`: the MF level / ISD): leaving an AP clears its
    /// status, re-selecting it does not.
    pub(crate) fn enter(&mut self, applet: Option<usize>) {
        if self.owner != applet {
            self.verified.clear();
            self.owner = applet;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.verified.clear();
        self.owner = None;
    }

    pub(crate) fn grant(&mut self, applet: usize, pin: FileId) {
        self.enter(Some(applet));
        self.verified.insert(pin);
    }

    pub(crate) fn revoke(&mut self, applet: usize, pin: FileId) {
        if self.owner == Some(applet) {
            self.verified.remove(&pin);
        }
    }

    pub(crate) fn is_verified(&self, applet: usize, pin: FileId) -> bool {
        self.owner == Some(applet) && self.verified.contains(&pin)
    }

    /// Whether `access` is satisfied in `applet` right now.
    pub(crate) fn allows(&self, applet: usize, access: &Access) -> bool {
        match access {
            Access::Free => true,
            Access::AnyOf(pins) => pins.iter().any(|pin| self.is_verified(applet, *pin)),
            Access::Never => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_an_ap_clears_and_reselecting_keeps() {
        let mut state = SecurityState::default();
        state.enter(Some(0));
        state.grant(0, FileId(0x18));
        state.enter(Some(0));
        assert!(state.allows(0, &Access::AnyOf(vec![FileId(0x18)])));
        state.enter(Some(1));
        state.enter(Some(0));
        assert!(!state.is_verified(0, FileId(0x18)));
        assert!(!state.allows(0, &Access::Never));
        assert!(state.allows(0, &Access::Free));
    }
}
