//! The J-LIS services a PF calls (docs/jpki-pki.md §6, §7):
//! consent, the latest basic-4-info service it unlocks, certificate linkage and a plain status.
//!
//! - **Consent** is given by signing a consent document with the signature certificate. It covers
//!   that certificate and every successor (address change, renewal, re-issue), so a PF keeps
//!   asking with the serial it enrolled, until the consent expires or is withdrawn.
//! - **Latest basic-4-info** follows the linkage from the enrolled certificate to the newest
//!   signature certificate and answers the holder's current name, address, birth date and sex,
//!   or says why not (no consent, the newest certificate expired, revoked or not yet linked).
//! - **Linkage** (old → new, sign ↔ auth) becomes visible
//!   [`crate::world::World::linkage_lag`] after the newer certificate was issued, as J-LIS data
//!   lags issuance in the field; the latest service walks the same visible chain, so both tell a
//!   PF the same story.
//!
//! Protocol refusals and real faults share [`ServiceError`]; [`ServiceError::code`] names each
//! with the stable code of `docs/jlis-api.md`.
//!
//! `Services` borrows only the parts of the world these services read and write: the registry,
//! the store, the clock, the cards, the writer lock and the signature CA.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use mock_ca::{CertificateAuthority, Hierarchy, Serial};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sim_card::CardId;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

use crate::clock::SimClock;
use crate::persona::Sex;
use crate::registry::{CertRecord, CertStatus, Registry, Revocation};
use crate::store::rows::consent_from_row;
use crate::store::{ConsentRow, Store, StoreError};
use crate::world::cards::Cards;

/// The linkage lag reported in the field (PocketSign: about 90 minutes).
pub const FIELD_LINKAGE_LAG: Duration = Duration::from_secs(90 * 60);

/// How long a consent lasts when the PF does not say.
pub const DEFAULT_CONSENT_VALIDITY: Duration = Duration::from_secs(365 * 86_400);

/// sha256WithRSAEncryption (RFC 4055): what our CAs sign with, and all the consent check verifies.
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Chains are short (one link per event); the bound only guards against a corrupt cycle.
const MAX_CHAIN: usize = 1_000;

/// A consent submission: a document signed by the holder's signature key, and the certificate.
#[derive(Debug, Clone)]
pub struct ConsentGrant {
    /// The consent document as signed; only its SHA-256 is kept.
    pub document: Vec<u8>,
    /// RSASSA-PKCS1-v1_5 with SHA-256 over `document`.
    pub signature: Vec<u8>,
    /// The signature certificate (DER).
    pub certificate: Vec<u8>,
    /// How long the consent lasts from now by the world clock ([`DEFAULT_CONSENT_VALIDITY`]
    /// when the PF does not say); must be positive.
    pub valid_for: Duration,
}

/// A recorded consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    /// The consent's id in the store, increasing from 1.
    pub consent_id: i64,
    /// The signature certificate the document was signed with (hex).
    pub serial: String,
    /// When it was registered, by the world clock (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    /// When it stops being in force: `granted_at` plus the validity asked for (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was first withdrawn (RFC 3339, UTC); `null` while it never was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub withdrawn_at: Option<OffsetDateTime>,
    /// SHA-256 of the consent document (hex): the evidence kept instead of the document.
    pub document_sha256: String,
}

/// The latest basic-4-info of a consenting holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatestInfo {
    /// The signature certificate the PF enrolled and asked with (upper-case hex).
    pub enrolled_serial: String,
    /// The newest linked signature certificate; differs from `enrolled_serial` after an address
    /// change, a renewal or a re-issue.
    pub latest_serial: String,
    /// `latest_serial != enrolled_serial`: the PF should store the new serial.
    pub changed: bool,
    /// Always `good`: any other status of the latest certificate is a refusal.
    pub status: &'static str,
    /// The holder's name now (family and given name, U+3000 between).
    pub name: String,
    /// Its reading in katakana.
    pub name_kana: String,
    /// One `0` or `1` per character of `name`; `1`: the character is a substitute (代替文字)
    /// for one the certificate cannot carry, as in its substituteCharacterOfCommonName.
    pub name_substitute_flags: String,
    /// The holder's address now, as the signature certificate carries it.
    pub address: String,
    /// One flag per character of `address`, as `name_substitute_flags`.
    pub address_substitute_flags: String,
    /// The birth date, Gregorian (`YYYY-MM-DD`).
    #[serde(serialize_with = "crate::persona::iso_date::serialize")]
    pub birth_date: Date,
    /// The JIS X 0303 digit (`"0"`, `"1"`, `"2"`, `"9"`).
    pub sex: Sex,
    /// The world-clock instant the answer holds for (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

