//! When revocations become visible (docs/revocation.md, cadences): the instant each channel's
//! data is taken at, which revocations that data holds, and the number of every CRL.
//!
//! The rule at the boundary instants: a scheduled refresh (the daily CRL issue, the start of an
//! OCSP window) holds the revocations made **strictly before** its instant, so a revocation made
//! at the very instant waits for the next refresh; live data (the instant cadence) holds every
//! revocation made so far. On the realistic cadence, what one CRL or one OCSP window says is
//! therefore fixed from its instant on (what the OCSP cache of signed answers relies on).
//!
//! cRLNumbers (RFC 5280 §5.2.3) increase with every CRL of a hierarchy whose content may differ
//! from the last one's, and a number is never given to two different lists of the same
//! hierarchy and scope ([`Cadence::crl_issue`] says how).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use super::source::RevocationData;
use crate::error::Result;
use crate::hierarchy::Hierarchy;
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

/// Which revocations a publication's data holds, relative to the instant the data is taken at.
/// Validity (expiry, not yet issued) is judged at [`AsOf::instant`] either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsOf {
    /// The revocations made strictly before the instant: what a refresh taken at that instant
    /// holds (the realistic CRL's thisUpdate, the realistic OCSP window's start). A revocation
    /// made at the instant itself is published by the next refresh.
    Before(OffsetDateTime),
    /// The revocations made at or before the instant: live data, holding every change made so
    /// far, even within the current second (the instant cadence).
    Through(OffsetDateTime),
}

impl AsOf {
    /// The instant the data is taken at.
    pub fn instant(self) -> OffsetDateTime {
        match self {
            AsOf::Before(at) | AsOf::Through(at) => at,
        }
    }

    /// Whether the data holds a revocation made at `revoked_at`.
    pub fn includes(self, revoked_at: OffsetDateTime) -> bool {
        match self {
            AsOf::Before(at) => revoked_at < at,
            AsOf::Through(at) => revoked_at <= at,
        }
    }
}

/// One CRL of a hierarchy: its times, its cRLNumber and the data it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlIssue {
    /// thisUpdate: when it was issued (whole seconds).
    pub this_update: OffsetDateTime,
    /// nextUpdate: one day later.
    pub next_update: OffsetDateTime,
    /// cRLNumber (see [`Cadence::crl_issue`]).
    pub number: u64,
    /// What it lists: the certificates revoked per this and not expired at its instant
    /// (thisUpdate).
    pub as_of: AsOf,
}

impl Cadence {
    /// Which revocations the data taken at `at` holds on this cadence: strictly before `at` on
    /// the realistic cadence (a scheduled refresh), at or before it on the instant one (live).
    pub fn data_as_of(self, at: OffsetDateTime) -> AsOf {
        match self {
            Cadence::Realistic => AsOf::Before(at),
            Cadence::Instant => AsOf::Through(at),
        }
    }

    /// The CRL of `hierarchy` current at `now`, numbered from the CA's notBefore (`epoch`).
    /// `data` is read only on the instant cadence, for the revocation count in the number; give
    /// the same view the CRL's entries are read from.
    ///
    /// - Realistic: the CRL issued at 00:00 JST `d` whole days after `epoch` is number `d + 1`.
    ///   Its content is fixed from its issue on: it lists revocations made before its
    ///   thisUpdate, and the clock only moves forward.
    /// - Instant: the CRL of second `s` (whole seconds after `epoch`) is number `s + r + 1`,
    ///   where `r` is how many certificates of the hierarchy were revoked at or before that
    ///   second, expired ones included ([`RevocationData::revocations`]). Its content depends
    ///   only on the second (expiry) and on those revocations, and both `s` and `r` only grow:
    ///   a revocation within the same second raises the number by one, a second passing by at
    ///   least one, so two different lists never share a number.
    ///
    /// Either way the number of a hierarchy's CRLs never decreases as the clock moves forward,
    /// and its partitions share it (a partition's number may skip, never repeat).
    pub fn crl_issue(
        self,
        epoch: OffsetDateTime,
        now: OffsetDateTime,
        hierarchy: Hierarchy,
        data: &dyn RevocationData,
    ) -> CrlIssue {
        match self {
            Cadence::Realistic => {
                let today = OffsetDateTime::new_utc(now.date(), CRL_ISSUE_UTC);
                let this_update = if today <= now {
                    today
                } else {
                    today - Duration::DAY
                };
                let days = (this_update - epoch).whole_days().max(0) as u64;
                CrlIssue {
                    this_update,
                    next_update: this_update + Duration::DAY,
                    number: days + 1,
                    as_of: self.data_as_of(this_update),
                }
            }
            Cadence::Instant => {
                let this_update = now.replace_nanosecond(0).unwrap_or(now);
                let as_of = self.data_as_of(this_update);
                let seconds = (this_update - epoch).whole_seconds().max(0) as u64;
                let revocations = data.revocations(hierarchy, as_of);
                CrlIssue {
                    this_update,
                    next_update: this_update + Duration::DAY,
                    number: seconds.saturating_add(revocations).saturating_add(1),
                    as_of,
                }
            }
        }
    }

