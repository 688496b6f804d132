//! Persona overrides: a YAML persona whose fields win over derivation (docs/contracts.md §1).
//!
//! Fields that others are computed from (my number, birth date, issue date, security code, name,
//! address) carry their dependants along unless those are overridden too: 照合番号A follows the
//! my number, 照合番号B and the birth key follow birth date, expiry and security code, substitute
//! flags follow their text, the expiry follows birth and issue dates.

use std::path::Path;

use serde::Deserialize;
use time::Date;

use crate::my_number::MyNumber;
use crate::persona::{
    card_expiry, era_yymmdd, iso_date, municipality_by_code, pin_b, substitute_flags, BeforeMeiji,
    Persona, Sex,
};

/// Every persona field, optional. Unknown keys are rejected so that a typo cannot silently
/// leave the derived value in place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaOverrides {
    /// [`Persona::name`]; the name's substitute flags follow unless given too.
    pub name: Option<String>,
    /// [`Persona::name_kana`].
    pub name_kana: Option<String>,
    /// [`Persona::name_romaji`].
    pub name_romaji: Option<String>,
    /// [`Persona::name_substitute_flags`]: one `0`/`1` per character of the name.
    pub name_substitute_flags: Option<String>,
    /// [`Persona::address`]; the address's substitute flags follow unless given too.
    pub address: Option<String>,
    /// [`Persona::address_substitute_flags`]: one `0`/`1` per character of the address.
    pub address_substitute_flags: Option<String>,
    /// [`Persona::prefecture`].
    pub prefecture: Option<String>,
    /// [`Persona::prefecture_romaji`], as in the CRL distribution point.
    pub prefecture_romaji: Option<String>,
    /// [`Persona::municipality`].
    pub municipality: Option<String>,
    /// [`Persona::municipality_romaji`], as in the CRL distribution point.
    pub municipality_romaji: Option<String>,
    /// 5 digits. A tabulated code also supplies the prefecture and municipality names unless
    /// they are overridden; the address is not rewritten.
    pub municipality_code: Option<String>,
    /// [`Persona::birth_date`] (`YYYY-MM-DD`); the expiry, the birth key and 照合番号B follow.
    /// A holder under 15 at issuance gets no signature certificate.
    #[serde(default, with = "iso_date::option")]
    pub birth_date: Option<Date>,
    /// [`Persona::sex`], as its digit (`"1"`).
    pub sex: Option<Sex>,
    /// [`Persona::my_number`], 12 digits with a valid check digit; 照合番号A follows.
    pub my_number: Option<MyNumber>,
    /// [`Persona::security_code`], 4 digits; 照合番号B follows.
    pub security_code: Option<String>,
    /// [`Persona::card_serial`], 15 digits.
    pub card_serial: Option<String>,
    /// [`Persona::card_issued_on`] (`YYYY-MM-DD`); the expiry follows.
    #[serde(default, with = "iso_date::option")]
    pub card_issued_on: Option<Date>,
    /// [`Persona::card_expires_on`] (`YYYY-MM-DD`), after the issue date; 照合番号B follows.
    #[serde(default, with = "iso_date::option")]
    pub card_expires_on: Option<Date>,
    /// PINs and passwords, each replacing its default or computed value.
    pub pins: Option<PinOverrides>,
}

/// Credential overrides. YAML scalars keep their text, so `auth_pin: 0123` is `"0123"`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinOverrides {
    /// [`crate::Pins::sign_password`]: 6–16 of `A-Z0-9`.
    pub sign_password: Option<String>,
    /// [`crate::Pins::auth_pin`]: 4 digits.
    pub auth_pin: Option<String>,
    /// [`crate::Pins::text_pin`]: 4 digits.
    pub text_pin: Option<String>,
    /// [`crate::Pins::pin_a`] (照合番号A): 12 digits.
    pub pin_a: Option<String>,
    /// [`crate::Pins::pin_b`] (照合番号B): 14 digits, e.g. with a Gregorian `YY` birth date.
    pub pin_b: Option<String>,
    /// [`crate::Pins::birth_pin`] (生年月日 key): 6 digits.
    pub birth_pin: Option<String>,
    /// [`crate::Pins::juki_pin`]: 4 digits.
    pub juki_pin: Option<String>,
    /// [`crate::Pins::common_pin`]: 4 digits.
    pub common_pin: Option<String>,
}

