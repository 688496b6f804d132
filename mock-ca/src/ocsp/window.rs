//! The validity window of OCSP answers: the responder's revocation data is refreshed on a fixed
//! cadence, and every answer within one refresh period says the same thing.

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// How often the JPKI responder refreshes its revocation data (docs/jpki-pki.md §4).
pub const REFRESH_PERIOD: Duration = Duration::minutes(15);

/// thisUpdate, nextUpdate and the caller's clock for one answer.
///
/// Build it with [`OcspWindow::containing`] (the JPKI cadence) or [`OcspWindow::instant`]; the
/// fields are public so fault scenarios can send stale or future windows on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OcspWindow {
    /// thisUpdate of every SingleResponse; also producedAt when the request has no nonce.
    pub this_update: OffsetDateTime,
    /// nextUpdate; `None` says newer information is always available (RFC 6960 §2.4), and such
    /// answers are never cached.
    pub next_update: Option<OffsetDateTime>,
    /// The (simulated) time of the request: producedAt when the request carries a nonce, since a
    /// nonce answer is signed for that request alone.
    pub now: OffsetDateTime,
}

impl OcspWindow {
    /// The refresh period containing `now`: periods are counted from the Unix epoch, so a
    /// 15-minute period starts at :00, :15, :30 and :45 UTC. `period` is rounded down to whole
    /// seconds (OCSP times have whole seconds) and must be at least one second.
    pub fn containing(now: OffsetDateTime, period: Duration) -> Result<Self> {
        let seconds = period.whole_seconds();
        if seconds < 1 {
            return Err(Error::InvalidOcspPeriod { period });
        }
        let now_seconds = now.unix_timestamp();
        let start = now_seconds - now_seconds.rem_euclid(seconds);
        let this_update = from_unix(start)?;
        let next_update = start
            .checked_add(seconds)
            .ok_or(Error::DateOutOfRange {
                what: "OCSP nextUpdate",
            })
            .and_then(from_unix)?;
        Ok(OcspWindow {
            this_update,
            next_update: Some(next_update),
            now: whole_seconds(now),
        })
    }

    /// A window of no length: thisUpdate = producedAt = `now` and no nextUpdate, as a responder
    /// that consults live revocation data answers.
    pub fn instant(now: OffsetDateTime) -> Self {
        let now = whole_seconds(now);
        OcspWindow {
            this_update: now,
            next_update: None,
            now,
        }
    }
}

/// OCSP carries GeneralizedTime in whole seconds, UTC.
pub(crate) fn whole_seconds(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc - Duration::nanoseconds(i64::from(utc.nanosecond()))
}

fn from_unix(seconds: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| Error::DateOutOfRange {
        what: "OCSP window",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fifteen_minute_windows_start_on_the_quarter_hour_utc() {
        let window =
            OcspWindow::containing(datetime!(2025-03-01 10:37:12.5 +09:00), REFRESH_PERIOD)
                .unwrap();
        assert_eq!(window.this_update, datetime!(2025-03-01 01:30:00 UTC));
        assert_eq!(window.next_update, Some(datetime!(2025-03-01 01:45:00 UTC)));
        assert_eq!(window.now, datetime!(2025-03-01 01:37:12 UTC));
    }

    #[test]
    fn a_boundary_instant_opens_the_next_window() {
        let window =
            OcspWindow::containing(datetime!(2025-03-01 01:45:00 UTC), REFRESH_PERIOD).unwrap();
        assert_eq!(window.this_update, datetime!(2025-03-01 01:45:00 UTC));
    }

    #[test]
    fn windows_before_the_epoch_still_align() {
        let window =
            OcspWindow::containing(datetime!(1969-12-31 23:59:59 UTC), REFRESH_PERIOD).unwrap();
        assert_eq!(window.this_update, datetime!(1969-12-31 23:45:00 UTC));
    }

    #[test]
    fn sub_second_periods_are_rejected() {
        assert!(matches!(
            OcspWindow::containing(datetime!(2025-03-01 00:00 UTC), Duration::milliseconds(500)),
            Err(Error::InvalidOcspPeriod { .. })
        ));
    }

    #[test]
    fn instant_windows_have_no_next_update() {
        let window = OcspWindow::instant(datetime!(2025-03-01 01:02:03.9 UTC));
        assert_eq!(window.this_update, datetime!(2025-03-01 01:02:03 UTC));
        assert_eq!(window.next_update, None);
    }
}
