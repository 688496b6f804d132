//! Command APDUs (ISO 7816-4 §5.1): parsing from raw bytes, encoding, and decoded names for traces.
//!
//! All seven cases are accepted: 1, 2S, 3S, 4S, 2E, 3E, 4E. The form of Le (absent, short,
//! extended) is kept because the card's answers depend on it (docs/card-protocol.md §3.6, §4.2, §4.8).

use std::fmt;

use crate::status::StatusWord;

/// A parsed command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Apdu {
    /// Class byte: `00` for ISO commands, `80` for the proprietary ones (`80 2A`); the low bits
    /// name the logical channel and secure messaging (docs/card-protocol.md §1.3).
    pub cla: u8,
    /// Instruction byte, e.g. `A4` SELECT, `B0` READ BINARY, `20` VERIFY.
    pub ins: u8,
    /// First parameter byte (e.g. SELECT's `04` by DF name, READ BINARY's offset high byte).
    pub p1: u8,
    /// Second parameter byte (e.g. SELECT's `0C`, VERIFY's `80 | SFI`).
    pub p2: u8,
    /// Command data (Lc bytes; empty for cases 1 and 2).
    pub data: Vec<u8>,
    /// Expected response length, with the form it was sent in.
    pub le: Le,
    /// Whether the length fields use the extended (3-byte Lc / 2-or-3-byte Le) encoding. Always true
    /// for an extended Le; for case 3E it is the only trace of the extended form.
    pub extended: bool,
}

/// The Le field: absent, short (1 byte, `00` = 256) or extended (`00 00` = 65536).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Le {
    /// No Le field (cases 1 and 3): no response data expected.
    Absent,
    /// Ne in 1..=256.
    Short(u16),
    /// Ne in 1..=65536.
    Extended(u32),
}

impl Le {
    /// Ne: the maximum number of response data bytes, `None` when Le is absent.
    pub fn ne(self) -> Option<usize> {
        match self {
            Le::Absent => None,
            Le::Short(n) => Some(n as usize),
            Le::Extended(n) => Some(n as usize),
        }
    }

    /// Whether Le was sent in the extended form; some answers differ (an extended GET CHALLENGE
    /// gets `69 85`, docs/card-protocol.md §4.8).
    pub fn is_extended(self) -> bool {
        matches!(self, Le::Extended(_))
    }
}

/// Why bytes are not a well-formed command APDU. The card answers all of them with `67 00`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than the 4 header bytes.
    #[error("APDU of {len} bytes is shorter than the 4-byte header")]
    TooShort {
        /// How many bytes arrived (0..=3).
        len: usize,
    },
    /// The body after the header matches no ISO 7816-4 case for the length byte(s) it starts with.
    #[error("APDU body of {body_len} bytes does not match Lc = {lc} (short or extended case 3/4)")]
    LengthMismatch {
        /// Nc as read from the Lc field.
        lc: usize,
        /// The bytes after the header, length fields included.
        body_len: usize,
    },
    /// An extended Lc of `00 00` (Nc must be at least 1).
    #[error("extended Lc is zero")]
    ZeroExtendedLc,
    /// A body of 2 bytes starting with `00` is neither short nor extended.
    #[error("APDU body `00 {second:02X}` is neither a short nor an extended length field")]
    TruncatedExtendedLength {
        /// The byte after the `00`.
        second: u8,
    },
}

impl ApduError {
    /// The status word the card answers a malformed APDU with.
    pub fn status(&self) -> StatusWord {
        StatusWord::WRONG_LENGTH
    }
}