impl std::fmt::Debug for PinOverrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinOverrides(<redacted>)")
    }
}

/// Why an overrides file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The overrides file cannot be read.
    #[error("reading persona overrides {path}: {source}")]
    Read {
        /// The file's path.
        path: String,
        /// What reading it failed with.
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax, an unknown field, or a value of the wrong type or format. `message` names
    /// the field path when there is one (`pins.auth_pin: invalid type ...`).
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// Where the YAML came from: a file path, or what it is (`persona overrides`).
        origin: String,
        /// The line, from 1 (0 when the parser gives no position).
        line: usize,
        /// The column, from 1 (0 when the parser gives no position).
        column: usize,
        /// The parser's message without its position.
        message: String,
    },
}

/// Why overrides do not make a valid persona. Each variant names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// A value does not have the field's format (no value echoed: it may be a PIN).
    #[error("persona override `{field}`: expected {expected}")]
    Format {
        /// The field's path (`pins.auth_pin`).
        field: &'static str,
        /// What the field takes (`4 digits`).
        expected: &'static str,
    },
    /// A substitute-flag string does not cover its text one flag per character.
    #[error("persona override `{field}`: {got} flags for {expected} characters")]
    FlagCount {
        /// `name_substitute_flags` or `address_substitute_flags`.
        field: &'static str,
        /// The number of characters of the text.
        expected: usize,
        /// The number of flags given.
        got: usize,
    },
    /// A birth date before 明治, which the era-year PINs (birth key, 照合番号B) cannot express.
    #[error("persona override `birth_date`: {source}")]
    BirthDate {
        /// The date and why it does not fit.
        #[source]
        source: BeforeMeiji,
    },
    /// The holder would be born after the card was issued.
    #[error("persona overrides: birth_date {birth_date} is after card_issued_on {issued_on}")]
    BornAfterIssuance {
        /// The birth date after overrides.
        birth_date: Date,
        /// The issue date after overrides.
        issued_on: Date,
    },
    /// The card would expire on or before its issue date.
    #[error(
        "persona overrides: card_expires_on {expires_on} is not after card_issued_on {issued_on}"
    )]
    ExpiresBeforeIssuance {
        /// The issue date after overrides.
        issued_on: Date,
        /// The expiry date after overrides.
        expires_on: Date,
    },
}

impl PersonaOverrides {
    /// Parses YAML; `origin` (usually the file path) prefixes error positions.
    pub fn from_yaml_str(yaml: &str, origin: &str) -> Result<PersonaOverrides, LoadError> {
        serde_norway::from_str(yaml).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |at| (at.line(), at.column()));
            let full = e.to_string();
            let message = full
                .strip_suffix(&format!(" at line {line} column {column}"))
                .unwrap_or(&full)
                .to_owned();
            LoadError::Parse {
                origin: origin.to_owned(),
                line,
                column,
                message,
            }
        })
    }

    /// Reads and parses the YAML file at `path`; errors name the file.
    pub fn from_yaml_file(path: &Path) -> Result<PersonaOverrides, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        PersonaOverrides::from_yaml_str(&text, &path.display().to_string())
    }
}