/// Linkage of one certificate as visible now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Linkage {
    /// The certificate asked about (upper-case hex).
    pub serial: String,
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// Serials of the same hierarchy, oldest first, including `serial`.
    pub chain: Vec<String>,
    /// The last of `chain`: the newest certificate whose link is visible.
    pub latest: String,
    /// The other hierarchy's certificate of the same card generation (for an authentication
    /// certificate, the newest linked signature certificate); absent for holders without a
    /// signature certificate and while the link lags.
    pub counterpart: Option<String>,
    /// Stable across moves, renewals and re-issues (see [`user_id`]); absent until the
    /// certificate is linked.
    pub user_id: Option<String>,
}

/// A certificate's status as of now (the real-time view, not the CRL or OCSP cadence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    /// The certificate asked about (upper-case hex).
    pub serial: String,
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// `good`, `revoked`, `expired` or `not_yet_issued`.
    pub status: &'static str,
    /// When and why it was revoked; present only when `status` is `revoked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Start of validity (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// Why a J-LIS service refused or failed. Each variant says when it happens.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The submitted certificate is not DER X.509.
    #[error("the certificate does not parse as DER X.509")]
    CertificateUnparsable(#[source] x509_cert::der::Error),
    /// The certificate parses but this world's signature CA did not sign it (an authentication
    /// certificate, or one from another CA).
    #[error("the certificate was not issued by this world's signature CA")]
    NotIssuedBySignCa,
    /// No certificate with this serial was issued in this hierarchy by this world.
    #[error("no {hierarchy} certificate {serial} was issued by this world")]
    UnknownCertificate {
        /// The hierarchy asked about.
        hierarchy: Hierarchy,
        /// The serial asked about.
        serial: Serial,
    },
    /// The consent certificate is revoked, expired or not yet valid now.
    #[error("certificate {serial} is {} as of {at}", .status.name(), at = mock_ca::rfc3339(.at))]
    CertificateNotGood {
        /// The consent certificate's serial.
        serial: Serial,
        /// Its status now.
        status: CertStatus,
        /// Now, by the world clock.
        at: OffsetDateTime,
    },
    /// The consent document's signature does not verify with the certificate's public key.
    #[error("the signature over the consent document does not verify with the certificate's key")]
    BadSignature,
    /// A consent lifetime of zero, or one that runs past the calendar.
    #[error("a consent cannot be valid for {0:?}")]
    InvalidValidity(Duration),
    /// No consent was ever given with this certificate or a predecessor.
    #[error("no consent covers certificate {serial}")]
    NotConsented {
        /// The serial asked with.
        serial: Serial,
    },
    /// The newest consent covering the certificate expired.
    #[error("the consent covering certificate {serial} expired at {expired_at}", expired_at = mock_ca::rfc3339(.expired_at))]
    ConsentExpired {
        /// The serial asked with.
        serial: Serial,
        /// The consent's `expires_at`.
        expired_at: OffsetDateTime,
    },
    /// The newest consent covering the certificate was withdrawn.
    #[error("the consent covering certificate {serial} was withdrawn at {withdrawn_at}", withdrawn_at = mock_ca::rfc3339(.withdrawn_at))]
    ConsentWithdrawn {
        /// The serial asked with.
        serial: Serial,
        /// When the consent was first withdrawn.
        withdrawn_at: OffsetDateTime,
    },
    /// The newest linked signature certificate is past its notAfter.
    #[error("the latest certificate {latest} expired at {not_after}", not_after = mock_ca::rfc3339(.not_after))]
    LatestExpired {
        /// The newest linked signature certificate.
        latest: Serial,
        /// Its notAfter.
        not_after: OffsetDateTime,
    },
    /// The newest linked signature certificate is revoked (death, emigration, loss) or on hold.
    #[error("the latest certificate {latest} was revoked at {} ({:?})", .revocation.at, .revocation.reason)]
    LatestRevoked {
        /// The newest linked signature certificate.
        latest: Serial,
        /// When and why it was revoked.
        revocation: Revocation,
    },
    /// The newest known certificate has a successor whose linkage is not visible yet; asking
    /// again at `visible_at` succeeds.
    #[error(
        "the successor of certificate {last_known} is not linked yet (visible at {visible_at})"
    )]
    LatestUnknown {
        /// The newest certificate whose link is visible.
        last_known: Serial,
        /// When the successor's link becomes visible, by the world clock (the `Retry-After`).
        visible_at: OffsetDateTime,
    },
    /// There is no consent to withdraw for this certificate.
    #[error("no consent was given for certificate {serial}")]
    NoConsentToWithdraw {
        /// The serial asked with.
        serial: Serial,
    },
    /// The SQLite store failed: a simulator fault (`503 world_unavailable`).
    #[error("state store failed")]
    Store(#[from] StoreError),
    /// Stored state does not hold together (a consent row, the CA certificate, a certificate
    /// without its card): a simulator fault (`503 world_unavailable`).
    #[error("stored consent state is unreadable: {0}")]
    CorruptState(String),
}