    /// The OCSP window an answer at `now` speaks for. Instant answers still carry a nextUpdate
    /// one period ahead, so clients that demand one accept them. The status it gives is read
    /// [`Cadence::data_as_of`] the window's thisUpdate.
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
    use crate::crl::{RevocationReason, RevokedEntry};
    use crate::ocsp::CertStatus;
    use crate::serial::Serial;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    const EPOCH: OffsetDateTime = datetime!(2023-07-16 00:00 UTC);

    /// One certificate: its hierarchy, municipality, expiry and revocation.
    #[derive(Debug, Clone)]
    struct Record {
        serial: Serial,
        hierarchy: Hierarchy,
        municipality: &'static str,
        not_after: OffsetDateTime,
        revoked_at: Option<OffsetDateTime>,
    }

    #[derive(Debug, Default)]
    struct Data {
        records: Vec<Record>,
    }

    impl RevocationData for Data {
        fn version(&self) -> u64 {
            self.records.len() as u64
        }

        fn municipality_names(&self, _code: &str) -> Option<(String, String)> {
            None
        }

        fn revoked(
            &self,
            hierarchy: Hierarchy,
            as_of: AsOf,
            municipality: Option<&str>,
        ) -> Vec<RevokedEntry> {
            let mut entries: Vec<_> = self
                .records
                .iter()
                .filter(|r| r.hierarchy == hierarchy)
                .filter(|r| municipality.is_none_or(|m| r.municipality == m))
                .filter(|r| r.not_after >= as_of.instant())
                .filter_map(|r| {
                    let at = r.revoked_at.filter(|at| as_of.includes(*at))?;
                    Some(RevokedEntry {
                        serial: r.serial.clone(),
                        revoked_at: at,
                        reason: RevocationReason::AffiliationChanged,
                    })
                })
                .collect();
            entries.sort_by(|a, b| a.serial.as_bytes().cmp(b.serial.as_bytes()));
            entries
        }

        fn revocations(&self, hierarchy: Hierarchy, as_of: AsOf) -> u64 {
            self.records
                .iter()
                .filter(|r| r.hierarchy == hierarchy)
                .filter(|r| r.revoked_at.is_some_and(|at| as_of.includes(at)))
                .count() as u64
        }

        fn status(&self, _hierarchy: Hierarchy, _serial: &Serial, _as_of: AsOf) -> CertStatus {
            CertStatus::Unknown
        }
    }

    fn serial(n: u16) -> Serial {
        let [hi, lo] = n.to_be_bytes();
        Serial::from_bytes(&[0x40, hi, lo]).unwrap()
    }

    #[test]
    fn realistic_crls_are_issued_at_midnight_jst() {
        let data = Data::default();
        let issue = Cadence::Realistic.crl_issue(
            EPOCH,
            datetime!(2026-07-01 14:59 UTC),
            Hierarchy::Sign,
            &data,
        );
        assert_eq!(issue.this_update, datetime!(2026-06-30 15:00 UTC));
        assert_eq!(issue.next_update, datetime!(2026-07-01 15:00 UTC));
        assert_eq!(issue.as_of, AsOf::Before(issue.this_update));
        let later = Cadence::Realistic.crl_issue(
            EPOCH,
            datetime!(2026-07-01 15:00 UTC),
            Hierarchy::Sign,
            &data,
        );
        assert_eq!(later.this_update, datetime!(2026-07-01 15:00 UTC));
        assert_eq!(later.number, issue.number + 1);
    }

