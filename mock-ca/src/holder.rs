//! The cardholder as the certificates see them: what goes into the subject, the signature
//! certificate's SubjectAltName otherNames (docs/card-protocol.md §8.3) and the CRL partition.
//!
//! mock-ca has its own type so that it does not depend on the registry (mock-jlis), which
//! depends on it.

use sha2::{Digest, Sha256};
use time::macros::date;
use time::Date;

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::keys::checked_card_id;

/// The certificate-relevant facts about a cardholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// 氏名 in kanji, family and given name separated by U+3000 (`黒桐　幹也`).
    pub name: String,
    /// One flag per character of `name` (otherName .2).
    pub name_substitute_flags: SubstituteFlags,
    /// 住所 as printed, full-width digits (`東京都清瀬市観布子南１２－７－２０２`).
    pub address: String,
    /// One flag per character of `address` (otherName .6).
    pub address_substitute_flags: SubstituteFlags,
    /// Gregorian birth date; the certificate adds the era digit.
    pub birth_date: Date,
    /// 性別, the signature certificate's otherName .3.
    pub sex: Sex,
    /// Romanised prefecture for the subject `L` and the CRL partition (`Tokyo-to`).
    pub prefecture_romaji: String,
    /// Romanised municipality for the subject `L` and the CRL partition (`Shibuya-ku`).
    pub municipality_romaji: String,
    /// Municipality code embedded in the subject CNs.
    pub municipality_code: MunicipalityCode,
    /// Subject CN of the user-authentication certificate.
    pub auth_cn: SubjectId,
    /// Subject CN of the digital-signature certificate.
    pub sign_cn: SubjectId,
}

impl Holder {
    /// Checks the cross-field rules a certificate relies on: texts present, one substitute flag
    /// per character, romanised names free of control characters.
    pub fn check(&self) -> Result<()> {
        non_empty("name", &self.name)?;
        non_empty("address", &self.address)?;
        non_empty("prefecture_romaji", &self.prefecture_romaji)?;
        non_empty("municipality_romaji", &self.municipality_romaji)?;
        self.name_substitute_flags
            .check_covers("name_substitute_flags", &self.name)?;
        self.address_substitute_flags
            .check_covers("address_substitute_flags", &self.address)?;
        Ok(())
    }
}

/// 性別 as the signature certificate encodes it (otherName .3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `1`
    Male,
    /// `2`
    Female,
    /// `9`: not applicable.
    NotApplicable,
}

impl Sex {
    /// The one-character code in the certificate.
    pub fn code(self) -> char {
        match self {
            Sex::Male => '1',
            Sex::Female => '2',
            Sex::NotApplicable => '9',
        }
    }

    /// The sex for a certificate code; anything but `1`, `2` or `9` is
    /// [`Error::InvalidHolderField`].
    pub fn from_code(code: char) -> Result<Self> {
        match code {
            '1' => Ok(Sex::Male),
            '2' => Ok(Sex::Female),
            '9' => Ok(Sex::NotApplicable),
            other => Err(Error::InvalidHolderField {
                field: "sex",
                reason: "expected 1, 2 or 9",
                value: other.to_string(),
            }),
        }
    }
}

/// A substitute-character flag string: one `0`/`1` per character of a name or address,
/// `1` where the certificate carries a 代替文字 (otherNames .2 and .6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubstituteFlags(String);

impl SubstituteFlags {
    /// All `0`: every character of `text` is representable.
    pub fn none_for(text: &str) -> Self {
        SubstituteFlags("0".repeat(text.chars().count()))
    }

    /// Accepts one or more `0`/`1` digits; whether they cover the text is checked by
    /// [`Holder::check`].
    pub fn parse(flags: &str) -> Result<Self> {
        if flags.is_empty() || !flags.chars().all(|c| c == '0' || c == '1') {
            return Err(Error::InvalidHolderField {
                field: "substitute flags",
                reason: "expected one or more 0/1 digits",
                value: flags.to_owned(),
            });
        }
        Ok(SubstituteFlags(flags.to_owned()))
    }

