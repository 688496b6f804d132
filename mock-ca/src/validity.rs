//! Validity periods: the CA generations' fixed ten-year windows and the end-entity rule "until
//! the fifth birthday after issuance" (docs/jpki-pki.md), both ending at 23:59:59 JST.

use time::macros::{date, offset, time};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{Error, Result};

/// Japan Standard Time: JPKI dates (birthdays, expiry days) are Japanese calendar days.
pub const JST: UtcOffset = offset!(+9);

/// The notBefore day of CA generation 1 (the real 2023 roots start on the same day).
pub const FIRST_CA_GENERATION_START: Date = date!(2023 - 07 - 16);

/// Years between CA generations (the real roots are from 2015, 2019 and 2023).
pub const CA_GENERATION_SPACING_YEARS: i32 = 4;

/// CA certificates are valid for ten years.
pub const CA_LIFETIME_YEARS: i32 = 10;

/// The highest CA generation accepted; far beyond any scenario, it keeps dates in range.
pub const MAX_CA_GENERATION: u32 = 100;

/// Validity of CA generation `generation` (from 1): notBefore 00:00:00Z on 16 July of
/// `2023 + 4 × (generation − 1)`, notAfter ten years later minus one day at 14:59:59Z.
/// Fixed dates keep the world deterministic: the same generation always has the same bytes.
pub fn ca_validity(generation: u32) -> Result<(OffsetDateTime, OffsetDateTime)> {
    if !(1..=MAX_CA_GENERATION).contains(&generation) {
        return Err(Error::InvalidCaGeneration {
            generation,
            max: MAX_CA_GENERATION,
        });
    }
    // Bounded by MAX_CA_GENERATION, so the cast and the year arithmetic cannot overflow.
    let offset_years = CA_GENERATION_SPACING_YEARS * (generation as i32 - 1);
    let start = FIRST_CA_GENERATION_START
        .replace_year(FIRST_CA_GENERATION_START.year() + offset_years)
        .map_err(|_| Error::DateOutOfRange {
            what: "CA notBefore",
        })?;
    let end = start
        .replace_year(start.year() + CA_LIFETIME_YEARS)
        .ok()
        .and_then(Date::previous_day)
        .ok_or(Error::DateOutOfRange {
            what: "CA notAfter",
        })?;
    Ok((start.midnight().assume_utc(), end_of_jst_day(end)))
}

/// notAfter of an end-entity certificate: 23:59:59 JST (14:59:59Z) on the holder's fifth
/// birthday after the issuance day, or on `card_expires_on` when that comes first.
///
/// - The issuance day is the JST calendar day of `issued_at`. A birthday on the issuance day
///   itself does not count (it is not *after* issuance), so issuing on a birthday ends the
///   certificate on the birthday five years later.
/// - A 29 February birthday falls on 28 February in common years.
pub fn end_entity_not_after(
    birth_date: Date,
    issued_at: OffsetDateTime,
    card_expires_on: Option<Date>,
) -> Result<OffsetDateTime> {
    let issued_on = issued_at.to_offset(JST).date();
    if birth_date > issued_on {
        return Err(Error::BornAfterIssuance {
            birth_date,
            issued_at,
        });
    }
    let this_year = birthday_in(birth_date, issued_on.year())?;
    let first_year = if this_year > issued_on {
        issued_on.year()
    } else {
        issued_on.year() + 1
    };
    let fifth = birthday_in(birth_date, first_year + 4)?;
    let last_day = match card_expires_on {
        Some(card_end) if card_end < fifth => card_end,
        _ => fifth,
    };
    let not_after = end_of_jst_day(last_day);
    if not_after <= issued_at {
        return Err(Error::EmptyValidity {
            not_before: issued_at,
            not_after,
        });
    }
    Ok(not_after)
}

/// 23:59:59 JST on `day`, expressed in UTC (as certificates carry it).
pub fn end_of_jst_day(day: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(day, time!(23:59:59))
        .assume_offset(JST)
        .to_offset(UtcOffset::UTC)
}