impl Persona {
    /// Applies overrides, validates them and recomputes the values that depend on them.
    pub fn with_overrides(mut self, o: &PersonaOverrides) -> Result<Persona, OverrideError> {
        if let Some(code) = &o.municipality_code {
            check_municipality_code(code)?;
            if let Some(m) = municipality_by_code(code) {
                self.prefecture = m.prefecture.to_owned();
                self.prefecture_romaji = m.prefecture_romaji.to_owned();
                self.municipality = m.name.to_owned();
                self.municipality_romaji = m.romaji.to_owned();
            }
            self.municipality_code = code.clone();
        }
        set_text(&mut self.name, &o.name, "name")?;
        set_text(&mut self.name_kana, &o.name_kana, "name_kana")?;
        set_text(&mut self.name_romaji, &o.name_romaji, "name_romaji")?;
        set_text(&mut self.address, &o.address, "address")?;
        set_text(&mut self.prefecture, &o.prefecture, "prefecture")?;
        set_text(
            &mut self.prefecture_romaji,
            &o.prefecture_romaji,
            "prefecture_romaji",
        )?;
        set_text(&mut self.municipality, &o.municipality, "municipality")?;
        set_text(
            &mut self.municipality_romaji,
            &o.municipality_romaji,
            "municipality_romaji",
        )?;
        self.name_substitute_flags = flags_for(
            &self.name,
            o.name.is_some(),
            &self.name_substitute_flags,
            &o.name_substitute_flags,
            "name_substitute_flags",
        )?;
        self.address_substitute_flags = flags_for(
            &self.address,
            o.address.is_some(),
            &self.address_substitute_flags,
            &o.address_substitute_flags,
            "address_substitute_flags",
        )?;

        if let Some(sex) = o.sex {
            self.sex = sex;
        }
        if let Some(code) = &o.security_code {
            check_digits(code, 4, "security_code", "4 digits")?;
            self.security_code = code.clone();
        }
        if let Some(serial) = &o.card_serial {
            check_digits(serial, 15, "card_serial", "15 digits")?;
            self.card_serial = serial.clone();
        }
        if let Some(number) = &o.my_number {
            self.my_number = number.clone();
            self.pins.pin_a = number.reveal().to_owned();
        }
        let dates_changed = o.birth_date.is_some() || o.card_issued_on.is_some();
        if let Some(date) = o.birth_date {
            self.birth_date = date;
            self.pins.birth_pin =
                era_yymmdd(date).map_err(|source| OverrideError::BirthDate { source })?;
        }
        if let Some(date) = o.card_issued_on {
            self.card_issued_on = date;
        }
        if self.birth_date > self.card_issued_on {
            return Err(OverrideError::BornAfterIssuance {
                birth_date: self.birth_date,
                issued_on: self.card_issued_on,
            });
        }
        if let Some(date) = o.card_expires_on {
            self.card_expires_on = date;
        } else if dates_changed {
            self.card_expires_on = card_expiry(self.birth_date, self.card_issued_on);
        }
        if self.card_expires_on <= self.card_issued_on {
            return Err(OverrideError::ExpiresBeforeIssuance {
                issued_on: self.card_issued_on,
                expires_on: self.card_expires_on,
            });
        }
        self.pins.pin_b = pin_b(
            &self.pins.birth_pin,
            self.card_expires_on,
            &self.security_code,
        );

        if let Some(p) = &o.pins {
            self.apply_pins(p)?;
        }
        Ok(self)
    }

    fn apply_pins(&mut self, p: &PinOverrides) -> Result<(), OverrideError> {
        if let Some(password) = &p.sign_password {
            let ok = (6..=16).contains(&password.len())
                && password
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(OverrideError::Format {
                    field: "pins.sign_password",
                    expected: "6 to 16 characters of A-Z and 0-9",
                });
            }
            self.pins.sign_password = password.clone();
        }
        let four = "4 digits";
        let slots: [(
            &Option<String>,
            &mut String,
            &'static str,
            usize,
            &'static str,
        ); 7] = [
            (
                &p.auth_pin,
                &mut self.pins.auth_pin,
                "pins.auth_pin",
                4,
                four,
            ),
            (
                &p.text_pin,
                &mut self.pins.text_pin,
                "pins.text_pin",
                4,
                four,
            ),
            (
                &p.juki_pin,
                &mut self.pins.juki_pin,
                "pins.juki_pin",
                4,
                four,
            ),
            (
                &p.common_pin,
                &mut self.pins.common_pin,
                "pins.common_pin",
                4,
                four,
            ),
            (
                &p.pin_a,
                &mut self.pins.pin_a,
                "pins.pin_a",
                12,
                "12 digits",
            ),
            (
                &p.pin_b,
                &mut self.pins.pin_b,
                "pins.pin_b",
                14,
                "14 digits",
            ),
            (
                &p.birth_pin,
                &mut self.pins.birth_pin,
                "pins.birth_pin",
                6,
                "6 digits",
            ),
        ];
        for (value, slot, field, len, expected) in slots {
            if let Some(value) = value {
                check_digits(value, len, field, expected)?;
                *slot = value.clone();
            }
        }
        Ok(())
    }
}