impl ServiceError {
    /// The stable machine-readable code (`docs/jlis-api.md`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::CertificateUnparsable(_) | ServiceError::NotIssuedBySignCa => {
                "invalid_certificate"
            }
            ServiceError::UnknownCertificate { .. } => "unknown_certificate",
            ServiceError::CertificateNotGood { .. } => "certificate_not_good",
            ServiceError::BadSignature => "bad_signature",
            ServiceError::InvalidValidity(_) => "invalid_duration",
            ServiceError::NotConsented { .. } => "not_consented",
            ServiceError::ConsentExpired { .. } => "consent_expired",
            ServiceError::ConsentWithdrawn { .. } => "consent_withdrawn",
            ServiceError::LatestExpired { .. } => "latest_certificate_expired",
            ServiceError::LatestRevoked { .. } => "latest_certificate_revoked",
            ServiceError::LatestUnknown { .. } => "latest_certificate_unknown",
            ServiceError::NoConsentToWithdraw { .. } => "consent_not_found",
            ServiceError::Store(_) | ServiceError::CorruptState(_) => "world_unavailable",
        }
    }
}

/// The parts of the world the J-LIS services use (see [`crate::world::World::services`]).
pub(crate) struct Services<'w> {
    pub(crate) registry: &'w RwLock<Registry>,
    pub(crate) store: &'w Store,
    pub(crate) clock: &'w SimClock,
    pub(crate) cards: &'w Cards,
    /// The world's writer lock: consents are written in step with provisioning and events.
    pub(crate) writer: &'w Mutex<()>,
    /// The CA a consent certificate must come from.
    pub(crate) sign_ca: &'w CertificateAuthority,
    pub(crate) linkage_lag: Duration,
}