    /// The flags as the otherName carries them, e.g. `00000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check_covers(&self, field: &'static str, text: &str) -> Result<()> {
        let chars = text.chars().count();
        if self.0.len() != chars {
            return Err(Error::SubstituteFlagsLength {
                field,
                flags: self.0.len(),
                chars,
            });
        }
        Ok(())
    }
}

/// The five-digit municipality code (the 全国地方公共団体コード without its check digit), as it
/// appears in the real subject CNs (`…14104003A` for Yokohama Naka-ku).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MunicipalityCode([u8; 5]);

impl MunicipalityCode {
    /// Accepts exactly 5 ASCII digits (`14104`); full-width digits are refused.
    pub fn parse(code: &str) -> Result<Self> {
        let bytes: [u8; 5] = code
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 5]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| Error::InvalidHolderField {
                field: "municipality_code",
                reason: "expected 5 ASCII digits",
                value: code.to_owned(),
            })?;
        Ok(MunicipalityCode(bytes))
    }

    /// The 5 digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A certificate subject CN in the real 23-character shape (docs/card-protocol.md §8.2):
/// 6 digits, `E`, 7 characters, the 5-digit municipality code, `003A`
/// (e.g. `412594E75JACJM14104003A`). The real semantics are unknown; ours are derived.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectId(String);

