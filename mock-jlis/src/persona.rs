//! Residents derived from card ids: the same card id and generation give the same persona on
//! every install (`docs/persona-derivation.md` is the contract, pinned by snapshot tests).
//!
//! Two seeded streams feed the derivation. The *identity* stream depends on the card id only, so
//! a renewal (generation + 1) keeps name, kana, birth date, sex, address and my number. The
//! *issuance* stream depends on card id and generation and gives what a new card changes: issue
//! date, security code, card serial (and, in mock-ca, keys and certificate serials).

mod tables;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use sim_card::CardId;
use time::{Date, Month};

use crate::my_number::MyNumber;

pub use crate::overrides::{PersonaOverrides, PinOverrides};
pub(crate) use tables::municipality_by_code;

/// Domain label of the identity stream (card id only).
pub const IDENTITY_LABEL: &str = "jpki-sim/persona/identity/v1";
/// Domain label of the issuance stream (card id and generation).
pub const ISSUANCE_LABEL: &str = "jpki-sim/persona/issuance/v1";

/// Derived birth dates lie in this range: every holder is 15 or older on any issue date
/// (≥ 2023-08-01), so every default card carries a signature certificate.
pub const BIRTH_RANGE: (Date, Date) = (
    time::macros::date!(1940 - 01 - 01),
    time::macros::date!(2007 - 12 - 31),
);
/// Derived issue dates lie in this fixed range; the simulation never reads the real clock.
pub const ISSUE_RANGE: (Date, Date) = (
    time::macros::date!(2023 - 08 - 01),
    time::macros::date!(2026 - 06 - 30),
);

/// One simulated cardholder and the card-specific values printed on or derived for their card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    /// Canonical card id the persona was derived from.
    pub card_id: CardId,
    /// Card generation: 1 for the first card, +1 per renewal.
    pub generation: u32,
    /// 氏名: family name, U+3000, given name.
    pub name: String,
    /// フリガナ in katakana, family name, U+3000, given name.
    pub name_kana: String,
    /// Romanised name, family name first (`Sato Taro`).
    pub name_romaji: String,
    /// One `0`/`1` per character of `name`; `1` marks a substitute character (代替文字).
    pub name_substitute_flags: String,
    /// 住所 with full-width digits (`東京都渋谷区道玄坂１丁目２番３号`).
    pub address: String,
    /// One `0`/`1` per character of `address`.
    pub address_substitute_flags: String,
    /// Prefecture in kanji (`東京都`).
    pub prefecture: String,
    /// Prefecture as in CRL distribution point names (`Tokyo-to`).
    pub prefecture_romaji: String,
    /// Municipality in kanji, designated-city wards with their city (`横浜市中区`).
    pub municipality: String,
    /// Municipality as in CRL distribution point names (`Yokohama-shi-Naka-ku`).
    pub municipality_romaji: String,
    /// 全国地方公共団体コード, 5 digits without the check digit, as the card stores it
    /// (共通カードAP `0001`, MF `00F0`); see [`Persona::municipality_code_with_check_digit`].
    pub municipality_code: String,
    /// 生年月日 (Gregorian).
    #[serde(with = "iso_date")]
    pub birth_date: Date,
    /// 性別, the first identity pick.
    pub sex: Sex,
    /// 個人番号: 11 drawn digits and the check digit (`docs/persona-derivation.md` §5).
    pub my_number: MyNumber,
    /// セキュリティコード printed on the card face: 4 digits.
    pub security_code: String,
    /// Card serial number, 15 digits, starting with `9` to mark a simulated card
    /// (共通カードAP `0001`, MF `0045`, JPKI token serial).
    pub card_serial: String,
    /// The card's issue date: drawn from [`ISSUE_RANGE`], or the day of a renewal or re-issue;
    /// a provisioned card's certificates are issued at 10:00 JST that day.
    #[serde(with = "iso_date")]
    pub card_issued_on: Date,
    /// The 10th birthday after issuance for holders 18 or older at issuance, else the 5th.
    #[serde(with = "iso_date")]
    pub card_expires_on: Date,
    /// The holder's PINs and passwords (`docs/persona-derivation.md` §6).
    pub pins: Pins,
}

