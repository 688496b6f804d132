//! The simulated clock. Everything time-dependent (certificate expiry, daily CRL issue, OCSP
//! windows, consent expiry, linkage lag) reads it; nothing sleeps.
//!
//! Two modes: `Following` real time with an offset (the default of `jpki-sim up`, so real tools
//! that check times against the host clock agree with the world), and `Frozen` at an instant
//! (scenarios, which move it explicitly). Advancing adds to the offset or the frozen instant.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The latest instant the clock takes: 9000-01-01T00:00:00Z. Everything the world derives from
/// "now" (a certificate's fifth-birthday expiry, tomorrow's CRL, the next OCSP window, consent
/// expiry) must stay inside the calendar the date library and X.509 can write (up to the year
/// 9999), and a clock set here can still run for centuries.
pub const LATEST: OffsetDateTime = time::macros::datetime!(9000-01-01 00:00 UTC);

/// How the clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ClockMode {
    /// Real time plus `offset_seconds`.
    Following {
        /// Seconds ahead of the host clock (negative: behind); advancing adds to it.
        offset_seconds: i64,
    },
    /// Stopped at `at` until moved.
    Frozen {
        /// The instant the clock shows (RFC 3339 in JSON).
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// Why a clock move was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    /// A `set` to an instant before now: the clock only moves forward (`409 clock_backwards`).
    #[error("the clock only moves forward: {requested} is before {now}", requested = mock_ca::rfc3339(.requested), now = mock_ca::rfc3339(.now))]
    Backwards {
        /// The clock's time when the move was asked.
        now: OffsetDateTime,
        /// The instant asked for.
        requested: OffsetDateTime,
    },
    /// The text is not a duration in units `s m h d w` (`400 invalid_clock`).
    #[error("{0:?} is not a duration: expected a number and a unit, e.g. 15m, 2h, 1d, 90s")]
    BadDuration(String),
    /// The move would leave the calendar `time` can represent (`400 invalid_clock`).
    #[error("moving the clock by {0:?} overflows the calendar")]
    Overflow(String),
    /// The move would take the clock past [`LATEST`], beyond which certificate validities, CRL
    /// and OCSP schedules could no longer be computed.
    #[error("the clock goes up to {latest}; {requested} is later", latest = mock_ca::rfc3339(.latest), requested = mock_ca::rfc3339(.requested))]
    TooLate {
        /// Where the move would take the clock.
        requested: OffsetDateTime,
        /// The latest instant the clock takes.
        latest: OffsetDateTime,
    },
}

/// The world's clock. Cheap to read.
#[derive(Debug)]
pub struct SimClock {
    mode: Mutex<ClockMode>,
}

impl SimClock {
    /// A clock in `mode`.
    pub fn new(mode: ClockMode) -> Self {
        SimClock {
            mode: Mutex::new(mode),
        }
    }

    /// Follows the host clock.
    pub fn real_time() -> Self {
        Self::new(ClockMode::Following { offset_seconds: 0 })
    }

    /// The simulated time, in UTC, to whole seconds.
    pub fn now(&self) -> OffsetDateTime {
        resolve(*self.lock(), OffsetDateTime::now_utc())
    }

    /// How the clock runs now: what `GET /admin/v1/clock` shows and the store persists.
    pub fn mode(&self) -> ClockMode {
        *self.lock()
    }

    /// The mode after moving forward by `by` (not applied: the caller persists it first).
    pub fn advanced(&self, by: Duration) -> Result<ClockMode, ClockError> {
        let by =
            time::Duration::try_from(by).map_err(|_| ClockError::Overflow(format!("{by:?}")))?;
        let requested = self
            .now()
            .checked_add(by)
            .ok_or_else(|| ClockError::Overflow(format!("{by}")))?;
        within_range(requested)?;
        Ok(match *self.lock() {
            ClockMode::Following { offset_seconds } => ClockMode::Following {
                offset_seconds: offset_seconds
                    .checked_add(by.whole_seconds())
                    .ok_or_else(|| ClockError::Overflow(format!("{by}")))?,
            },
            ClockMode::Frozen { at } => ClockMode::Frozen {
                at: at
                    .checked_add(by)
                    .ok_or_else(|| ClockError::Overflow(format!("{by}")))?,
            },
        })
    }