impl Apdu {
    /// A case-1 command (header only); add data and Le with the `with_` methods.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Apdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: Le::Absent,
            extended: false,
        }
    }

    /// Sets the command data (Nc = its length); more than 255 bytes switches to the extended
    /// encoding.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        if self.data.len() > 0xFF {
            self.extended = true;
        }
        self
    }

    /// Sets Le; an extended Le switches the whole APDU to the extended encoding.
    pub fn with_le(mut self, le: Le) -> Self {
        self.le = le;
        if le.is_extended() {
            self.extended = true;
        }
        self
    }

    /// Parses a command APDU; never panics.
    pub fn parse(bytes: &[u8]) -> Result<Apdu, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::TooShort { len: bytes.len() });
        };
        let mut apdu = Apdu::new(*cla, *ins, *p1, *p2);
        match body {
            // Case 1.
            [] => {}
            // Case 2S.
            [le] => apdu.le = Le::Short(short_ne(*le)),
            // Short Lc (cases 3S, 4S).
            [lc, rest @ ..] if *lc != 0 => {
                let lc = *lc as usize;
                match rest.len() {
                    n if n == lc => apdu.data = rest.to_vec(),
                    n if n == lc + 1 => {
                        apdu.data = rest[..lc].to_vec();
                        apdu.le = Le::Short(short_ne(rest[lc]));
                    }
                    n => {
                        return Err(ApduError::LengthMismatch {
                            lc,
                            body_len: n + 1,
                        })
                    }
                }
            }
            [0, second] => return Err(ApduError::TruncatedExtendedLength { second: *second }),
            // Case 2E.
            [0, hi, lo] => {
                apdu.extended = true;
                apdu.le = Le::Extended(extended_ne(*hi, *lo));
            }
            // Extended Lc (cases 3E, 4E).
            [_, hi, lo, rest @ ..] => {
                apdu.extended = true;
                let lc = u16::from_be_bytes([*hi, *lo]) as usize;
                if lc == 0 {
                    return Err(ApduError::ZeroExtendedLc);
                }
                match rest.len() {
                    n if n == lc => apdu.data = rest.to_vec(),
                    n if n == lc + 2 => {
                        apdu.data = rest[..lc].to_vec();
                        apdu.le = Le::Extended(extended_ne(rest[lc], rest[lc + 1]));
                    }
                    n => {
                        return Err(ApduError::LengthMismatch {
                            lc,
                            body_len: n + 3,
                        })
                    }
                }
            }
            // A lone `00` is case 2S; `[0, x]` is handled above; nothing else starts with 00.
            [..] => {
                return Err(ApduError::LengthMismatch {
                    lc: 0,
                    body_len: body.len(),
                })
            }
        }
        Ok(apdu)
    }

    /// Encodes the APDU; `parse(encode(a)) == a` for every parsed `a`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 3);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let extended = self.extended || self.data.len() > 0xFF || self.le.is_extended();
        if extended {
            if !self.data.is_empty() {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.le.ne() {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((ne & 0xFFFF) as u16).to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.le.ne() {
                out.push((ne & 0xFF) as u8);
            }
        }
        out
    }

    /// Whether CLA has the proprietary bit (b8) set, as in `80 2A`.
    pub fn is_proprietary(&self) -> bool {
        self.cla & 0x80 != 0
    }

    /// A decoded name for traces, e.g. `SELECT (DF name)` or `COMPUTE DIGITAL SIGNATURE`.
    pub fn command_name(&self) -> &'static str {
        match (self.is_proprietary(), self.ins) {
            (_, 0xA4) => match self.p1 {
                0x00 => "SELECT (MF)",
                0x02 => "SELECT (EF)",
                0x04 => "SELECT (DF name)",
                _ => "SELECT",
            },
            (_, 0xB0) if self.p1 & 0x80 != 0 => "READ BINARY (SFI)",
            (_, 0xB0) => "READ BINARY",
            (_, 0xB2) => "READ RECORD",
            (_, 0x20) if self.data.is_empty() => "VERIFY (retry query)",
            (_, 0x20) => "VERIFY",
            (false, 0x24) => "CHANGE REFERENCE DATA",
            (true, 0x2A) => "COMPUTE DIGITAL SIGNATURE",
            (false, 0x2A) => "PERFORM SECURITY OPERATION",
            (true, 0x32) => "CHANGE KEY",
            (_, 0x84) => "GET CHALLENGE",
            (_, 0x88) => "INTERNAL AUTHENTICATE",
            (_, 0xC0) => "GET RESPONSE",
            (_, 0xCA) => "GET DATA",
            (true, 0xA2) => "SET PUBLIC IC KEY",
            (true, 0xAE) => "SET SESSION KEY",
            (true, 0xFC) => "LAST COMMAND INDICATOR",
            _ => "UNKNOWN",
        }
    }
}

impl fmt::Debug for Apdu {
    /// Field-grouped hex; VERIFY and CHANGE data (PINs) are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Apdu({} {:02X} {:02X} {:02X} {:02X}",
            self.command_name(),
            self.cla,
            self.ins,
            self.p1,
            self.p2
        )?;
        if !self.data.is_empty() {
            if matches!(self.ins, 0x20 | 0x24 | 0x32) {
                write!(f, " [{} secret bytes]", self.data.len())?;
            } else {
                write!(
                    f,
                    " [{}] {}",
                    self.data.len(),
                    hex::encode_upper(&self.data)
                )?;
            }
        }
        match self.le {
            Le::Absent => {}
            Le::Short(n) => write!(f, " Le={n}")?,
            Le::Extended(n) => write!(f, " Le={n} (extended)")?,
        }
        write!(f, ")")
    }
}

// Helpers.