impl Services<'_> {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn certificate(&self, hierarchy: Hierarchy, serial: &Serial) -> Option<CertRecord> {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        registry.get(hierarchy, serial).cloned()
    }

    /// Records the holder's consent after checking the certificate and the signature over the
    /// document (docs/jpki-pki.md: consent is a document signed with the signature certificate).
    pub fn grant_consent(&self, grant: &ConsentGrant) -> Result<Consent, ServiceError> {
        let serial = self.verify_sign_certificate(&grant.certificate)?;
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.now();
        let record = self.certificate(Hierarchy::Sign, &serial).ok_or_else(|| {
            ServiceError::UnknownCertificate {
                hierarchy: Hierarchy::Sign,
                serial: serial.clone(),
            }
        })?;
        let status = record.status_at(now);
        if status != CertStatus::Good {
            return Err(ServiceError::CertificateNotGood {
                serial,
                status,
                at: now,
            });
        }
        verify_document(&grant.certificate, &grant.document, &grant.signature)?;
        let expires_at = time::Duration::try_from(grant.valid_for)
            .ok()
            .filter(|d| d.is_positive())
            .and_then(|d| now.checked_add(d))
            .ok_or(ServiceError::InvalidValidity(grant.valid_for))?;
        let mut row = ConsentRow {
            id: 0,
            serial_hex: serial.to_string(),
            card: record.card.to_string(),
            granted_at: rfc3339(now),
            expires_at: rfc3339(expires_at),
            withdrawn_at: None,
            document_sha256: hex::encode(Sha256::digest(&grant.document)),
        };
        row.id = self.store.insert_consent(&row)?;
        consent_from_row(&row)
    }

    /// Withdraws every consent covering `serial`; answers the newest (already withdrawn ones are
    /// answered as they are, so withdrawing twice is harmless).
    pub fn withdraw_consent(&self, serial: &Serial) -> Result<Consent, ServiceError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let card = self.card_of(Hierarchy::Sign, serial)?;
        let covering = self.covering_consents(&card, serial)?;
        let Some(newest) = covering.last() else {
            return Err(ServiceError::NoConsentToWithdraw {
                serial: serial.clone(),
            });
        };
        let at = rfc3339(self.now());
        let ids: Vec<i64> = covering.iter().map(|c| c.consent_id).collect();
        self.store.withdraw_consents(&ids, &at)?;
        let id = newest.consent_id;
        self.covering_consents(&card, serial)?
            .into_iter()
            .find(|c| c.consent_id == id)
            .ok_or_else(|| ServiceError::CorruptState(format!("consent {id} vanished")))
    }

    /// The consents covering `serial` (given with it or a predecessor), oldest first.
    pub fn consents(&self, serial: &Serial) -> Result<Vec<Consent>, ServiceError> {
        let card = self.card_of(Hierarchy::Sign, serial)?;
        self.covering_consents(&card, serial)
    }

    /// The latest basic-4-info service: the holder's current 4 info and newest signature
    /// certificate, for a PF that enrolled `enrolled` and holds the holder's consent.
    pub fn latest_info(&self, enrolled: &Serial) -> Result<LatestInfo, ServiceError> {
        let now = self.now();
        let card = self.card_of(Hierarchy::Sign, enrolled)?;
        self.check_consent(&card, enrolled, now)?;
        let (chain, hidden) = {
            let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
            self.visible_successors(&registry, Hierarchy::Sign, enrolled, now)
        };
        let latest = chain
            .last()
            .ok_or_else(|| ServiceError::UnknownCertificate {
                hierarchy: Hierarchy::Sign,
                serial: enrolled.clone(),
            })?;
        if let Some(visible_at) = hidden {
            return Err(ServiceError::LatestUnknown {
                last_known: latest.serial.clone(),
                visible_at,
            });
        }
        match latest.status_at(now) {
            CertStatus::Good => {}
            CertStatus::Expired => {
                return Err(ServiceError::LatestExpired {
                    latest: latest.serial.clone(),
                    not_after: latest.not_after,
                })
            }
            CertStatus::Revoked { at, reason } => {
                return Err(ServiceError::LatestRevoked {
                    latest: latest.serial.clone(),
                    revocation: Revocation { at, reason },
                })
            }
            CertStatus::NotYetIssued => {
                return Err(ServiceError::LatestUnknown {
                    last_known: latest.serial.clone(),
                    visible_at: latest.not_before,
                })
            }
        }
        let persona = self
            .cards
            .get(&card)
            .ok_or_else(|| {
                ServiceError::CorruptState(format!("certificate of {card} has no card"))
            })?
            .state()
            .persona;
        Ok(LatestInfo {
            enrolled_serial: enrolled.to_string(),
            latest_serial: latest.serial.to_string(),
            changed: &latest.serial != enrolled,
            status: "good",
            name: persona.name,
            name_substitute_flags: persona.name_substitute_flags,
            name_kana: persona.name_kana,
            address: persona.address,
            address_substitute_flags: persona.address_substitute_flags,
            birth_date: persona.birth_date,
            sex: persona.sex,
            as_of: now,
        })
    }

    /// Linkage of a certificate as visible now: its chain old → new, its counterpart in the other
    /// hierarchy and the holder's stable user id.
    pub fn linkage(&self, hierarchy: Hierarchy, serial: &Serial) -> Result<Linkage, ServiceError> {
        let now = self.now();
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let record =
            registry
                .get(hierarchy, serial)
                .ok_or_else(|| ServiceError::UnknownCertificate {
                    hierarchy,
                    serial: serial.clone(),
                })?;
        let linked = self.is_linked(record, now);
        let of_card = registry.of_card(&record.card);
        // Predecessors: older than a linked certificate, so their links are visible too.
        let mut chain = Vec::new();
        if linked {
            let mut current = record;
            for _ in 0..MAX_CHAIN {
                let Some(previous) = of_card.iter().find(|r| {
                    r.hierarchy == hierarchy && r.superseded_by.as_ref() == Some(&current.serial)
                }) else {
                    break;
                };
                chain.push(previous.serial.to_string());
                current = previous;
            }
            chain.reverse();
        }
        let (successors, _) = self.visible_successors(&registry, hierarchy, serial, now);
        chain.extend(successors.iter().map(|r| r.serial.to_string()));
        let counterpart = linked
            .then(|| {
                of_card
                    .iter()
                    .filter(|r| {
                        r.hierarchy != hierarchy
                            && r.generation == record.generation
                            && self.is_linked(r, now)
                    })
                    .max_by_key(|r| r.revision)
                    .map(|r| r.serial.to_string())
            })
            .flatten();
        Ok(Linkage {
            serial: serial.to_string(),
            hierarchy: hierarchy.tag(),
            latest: chain.last().cloned().unwrap_or_else(|| serial.to_string()),
            chain,
            counterpart,
            user_id: linked.then(|| user_id(&record.card)),
        })
    }

    /// The status of a certificate as of now.
    pub fn status_view(
        &self,
        hierarchy: Hierarchy,
        serial: &Serial,
    ) -> Result<StatusView, ServiceError> {
        let now = self.now();
        let record = self.certificate(hierarchy, serial).ok_or_else(|| {
            ServiceError::UnknownCertificate {
                hierarchy,
                serial: serial.clone(),
            }
        })?;
        let status = record.status_at(now);
        Ok(StatusView {
            serial: serial.to_string(),
            hierarchy: hierarchy.tag(),
            status: status.name(),
            revocation: match status {
                CertStatus::Revoked { at, reason } => Some(Revocation { at, reason }),
                _ => None,
            },
            not_before: record.not_before,
            not_after: record.not_after,
        })
    }

    /// Checks the certificate of a consent: DER, signed by our signature CA; returns its serial.
    fn verify_sign_certificate(&self, der: &[u8]) -> Result<Serial, ServiceError> {
        let certificate =
            Certificate::from_der(der).map_err(ServiceError::CertificateUnparsable)?;
        let ca = Certificate::from_der(self.sign_ca.certificate_der())
            .map_err(|e| ServiceError::CorruptState(format!("signature CA certificate: {e}")))?;
        let tbs = certificate
            .tbs_certificate
            .to_der()
            .map_err(ServiceError::CertificateUnparsable)?;
        let ca_key = ca
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        let signed_by_ca = certificate.signature_algorithm.oid == SHA256_WITH_RSA
            && certificate.tbs_certificate.issuer == ca.tbs_certificate.subject
            && UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, ca_key)
                .verify(&tbs, certificate.signature.raw_bytes())
                .is_ok();
        if !signed_by_ca {
            return Err(ServiceError::NotIssuedBySignCa);
        }
        Serial::from_bytes(certificate.tbs_certificate.serial_number.as_bytes())
            .map_err(|_| ServiceError::NotIssuedBySignCa)
    }

    /// The card a certificate belongs to.
    fn card_of(&self, hierarchy: Hierarchy, serial: &Serial) -> Result<CardId, ServiceError> {
        self.certificate(hierarchy, serial)
            .map(|r| r.card)
            .ok_or_else(|| ServiceError::UnknownCertificate {
                hierarchy,
                serial: serial.clone(),
            })
    }

    /// Refuses unless a consent covering `serial` is in force at `now`. With none in force, the
    /// newest covering consent says why (withdrawn or expired).
    fn check_consent(
        &self,
        card: &CardId,
        serial: &Serial,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let covering = self.covering_consents(card, serial)?;
        let in_force = |c: &Consent| {
            c.granted_at <= now && now < c.expires_at && c.withdrawn_at.is_none_or(|w| now < w)
        };
        if covering.iter().any(in_force) {
            return Ok(());
        }
        let serial = serial.clone();
        Err(match covering.last() {
            None => ServiceError::NotConsented { serial },
            Some(Consent {
                withdrawn_at: Some(withdrawn_at),
                ..
            }) => ServiceError::ConsentWithdrawn {
                serial,
                withdrawn_at: *withdrawn_at,
            },
            Some(newest) => ServiceError::ConsentExpired {
                serial,
                expired_at: newest.expires_at,
            },
        })
    }

    /// Consents of `card` given with `serial` or one of its predecessors, oldest first.
    fn covering_consents(
        &self,
        card: &CardId,
        serial: &Serial,
    ) -> Result<Vec<Consent>, ServiceError> {
        let rows = self.store.consents_of_card(&card.to_string())?;
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let mut covering = Vec::new();
        for row in rows {
            let consent = consent_from_row(&row)?;
            let given_with: Serial = row
                .serial_hex
                .parse()
                .map_err(|e| ServiceError::CorruptState(format!("consent {}: {e}", row.id)))?;
            if reaches(&registry, &given_with, serial) {
                covering.push(consent);
            }
        }
        Ok(covering)
    }

    /// `serial` and its linked successors, and when the first hidden successor becomes visible.
    fn visible_successors(
        &self,
        registry: &Registry,
        hierarchy: Hierarchy,
        serial: &Serial,
        now: OffsetDateTime,
    ) -> (Vec<CertRecord>, Option<OffsetDateTime>) {
        let mut chain = Vec::new();
        let Some(mut current) = registry.get(hierarchy, serial) else {
            return (chain, None);
        };
        chain.push(current.clone());
        for _ in 0..MAX_CHAIN {
            let Some(next) = current
                .superseded_by
                .as_ref()
                .and_then(|s| registry.get(hierarchy, s))
            else {
                break;
            };
            if !self.is_linked(next, now) {
                let visible_at = self
                    .linked_at(next)
                    .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc());
                return (chain, Some(visible_at));
            }
            chain.push(next.clone());
            current = next;
        }
        (chain, None)
    }

    /// Whether a certificate's links (to its predecessor and counterpart) are visible at `now`.
    fn is_linked(&self, record: &CertRecord, now: OffsetDateTime) -> bool {
        self.linked_at(record).is_some_and(|at| at <= now)
    }

    fn linked_at(&self, record: &CertRecord) -> Option<OffsetDateTime> {
        let lag = time::Duration::try_from(self.linkage_lag).ok()?;
        record.not_before.checked_add(lag)
    }
}

/// The stable user id of a card's holder: renewals and re-issues keep the card id.
pub fn user_id(card: &CardId) -> String {
    let mut hash = Sha256::new();
    hash.update(b"jpki-sim/user/v1\0");
    hash.update(card.to_string().as_bytes());
    hex::encode(hash.finalize())
}

/// Verifies sha256WithRSAEncryption (PKCS#1 v1.5) over `document` with the certificate's key.
fn verify_document(
    certificate_der: &[u8],
    document: &[u8],
    signature: &[u8],
) -> Result<(), ServiceError> {
    let certificate =
        Certificate::from_der(certificate_der).map_err(ServiceError::CertificateUnparsable)?;
    let key = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(document, signature)
        .map_err(|_| ServiceError::BadSignature)
}

/// Whether following successors from `from` reaches `to` (`from` itself included).
fn reaches(registry: &Registry, from: &Serial, to: &Serial) -> bool {
    let mut current = from.clone();
    for _ in 0..MAX_CHAIN {
        if &current == to {
            return true;
        }
        match registry
            .get(Hierarchy::Sign, &current)
            .and_then(|r| r.superseded_by.clone())
        {
            Some(next) => current = next,
            None => return false,
        }
    }
    false
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}