fn set_text(
    slot: &mut String,
    value: &Option<String>,
    field: &'static str,
) -> Result<(), OverrideError> {
    if let Some(value) = value {
        if value.trim().is_empty() {
            return Err(OverrideError::Format {
                field,
                expected: "a non-empty text",
            });
        }
        // The certificate's subject and the card's TLV files cannot carry control characters
        // (NUL, line breaks, ...): refused here, naming the field, not deep in the CA.
        if value.chars().any(char::is_control) {
            return Err(OverrideError::Format {
                field,
                expected: "a text without control characters",
            });
        }
        slot.clone_from(value);
    }
    Ok(())
}

/// The flags to keep: the override (checked), else fresh zeros if the text changed.
fn flags_for(
    text: &str,
    text_changed: bool,
    current: &str,
    value: &Option<String>,
    field: &'static str,
) -> Result<String, OverrideError> {
    let Some(flags) = value else {
        return Ok(if text_changed {
            substitute_flags(text)
        } else {
            current.to_owned()
        });
    };
    if !flags.bytes().all(|b| b == b'0' || b == b'1') {
        return Err(OverrideError::Format {
            field,
            expected: "only the characters 0 and 1",
        });
    }
    let expected = text.chars().count();
    if flags.len() != expected {
        return Err(OverrideError::FlagCount {
            field,
            expected,
            got: flags.len(),
        });
    }
    Ok(flags.clone())
}

fn check_municipality_code(code: &str) -> Result<(), OverrideError> {
    check_digits(code, 5, "municipality_code", "5 digits, prefecture 01-47")?;
    match code[..2].parse::<u8>() {
        Ok(1..=47) => Ok(()),
        _ => Err(OverrideError::Format {
            field: "municipality_code",
            expected: "5 digits, prefecture 01-47",
        }),
    }
}

