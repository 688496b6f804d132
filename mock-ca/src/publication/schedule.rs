//! When revocations become visible (docs/jpki-pki.md §4).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::error::Result;
use crate::ocsp::OcspWindow;

/// Daily CRLs are issued at 00:00 JST.
const CRL_ISSUE_UTC: Time = match Time::from_hms(15, 0, 0) {
    Ok(t) => t,
    Err(_) => panic!("valid time"),
};

/// The OCSP refresh period.
pub const OCSP_PERIOD: Duration = Duration::minutes(15);

/// When revocations become visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// CRLs issued daily at 00:00 JST, OCSP data refreshed on 15-minute boundaries.
    #[default]
    Realistic,
    /// Every change is visible at once on both channels.
    Instant,
}

impl Cadence {
    /// thisUpdate, nextUpdate and cRLNumber of the CRL current at `now`, numbered from the
    /// CA's notBefore (`epoch`) so numbers increase with every issue.
    pub fn crl_schedule(
        self,
        epoch: OffsetDateTime,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime, u64) {
        match self {
            Cadence::Realistic => {
                let today = OffsetDateTime::new_utc(now.date(), CRL_ISSUE_UTC);
                let this_update = if today <= now {
                    today
                } else {
                    today - Duration::DAY
                };
                let number = ((this_update - epoch).whole_days().max(0) as u64) + 1;
                (this_update, this_update + Duration::DAY, number)
            }
            Cadence::Instant => {
                let this_update = now.replace_nanosecond(0).unwrap_or(now);
                let number = ((this_update - epoch).whole_seconds().max(0) as u64) + 1;
                (this_update, this_update + Duration::DAY, number)
            }
        }
    }

    /// The OCSP window an answer at `now` speaks for. Instant answers still carry a nextUpdate
    /// one period ahead, so clients that demand one accept them.
    pub fn ocsp_window(self, now: OffsetDateTime) -> Result<OcspWindow> {
        match self {
            Cadence::Realistic => OcspWindow::containing(now, OCSP_PERIOD),
            Cadence::Instant => {
                let mut window = OcspWindow::instant(now);
                window.next_update = Some(window.this_update + OCSP_PERIOD);
                Ok(window)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn realistic_crls_are_issued_at_midnight_jst() {
        let epoch = datetime!(2023-07-16 00:00 UTC);
        let (this_update, next_update, number) =
            Cadence::Realistic.crl_schedule(epoch, datetime!(2026-07-01 14:59 UTC));
        assert_eq!(this_update, datetime!(2026-06-30 15:00 UTC));
        assert_eq!(next_update, datetime!(2026-07-01 15:00 UTC));
        let (later, _, next_number) =
            Cadence::Realistic.crl_schedule(epoch, datetime!(2026-07-01 15:00 UTC));
        assert_eq!(later, datetime!(2026-07-01 15:00 UTC));
        assert_eq!(next_number, number + 1);
    }

    #[test]
    fn ocsp_windows_follow_the_cadence() {
        let now = datetime!(2026-07-01 10:07:30.5 UTC);
        let realistic = Cadence::Realistic.ocsp_window(now).unwrap();
        assert_eq!(realistic.this_update, datetime!(2026-07-01 10:00 UTC));
        assert_eq!(realistic.next_update, Some(datetime!(2026-07-01 10:15 UTC)));
        let instant = Cadence::Instant.ocsp_window(now).unwrap();
        assert_eq!(instant.this_update, datetime!(2026-07-01 10:07:30 UTC));
        assert_eq!(
            instant.next_update,
            Some(datetime!(2026-07-01 10:22:30 UTC))
        );
    }
}
