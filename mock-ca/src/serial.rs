//! Certificate serial numbers: positive, deterministic, printed as hex.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::keys::checked_card_id;

/// The shape of card certificate serials. Real JPKI serials are 4 bytes; the other styles put
/// the encodings verifiers get wrong within reach of a scenario: a set top bit (the DER
/// INTEGER needs a leading `00`), a leading zero nibble (hex `0X…`), the 20-byte maximum
/// (RFC 5280 §4.1.2.2). Every style is deterministic; the default keeps the serials every
/// existing state and snapshot has.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum SerialStyle {
    /// 8 bytes, the first in `0x40..=0x7F`.
    #[default]
    Default,
    /// 4 bytes, the first in `0x01..=0x7F`, as JPKI serials are.
    Jpki,
    /// 8 bytes, the first in `0x80..=0xFF`: the DER INTEGER has 9 content octets.
    HighBit,
    /// 8 bytes, the first in `0x01..=0x0F`: the hex starts with `0`.
    LeadingZeroNibble,
    /// 20 bytes, the first in `0x40..=0x7F`: the longest serial a conforming CA may use.
    Longest,
}

impl SerialStyle {
    /// The serial of this style from a SHA-256 digest.
    fn shape(self, digest: &[u8]) -> Vec<u8> {
        let (len, first): (usize, fn(u8) -> u8) = match self {
            SerialStyle::Default => (8, |b| 0x40 | (b & 0x3F)),
            SerialStyle::Jpki => (4, |b| (b % 0x7F) + 1),
            SerialStyle::HighBit => (8, |b| 0x80 | b),
            SerialStyle::LeadingZeroNibble => (8, |b| (b % 0x0F) + 1),
            SerialStyle::Longest => (20, |b| 0x40 | (b & 0x3F)),
        };
        let mut bytes = digest[..len].to_vec();
        bytes[0] = first(bytes[0]);
        bytes
    }
}

/// A certificate serial number: the big-endian magnitude of a positive INTEGER, 1 to 20 bytes
/// without leading zeros (RFC 5280 §4.1.2.2). Displays as upper-case hex without separators.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// The serial of a card's certificate in one hierarchy and card generation:
    /// the first 8 bytes of `SHA-256("jpki-sim/serial/v1" 00 ‖ card-id ‖ 00 ‖ gen ‖ tag)` (gen a
    /// big-endian `u32`, tag `sign` or `auth`), with the first byte forced into `0x40..=0x7F`
    /// so the number is positive and always exactly 8 bytes long.
    pub fn for_card(
        card_id_canonical: &str,
        generation: u32,
        hierarchy: Hierarchy,
    ) -> Result<Self> {
        Self::for_card_revision(card_id_canonical, generation, 0, hierarchy)
    }

    /// The serial of a certificate re-issued within a generation: revision 0 is
    /// [`Serial::for_card`]; revision r > 0 appends `00 ‖ "rev" ‖ r` (big-endian `u32`) to the
    /// hashed input.
    pub fn for_card_revision(
        card_id_canonical: &str,
        generation: u32,
        revision: u32,
        hierarchy: Hierarchy,
    ) -> Result<Self> {
        Self::for_card_styled(
            card_id_canonical,
            generation,
            revision,
            hierarchy,
            SerialStyle::Default,
        )
    }

    /// [`Serial::for_card_revision`] in `style`: the same hash, another shape (the default
    /// style gives the same serial).
    pub fn for_card_styled(
        card_id_canonical: &str,
        generation: u32,
        revision: u32,
        hierarchy: Hierarchy,
        style: SerialStyle,
    ) -> Result<Self> {
        let card_id = checked_card_id(card_id_canonical)?;
        let mut hash = Sha256::new();
        hash.update(b"jpki-sim/serial/v1\0");
        hash.update(card_id.as_bytes());
        hash.update([0]);
        hash.update(generation.to_be_bytes());
        hash.update(hierarchy.tag().as_bytes());
        if revision > 0 {
            hash.update(b"\0rev");
            hash.update(revision.to_be_bytes());
        }
        Ok(Serial(style.shape(&hash.finalize())))
    }

    /// The serial of a CA certificate: as [`Serial::for_card`] over
    /// `"jpki-sim/ca-serial/v1" 00 ‖ gen ‖ tag`.
    pub fn for_authority(hierarchy: Hierarchy, generation: u32) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"jpki-sim/ca-serial/v1\0");
        hash.update(generation.to_be_bytes());
        hash.update(hierarchy.tag().as_bytes());
        Self::from_digest(&hash.finalize())
    }

    /// A serial from its big-endian magnitude (leading zero bytes are dropped).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let magnitude = &bytes[start..];
        // 20 octets of INTEGER content, so at most 19 magnitude bytes when the top bit is set.
        let fits = magnitude.len() < 20 || (magnitude.len() == 20 && magnitude[0] & 0x80 == 0);
        if magnitude.is_empty() || !fits {
            return Err(Error::InvalidSerial {
                hex: hex::encode_upper(bytes),
            });
        }
        Ok(Serial(magnitude.to_vec()))
    }

    /// The big-endian magnitude, without leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn from_digest(digest: &[u8]) -> Self {
        Serial(SerialStyle::Default.shape(digest))
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