    #[test]
    fn a_revocation_at_the_issue_instant_waits_for_the_next_crl() {
        let issued = datetime!(2026-07-01 15:00 UTC);
        let mut data = Data::default();
        let before = Cadence::Realistic.crl_issue(EPOCH, issued, Hierarchy::Sign, &data);
        data.records.push(Record {
            serial: serial(1),
            hierarchy: Hierarchy::Sign,
            municipality: "13113",
            not_after: datetime!(2030-01-01 14:59:59 UTC),
            revoked_at: Some(issued),
        });
        let after = Cadence::Realistic.crl_issue(EPOCH, issued, Hierarchy::Sign, &data);
        assert_eq!(before, after, "the same CRL, the same number");
        assert!(data.revoked(Hierarchy::Sign, after.as_of, None).is_empty());
        let next =
            Cadence::Realistic.crl_issue(EPOCH, issued + Duration::DAY, Hierarchy::Sign, &data);
        assert_eq!(next.number, after.number + 1);
        assert_eq!(data.revoked(Hierarchy::Sign, next.as_of, None).len(), 1);
    }

    #[test]
    fn instant_crls_renumber_on_a_revocation_within_the_same_second() {
        let now = datetime!(2026-07-01 10:07:30.25 UTC);
        let mut data = Data::default();
        let before = Cadence::Instant.crl_issue(EPOCH, now, Hierarchy::Auth, &data);
        assert_eq!(before.this_update, datetime!(2026-07-01 10:07:30 UTC));
        assert_eq!(before.as_of, AsOf::Through(before.this_update));
        data.records.push(Record {
            serial: serial(1),
            hierarchy: Hierarchy::Auth,
            municipality: "13113",
            not_after: datetime!(2030-01-01 14:59:59 UTC),
            revoked_at: Some(before.this_update),
        });
        let after = Cadence::Instant.crl_issue(EPOCH, now, Hierarchy::Auth, &data);
        assert_eq!(after.this_update, before.this_update);
        assert_eq!(after.number, before.number + 1);
        assert_eq!(data.revoked(Hierarchy::Auth, after.as_of, None).len(), 1);
        // The other hierarchy's list did not change, nor did its number.
        let sign = Cadence::Instant.crl_issue(EPOCH, now, Hierarchy::Sign, &data);
        assert_eq!(sign.number, before.number);
    }

