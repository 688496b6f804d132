//! 個人番号 (my number): twelve digits whose last is a check digit.
//!
//! The check digit follows 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令
//! 第8条. SDKs validate it, so every number the simulator derives or accepts must satisfy it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A validated 個人番号. `Debug` redacts it; [`MyNumber::reveal`] is the one way out.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MyNumber([u8; 12]);

/// Why a string is not a 個人番号.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyNumberError {
    /// The input does not have exactly 12 characters.
    #[error("a my number has 12 digits, got {got} characters")]
    WrongLength {
        /// The number of characters given.
        got: usize,
    },
    /// A character is not an ASCII digit. `position` counts from 1, left to right.
    #[error("character {position} of the my number is {found:?}, not a digit")]
    NotDigit {
        /// The character's position, from 1.
        position: usize,
        /// The character.
        found: char,
    },
    /// The twelfth digit is not the statutory check digit of the first eleven.
    #[error("check digit is {found}, but the first 11 digits require {expected}")]
    CheckDigit {
        /// The check digit the first eleven require.
        expected: u8,
        /// The twelfth digit given.
        found: u8,
    },
}

impl MyNumber {
    /// Completes eleven digits (values 0–9, most significant first) with their check digit.
    ///
    /// Returns `None` if a value is not a decimal digit.
    pub fn from_body(body: [u8; 11]) -> Option<MyNumber> {
        if body.iter().any(|&d| d > 9) {
            return None;
        }
        let mut ascii = [0u8; 12];
        for (slot, digit) in ascii.iter_mut().zip(body) {
            *slot = b'0' + digit;
        }
        ascii[11] = b'0' + check_digit(&body);
        Some(MyNumber(ascii))
    }

    /// The twelve digits. Named so that every disclosure is visible at the call site.
    pub fn reveal(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The check digit of eleven digits (most significant first), per 施行令第8条.
///
/// With P_n the n-th digit counted from the right (n = 1 is the eleventh digit) and
/// Q_n = n + 1 for n ≤ 6, n − 5 for n ≥ 7: the remainder r = Σ P_n·Q_n mod 11 gives 0 when
/// r ≤ 1, and 11 − r otherwise.
///
/// Remainders 0 and 1 share check digit 0, so changing one body digit goes undetected exactly
/// when it moves the remainder between 0 and 1.
pub fn check_digit(body: &[u8; 11]) -> u8 {
    match weighted_remainder(body) {
        0 | 1 => 0,
        r => (11 - r) as u8,
    }
}

/// Σ P_n·Q_n mod 11 of 施行令第8条.
fn weighted_remainder(body: &[u8; 11]) -> u32 {
    body.iter()
        .rev()
        .enumerate()
        .map(|(i, &p)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(p) * q
        })
        .sum::<u32>()
        % 11
}

impl FromStr for MyNumber {
    type Err = MyNumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let count = input.chars().count();
        if count != 12 {
            return Err(MyNumberError::WrongLength { got: count });
        }
        if let Some((i, found)) = input.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(MyNumberError::NotDigit {
                position: i + 1,
                found,
            });
        }
        let mut ascii = [0u8; 12];
        ascii.copy_from_slice(input.as_bytes());
        let mut body = [0u8; 11];
        for (d, a) in body.iter_mut().zip(&ascii) {
            *d = a - b'0';
        }
        let expected = check_digit(&body);
        let found = ascii[11] - b'0';
        if expected != found {
            return Err(MyNumberError::CheckDigit { expected, found });
        }
        Ok(MyNumber(ascii))
    }
}

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumber(<redacted>)")
    }
}

/// Serialised in full: persona JSON is the simulator's answer sheet.
impl Serialize for MyNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.reveal())
    }
}

/// Validates inside the visitor, so that format errors carry the YAML position and field path.
impl<'de> Deserialize<'de> for MyNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MyNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 12-digit my number")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<MyNumber, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_digit_matches_the_statutory_weights() {
        // Σ over 1..=11 of P_n·Q_n with all digits 1: Q = 2,3,4,5,6,7,2,3,4,5,6 → 47,
        // 47 mod 11 = 3, check = 8.
        assert_eq!(check_digit(&[1; 11]), 8);
        // All zeros: remainder 0 → check 0.
        assert_eq!(check_digit(&[0; 11]), 0);
        // P_1 = 5 alone: 5·2 = 10, remainder 10 → 1.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]), 1);
        // P_11 = 1 alone: Q_11 = 6, remainder 6 → 5.
        assert_eq!(check_digit(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 5);
        assert_eq!(
            "111111111118".parse::<MyNumber>().unwrap().reveal(),
            "111111111118"
        );
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(
            "12345".parse::<MyNumber>().unwrap_err(),
            MyNumberError::WrongLength { got: 5 }
        );
        assert_eq!(
            "1234567890a1".parse::<MyNumber>().unwrap_err(),
            MyNumberError::NotDigit {
                position: 11,
                found: 'a'
            }
        );
        assert_eq!(
            "111111111111".parse::<MyNumber>().unwrap_err(),
            MyNumberError::CheckDigit {
                expected: 8,
                found: 1
            }
        );
        // Full-width digits are not ASCII digits.
        assert!(matches!(
            "１１１１１１１１１１１８".parse::<MyNumber>(),
            Err(MyNumberError::NotDigit { position: 1, .. })
        ));
    }

    #[test]
    fn remainders_0_and_1_share_check_digit_0() {
        // Remainder 0, and remainder 1 from P_2 = 4 alone (4·3 = 12 ≡ 1 mod 11).
        assert_eq!(check_digit(&[0; 11]), 0);
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]), 0);
        assert!("000000000000".parse::<MyNumber>().is_ok());
        assert!("000000000400".parse::<MyNumber>().is_ok());
    }

    #[test]
    fn debug_redacts_every_digit() {
        let n: MyNumber = "111111111118".parse().unwrap();
        assert_eq!(format!("{n:?}"), "MyNumber(<redacted>)");
    }

    proptest! {
        #[test]
        fn every_completed_body_validates(body in proptest::array::uniform11(0u8..10)) {
            let n = MyNumber::from_body(body).unwrap();
            prop_assert_eq!(n.reveal().parse::<MyNumber>(), Ok(n.clone()));
        }

        /// Every weight is coprime to 11, so one changed digit always changes the remainder; it
        /// goes unnoticed only when the remainder moves between 0 and 1 (both check digit 0).
        #[test]
        fn changing_any_one_digit_fails_unless_the_remainder_moves_between_0_and_1(
            body in proptest::array::uniform11(0u8..10),
            position in 0usize..12,
            delta in 1u8..10,
        ) {
            let n = MyNumber::from_body(body).unwrap();
            let mut digits = n.reveal().as_bytes().to_vec();
            digits[position] = b'0' + (digits[position] - b'0' + delta) % 10;
            let changed = String::from_utf8(digits.clone()).unwrap();
            let mut changed_body = [0u8; 11];
            for (d, a) in changed_body.iter_mut().zip(&digits) {
                *d = a - b'0';
            }
            let collision = position < 11
                && weighted_remainder(&body) <= 1
                && weighted_remainder(&changed_body) <= 1;
            let result = changed.parse::<MyNumber>();
            if collision {
                prop_assert!(result.is_ok());
            } else {
                prop_assert!(
                    matches!(result, Err(MyNumberError::CheckDigit { .. })),
                    "{} should fail", changed
                );
            }
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,16}") {
            let _ = input.parse::<MyNumber>();
        }
    }
}
