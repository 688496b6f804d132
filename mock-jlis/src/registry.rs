//! Every certificate the world has issued, with its revocation and successor: the data behind
//! CRLs, OCSP, linkage and the latest-4-info service.
//!
//! Status is a function of time: a certificate is revoked *as of* an instant if its revocation
//! happened by then, and expired after its notAfter. Each publication channel asks as of its own
//! instant (the daily CRL's issue time, the OCSP window's start, the admin view's now), which is
//! how cadences fall out without any timers. The channels say whether a revocation made at that
//! very instant counts ([`AsOf`]: not for a scheduled refresh, yes for live data); the admin
//! view and the J-LIS services are live. The registry is what mock-ca's publisher reads
//! ([`RevocationData`]) to sign CRLs and OCSP answers.

use std::collections::HashMap;

use mock_ca::crl::{RevocationReason, RevokedEntry};
use mock_ca::ocsp::CertStatus as OcspStatus;
use mock_ca::publication::{AsOf, RevocationData};
use mock_ca::{Hierarchy, Serial};
use serde::Serialize;
use sim_card::CardId;
use time::OffsetDateTime;

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// The certificate's serial; unique within its hierarchy.
    pub serial: Serial,
    /// The CA that issued it: signature (署名用) or authentication (利用者証明用).
    pub hierarchy: Hierarchy,
    /// The holder's card id; renewals and re-issues keep it.
    pub card: CardId,
    /// The card generation it was issued for (1 for the first card, +1 per renewal).
    pub generation: u32,
    /// Re-issue count within the generation (0 = issued with the card).
    pub revision: u32,
    /// 5-digit municipality code of the holder at issuance (selects the CRL partition).
    pub municipality_code: String,
    /// The prefecture of the CRL distribution point (`OU=Kanagawa-ken`).
    pub prefecture_romaji: String,
    /// The municipality of the CRL distribution point (`CN=Yokohama-shi-Naka-ku CRLDP`).
    pub municipality_romaji: String,
    /// Start of validity: when it was issued (10:00 JST on the card's issue day, or the time of
    /// the life event that issued it).
    pub not_before: OffsetDateTime,
    /// End of validity: 23:59:59 JST on the holder's 5th birthday after issuance, capped by the
    /// card's expiry (`docs/jpki-pki.md` §1).
    pub not_after: OffsetDateTime,
    /// Set once by a life event; `None` while it was never revoked (expiry is not a revocation).
    pub revocation: Option<Revocation>,
    /// The certificate that replaced this one (address change, renewal, re-issue).
    pub superseded_by: Option<Serial>,
}

/// When and why a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// When the life event revoked it, by the world clock (RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The revocation reason the event maps to (`docs/revocation.md`, life events).
    pub reason: RevocationReason,
}

/// A certificate's status as of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CertStatus {
    /// Issued, not revoked by then, not past notAfter.
    Good,
    /// Revoked at or before that instant; wins over expiry.
    Revoked {
        /// When it was revoked (RFC 3339 in JSON).
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Why.
        reason: RevocationReason,
    },
    /// Past notAfter; expiry needs no revocation entry.
    Expired,
    /// Not yet valid at that instant (issued later).
    NotYetIssued,
}

impl CertStatus {
    /// The snake_case name the APIs use: `good`, `revoked`, `expired` or `not_yet_issued`.
    pub fn name(&self) -> &'static str {
        match self {
            CertStatus::Good => "good",
            CertStatus::Revoked { .. } => "revoked",
            CertStatus::Expired => "expired",
            CertStatus::NotYetIssued => "not_yet_issued",
        }
    }
}

impl CertRecord {
    /// The status as of `at`.
    pub fn status_at(&self, at: OffsetDateTime) -> CertStatus {
        if at < self.not_before {
            return CertStatus::NotYetIssued;
        }
        if let Some(revocation) = self.revocation.filter(|r| r.at <= at) {
            return CertStatus::Revoked {
                at: revocation.at,
                reason: revocation.reason,
            };
        }
        if at > self.not_after {
            CertStatus::Expired
        } else {
            CertStatus::Good
        }
    }

    /// Revoked in the data `as_of`: what OCSP and CRLs publish (an expired certificate still
    /// shows its revocation).
    pub fn revoked_as_of(&self, as_of: AsOf) -> Option<Revocation> {
        self.revocation.filter(|r| as_of.includes(r.at))
    }
}

/// All certificates, indexed by (hierarchy, serial).
#[derive(Debug, Default)]
pub struct Registry {
    by_serial: HashMap<(Hierarchy, Serial), CertRecord>,
    version: u64,
}

impl Registry {
    /// Adds or replaces one record (after it was committed to the store).
    pub fn insert(&mut self, record: CertRecord) {
        self.version += 1;
        self.by_serial
            .insert((record.hierarchy, record.serial.clone()), record);
    }