    #[test]
    fn the_boundary_instant_belongs_to_the_next_refresh_only_on_the_realistic_cadence() {
        let at = datetime!(2026-07-01 10:15 UTC);
        assert!(!AsOf::Before(at).includes(at));
        assert!(AsOf::Before(at).includes(at - Duration::SECOND));
        assert!(AsOf::Through(at).includes(at));
        assert!(!AsOf::Through(at).includes(at + Duration::SECOND));
        assert_eq!(Cadence::Realistic.data_as_of(at), AsOf::Before(at));
        assert_eq!(Cadence::Instant.data_as_of(at), AsOf::Through(at));
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

    /// A CRL's hierarchy and partition (`None`: the full list).
    type Scope = (Hierarchy, Option<&'static str>);
    /// A CRL's thisUpdate and entries.
    type Listed = (OffsetDateTime, Vec<RevokedEntry>);

    /// One step of a world's history.
    #[derive(Debug, Clone)]
    enum Step {
        /// The clock moves forward by this many seconds (0: a step within the same second).
        Advance(u32),
        /// A certificate is issued, expiring this many seconds from now (sometimes soon, so
        /// expiry drops entries while the test runs).
        Issue {
            hierarchy: Hierarchy,
            municipality: &'static str,
            lifetime: u32,
        },
        /// The certificate with this index (modulo how many there are) is revoked now, if it
        /// was not already.
        Revoke(usize),
        /// Every scope's CRL is fetched now.
        Fetch,
    }

    fn step() -> impl Strategy<Value = Step> {
        let hierarchy = prop_oneof![Just(Hierarchy::Sign), Just(Hierarchy::Auth)];
        let municipality = prop_oneof![Just("13113"), Just("01100")];
        prop_oneof![
            3 => prop_oneof![
                Just(0u32),
                1u32..5,
                Just(15 * 60),
                Just(86_400 - 1),
                Just(86_400),
                1u32..3 * 86_400,
            ]
            .prop_map(Step::Advance),
            2 => (hierarchy, municipality, prop_oneof![1u32..120, 1u32..5 * 86_400])
                .prop_map(|(hierarchy, municipality, lifetime)| Step::Issue {
                    hierarchy,
                    municipality,
                    lifetime,
                }),
            3 => any::<usize>().prop_map(Step::Revoke),
            4 => Just(Step::Fetch),
        ]
    }

    /// The clock starts at or just before a daily issue, or just before a 15-minute boundary.
    fn start() -> impl Strategy<Value = OffsetDateTime> {
        prop_oneof![
            Just(datetime!(2026-07-01 15:00 UTC)),
            (0i64..5).prop_map(|s| datetime!(2026-07-01 14:59:57 UTC) + Duration::seconds(s)),
            (0i64..86_400).prop_map(|s| datetime!(2026-07-01 00:00 UTC) + Duration::seconds(s)),
        ]
    }

    /// Runs `steps` from `start` on `cadence`, fetching every scope's CRL at each `Fetch`: two
    /// CRLs of one hierarchy and scope with the same number must have the same thisUpdate and
    /// entries, and numbers must never decrease.
    fn check_history(
        cadence: Cadence,
        start: OffsetDateTime,
        steps: &[Step],
    ) -> std::result::Result<(), TestCaseError> {
        let mut now = start;
        let mut data = Data::default();
        let mut seen: BTreeMap<(Scope, u64), Listed> = BTreeMap::new();
        let mut last: BTreeMap<Scope, u64> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Advance(seconds) => now += Duration::seconds(i64::from(*seconds)),
                Step::Issue {
                    hierarchy,
                    municipality,
                    lifetime,
                } => {
                    let n = data.records.len() as u16;
                    data.records.push(Record {
                        serial: serial(n),
                        hierarchy: *hierarchy,
                        municipality,
                        not_after: now + Duration::seconds(i64::from(*lifetime)),
                        revoked_at: None,
                    });
                }
                Step::Revoke(index) => {
                    let n = data.records.len();
                    if n > 0 {
                        data.records[index % n].revoked_at.get_or_insert(now);
                    }
                }
                Step::Fetch => {
                    for hierarchy in [Hierarchy::Sign, Hierarchy::Auth] {
                        let issue = cadence.crl_issue(EPOCH, now, hierarchy, &data);
                        for scope in [None, Some("13113"), Some("01100")] {
                            let entries = data.revoked(hierarchy, issue.as_of, scope);
                            let key = ((hierarchy, scope), issue.number);
                            if let Some((this_update, listed)) = seen.get(&key) {
                                prop_assert_eq!(*this_update, issue.this_update);
                                prop_assert_eq!(
                                    listed,
                                    &entries,
                                    "{:?} CRL {} of {:?}/{:?} changed at {}",
                                    cadence,
                                    issue.number,
                                    hierarchy,
                                    scope,
                                    now
                                );
                            }
                            seen.insert(key, (issue.this_update, entries));
                            let previous = last.insert((hierarchy, scope), issue.number);
                            prop_assert!(
                                previous.is_none_or(|p| p <= issue.number),
                                "{:?} CRL numbers went from {:?} to {}",
                                cadence,
                                previous,
                                issue.number
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Over random histories of issues, revocations and clock moves: two CRLs of one
        /// hierarchy and scope with the same number list the same entries (and have the same
        /// thisUpdate), and numbers never decrease as time moves forward.
        #[test]
        fn one_number_one_list_and_numbers_never_decrease(
            start in start(),
            steps in proptest::collection::vec(step(), 1..60),
        ) {
            check_history(Cadence::Realistic, start, &steps)?;
            check_history(Cadence::Instant, start, &steps)?;
        }
    }
}