    /// The mode after setting the time to `at` (forward only), keeping the running mode.
    pub fn set_to(&self, at: OffsetDateTime) -> Result<ClockMode, ClockError> {
        let now = self.now();
        if at < now {
            return Err(ClockError::Backwards { now, requested: at });
        }
        within_range(at)?;
        Ok(match *self.lock() {
            // Whole seconds, rounded up: the clock reads whole seconds, so it then reads `at`
            // (not the second before) until real time moves on.
            ClockMode::Following { .. } => ClockMode::Following {
                offset_seconds: ceil_seconds(at - OffsetDateTime::now_utc()),
            },
            ClockMode::Frozen { .. } => ClockMode::Frozen { at },
        })
    }

    /// Applies a mode computed by [`SimClock::advanced`] or [`SimClock::set_to`].
    pub fn apply(&self, mode: ClockMode) {
        *self.lock() = mode;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockMode> {
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn resolve(mode: ClockMode, real: OffsetDateTime) -> OffsetDateTime {
    // A mode restored from an older state may point past LATEST: saturate instead of panicking,
    // so such a world still answers (and its clock can be read and reported).
    let now = match mode {
        ClockMode::Following { offset_seconds } => real
            .checked_add(time::Duration::seconds(offset_seconds))
            .unwrap_or(LATEST),
        ClockMode::Frozen { at } => at,
    };
    let now = now.min(LATEST);
    now.replace_nanosecond(0).unwrap_or(now)
}

/// `Err` when `at` is past [`LATEST`].
fn within_range(at: OffsetDateTime) -> Result<(), ClockError> {
    if at > LATEST {
        return Err(ClockError::TooLate {
            requested: at,
            latest: LATEST,
        });
    }
    Ok(())
}

/// `span` in whole seconds, rounded towards the future.
fn ceil_seconds(span: time::Duration) -> i64 {
    let whole = span.whole_seconds();
    if span.subsec_nanoseconds() > 0 {
        whole + 1
    } else {
        whole
    }
}

/// Parses `90s`, `15m`, `2h`, `1d`, `1w` (and combinations like `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, ClockError> {
    let bad = || ClockError::BadDuration(text.to_owned());
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let value: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| ClockError::Overflow(text.to_owned()))?;
    }
    if !number.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let clock = SimClock::new(ClockMode::Frozen {
            at: datetime!(2026-07-01 00:00 UTC),
        });
        assert_eq!(clock.now(), datetime!(2026-07-01 00:00 UTC));
        clock.apply(clock.advanced(parse_duration("15m").unwrap()).unwrap());
        assert_eq!(clock.now(), datetime!(2026-07-01 00:15 UTC));
        clock.apply(clock.set_to(datetime!(2027-01-01 00:00 UTC)).unwrap());
        assert_eq!(clock.now(), datetime!(2027-01-01 00:00 UTC));
        let backwards = clock.set_to(datetime!(2026-01-01 00:00 UTC)).unwrap_err();
        assert!(matches!(backwards, ClockError::Backwards { .. }));
        // In the form a client sets the clock with.
        assert_eq!(
            backwards.to_string(),
            "the clock only moves forward: 2026-01-01T00:00:00Z is before 2027-01-01T00:00:00Z"
        );
    }

    #[test]
    fn following_clock_keeps_an_offset_from_real_time() {
        let clock = SimClock::real_time();
        clock.apply(clock.advanced(Duration::from_secs(86_400)).unwrap());
        let ahead = clock.now() - OffsetDateTime::now_utc();
        assert!(
            ahead > time::Duration::hours(23) && ahead <= time::Duration::hours(24),
            "{ahead}"
        );
    }

    #[test]
    fn durations_parse_with_units_and_reject_the_rest() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "15", "m", "1y", "-5m", "1.5h"] {
            assert!(
                matches!(parse_duration(bad), Err(ClockError::BadDuration(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_duration("99999999999999999w"),
            Err(ClockError::Overflow(_))
        ));
    }
}
