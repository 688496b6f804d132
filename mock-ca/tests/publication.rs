//! The publisher over a registry of the test's own: CRLs on the daily cadence and per registry
//! version, OCSP answers per window, and the protocol faults the registry hands it.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use der::{Decode, Encode};
use mock_ca::crl::{RevocationReason, RevokedEntry};
use mock_ca::ocsp::{CertStatus, OcspErrorStatus, OcspResponse};
use mock_ca::publication::{
    Cadence, CrlFault, CrlPartition, OcspFault, OcspSigner, PublicationError, Publisher,
    RevocationData, RevocationSource,
};
use mock_ca::{CaKeyRole, CertificateAuthority, Hierarchy, KeyMaterial, KeySeed, Serial};
use sha1::{Digest, Sha1};
use time::macros::datetime;
use time::OffsetDateTime;

/// When the one revoked certificate of the registry was revoked.
const REVOKED_AT: OffsetDateTime = datetime!(2026-07-01 10:07 UTC);

struct Registry {
    version: u64,
    issued: Vec<Serial>,
    revoked: Vec<RevokedEntry>,
}

impl RevocationData for Registry {
    fn version(&self) -> u64 {
        self.version
    }

    fn municipality_names(&self, code: &str) -> Option<(String, String)> {
        (code == "13113").then(|| ("Tokyo-to".into(), "Shibuya-ku".into()))
    }

    fn revoked(
        &self,
        _hierarchy: Hierarchy,
        at: OffsetDateTime,
        _municipality: Option<&str>,
    ) -> Vec<RevokedEntry> {
        self.revoked
            .iter()
            .filter(|e| e.revoked_at <= at)
            .cloned()
            .collect()
    }

    fn status(&self, _hierarchy: Hierarchy, serial: &Serial, as_of: OffsetDateTime) -> CertStatus {
        match self.revoked.iter().find(|e| &e.serial == serial) {
            Some(e) if e.revoked_at <= as_of => CertStatus::Revoked {
                at: e.revoked_at,
                reason: e.reason,
            },
            _ if self.issued.contains(serial) => CertStatus::Good,
            _ => CertStatus::Unknown,
        }
    }
}

struct Source {
    now: Mutex<OffsetDateTime>,
    registry: Mutex<Registry>,
    crl_fault: Mutex<Option<CrlFault>>,
    ocsp_fault: Mutex<Option<OcspFault>>,
}

impl RevocationSource for Source {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }

    fn read<R>(&self, read: impl FnOnce(&dyn RevocationData) -> R) -> R {
        read(&*self.registry.lock().unwrap())
    }

    fn crl_fault(&self) -> Option<CrlFault> {
        self.crl_fault.lock().unwrap().take()
    }

    fn ocsp_fault(&self) -> Option<OcspFault> {
        self.ocsp_fault.lock().unwrap().take()
    }
}

fn serial(last: u8) -> Serial {
    Serial::from_bytes(&[0x40, 0, 0, 0, 0, 0, 0, last]).unwrap()
}

fn source(now: OffsetDateTime) -> Source {
    Source {
        now: Mutex::new(now),
        registry: Mutex::new(Registry {
            version: 1,
            issued: vec![serial(1), serial(2)],
            revoked: vec![RevokedEntry {
                serial: serial(1),
                revoked_at: REVOKED_AT,
                reason: RevocationReason::AffiliationChanged,
            }],
        }),
        crl_fault: Mutex::new(None),
        ocsp_fault: Mutex::new(None),
    }
}

fn authorities() -> &'static (
    Arc<CertificateAuthority>,
    Arc<CertificateAuthority>,
    KeyMaterial,
) {
    static CAS: OnceLock<(
        Arc<CertificateAuthority>,
        Arc<CertificateAuthority>,
        KeyMaterial,
    )> = OnceLock::new();
    CAS.get_or_init(|| {
        let ca = |h| Arc::new(CertificateAuthority::new(h, 1, common::BASE_URL).unwrap());
        let key = KeySeed::for_authority(1, CaKeyRole::OcspResponder)
            .derive_key()
            .unwrap();
        (ca(Hierarchy::Sign), ca(Hierarchy::Auth), key)
    })
}

fn publisher(cadence: Cadence) -> Publisher {
    let (sign, auth, key) = authorities();
    Publisher::new(
        sign.clone(),
        auth.clone(),
        cadence,
        OcspSigner::Delegated,
        key,
    )
    .unwrap()
}

/// thisUpdate, nextUpdate and the listed serials of a CRL.
fn crl_contents(der: &[u8]) -> (OffsetDateTime, OffsetDateTime, Vec<Vec<u8>>) {
    let list = x509_cert::crl::CertificateList::from_der(der).unwrap();
    let time = |t: x509_cert::time::Time| {
        OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64).unwrap()
    };
    let serials = list
        .tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| r.serial_number.as_bytes().to_vec())
        .collect();
    (
        time(list.tbs_cert_list.this_update),
        time(list.tbs_cert_list.next_update.unwrap()),
        serials,
    )
}

/// A one-CertID OCSP request (SHA-1 CertID, no nonce) for `serial` of the auth CA.
fn ocsp_request(serial: &Serial) -> Vec<u8> {
    let ca = &authorities().1;
    let certificate = x509_cert::Certificate::from_der(ca.certificate_der()).unwrap();
    let tbs = &certificate.tbs_certificate;
    let key_bits = tbs.subject_public_key_info.subject_public_key.raw_bytes();
    let cert_id = x509_ocsp::CertId {
        hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
            parameters: None,
        },
        issuer_name_hash: der::asn1::OctetString::new(
            Sha1::digest(tbs.subject.to_der().unwrap()).to_vec(),
        )
        .unwrap(),
        issuer_key_hash: der::asn1::OctetString::new(Sha1::digest(key_bits).to_vec()).unwrap(),
        serial_number: x509_cert::serial_number::SerialNumber::new(serial.as_bytes()).unwrap(),
    };
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