/// 性別 (JIS X 0303 / ISO 5218 digit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// `0`: not known.
    #[serde(rename = "0")]
    Unknown,
    /// `1`.
    #[serde(rename = "1")]
    Male,
    /// `2`.
    #[serde(rename = "2")]
    Female,
    /// `9`: not applicable.
    #[serde(rename = "9")]
    NotApplicable,
}

impl Sex {
    /// The ASCII digit stored on the card and in certificates.
    pub fn code(self) -> char {
        match self {
            Sex::Unknown => '0',
            Sex::Male => '1',
            Sex::Female => '2',
            Sex::NotApplicable => '9',
        }
    }
}

/// Every credential of the card, as the ASCII a client sends in VERIFY.
///
/// Serialised in full (the simulator prints them on request); `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pins {
    /// JPKI `001B` 署名用パスワード: 6–16 of `A-Z0-9`.
    pub sign_password: String,
    /// JPKI `0018` 利用者証明用暗証番号: 4 digits.
    pub auth_pin: String,
    /// Text AP `0011` 券面事項入力補助用暗証番号: 4 digits.
    pub text_pin: String,
    /// 照合番号A (text `0014`, visual `0013`): the 12-digit my number.
    pub pin_a: String,
    /// 照合番号B (text `0015`, visual `0012`): birth date as Japanese-era `YYMMDD`, expiry year
    /// `YYYY`, security code (14 digits; the era year follows docs/card-protocol.md §6.1).
    pub pin_b: String,
    /// Visual AP `0011` 生年月日 key: Japanese-era `YYMMDD`.
    pub birth_pin: String,
    /// 住基AP `001C`: 4 digits.
    pub juki_pin: String,
    /// 共通カードAP `001C`: 4 digits.
    pub common_pin: String,
}

impl fmt::Debug for Pins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pins(<redacted>)")
    }
}

/// A Japanese era (元号), for the era-year formats of the card and certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 明治, from 1868-01-25 (JPKI digit `1`).
    Meiji,
    /// 大正, from 1912-07-30 (`2`).
    Taisho,
    /// 昭和, from 1926-12-25 (`3`).
    Showa,
    /// 平成, from 1989-01-08 (`4`).
    Heisei,
    /// 令和, from 2019-05-01 (`5`).
    Reiwa,
}

impl Era {
    /// The era a date falls in and the year within it; `None` before 明治 (1868-01-25).
    pub fn of(date: Date) -> Option<(Era, i32)> {
        use time::macros::date;
        let (era, first_day) = [
            (Era::Reiwa, date!(2019 - 05 - 01)),
            (Era::Heisei, date!(1989 - 01 - 08)),
            (Era::Showa, date!(1926 - 12 - 25)),
            (Era::Taisho, date!(1912 - 07 - 30)),
            (Era::Meiji, date!(1868 - 01 - 25)),
        ]
        .into_iter()
        .find(|(_, first)| date >= *first)?;
        Some((era, date.year() - first_day.year() + 1))
    }

    /// The digit that prefixes a JPKI certificate's dateOfBirth (`1` 明治 … `5` 令和).
    pub fn jpki_digit(self) -> char {
        match self {
            Era::Meiji => '1',
            Era::Taisho => '2',
            Era::Showa => '3',
            Era::Heisei => '4',
            Era::Reiwa => '5',
        }
    }

    /// The era's name in kanji (`昭和`).
    pub fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }
}

/// A date that the era-year formats (生年月日 key, 照合番号B) cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{date} is before the 明治 era (1868-01-25); era-year formats cannot express it")]
pub struct BeforeMeiji {
    /// The date that falls before 1868-01-25.
    pub date: Date,
}