/// The birthday in `year`, 29 February mapped to 28 February in common years.
fn birthday_in(birth_date: Date, year: i32) -> Result<Date> {
    let out_of_range = || Error::DateOutOfRange { what: "birthday" };
    match Date::from_calendar_date(year, birth_date.month(), birth_date.day()) {
        Ok(day) => Ok(day),
        Err(_) if birth_date.month() == Month::February && birth_date.day() == 29 => {
            Date::from_calendar_date(year, Month::February, 28).map_err(|_| out_of_range())
        }
        Err(_) => Err(out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn first_ca_generation_matches_the_real_2023_window() {
        let (from, to) = ca_validity(1).unwrap();
        assert_eq!(from, datetime!(2023-07-16 00:00:00 UTC));
        assert_eq!(to, datetime!(2033-07-15 14:59:59 UTC));
        let (from, _) = ca_validity(2).unwrap();
        assert_eq!(from, datetime!(2027-07-16 00:00:00 UTC));
    }

    #[test]
    fn ca_generation_zero_is_rejected() {
        assert!(matches!(
            ca_validity(0),
            Err(Error::InvalidCaGeneration { .. })
        ));
        assert!(ca_validity(MAX_CA_GENERATION).is_ok());
    }

    #[test]
    fn real_auth_certificate_dates_follow_the_rule() {
        // MynaWallet production cert: issued 2023-05-19, DOB 12-07 → 2027-12-07 14:59:59Z.
        let na = end_entity_not_after(
            date!(1990 - 12 - 07),
            datetime!(2023-05-19 16:37:09 UTC),
            None,
        );
        assert_eq!(na.unwrap(), datetime!(2027-12-07 14:59:59 UTC));
        // Test card: 2025-10-27 with DOB 02-17 → 2030-02-17.
        let na = end_entity_not_after(
            date!(1980 - 02 - 17),
            datetime!(2025-10-27 01:00:00 UTC),
            None,
        );
        assert_eq!(na.unwrap(), datetime!(2030-02-17 14:59:59 UTC));
    }

    #[test]
    fn issuance_on_the_birthday_counts_from_the_next_one() {
        let na = end_entity_not_after(date!(1985 - 06 - 01), datetime!(2024-06-01 09:00 +9), None);
        assert_eq!(na.unwrap(), datetime!(2029-06-01 14:59:59 UTC));
        // The day before the birthday: that birthday is the first of the five.
        let na = end_entity_not_after(date!(1985 - 06 - 01), datetime!(2024-05-31 23:59 +9), None);
        assert_eq!(na.unwrap(), datetime!(2028-06-01 14:59:59 UTC));
    }

    #[test]
    fn issuance_day_is_the_japanese_calendar_day() {
        // 2024-05-31 16:00Z is already 2024-06-01 in Japan: the birthday itself.
        let na = end_entity_not_after(date!(1985 - 06 - 01), datetime!(2024-05-31 16:00 UTC), None);
        assert_eq!(na.unwrap(), datetime!(2029-06-01 14:59:59 UTC));
    }

    #[test]
    fn leap_day_birthdays_end_on_28_february_in_common_years() {
        let na = end_entity_not_after(date!(2000 - 02 - 29), datetime!(2024-03-01 00:00 UTC), None);
        // Birthdays after 2024-03-01: 2025..2029; 2029 is a common year.
        assert_eq!(na.unwrap(), datetime!(2029-02-28 14:59:59 UTC));
        // Issued on 2024-02-29 (the birthday itself): the fifth after is 2029-02-28.
        let na = end_entity_not_after(date!(2000 - 02 - 29), datetime!(2024-02-29 03:00 UTC), None);
        assert_eq!(na.unwrap(), datetime!(2029-02-28 14:59:59 UTC));
        // Issued on 2023-02-28 (the common-year birthday itself): 2028 is leap → 29 Feb.
        let na = end_entity_not_after(date!(2000 - 02 - 29), datetime!(2023-02-28 03:00 UTC), None);
        assert_eq!(na.unwrap(), datetime!(2028-02-29 14:59:59 UTC));
    }

    #[test]
    fn card_expiry_caps_the_certificate() {
        let na = end_entity_not_after(
            date!(1985 - 06 - 01),
            datetime!(2024-01-10 00:00 UTC),
            Some(date!(2026 - 03 - 31)),
        );
        assert_eq!(na.unwrap(), datetime!(2026-03-31 14:59:59 UTC));
        let late = end_entity_not_after(
            date!(1985 - 06 - 01),
            datetime!(2024-01-10 00:00 UTC),
            Some(date!(2035 - 03 - 31)),
        );
        assert_eq!(late.unwrap(), datetime!(2028-06-01 14:59:59 UTC));
    }

    #[test]
    fn expired_card_and_unborn_holder_are_errors() {
        let expired = end_entity_not_after(
            date!(1985 - 06 - 01),
            datetime!(2024-01-10 00:00 UTC),
            Some(date!(2023 - 12 - 31)),
        );
        assert!(matches!(expired, Err(Error::EmptyValidity { .. })));
        let unborn =
            end_entity_not_after(date!(2030 - 01 - 01), datetime!(2024-01-10 00:00 UTC), None);
        assert!(matches!(unborn, Err(Error::BornAfterIssuance { .. })));
    }
}