    /// Adds or replaces records (after they were committed to the store).
    pub fn insert_all(&mut self, records: impl IntoIterator<Item = CertRecord>) {
        for record in records {
            self.insert(record);
        }
    }

    /// Increases with every change, so derived data (CRLs) can be cached against it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The CRL distribution point names of a municipality, from any certificate issued there.
    pub fn municipality_names(&self, code: &str) -> Option<(String, String)> {
        self.by_serial
            .values()
            .find(|r| r.municipality_code == code)
            .map(|r| (r.prefecture_romaji.clone(), r.municipality_romaji.clone()))
    }

    /// The certificate with `serial` in `hierarchy`, if this world issued it.
    pub fn get(&self, hierarchy: Hierarchy, serial: &Serial) -> Option<&CertRecord> {
        self.by_serial.get(&(hierarchy, serial.clone()))
    }

    /// The same, to record a revocation or a successor.
    pub fn get_mut(&mut self, hierarchy: Hierarchy, serial: &Serial) -> Option<&mut CertRecord> {
        self.by_serial.get_mut(&(hierarchy, serial.clone()))
    }

    /// Certificates of one hierarchy.
    pub fn iter(&self, hierarchy: Hierarchy) -> impl Iterator<Item = &CertRecord> {
        self.by_serial
            .values()
            .filter(move |r| r.hierarchy == hierarchy)
    }

    /// Certificates of one card (all generations), oldest first.
    pub fn of_card(&self, card: &CardId) -> Vec<&CertRecord> {
        let mut records: Vec<_> = self
            .by_serial
            .values()
            .filter(|r| &r.card == card)
            .collect();
        records.sort_by_key(|r| (r.not_before, r.generation, r.revision, r.hierarchy.tag()));
        records
    }

    /// Follows `superseded_by` links from `serial` to the newest certificate.
    pub fn latest(&self, hierarchy: Hierarchy, serial: &Serial) -> Option<&CertRecord> {
        let mut current = self.get(hierarchy, serial)?;
        // Chains are short (one link per re-issue); the bound guards against a corrupt cycle.
        for _ in 0..1_000 {
            match &current.superseded_by {
                Some(next) => current = self.get(hierarchy, next)?,
                None => return Some(current),
            }
        }
        None
    }