impl Persona {
    /// The persona of generation `generation` of the card `card_id`.
    pub fn derive(card_id: &CardId, generation: u32) -> Persona {
        Persona::derive_traced(card_id, generation).0
    }

    /// Derivation with every pick recorded, for the documented test vectors.
    pub(crate) fn derive_traced(card_id: &CardId, generation: u32) -> (Persona, Trace) {
        let mut identity = Stream::new(IDENTITY_LABEL, card_id, None);
        let sex_draw = identity.below(2);
        let sex = if sex_draw == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        let family_index = identity.index(tables::FAMILY_NAMES.len());
        let family = &tables::FAMILY_NAMES[family_index];
        let given_table = match sex {
            Sex::Female => tables::FEMALE_GIVEN_NAMES,
            _ => tables::MALE_GIVEN_NAMES,
        };
        let given_index = identity.index(given_table.len());
        let given = &given_table[given_index];
        let (birth_day_offset, birth_date) = identity.date_in(BIRTH_RANGE);
        let municipality_index = identity.index(tables::MUNICIPALITIES.len());
        let municipality = &tables::MUNICIPALITIES[municipality_index];
        let town_index = identity.index(municipality.towns.len());
        let town = &municipality.towns[town_index];
        let chome = 1 + identity.below(town.chome);
        let banchi = 1 + identity.below(30);
        let go = 1 + identity.below(20);
        let mut body = [0u8; 11];
        for digit in &mut body {
            *digit = identity.below(10) as u8;
        }
        let my_number = MyNumber::from_body(body).unwrap_or_else(|| unreachable!("digits < 10"));

        let mut issuance = Stream::new(ISSUANCE_LABEL, card_id, Some(generation));
        let (issue_day_offset, card_issued_on) = issuance.date_in(ISSUE_RANGE);
        let security_code = issuance.digits(4);
        let card_serial = format!("9{}", issuance.digits(14));

        let name = format!("{}\u{3000}{}", family.kanji, given.kanji);
        let address = format!(
            "{}{}{}{}丁目{}番{}号",
            municipality.prefecture,
            municipality.name,
            town.name,
            full_width(chome),
            full_width(banchi),
            full_width(go),
        );
        let card_expires_on = card_expiry(birth_date, card_issued_on);
        let pins = Pins::defaults(&my_number, birth_date, card_expires_on, &security_code)
            .unwrap_or_else(|e| unreachable!("derived birth dates are 昭和 or 平成: {e}"));
        let trace = Trace {
            identity_seed: hex::encode(identity.seed),
            issuance_seed: hex::encode(issuance.seed),
            sex_draw,
            family_index,
            given_index,
            birth_day_offset,
            municipality_index,
            town_index,
            chome,
            banchi,
            go,
            issue_day_offset,
        };
        let persona = Persona {
            card_id: card_id.clone(),
            generation,
            name_substitute_flags: substitute_flags(&name),
            name,
            name_kana: format!("{}\u{3000}{}", family.kana, given.kana),
            name_romaji: format!("{} {}", family.romaji, given.romaji),
            address_substitute_flags: substitute_flags(&address),
            address,
            prefecture: municipality.prefecture.to_owned(),
            prefecture_romaji: municipality.prefecture_romaji.to_owned(),
            municipality: municipality.name.to_owned(),
            municipality_romaji: municipality.romaji.to_owned(),
            municipality_code: municipality.code.to_owned(),
            birth_date,
            sex,
            my_number,
            security_code,
            card_serial,
            card_issued_on,
            card_expires_on,
            pins,
        };
        (persona, trace)
    }

    /// Completed years of age on the issue date.
    pub fn age_at_issuance(&self) -> i32 {
        age_on(self.birth_date, self.card_issued_on)
    }

    /// Whether the card carries a signature certificate: only holders 15 or older at issuance get
    /// one (docs/jpki-pki.md). Default derivation always yields one; overrides may not.
    pub fn has_signature_certificate(&self) -> bool {
        self.age_at_issuance() >= 15
    }