fn single_status(response: &[u8]) -> x509_ocsp::CertStatus {
    let outer = x509_ocsp::OcspResponse::from_der(response).unwrap();
    assert_eq!(
        outer.response_status,
        x509_ocsp::OcspResponseStatus::Successful
    );
    let bytes = outer.response_bytes.unwrap();
    let basic = x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
    basic.tbs_response_data.responses[0].cert_status
}

#[test]
fn daily_crls_list_revocations_from_the_next_issue_on_and_are_cached_per_version() {
    let source = source(datetime!(2026-07-01 12:00 UTC));
    let publisher = publisher(Cadence::Realistic);
    let full = CrlPartition::Full;
    let before = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    let (this_update, next_update, listed) = crl_contents(&before);
    assert_eq!(this_update, datetime!(2026-06-30 15:00 UTC));
    assert_eq!(next_update, datetime!(2026-07-01 15:00 UTC));
    assert!(listed.is_empty(), "revoked after thisUpdate: {listed:?}");
    let again = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    assert!(
        Arc::ptr_eq(&before, &again),
        "the same issue is served from the cache"
    );

    *source.now.lock().unwrap() = datetime!(2026-07-01 15:00 UTC);
    let after = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    let (this_update, _, listed) = crl_contents(&after);
    assert_eq!(this_update, datetime!(2026-07-01 15:00 UTC));
    assert_eq!(listed, vec![serial(1).as_bytes().to_vec()]);

    source.registry.lock().unwrap().version += 1;
    let rebuilt = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    assert!(
        !Arc::ptr_eq(&after, &rebuilt),
        "a new version is built again"
    );
    assert_eq!(rebuilt, after, "from the same data, the same bytes");
}

#[test]
fn crl_faults_date_the_list_back_and_unknown_municipalities_are_refused() {
    let source = source(datetime!(2026-07-02 00:00 UTC));
    let publisher = publisher(Cadence::Realistic);
    let partition = CrlPartition::Municipality("13113".into());
    *source.crl_fault.lock().unwrap() = Some(CrlFault::Yesterdays);
    let (this_update, next_update, _) =
        crl_contents(&publisher.crl(&source, Hierarchy::Auth, &partition).unwrap());
    assert_eq!(this_update, datetime!(2026-06-30 15:00 UTC));
    assert_eq!(next_update, datetime!(2026-07-01 15:00 UTC));
    *source.crl_fault.lock().unwrap() = Some(CrlFault::Expired);
    let (this_update, next_update, _) =
        crl_contents(&publisher.crl(&source, Hierarchy::Auth, &partition).unwrap());
    assert_eq!(this_update, datetime!(2026-06-29 15:00 UTC));
    assert_eq!(next_update, datetime!(2026-06-30 15:00 UTC));

    let unknown = CrlPartition::Municipality("99999".into());
    let err = publisher
        .crl(&source, Hierarchy::Auth, &unknown)
        .unwrap_err();
    assert!(
        matches!(&err, PublicationError::UnknownMunicipality(code) if code == "99999"),
        "{err}"
    );
}

#[test]
fn ocsp_answers_as_of_the_window_and_applies_faults() {
    let source = source(datetime!(2026-07-01 10:10 UTC));
    let publisher = publisher(Cadence::Realistic);
    // The 10:00 window predates the 10:07 revocation.
    let revoked = ocsp_request(&serial(1));
    assert!(matches!(
        single_status(&publisher.ocsp(&source, &revoked)),
        x509_ocsp::CertStatus::Good(_)
    ));
    *source.now.lock().unwrap() = datetime!(2026-07-01 10:15 UTC);
    assert!(matches!(
        single_status(&publisher.ocsp(&source, &revoked)),
        x509_ocsp::CertStatus::Revoked(_)
    ));
    assert!(matches!(
        single_status(&publisher.ocsp(&source, &ocsp_request(&serial(9)))),
        x509_ocsp::CertStatus::Unknown(_)
    ));

    *source.ocsp_fault.lock().unwrap() = Some(OcspFault::TryLater);
    assert_eq!(
        &*publisher.ocsp(&source, &revoked),
        OcspResponse::error(OcspErrorStatus::TryLater)
    );
    // Without an impostor key, a wrong-key answer cannot be forged.
    *source.ocsp_fault.lock().unwrap() = Some(OcspFault::WrongKey);
    assert_eq!(
        &*publisher.ocsp(&source, &revoked),
        OcspResponse::error(OcspErrorStatus::InternalError)
    );
    assert_eq!(
        &*publisher.ocsp(&source, b"not DER"),
        OcspResponse::error(OcspErrorStatus::MalformedRequest)
    );
}

#[test]
fn instant_cadence_publishes_at_once() {
    let source = source(datetime!(2026-07-01 10:07:30 UTC));
    let publisher = publisher(Cadence::Instant);
    let (this_update, _, listed) = crl_contents(
        &publisher
            .crl(&source, Hierarchy::Sign, &CrlPartition::Full)
            .unwrap(),
    );
    assert_eq!(this_update, datetime!(2026-07-01 10:07:30 UTC));
    assert_eq!(listed.len(), 1);
    assert!(matches!(
        single_status(&publisher.ocsp(&source, &ocsp_request(&serial(1)))),
        x509_ocsp::CertStatus::Revoked(_)
    ));
}