    /// The revoked entries a CRL with data `as_of` lists: revoked in that data and not expired
    /// at its instant.
    pub fn crl_entries(
        &self,
        hierarchy: Hierarchy,
        as_of: AsOf,
        municipality: Option<&str>,
    ) -> Vec<(Serial, Revocation)> {
        let at = as_of.instant();
        let mut entries: Vec<_> = self
            .iter(hierarchy)
            .filter(|r| municipality.is_none_or(|m| r.municipality_code == m))
            .filter(|r| r.not_after >= at)
            .filter_map(|r| r.revoked_as_of(as_of).map(|rev| (r.serial.clone(), rev)))
            .collect();
        entries.sort_by(|a, b| {
            a.1.at
                .cmp(&b.1.at)
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        entries
    }
}

/// What the CRLs and OCSP answers publish.
impl RevocationData for Registry {
    fn version(&self) -> u64 {
        self.version
    }

    /// From any certificate issued there, else from the municipality tables (a partition of a
    /// municipality without certificates is an empty CRL, not a 404).
    fn municipality_names(&self, code: &str) -> Option<(String, String)> {
        Registry::municipality_names(self, code).or_else(|| {
            crate::persona::municipality_by_code(code)
                .map(|m| (m.prefecture_romaji.to_owned(), m.romaji.to_owned()))
        })
    }

    fn municipality_codes(&self, hierarchy: Hierarchy) -> Vec<String> {
        let codes: std::collections::BTreeSet<&str> = self
            .by_serial
            .values()
            .filter(|r| r.hierarchy == hierarchy)
            .map(|r| r.municipality_code.as_str())
            .collect();
        codes.into_iter().map(str::to_owned).collect()
    }

    fn revoked(
        &self,
        hierarchy: Hierarchy,
        as_of: AsOf,
        municipality: Option<&str>,
    ) -> Vec<RevokedEntry> {
        self.crl_entries(hierarchy, as_of, municipality)
            .into_iter()
            .map(|(serial, revocation)| RevokedEntry {
                serial,
                revoked_at: revocation.at,
                reason: revocation.reason,
            })
            .collect()
    }

    /// Revocations are never undone and records never removed, and the store keeps them all, so
    /// the count only grows.
    fn revocations(&self, hierarchy: Hierarchy, as_of: AsOf) -> u64 {
        self.iter(hierarchy)
            .filter(|r| r.revoked_as_of(as_of).is_some())
            .count() as u64
    }

    fn status(&self, hierarchy: Hierarchy, serial: &Serial, as_of: AsOf) -> OcspStatus {
        match self.get(hierarchy, serial) {
            None => OcspStatus::Unknown,
            Some(record) if as_of.instant() < record.not_before => OcspStatus::Unknown,
            Some(record) => match record.revoked_as_of(as_of) {
                Some(revocation) => OcspStatus::Revoked {
                    at: revocation.at,
                    reason: revocation.reason,
                },
                None => OcspStatus::Good,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record(serial: u8, revoked: Option<(OffsetDateTime, RevocationReason)>) -> CertRecord {
        CertRecord {
            serial: Serial::from_bytes(&[0x40, serial]).unwrap(),
            hierarchy: Hierarchy::Sign,
            card: "typea:04A1B2C3".parse().unwrap(),
            generation: 1,
            revision: 0,
            municipality_code: "13113".into(),
            prefecture_romaji: "Tokyo-to".into(),
            municipality_romaji: "Shibuya-ku".into(),
            not_before: datetime!(2025-01-01 00:00 UTC),
            not_after: datetime!(2030-01-01 14:59:59 UTC),
            revocation: revoked.map(|(at, reason)| Revocation { at, reason }),
            superseded_by: None,
        }
    }

    #[test]
    fn status_follows_time() {
        let r = record(
            1,
            Some((
                datetime!(2026-07-01 10:07 UTC),
                RevocationReason::AffiliationChanged,
            )),
        );
        assert_eq!(
            r.status_at(datetime!(2024-12-31 00:00 UTC)),
            CertStatus::NotYetIssued
        );
        assert_eq!(
            r.status_at(datetime!(2026-07-01 10:00 UTC)),
            CertStatus::Good
        );
        assert!(matches!(
            r.status_at(datetime!(2026-07-01 10:15 UTC)),
            CertStatus::Revoked { .. }
        ));
        let good = record(2, None);
        assert_eq!(
            good.status_at(datetime!(2030-01-02 00:00 UTC)),
            CertStatus::Expired
        );
    }

    #[test]
    fn crl_lists_revocations_before_its_instant_and_drops_expired_ones() {
        let mut registry = Registry::default();
        registry.insert(record(
            1,
            Some((
                datetime!(2026-07-01 10:07 UTC),
                RevocationReason::AffiliationChanged,
            )),
        ));
        registry.insert(record(
            2,
            Some((
                datetime!(2026-07-02 10:07 UTC),
                RevocationReason::KeyCompromise,
            )),
        ));
        registry.insert(record(3, None));
        let day = |at| AsOf::Before(at);
        let day2 =
            registry.crl_entries(Hierarchy::Sign, day(datetime!(2026-07-02 00:00 UTC)), None);
        assert_eq!(day2.len(), 1);
        let day3 =
            registry.crl_entries(Hierarchy::Sign, day(datetime!(2026-07-03 00:00 UTC)), None);
        assert_eq!(day3.len(), 2);
        assert!(registry
            .crl_entries(Hierarchy::Auth, day(datetime!(2026-07-03 00:00 UTC)), None)
            .is_empty());
        assert!(registry
            .crl_entries(
                Hierarchy::Sign,
                day(datetime!(2026-07-03 00:00 UTC)),
                Some("01100")
            )
            .is_empty());
        assert!(registry
            .crl_entries(Hierarchy::Sign, day(datetime!(2031-01-01 00:00 UTC)), None)
            .is_empty());
        assert_eq!(
            registry.revocations(Hierarchy::Sign, day(datetime!(2031-01-01 00:00 UTC))),
            2,
            "expired certificates still count"
        );
    }

    #[test]
    fn a_revocation_at_the_data_instant_counts_only_for_live_data() {
        let at = datetime!(2026-07-01 15:00 UTC);
        let mut registry = Registry::default();
        let r = record(1, Some((at, RevocationReason::KeyCompromise)));
        registry.insert(r.clone());
        assert!(registry
            .crl_entries(Hierarchy::Sign, AsOf::Before(at), None)
            .is_empty());
        assert_eq!(
            registry
                .crl_entries(Hierarchy::Sign, AsOf::Through(at), None)
                .len(),
            1
        );
        assert_eq!(
            registry.status(Hierarchy::Sign, &r.serial, AsOf::Before(at)),
            OcspStatus::Good
        );
        assert!(matches!(
            registry.status(Hierarchy::Sign, &r.serial, AsOf::Through(at)),
            OcspStatus::Revoked { .. }
        ));
        assert_eq!(registry.revocations(Hierarchy::Sign, AsOf::Before(at)), 0);
        assert_eq!(registry.revocations(Hierarchy::Sign, AsOf::Through(at)), 1);
        // The admin view is live.
        assert!(matches!(r.status_at(at), CertStatus::Revoked { .. }));
    }

    #[test]
    fn latest_follows_successors() {
        let mut registry = Registry::default();
        let mut first = record(1, None);
        let second = record(2, None);
        first.superseded_by = Some(second.serial.clone());
        registry.insert(first.clone());
        registry.insert(second.clone());
        assert_eq!(
            registry
                .latest(Hierarchy::Sign, &first.serial)
                .unwrap()
                .serial,
            second.serial
        );
    }
}
