//! Card identifiers: the contactless id a physical card (or any stand-in card) presents.
//!
//! Syntax (fixed, relied on by users' scripts): `felica:<IDm, 16 hex>` or
//! `typea:<UID, 8|14|20 hex>` (ISO 14443-3 single, double and triple size UIDs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parsed card id. The canonical text form uses upper-case hex.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CardId {
    /// A FeliCa card, keyed by its 8-byte IDm.
    Felica([u8; 8]),
    /// An ISO 14443 Type-A card, keyed by its 4, 7 or 10-byte UID.
    TypeA(Vec<u8>),
}

/// Why a string is not a card id. Each variant says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardIdError {
    #[error(
        "card id {input:?} has no kind prefix: expected `felica:<16 hex>` or `typea:<8|14|20 hex>`"
    )]
    /// No `:` separates a kind from the hex part.
    MissingKind {
        /// The text as given.
        input: String,
    },
    #[error("card id {input:?} has unknown kind {kind:?}: expected `felica` or `typea`")]
    /// The part before `:` is neither `felica` nor `typea` (in any case).
    UnknownKind {
        /// The text as given.
        input: String,
        /// The part before the `:`.
        kind: String,
    },
    #[error("card id {input:?}: {kind} expects {expected} hex digits, got {got}")]
    /// The hex part has a length the kind does not allow.
    WrongLength {
        /// The text as given.
        input: String,
        /// `felica` or `typea`.
        kind: &'static str,
        /// The allowed lengths in hex digits, e.g. `8, 14 or 20`.
        expected: &'static str,
        /// The number of hex digits given.
        got: usize,
    },
    #[error("card id {input:?}: {found:?} is not a hex digit")]
    /// The part after `:` holds a character that is not a hex digit.
    NotHex {
        /// The text as given.
        input: String,
        /// The first offending character.
        found: char,
    },
}

impl CardId {
    /// The raw identifier bytes (IDm or UID).
    pub fn bytes(&self) -> &[u8] {
        match self {
            CardId::Felica(idm) => idm,
            CardId::TypeA(uid) => uid,
        }
    }

    /// `felica` or `typea`.
    pub fn kind(&self) -> &'static str {
        match self {
            CardId::Felica(_) => "felica",
            CardId::TypeA(_) => "typea",
        }
    }
}

impl FromStr for CardId {
    type Err = CardIdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (kind, hex_part) = input
            .split_once(':')
            .ok_or_else(|| CardIdError::MissingKind {
                input: input.to_owned(),
            })?;
        if let Some(found) = hex_part.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(CardIdError::NotHex {
                input: input.to_owned(),
                found,
            });
        }
        let wrong_length = |kind, expected| CardIdError::WrongLength {
            input: input.to_owned(),
            kind,
            expected,
            got: hex_part.len(),
        };
        match kind.to_ascii_lowercase().as_str() {
            "felica" => {
                if hex_part.len() != 16 {
                    return Err(wrong_length("felica", "16"));
                }
                let mut idm = [0u8; 8];
                hex::decode_to_slice(hex_part, &mut idm).expect("validated hex");
                Ok(CardId::Felica(idm))
            }
            "typea" => {
                if !matches!(hex_part.len(), 8 | 14 | 20) {
                    return Err(wrong_length("typea", "8, 14 or 20"));
                }
                Ok(CardId::TypeA(hex::decode(hex_part).expect("validated hex")))
            }
            _ => Err(CardIdError::UnknownKind {
                input: input.to_owned(),
                kind: kind.to_owned(),
            }),
        }
    }
}

impl fmt::Display for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), hex::encode_upper(self.bytes()))
    }
}

impl fmt::Debug for CardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardId({self})")
    }
}

impl Serialize for CardId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CardId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_and_prints_canonical_upper_case() {
        let felica: CardId = "felica:0123456789abcdef".parse().unwrap();
        assert_eq!(felica.to_string(), "felica:0123456789ABCDEF");
        for uid in ["04A1B2C3", "04A1B2C3D4E5F6", "04A1B2C3D4E5F6A7B8C9"] {
            let id: CardId = format!("TypeA:{uid}").parse().unwrap();
            assert_eq!(id.to_string(), format!("typea:{uid}"));
        }
    }

    #[test]
    fn rejects_with_what_was_expected() {
        let err = "0123456789abcdef".parse::<CardId>().unwrap_err();
        assert!(err.to_string().contains("felica:<16 hex>"), "{err}");
        let err = "felica:0123".parse::<CardId>().unwrap_err();
        assert!(
            err.to_string().contains("expects 16 hex digits, got 4"),
            "{err}"
        );
        let err = "typea:0102030405".parse::<CardId>().unwrap_err();
        assert!(err.to_string().contains("8, 14 or 20"), "{err}");
        let err = "typeb:01020304".parse::<CardId>().unwrap_err();
        assert!(matches!(err, CardIdError::UnknownKind { .. }));
        let err = "felica:0123456789abcdeg".parse::<CardId>().unwrap_err();
        assert!(matches!(err, CardIdError::NotHex { found: 'g', .. }));
    }
}