fn check_digits(
    value: &str,
    len: usize,
    field: &'static str,
    expected: &'static str,
) -> Result<(), OverrideError> {
    if value.len() == len && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(OverrideError::Format { field, expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn base() -> Persona {
        Persona::derive(&"typea:04A1B2C3".parse().unwrap(), 1)
    }

    fn yaml(text: &str) -> PersonaOverrides {
        PersonaOverrides::from_yaml_str(text, "test.yaml").unwrap()
    }

    #[test]
    fn dependants_follow_their_sources() {
        let o = yaml(
            "my_number: \"111111111118\"\n\
             birth_date: 1980-02-17\n\
             card_issued_on: 2025-03-01\n\
             security_code: \"2285\"\n\
             name: 黒桐　幹也\n",
        );
        let p = base().with_overrides(&o).unwrap();
        assert_eq!(p.pins.pin_a, "111111111118");
        assert_eq!(p.card_expires_on, date!(2035 - 02 - 17));
        assert_eq!(p.pins.birth_pin, "550217");
        assert_eq!(p.pins.pin_b, "55021720352285");
        assert_eq!(p.name_substitute_flags, "00000");
    }

    #[test]
    fn explicit_pins_win_over_recomputation() {
        let o = yaml("my_number: \"111111111118\"\npins:\n  pin_a: \"000000000000\"\n  sign_password: PASS99\n");
        let p = base().with_overrides(&o).unwrap();
        assert_eq!(p.pins.pin_a, "000000000000");
        assert_eq!(p.pins.sign_password, "PASS99");
    }

    #[test]
    fn a_tabulated_municipality_code_brings_its_names() {
        let p = base()
            .with_overrides(&yaml("municipality_code: \"14104\"\n"))
            .unwrap();
        assert_eq!(p.municipality, "横浜市中区");
        assert_eq!(p.prefecture_romaji, "Kanagawa-ken");
        assert_eq!(p.municipality_romaji, "Yokohama-shi-Naka-ku");
    }

    #[test]
    fn under_15_at_issuance_has_no_signature_certificate() {
        let o = yaml("birth_date: 2012-05-05\ncard_issued_on: 2024-01-10\n");
        let p = base().with_overrides(&o).unwrap();
        assert!(!p.has_signature_certificate());
        assert_eq!(p.card_expires_on, date!(2028 - 05 - 05));
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            ("pins:\n  sign_password: abc\n", "pins.sign_password"),
            ("pins:\n  auth_pin: \"12345\"\n", "pins.auth_pin"),
            ("pins:\n  pin_b: \"1234\"\n", "pins.pin_b"),
            ("municipality_code: \"1310\"\n", "municipality_code"),
            ("municipality_code: \"99101\"\n", "municipality_code"),
            ("security_code: \"12a4\"\n", "security_code"),
            ("name_substitute_flags: \"0\"\n", "name_substitute_flags"),
            ("name: \"  \"\n", "name"),
        ];
        for (text, field) in cases {
            let err = base().with_overrides(&yaml(text)).unwrap_err();
            assert!(err.to_string().contains(field), "{text:?}: {err}");
        }
        let err = base()
            .with_overrides(&yaml("birth_date: 2030-01-01\n"))
            .unwrap_err();
        assert!(err.to_string().contains("birth_date 2030-01-01"), "{err}");
        let err = base()
            .with_overrides(&yaml("card_expires_on: 2020-01-01\n"))
            .unwrap_err();
        assert!(err.to_string().contains("card_expires_on"), "{err}");
    }

    #[test]
    fn bad_yaml_names_the_field_and_position() {
        let cases = [
            ("nmae: x\n", "test.yaml:1:1: unknown field `nmae`"),
            ("pins: [1]\n", "test.yaml:1:7: pins: invalid type: sequence"),
            (
                "my_number: \"111111111111\"\n",
                "test.yaml:1:12: my_number: check digit",
            ),
            (
                "birth_date: 1980-13-01\n",
                "test.yaml:1:13: birth_date: expected a calendar date",
            ),
            (
                "pins:\n  pin_c: \"1\"\n",
                "test.yaml:2:3: pins: unknown field `pin_c`",
            ),
            ("sex: \"3\"\n", "test.yaml:1:6: sex: unknown variant"),
            ("name: [\n", "test.yaml:1:7: name: invalid type: sequence"),
            (
                "pins:\n  auth_pin: \"1\"\nbirth_date: 1980-13-01\n",
                "test.yaml:3:13: birth_date:",
            ),
            ("name: \"unterminated\n", "test.yaml:"),
        ];
        for (text, prefix) in cases {
            let err = PersonaOverrides::from_yaml_str(text, "test.yaml").unwrap_err();
            assert!(err.to_string().starts_with(prefix), "{text:?}: {err}");
        }
    }

    #[test]
    fn unquoted_digits_keep_their_text() {
        let o = yaml("pins:\n  auth_pin: 0123\nsecurity_code: 0042\n");
        let p = base().with_overrides(&o).unwrap();
        assert_eq!(p.pins.auth_pin, "0123");
        assert_eq!(p.security_code, "0042");
    }

    #[test]
    fn missing_file_says_which() {
        let err = PersonaOverrides::from_yaml_file(Path::new("/nonexistent/p.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/p.yaml"), "{err}");
    }
}
