//! Status words (SW1 SW2) the card answers with, named after JICSAP/ISO 7816-4 wording.
//!
//! The values and their use on this card are listed in `docs/card.md` (docs/card-protocol.md §5). A status word is
//! a plain `u16` newtype so the card can send any value on purpose (fault injection) and traces show
//! exactly what was sent.

use std::fmt;

/// A status word: SW1 in the high byte, SW2 in the low byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: normal end.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// `6282`: end of file reached before Le bytes (ISO warning; this card answers `6B00` instead).
    pub const END_OF_FILE_WARNING: StatusWord = StatusWord(0x6282);
    /// `6300`: verification failed, the key has no retry limit (JICSAP; not seen on this card).
    pub const VERIFICATION_FAILED: StatusWord = StatusWord(0x6300);
    /// `63C0`: verification failed and no tries are left (the reference is now blocked); also the
    /// answer to an empty VERIFY on a blocked reference.
    pub const NO_TRIES_LEFT: StatusWord = StatusWord(0x63C0);
    /// `6700`: wrong length (Lc/Le inconsistent with the command, malformed APDU).
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `6881`: logical channel not supported (CLA names a channel other than 0).
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// `6882`: secure messaging not supported (SELECT with an SM CLA).
    pub const SECURE_MESSAGING_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// `6981`: command incompatible with file structure (READ on an internal EF, VERIFY on a
    /// non-PIN EF).
    pub const INCOMPATIBLE_FILE_STRUCTURE: StatusWord = StatusWord(0x6981);
    /// `6982`: security status not satisfied (protected READ, signature without PIN).
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `6984`: referenced IEF locked (VERIFY or CHANGE on a blocked PIN).
    pub const REFERENCED_IEF_LOCKED: StatusWord = StatusWord(0x6984);
    /// `6985`: conditions of use not satisfied (bad signature input, extended GET CHALLENGE,
    /// INTERNAL AUTHENTICATE with a key that signs through COMPUTE DIGITAL SIGNATURE).
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `6986`: no current EF (command needs a selected EF and none is).
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    /// `69FC`: secure-messaging data object error (READ BINARY or VERIFY with an SM CLA).
    pub const SECURE_MESSAGING_ERROR: StatusWord = StatusWord(0x69FC);
    /// `6A80`: incorrect data in the command data field.
    pub const INCORRECT_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A81`: function not supported (multi-record READ RECORD).
    pub const FUNCTION_NOT_SUPPORTED: StatusWord = StatusWord(0x6A81);
    /// `6A82`: file or application not found (unknown AID or FID).
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A83`: record not found (READ RECORD).
    pub const RECORD_NOT_FOUND: StatusWord = StatusWord(0x6A83);
    /// `6A86`: incorrect P1-P2.
    pub const INCORRECT_P1_P2: StatusWord = StatusWord(0x6A86);
    /// `6A88`: referenced data not found (GET DATA of an absent object).
    pub const REFERENCED_DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B00`: offset outside the EF (READ BINARY at or past the end).
    pub const OFFSET_OUTSIDE_EF: StatusWord = StatusWord(0x6B00);
    /// `6D00`: instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E00`: class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// `66F1`: security environment faulty (SET SESSION KEY in an AP without session keys).
    pub const SECURITY_ENVIRONMENT_FAULTY: StatusWord = StatusWord(0x66F1);
    /// `6F00`: no precise diagnosis (the simulator could not complete the command, e.g. the PIN
    /// state could not be persisted).
    pub const NO_PRECISE_DIAGNOSIS: StatusWord = StatusWord(0x6F00);

    /// Every named constant with its name, for traces and round-trip tests.
    pub const NAMED: &'static [(StatusWord, &'static str)] = &[
        (Self::SUCCESS, "SUCCESS"),
        (Self::END_OF_FILE_WARNING, "END_OF_FILE_WARNING"),
        (Self::VERIFICATION_FAILED, "VERIFICATION_FAILED"),
        (Self::NO_TRIES_LEFT, "NO_TRIES_LEFT"),
        (Self::WRONG_LENGTH, "WRONG_LENGTH"),
        (
            Self::LOGICAL_CHANNEL_NOT_SUPPORTED,
            "LOGICAL_CHANNEL_NOT_SUPPORTED",
        ),
        (
            Self::SECURE_MESSAGING_NOT_SUPPORTED,
            "SECURE_MESSAGING_NOT_SUPPORTED",
        ),
        (
            Self::INCOMPATIBLE_FILE_STRUCTURE,
            "INCOMPATIBLE_FILE_STRUCTURE",
        ),
        (
            Self::SECURITY_STATUS_NOT_SATISFIED,
            "SECURITY_STATUS_NOT_SATISFIED",
        ),
        (Self::REFERENCED_IEF_LOCKED, "REFERENCED_IEF_LOCKED"),
        (Self::CONDITIONS_NOT_SATISFIED, "CONDITIONS_NOT_SATISFIED"),
        (Self::NO_CURRENT_EF, "NO_CURRENT_EF"),
        (Self::SECURE_MESSAGING_ERROR, "SECURE_MESSAGING_ERROR"),
        (Self::INCORRECT_DATA, "INCORRECT_DATA"),
        (Self::FUNCTION_NOT_SUPPORTED, "FUNCTION_NOT_SUPPORTED"),
        (Self::FILE_NOT_FOUND, "FILE_NOT_FOUND"),
        (Self::RECORD_NOT_FOUND, "RECORD_NOT_FOUND"),
        (Self::INCORRECT_P1_P2, "INCORRECT_P1_P2"),
        (Self::REFERENCED_DATA_NOT_FOUND, "REFERENCED_DATA_NOT_FOUND"),
        (Self::OFFSET_OUTSIDE_EF, "OFFSET_OUTSIDE_EF"),
        (Self::INS_NOT_SUPPORTED, "INS_NOT_SUPPORTED"),
        (Self::CLA_NOT_SUPPORTED, "CLA_NOT_SUPPORTED"),
        (
            Self::SECURITY_ENVIRONMENT_FAULTY,
            "SECURITY_ENVIRONMENT_FAULTY",
        ),
        (Self::NO_PRECISE_DIAGNOSIS, "NO_PRECISE_DIAGNOSIS"),
    ];

    /// `63Cx`: verification failed (or retry query), `x` tries left. `x` saturates at 15.
    pub const fn retries_left(tries: u8) -> StatusWord {
        let x = if tries > 0x0F { 0x0F } else { tries };
        StatusWord(0x63C0 | x as u16)
    }

    /// `61xx`: `xx` more bytes available with GET RESPONSE (not produced by this card's applets;
    /// available for fault profiles).
    pub const fn bytes_remaining(count: u8) -> StatusWord {
        StatusWord(0x6100 | count as u16)
    }

    /// Builds a status word from SW1 and SW2.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> StatusWord {
        StatusWord(((sw1 as u16) << 8) | sw2 as u16)
    }

    /// SW1, the high byte (`63` of `63 C2`).
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2, the low byte (`C2` of `63 C2`).
    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// The two bytes as sent on the wire.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// Reads the status word off the end of a response APDU; `None` if it is shorter than 2 bytes.
    pub fn from_response(response: &[u8]) -> Option<StatusWord> {
        match response {
            [.., sw1, sw2] => Some(StatusWord::from_bytes(*sw1, *sw2)),
            _ => None,
        }
    }

    /// Whether this is `90 00`; any other value, warnings included, is not a success.
    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// The tries left carried by a `63Cx` status word.
    pub const fn retries(self) -> Option<u8> {
        if self.0 & 0xFFF0 == 0x63C0 {
            Some((self.0 & 0x0F) as u8)
        } else {
            None
        }
    }

    /// The constant's name, `RETRIES_LEFT`/`BYTES_REMAINING` for the families, `None` otherwise.
    pub fn name(self) -> Option<&'static str> {
        if let Some((_, name)) = Self::NAMED.iter().find(|(sw, _)| *sw == self) {
            return Some(name);
        }
        match self.sw1() {
            0x63 if self.retries().is_some() => Some("RETRIES_LEFT"),
            0x61 => Some("BYTES_REMAINING"),
            _ => None,
        }
    }
}