fn short_ne(le: u8) -> u16 {
    if le == 0 {
        256
    } else {
        le as u16
    }
}

fn extended_ne(hi: u8, lo: u8) -> u32 {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => n as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_hex(text: &str) -> Result<Apdu, ApduError> {
        Apdu::parse(&hex::decode(text.replace(' ', "")).unwrap())
    }

    #[test]
    fn parses_every_iso_case() {
        let case1 = parse_hex("00 20 00 80").unwrap();
        assert_eq!(
            (case1.data.len(), case1.le, case1.extended),
            (0, Le::Absent, false)
        );

        let case2s = parse_hex("00 B0 00 00 00").unwrap();
        assert_eq!(case2s.le, Le::Short(256));

        let case3s = parse_hex("00 A4 02 0C 02 00 06").unwrap();
        assert_eq!((case3s.data, case3s.le), (vec![0x00, 0x06], Le::Absent));

        let case4s = parse_hex("80 2A 00 80 03 01 02 03 00").unwrap();
        assert_eq!((case4s.data, case4s.le), (vec![1, 2, 3], Le::Short(256)));

        let case2e = parse_hex("00 B0 00 04 00 06 1F").unwrap();
        assert_eq!((case2e.le, case2e.extended), (Le::Extended(0x61F), true));

        let case2e_max = parse_hex("00 B0 8A 00 00 00 00").unwrap();
        assert_eq!(case2e_max.le, Le::Extended(65536));

        let case3e = parse_hex("00 20 00 80 00 00 04 31 32 33 34").unwrap();
        assert_eq!(
            (case3e.data.len(), case3e.le, case3e.extended),
            (4, Le::Absent, true)
        );

        let case4e = parse_hex("80 2A 00 80 00 00 02 AA BB 00 00").unwrap();
        assert_eq!((case4e.data.len(), case4e.le), (2, Le::Extended(65536)));
    }

    #[test]
    fn rejects_inconsistent_lengths_with_wrong_length() {
        for text in [
            "00",
            "00 A4 04",
            "00 A4 02 0C 02 00",
            "00 A4 02 0C 02 00 06 00 00",
            "00 B0 00 00 00 01",
            "00 20 00 80 00 00 00 00",
            "00 20 00 80 00 00 04 31 32 33",
        ] {
            let err = parse_hex(text).unwrap_err();
            assert_eq!(err.status(), StatusWord::WRONG_LENGTH, "{text}: {err}");
        }
    }

    #[test]
    fn names_commands_for_traces() {
        let name = |text| parse_hex(text).unwrap().command_name();
        assert_eq!(name("00 A4 04 0C 02 D3 92"), "SELECT (DF name)");
        assert_eq!(name("00 B0 8A 00 00"), "READ BINARY (SFI)");
        assert_eq!(name("00 20 00 80"), "VERIFY (retry query)");
        assert_eq!(name("80 2A 00 80 01 00 00"), "COMPUTE DIGITAL SIGNATURE");
        assert_eq!(name("00 FF 00 00"), "UNKNOWN");
    }

    #[test]
    fn debug_redacts_pins() {
        let apdu = parse_hex("00 20 00 80 04 31 32 33 34").unwrap();
        let text = format!("{apdu:?}");
        assert!(!text.contains("31323334"), "{text}");
        assert!(text.contains("4 secret bytes"), "{text}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Apdu::parse(&bytes);
        }

        #[test]
        fn parse_then_encode_reproduces_the_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(apdu) = Apdu::parse(&bytes) {
                prop_assert_eq!(apdu.encode(), bytes);
            }
        }

        #[test]
        fn encode_then_parse_reproduces_the_apdu(
            header in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 0..400),
            le in prop_oneof![
                Just(Le::Absent),
                (1u16..=256).prop_map(Le::Short),
                (1u32..=65536).prop_map(Le::Extended),
            ],
            extended in any::<bool>(),
        ) {
            let mut apdu = Apdu::new(header[0], header[1], header[2], header[3])
                .with_data(data)
                .with_le(le);
            apdu.extended |= extended && (!apdu.data.is_empty() || apdu.le != Le::Absent);
            let parsed = Apdu::parse(&apdu.encode()).unwrap();
            // A short Le sent in extended form comes back as extended.
            let expected_le = match (apdu.extended, apdu.le) {
                (true, Le::Short(n)) => Le::Extended(n as u32),
                (_, le) => le,
            };
            prop_assert_eq!(parsed.le, expected_le);
            prop_assert_eq!(parsed.extended, apdu.extended);
            prop_assert_eq!(&parsed.data, &apdu.data);
            prop_assert_eq!(parsed.encode(), apdu.encode());
        }
    }
}