/// Parses hex in either case, optionally with `:` separators (as OpenSSL prints serials).
impl FromStr for Serial {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let digits: String = s.chars().filter(|c| *c != ':').collect();
        let padded = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits
        };
        let bytes = hex::decode(&padded).map_err(|_| Error::InvalidSerial { hex: s.to_owned() })?;
        Serial::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn revisions_give_new_serials_and_revision_zero_is_the_first_issue() {
        let card = "felica:0123456789ABCDEF";
        let first = Serial::for_card(card, 1, Hierarchy::Sign).unwrap();
        assert_eq!(
            Serial::for_card_revision(card, 1, 0, Hierarchy::Sign).unwrap(),
            first
        );
        let second = Serial::for_card_revision(card, 1, 1, Hierarchy::Sign).unwrap();
        let third = Serial::for_card_revision(card, 1, 2, Hierarchy::Sign).unwrap();
        assert_ne!(second, first);
        assert_ne!(third, second);
        assert_eq!(second.as_bytes().len(), 8);
    }

    use super::*;

    #[test]
    fn card_serials_are_eight_positive_bytes_and_stable() {
        let serial = Serial::for_card("felica:0123456789ABCDEF", 1, Hierarchy::Sign).unwrap();
        assert_eq!(serial.as_bytes().len(), 8);
        assert!((0x40..=0x7F).contains(&serial.as_bytes()[0]));
        assert_eq!(serial.to_string().len(), 16);
        insta::assert_snapshot!(serial.to_string());
    }

    #[test]
    fn hierarchies_and_generations_get_distinct_serials() {
        let card = "felica:0123456789ABCDEF";
        let sign = Serial::for_card(card, 1, Hierarchy::Sign).unwrap();
        assert_ne!(sign, Serial::for_card(card, 1, Hierarchy::Auth).unwrap());
        assert_ne!(sign, Serial::for_card(card, 2, Hierarchy::Sign).unwrap());
        assert_ne!(
            Serial::for_authority(Hierarchy::Sign, 1),
            Serial::for_authority(Hierarchy::Auth, 1)
        );
    }

    #[test]
    fn hex_round_trips_and_accepts_openssl_style() {
        let serial: Serial = "06:BF:C3:41".parse().unwrap();
        assert_eq!(serial.as_bytes(), [0x06, 0xBF, 0xC3, 0x41]);
        assert_eq!(serial.to_string(), "06BFC341");
        assert_eq!("6bfc341".parse::<Serial>().unwrap(), serial);
    }

    #[test]
    fn each_style_has_its_shape_and_the_default_is_the_classic_serial() {
        let card = "felica:0123456789ABCDEF";
        let styled = |style| Serial::for_card_styled(card, 1, 0, Hierarchy::Auth, style).unwrap();
        assert_eq!(
            styled(SerialStyle::Default),
            Serial::for_card(card, 1, Hierarchy::Auth).unwrap()
        );
        for (style, len, first) in [
            (SerialStyle::Jpki, 4, 0x01..=0x7F),
            (SerialStyle::HighBit, 8, 0x80..=0xFF),
            (SerialStyle::LeadingZeroNibble, 8, 0x01..=0x0F),
            (SerialStyle::Longest, 20, 0x40..=0x7F),
        ] {
            let serial = styled(style);
            assert_eq!(serial.as_bytes().len(), len, "{style:?}");
            assert!(first.contains(&serial.as_bytes()[0]), "{style:?} {serial}");
            assert_eq!(Serial::from_bytes(serial.as_bytes()).unwrap(), serial);
        }
        assert!(styled(SerialStyle::LeadingZeroNibble)
            .to_string()
            .starts_with('0'));
    }

    #[test]
    fn zero_oversized_and_garbage_serials_are_rejected() {
        assert!(Serial::from_bytes(&[0, 0]).is_err());
        assert!(Serial::from_bytes(&[0x80; 20]).is_err());
        assert!(Serial::from_bytes(&[0x7F; 20]).is_ok());
        assert!("xyz".parse::<Serial>().is_err());
    }
}