impl fmt::Display for StatusWord {
    /// Spaced upper-case hex, e.g. `63 C2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.sw1(), self.sw2())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "StatusWord({self} {name})"),
            None => write!(f, "StatusWord({self})"),
        }
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        sw.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_constant_round_trips_through_bytes_and_text() {
        for (sw, name) in StatusWord::NAMED {
            let [sw1, sw2] = sw.to_bytes();
            assert_eq!(StatusWord::from_bytes(sw1, sw2), *sw, "{name}");
            assert_eq!(StatusWord::from_response(&[0xAA, sw1, sw2]), Some(*sw));
            let text = sw.to_string();
            let parsed = u16::from_str_radix(&text.replace(' ', ""), 16).unwrap();
            assert_eq!(StatusWord(parsed), *sw, "{name}");
            assert_eq!(sw.name(), Some(*name));
        }
    }

    #[test]
    fn named_constants_are_distinct() {
        let mut values: Vec<u16> = StatusWord::NAMED.iter().map(|(sw, _)| sw.0).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), StatusWord::NAMED.len());
    }

    #[test]
    fn retries_left_encodes_63cx_and_reads_back() {
        for tries in 0..=15 {
            let sw = StatusWord::retries_left(tries);
            assert_eq!(sw.to_bytes(), [0x63, 0xC0 | tries]);
            assert_eq!(sw.retries(), Some(tries));
        }
        assert_eq!(StatusWord::retries_left(0), StatusWord::NO_TRIES_LEFT);
        assert_eq!(StatusWord::retries_left(200).retries(), Some(15));
        assert_eq!(StatusWord::SUCCESS.retries(), None);
        assert_eq!(StatusWord::retries_left(3).to_string(), "63 C3");
    }

    #[test]
    fn any_value_is_representable_and_displayed_exactly() {
        let sw = StatusWord(0x1234);
        assert_eq!(sw.to_string(), "12 34");
        assert_eq!(format!("{sw:?}"), "StatusWord(12 34)");
        assert_eq!(
            format!("{:?}", StatusWord::FILE_NOT_FOUND),
            "StatusWord(6A 82 FILE_NOT_FOUND)"
        );
        assert_eq!(StatusWord::from_response(&[0x90]), None);
    }
}