    /// The certificate's dateOfBirth `EYYYYMMDD`: era digit and Gregorian date.
    pub fn date_of_birth_jpki(&self) -> Result<String, BeforeMeiji> {
        let (era, _) = Era::of(self.birth_date).ok_or(BeforeMeiji {
            date: self.birth_date,
        })?;
        Ok(format!("{}{}", era.jpki_digit(), yyyymmdd(self.birth_date)))
    }

    /// The 6-digit 全国地方公共団体コード (JIS X 0402): the 5 digits and their check digit.
    pub fn municipality_code_with_check_digit(&self) -> String {
        let weighted: u32 = self
            .municipality_code
            .bytes()
            .zip([6u32, 5, 4, 3, 2])
            .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
            .sum();
        let check = (11 - weighted % 11) % 10;
        format!("{}{check}", self.municipality_code)
    }
}

impl Pins {
    /// The mock-convention credentials: `ABC123`, `1234` for every 4-digit PIN, 照合番号A/B and
    /// the birth key computed from what is printed on the card.
    pub fn defaults(
        my_number: &MyNumber,
        birth_date: Date,
        card_expires_on: Date,
        security_code: &str,
    ) -> Result<Pins, BeforeMeiji> {
        let birth_pin = era_yymmdd(birth_date)?;
        Ok(Pins {
            sign_password: "ABC123".to_owned(),
            auth_pin: "1234".to_owned(),
            text_pin: "1234".to_owned(),
            pin_a: my_number.reveal().to_owned(),
            pin_b: pin_b(&birth_pin, card_expires_on, security_code),
            birth_pin,
            juki_pin: "1234".to_owned(),
            common_pin: "1234".to_owned(),
        })
    }
}

/// 照合番号B from the birth key, the expiry and the security code.
pub(crate) fn pin_b(birth_pin: &str, card_expires_on: Date, security_code: &str) -> String {
    format!("{birth_pin}{:04}{security_code}", card_expires_on.year())
}

/// Japanese-era `YYMMDD` (`1980-02-17` → `550217`, 昭和55).
pub fn era_yymmdd(date: Date) -> Result<String, BeforeMeiji> {
    let (_, year) = Era::of(date).ok_or(BeforeMeiji { date })?;
    // Era years stay below 100 (明治 lasted 45 years, 昭和 64).
    Ok(format!(
        "{:02}{:02}{:02}",
        year % 100,
        u8::from(date.month()),
        date.day()
    ))
}

/// The card's expiry: the 10th birthday after the issue date for holders 18 or older on that
/// day, the 5th otherwise. A 29 February birthday falls on 28 February in common years.
pub fn card_expiry(birth_date: Date, issued_on: Date) -> Date {
    let n = if age_on(birth_date, issued_on) >= 18 {
        10
    } else {
        5
    };
    nth_birthday_after(birth_date, issued_on, n)
}

/// The `n`-th birthday strictly after `after` (n ≥ 1).
pub fn nth_birthday_after(birth_date: Date, after: Date, n: i32) -> Date {
    let first_year = if birthday_in(birth_date, after.year()) > after {
        after.year()
    } else {
        after.year() + 1
    };
    birthday_in(birth_date, first_year + n - 1)
}

/// Completed years of age on `on` (the anniversary counts on the birthday itself).
pub fn age_on(birth_date: Date, on: Date) -> i32 {
    let years = on.year() - birth_date.year();
    if birthday_in(birth_date, on.year()) > on {
        years - 1
    } else {
        years
    }
}