/// Alphabet of the seven free characters.
const SUBJECT_ID_CHARS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl SubjectId {
    /// Derives the CN of a card's certificate in one hierarchy and card generation.
    /// With `h = SHA-256("jpki-sim/subject-id/v1" 00 ‖ card-id ‖ 00 ‖ gen ‖ tag)` (gen a
    /// big-endian `u32`, tag `sign` or `auth`): digits `h[0..6] mod 10`, then `E`, then
    /// `[0-9A-Z][h[6..13] mod 36]`, then the municipality code, then `003A`.
    pub fn derive(
        card_id_canonical: &str,
        generation: u32,
        hierarchy: Hierarchy,
        municipality: MunicipalityCode,
    ) -> Result<Self> {
        let card_id = checked_card_id(card_id_canonical)?;
        let mut hash = Sha256::new();
        hash.update(b"jpki-sim/subject-id/v1\0");
        hash.update(card_id.as_bytes());
        hash.update([0]);
        hash.update(generation.to_be_bytes());
        hash.update(hierarchy.tag().as_bytes());
        let h = hash.finalize();
        let mut id = String::with_capacity(23);
        id.extend(h[..6].iter().map(|b| char::from(b'0' + b % 10)));
        id.push('E');
        id.extend(
            h[6..13]
                .iter()
                .map(|b| char::from(SUBJECT_ID_CHARS[usize::from(*b) % SUBJECT_ID_CHARS.len()])),
        );
        id.push_str(municipality.as_str());
        id.push_str("003A");
        Ok(SubjectId(id))
    }

    /// Accepts a CN in the 23-character shape (for overrides that copy a real one).
    pub fn parse(id: &str) -> Result<Self> {
        let b = id.as_bytes();
        let shaped = b.len() == 23
            && b[..6].iter().all(u8::is_ascii_digit)
            && b[6] == b'E'
            && b[7..14]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[14..19].iter().all(u8::is_ascii_digit)
            && &b[19..] == b"003A";
        if !shaped {
            return Err(Error::InvalidHolderField {
                field: "subject id",
                reason: "expected 6 digits, E, 7 of [0-9A-Z], 5 digits, 003A",
                value: id.to_owned(),
            });
        }
        Ok(SubjectId(id.to_owned()))
    }

    /// The 23-character CN.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The dateOfBirth otherName value `EYYYYMMDD`: the era digit of the Gregorian date (1 明治,
/// 2 大正, 3 昭和, 4 平成, 5 令和, 0 before 明治) followed by the Gregorian date itself.
pub fn date_of_birth_text(birth_date: Date) -> Result<String> {
    if !(1000..=9999).contains(&birth_date.year()) {
        return Err(Error::DateOutOfRange {
            what: "birth date year must have four digits",
        });
    }
    Ok(format!(
        "{}{:04}{:02}{:02}",
        era_digit(birth_date),
        birth_date.year(),
        u8::from(birth_date.month()),
        birth_date.day()
    ))
}

/// Era digit by the first Gregorian day of each era (明治 from 1868-01-25, the Gregorian date
/// of 明治元年1月1日; 大正 from 1912-07-30; 昭和 from 1926-12-25; 平成 from 1989-01-08;
/// 令和 from 2019-05-01).
pub fn era_digit(day: Date) -> char {
    const ERAS: [(Date, char); 5] = [
        (date!(2019 - 05 - 01), '5'),
        (date!(1989 - 01 - 08), '4'),
        (date!(1926 - 12 - 25), '3'),
        (date!(1912 - 07 - 30), '2'),
        (date!(1868 - 01 - 25), '1'),
    ];
    ERAS.iter()
        .find(|(start, _)| day >= *start)
        .map_or('0', |(_, digit)| *digit)
}

fn non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(Error::InvalidHolderField {
            field,
            reason: "must be non-empty text without control characters",
            value: value.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_boundaries_follow_the_gregorian_changeover_days() {
        let cases = [
            (date!(1868 - 01 - 24), '0'),
            (date!(1868 - 01 - 25), '1'),
            (date!(1912 - 07 - 29), '1'),
            (date!(1912 - 07 - 30), '2'),
            (date!(1926 - 12 - 24), '2'),
            (date!(1926 - 12 - 25), '3'),
            (date!(1989 - 01 - 07), '3'),
            (date!(1989 - 01 - 08), '4'),
            (date!(2019 - 04 - 30), '4'),
            (date!(2019 - 05 - 01), '5'),
        ];
        for (day, digit) in cases {
            assert_eq!(era_digit(day), digit, "{day}");
        }
    }

    #[test]
    fn date_of_birth_matches_the_test_card_format() {
        assert_eq!(
            date_of_birth_text(date!(1980 - 02 - 17)).unwrap(),
            "319800217"
        );
        assert_eq!(
            date_of_birth_text(date!(2020 - 01 - 05)).unwrap(),
            "520200105"
        );
    }

    #[test]
    fn subject_ids_have_the_real_shape_and_are_stable() {
        let code = MunicipalityCode::parse("14104").unwrap();
        let id = SubjectId::derive("felica:0123456789ABCDEF", 1, Hierarchy::Auth, code).unwrap();
        assert_eq!(SubjectId::parse(id.as_str()).unwrap(), id);
        assert!(id.as_str().ends_with("14104003A"));
        insta::assert_snapshot!(id.as_str());
        let sign = SubjectId::derive("felica:0123456789ABCDEF", 1, Hierarchy::Sign, code).unwrap();
        assert_ne!(sign, id);
    }

    #[test]
    fn real_subject_ids_parse() {
        for real in ["412594E75JACJM14104003A", "997794E9AGCIEG13221003A"] {
            assert!(SubjectId::parse(real).is_ok(), "{real}");
        }
        assert!(SubjectId::parse("412594X75JACJM14104003A").is_err());
        assert!(SubjectId::parse("412594E75JACJM14104003").is_err());
    }

    #[test]
    fn malformed_codes_and_flags_are_rejected() {
        assert!(MunicipalityCode::parse("1410").is_err());
        assert!(MunicipalityCode::parse("１４１０４").is_err());
        assert!(SubstituteFlags::parse("0102").is_err());
        assert!(Sex::from_code('3').is_err());
        assert_eq!(Sex::from_code('9').unwrap(), Sex::NotApplicable);
    }

    #[test]
    fn flags_must_cover_every_character() {
        let flags = SubstituteFlags::parse("0000").unwrap();
        assert!(flags.check_covers("name", "黒桐　幹也").is_err());
        assert!(SubstituteFlags::none_for("黒桐　幹也")
            .check_covers("name", "黒桐　幹也")
            .is_ok());
    }
}