/// `YYYYMMDD`, the card's date format.
pub fn yyyymmdd(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// One `0` per character: no substitute characters (all table names are JIS X 0208).
pub(crate) fn substitute_flags(text: &str) -> String {
    "0".repeat(text.chars().count())
}

/// Decimal digits as full-width characters (`１２`), as addresses print them.
fn full_width(value: u32) -> String {
    value
        .to_string()
        .chars()
        .map(|c| {
            let digit = c.to_digit(10).unwrap_or(0);
            char::from_u32(0xFF10 + digit).unwrap_or(c)
        })
        .collect()
}

/// The birthday in `year`, 28 February standing in for 29 February in common years.
fn birthday_in(birth_date: Date, year: i32) -> Date {
    let month = birth_date.month();
    let day = birth_date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(birth_date)
}

/// The intermediate picks of one derivation (documented test vectors show them).
#[derive(Debug, Serialize)]
pub(crate) struct Trace {
    identity_seed: String,
    issuance_seed: String,
    sex_draw: u32,
    family_index: usize,
    given_index: usize,
    birth_day_offset: u32,
    municipality_index: usize,
    town_index: usize,
    chome: u32,
    banchi: u32,
    go: u32,
    issue_day_offset: u32,
}

/// Counter-mode SHA-256: block i = SHA-256(seed ‖ u32be(i)), consumed 4 bytes at a time.
struct Stream {
    seed: [u8; 32],
    counter: u32,
    block: [u8; 32],
    used: usize,
}

impl Stream {
    /// seed = SHA-256(len ‖ label ‖ len ‖ canonical card id ‖ [u32be(generation)]), lengths as
    /// one byte.
    fn new(label: &str, card_id: &CardId, generation: Option<u32>) -> Stream {
        let id = card_id.to_string();
        let mut hash = Sha256::new();
        hash.update([label.len() as u8]);
        hash.update(label.as_bytes());
        hash.update([id.len() as u8]);
        hash.update(id.as_bytes());
        if let Some(generation) = generation {
            hash.update(generation.to_be_bytes());
        }
        Stream {
            seed: hash.finalize().into(),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_u32(&mut self) -> u32 {
        if self.used == 32 {
            let mut hash = Sha256::new();
            hash.update(self.seed);
            hash.update(self.counter.to_be_bytes());
            self.block = hash.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&self.block[self.used..self.used + 4]);
        self.used += 4;
        u32::from_be_bytes(word)
    }

    /// Uniform in `0..n` (n ≥ 1): draws are rejected when ≥ the largest multiple of n that fits
    /// in 2^32, so there is no modulo bias.
    fn below(&mut self, n: u32) -> u32 {
        let n = n.max(1);
        let limit = (1u64 << 32) / u64::from(n) * u64::from(n);
        loop {
            let draw = u64::from(self.next_u32());
            if draw < limit {
                return (draw % u64::from(n)) as u32;
            }
        }
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u32) as usize
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    /// A day in the inclusive range: first + below(days in range); also returns the offset.
    fn date_in(&mut self, (first, last): (Date, Date)) -> (u32, Date) {
        let days = (last - first).whole_days() as u32 + 1;
        let offset = self.below(days);
        (offset, first + time::Duration::days(i64::from(offset)))
    }
}

/// Dates as `YYYY-MM-DD` in JSON and YAML.
pub(crate) mod iso_date {
    use super::*;

    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ))
    }

    /// Validates inside the visitor, so that errors carry the YAML position and field path.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a calendar date YYYY-MM-DD")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Date, E> {
                parse(text).ok_or_else(|| {
                    E::custom(format_args!(
                        "expected a calendar date YYYY-MM-DD, got {text:?}"
                    ))
                })
            }
        }
        deserializer.deserialize_str(Visitor)
    }

    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || year.len() != 4
            || month.len() != 2
            || day.len() != 2
            || !text.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        {
            return None;
        }
        let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
        Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
    }

    /// For `Option<Date>` fields.
    pub mod option {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Date>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] Date);
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|w| w.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn card(text: &str) -> CardId {
        text.parse().unwrap()
    }

    #[test]
    fn derivation_is_deterministic_and_card_specific() {
        let a = Persona::derive(&card("felica:0123456789ABCDEF"), 1);
        assert_eq!(a, Persona::derive(&card("felica:0123456789abcdef"), 1));
        assert_ne!(a, Persona::derive(&card("felica:0123456789ABCDEE"), 1));
    }

    #[test]
    fn renewal_keeps_the_identity_and_changes_the_card() {
        let id = card("typea:04A1B2C3");
        let first = Persona::derive(&id, 1);
        let renewed = Persona::derive(&id, 2);
        assert_eq!(first.name, renewed.name);
        assert_eq!(first.name_kana, renewed.name_kana);
        assert_eq!(first.address, renewed.address);
        assert_eq!(first.birth_date, renewed.birth_date);
        assert_eq!(first.sex, renewed.sex);
        assert_eq!(first.my_number, renewed.my_number);
        assert_ne!(first.card_serial, renewed.card_serial);
    }

    #[test]
    fn card_expiry_counts_birthdays_after_issuance() {
        // Adult, birthday later in the issue year: 10th birthday is 9 calendar years on.
        assert_eq!(
            card_expiry(date!(1980 - 04 - 01), date!(2016 - 01 - 25)),
            date!(2025 - 04 - 01)
        );
        // Adult, birthday already passed (or today): 10 calendar years on.
        assert_eq!(
            card_expiry(date!(1980 - 04 - 01), date!(2016 - 04 - 01)),
            date!(2026 - 04 - 01)
        );
        // 17 at issuance: 5th birthday.
        assert_eq!(
            card_expiry(date!(2006 - 06 - 10), date!(2024 - 01 - 10)),
            date!(2028 - 06 - 10)
        );
        // 29 February in a common year.
        assert_eq!(
            card_expiry(date!(1988 - 02 - 29), date!(2024 - 03 - 01)),
            date!(2034 - 02 - 28)
        );
    }

    #[test]
    fn era_formats_follow_the_card() {
        // docs/card-protocol.md §6.1: 1980-02-17 is 昭和55.
        assert_eq!(era_yymmdd(date!(1980 - 02 - 17)).unwrap(), "550217");
        assert_eq!(era_yymmdd(date!(1989 - 01 - 07)).unwrap(), "640107");
        assert_eq!(era_yymmdd(date!(1989 - 01 - 08)).unwrap(), "010108");
        assert_eq!(era_yymmdd(date!(2019 - 05 - 01)).unwrap(), "010501");
        assert!(era_yymmdd(date!(1850 - 01 - 01)).is_err());
        let (era, _) = Era::of(date!(1980 - 02 - 17)).unwrap();
        assert_eq!(era.jpki_digit(), '3');
    }

    #[test]
    fn pin_b_is_birth_key_expiry_year_and_security_code() {
        let n: MyNumber = "111111111118".parse().unwrap();
        let pins =
            Pins::defaults(&n, date!(1980 - 02 - 17), date!(2035 - 02 - 17), "2285").unwrap();
        assert_eq!(pins.pin_b, "55021720352285");
        assert_eq!(pins.pin_a, "111111111118");
        assert_eq!(format!("{pins:?}"), "Pins(<redacted>)");
    }

    #[test]
    fn municipality_check_digits_match_published_codes() {
        let mut p = Persona::derive(&card("typea:04A1B2C3"), 1);
        for (code, full) in [
            ("13221", "132217"),
            ("01101", "011011"),
            ("14104", "141046"),
        ] {
            p.municipality_code = code.to_owned();
            assert_eq!(p.municipality_code_with_check_digit(), full);
        }
    }

    #[test]
    fn tables_are_consistent() {
        for m in tables::MUNICIPALITIES {
            assert_eq!(m.code.len(), 5, "{}", m.name);
            assert!(m.code.bytes().all(|b| b.is_ascii_digit()));
            assert!(!m.towns.is_empty() && m.towns.iter().all(|t| t.chome >= 1));
            assert_eq!(municipality_by_code(m.code).map(|x| x.name), Some(m.name));
        }
        for names in [
            tables::FAMILY_NAMES,
            tables::MALE_GIVEN_NAMES,
            tables::FEMALE_GIVEN_NAMES,
        ] {
            assert_eq!(names.len(), 40);
            for name in names {
                assert!(name
                    .kana
                    .chars()
                    .all(|c| ('\u{30A1}'..='\u{30FC}').contains(&c)));
            }
        }
    }

    /// The test vectors of docs/persona-derivation.md: change these only with a new derivation
    /// version, and update the document from the snapshots.
    #[test]
    fn documented_test_vectors() {
        for (id, generation) in [
            ("felica:0123456789ABCDEF", 1),
            ("typea:04A1B2C3", 1),
            ("typea:04A1B2C3D4E5F6", 1),
            ("typea:04A1B2C3D4E5F6", 2),
        ] {
            let (persona, trace) = Persona::derive_traced(&card(id), generation);
            let vector = serde_json::json!({ "trace": trace, "persona": persona });
            let name = format!("{}_gen{generation}", id.replace(':', "_"));
            insta::assert_json_snapshot!(name, vector);
            assert_eq!(
                documented_vector(&format!("<!-- vector {id} generation {generation} -->")),
                vector,
                "docs/persona-derivation.md quotes a different vector for {id} generation {generation}"
            );
        }
    }

    fn derivation_doc() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/persona-derivation.md");
        std::fs::read_to_string(path).expect("docs/persona-derivation.md")
    }

    /// The JSON block after `marker` in the derivation document.
    fn documented_vector(marker: &str) -> serde_json::Value {
        let doc = derivation_doc();
        let after = &doc[doc.find(marker).expect(marker) + marker.len()..];
        let start = after.find("```json\n").expect("json block") + 8;
        let end = start + after[start..].find("```").expect("end of block");
        serde_json::from_str(&after[start..end]).expect("valid JSON")
    }

    #[test]
    fn documented_tables_match_the_code() {
        let doc = derivation_doc();
        for names in [
            tables::FAMILY_NAMES,
            tables::MALE_GIVEN_NAMES,
            tables::FEMALE_GIVEN_NAMES,
        ] {
            for (i, n) in names.iter().enumerate() {
                let row = format!("| {i} | {} | {} | {} |", n.kanji, n.kana, n.romaji);
                assert!(doc.contains(&row), "missing row {row}");
            }
        }
        let mut p = Persona::derive(&card("typea:04A1B2C3"), 1);
        for (i, m) in tables::MUNICIPALITIES.iter().enumerate() {
            p.municipality_code = m.code.to_owned();
            let towns: Vec<String> = m
                .towns
                .iter()
                .enumerate()
                .map(|(j, t)| format!("{j}: {} ({})", t.name, t.chome))
                .collect();
            let row = format!(
                "| {i} | {} | {} | {} | {} | {} | {} | {} |",
                m.code,
                p.municipality_code_with_check_digit(),
                m.prefecture,
                m.prefecture_romaji,
                m.name,
                m.romaji,
                towns.join("; ")
            );
            assert!(doc.contains(&row), "missing row {row}");
        }
    }

    #[test]
    fn derived_values_respect_their_ranges() {
        for i in 0..300u32 {
            let id = card(&format!("typea:{i:08X}"));
            let p = Persona::derive(&id, 1 + i % 3);
            assert!((BIRTH_RANGE.0..=BIRTH_RANGE.1).contains(&p.birth_date));
            assert!((ISSUE_RANGE.0..=ISSUE_RANGE.1).contains(&p.card_issued_on));
            assert!(p.has_signature_certificate(), "{}", p.card_id);
            assert!(p.card_expires_on > p.card_issued_on);
            assert_eq!(p.name_substitute_flags.len(), p.name.chars().count());
            assert_eq!(p.address_substitute_flags.len(), p.address.chars().count());
            assert_eq!(p.pins.pin_b.len(), 14);
            assert_eq!(p.card_serial.len(), 15);
            assert!(p.date_of_birth_jpki().unwrap().starts_with(['3', '4']));
        }
    }
}
