//! The publisher over a registry of the test's own: CRLs on the daily cadence and per registry
//! version, OCSP answers per window, and the protocol faults the registry hands it.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use der::{Decode, Encode};
use mock_ca::crl::{RevocationReason, RevokedEntry};
use mock_ca::ocsp::{CertStatus, OcspErrorStatus, OcspResponse};
use mock_ca::publication::{
    AsOf, Cadence, CrlFault, CrlPartition, OcspFault, OcspSigner, PublicationError, Publisher,
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
        as_of: AsOf,
        _municipality: Option<&str>,
    ) -> Vec<RevokedEntry> {
        self.revoked
            .iter()
            .filter(|e| as_of.includes(e.revoked_at))
            .cloned()
            .collect()
    }

    fn revocations(&self, _hierarchy: Hierarchy, as_of: AsOf) -> u64 {
        self.revoked
            .iter()
            .filter(|e| as_of.includes(e.revoked_at))
            .count() as u64
    }

    fn status(&self, _hierarchy: Hierarchy, serial: &Serial, as_of: AsOf) -> CertStatus {
        match self.revoked.iter().find(|e| &e.serial == serial) {
            Some(e) if as_of.includes(e.revoked_at) => CertStatus::Revoked {
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

    *source.ocsp_fault.lock().unwrap() = Some(OcspFault::Unsuccessful(
        mock_ca::ocsp::OcspErrorStatus::TryLater,
    ));
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

/// The cRLNumber of a CRL.
fn crl_number(der: &[u8]) -> u64 {
    let list = x509_cert::crl::CertificateList::from_der(der).unwrap();
    let extension = list
        .tbs_cert_list
        .crl_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id == der::oid::ObjectIdentifier::new_unwrap("2.5.29.20"))
        .expect("a cRLNumber");
    let number = der::asn1::Uint::from_der(extension.extn_value.as_bytes()).unwrap();
    number
        .as_bytes()
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// Revokes `serial` at `at` in the source's registry (a new registry version).
fn revoke(source: &Source, serial: Serial, at: OffsetDateTime) {
    let mut registry = source.registry.lock().unwrap();
    registry.version += 1;
    registry.issued.push(serial.clone());
    registry.revoked.push(RevokedEntry {
        serial,
        revoked_at: at,
        reason: RevocationReason::KeyCompromise,
    });
}

#[test]
fn a_revocation_at_the_daily_issue_instant_is_listed_from_the_next_issue() {
    let issued = datetime!(2026-07-01 15:00 UTC);
    let source = source(issued);
    let publisher = publisher(Cadence::Realistic);
    let full = CrlPartition::Full;
    let before = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    revoke(&source, serial(2), issued);
    let after = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    assert_eq!(crl_number(&before), crl_number(&after));
    assert_eq!(
        before, after,
        "the CRL issued at 15:00Z does not change at 15:00Z"
    );
    assert_eq!(crl_contents(&after).2, vec![serial(1).as_bytes().to_vec()]);

    *source.now.lock().unwrap() = issued + time::Duration::DAY;
    let next = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
    assert_eq!(crl_number(&next), crl_number(&after) + 1);
    assert_eq!(crl_contents(&next).2.len(), 2);
}

#[test]
fn instant_crls_get_a_new_number_for_a_revocation_in_the_same_second() {
    let now = datetime!(2026-07-01 10:07:30 UTC);
    let source = source(now);
    let publisher = publisher(Cadence::Instant);
    let partition = CrlPartition::Municipality("13113".into());
    let before = publisher.crl(&source, Hierarchy::Auth, &partition).unwrap();
    let again = publisher.crl(&source, Hierarchy::Auth, &partition).unwrap();
    assert_eq!(before, again);
    revoke(&source, serial(2), now);
    let after = publisher.crl(&source, Hierarchy::Auth, &partition).unwrap();
    assert_eq!(
        crl_contents(&before).0,
        crl_contents(&after).0,
        "same thisUpdate"
    );
    assert_eq!(
        crl_contents(&after).2.len(),
        crl_contents(&before).2.len() + 1
    );
    assert_eq!(crl_number(&after), crl_number(&before) + 1);

    *source.now.lock().unwrap() = now + time::Duration::SECOND;
    let later = publisher.crl(&source, Hierarchy::Auth, &partition).unwrap();
    assert_eq!(crl_number(&later), crl_number(&after) + 1);
}

#[test]
fn faulty_crls_are_genuine_older_ones_with_their_numbers() {
    for cadence in [Cadence::Realistic, Cadence::Instant] {
        let now = datetime!(2026-07-02 10:07:30 UTC);
        let source = source(now - time::Duration::DAY);
        let publisher = publisher(cadence);
        let full = CrlPartition::Full;
        let yesterdays = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
        // A revocation made since must not show on yesterday's CRL, nor change its number.
        *source.now.lock().unwrap() = now;
        revoke(&source, serial(2), now - time::Duration::HOUR);
        *source.crl_fault.lock().unwrap() = Some(CrlFault::Yesterdays);
        let faulty = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
        assert_eq!(crl_number(&faulty), crl_number(&yesterdays), "{cadence:?}");
        assert_eq!(
            crl_contents(&faulty).2,
            crl_contents(&yesterdays).2,
            "{cadence:?}"
        );
        let today = publisher.crl(&source, Hierarchy::Sign, &full).unwrap();
        assert!(crl_number(&today) > crl_number(&faulty), "{cadence:?}");
    }
}

/// A one-CertID request for `serial` of the auth CA with a nonce, signed on demand.
fn ocsp_request_with_nonce(serial: &Serial) -> Vec<u8> {
    let mut request = x509_ocsp::OcspRequest::from_der(&ocsp_request(serial)).unwrap();
    let nonce = der::asn1::OctetString::new([7u8; 16].to_vec()).unwrap();
    request.tbs_request.request_extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2"),
        critical: false,
        extn_value: der::asn1::OctetString::new(nonce.to_der().unwrap()).unwrap(),
    }]);
    request.to_der().unwrap()
}

#[test]
fn a_revocation_on_an_ocsp_boundary_shows_from_the_following_window() {
    let boundary = datetime!(2026-07-01 10:15 UTC);
    let source = source(boundary);
    let publisher = publisher(Cadence::Realistic);
    let cached = ocsp_request(&serial(2));
    let nonced = ocsp_request_with_nonce(&serial(2));
    // A cached answer of the 10:15 window exists before the revocation.
    assert!(matches!(
        single_status(&publisher.ocsp(&source, &cached)),
        x509_ocsp::CertStatus::Good(_)
    ));
    revoke(&source, serial(2), boundary);
    // The 10:15 window's data was taken as it opened, before the revocation: the cached and
    // the freshly signed answer agree.
    for request in [&cached, &nonced] {
        assert!(matches!(
            single_status(&publisher.ocsp(&source, request)),
            x509_ocsp::CertStatus::Good(_)
        ));
    }
    *source.now.lock().unwrap() = boundary + time::Duration::minutes(15);
    for request in [&cached, &nonced] {
        assert!(matches!(
            single_status(&publisher.ocsp(&source, request)),
            x509_ocsp::CertStatus::Revoked(_)
        ));
    }

    // Instant answers are live: a revocation at the current second shows at once.
    let source = self::source(boundary);
    let instant = self::publisher(Cadence::Instant);
    revoke(&source, serial(2), boundary);
    assert!(matches!(
        single_status(&instant.ocsp(&source, &nonced)),
        x509_ocsp::CertStatus::Revoked(_)
    ));
}

/// Random histories through the publisher, signed CRLs and all.
mod histories {
    use super::*;
    use proptest::prelude::*;

    /// One step of a history.
    #[derive(Debug, Clone)]
    enum Step {
        /// The clock moves forward by this many seconds (0: within the same second).
        Advance(u32),
        /// A new certificate is revoked now.
        Revoke,
        /// A CRL fault is armed for the next CRL request.
        Fault(CrlFault),
        /// The full CRL and a partition are fetched now.
        Fetch,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => prop_oneof![Just(0u32), 1u32..3, Just(86_400), 1u32..2 * 86_400]
                .prop_map(Step::Advance),
            3 => Just(Step::Revoke),
            1 => prop_oneof![Just(CrlFault::Yesterdays), Just(CrlFault::Expired)]
                .prop_map(Step::Fault),
            4 => Just(Step::Fetch),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Over random revocations, clock moves and CRL faults, two CRLs of one hierarchy and
        /// scope with the same number are the same bytes (faulty ones are genuine older CRLs),
        /// and the numbers of the CRLs served without a fault never decrease.
        #[test]
        fn signed_crls_with_one_number_are_one_crl(
            realistic in any::<bool>(),
            steps in proptest::collection::vec(step(), 1..24),
        ) {
            let cadence = if realistic { Cadence::Realistic } else { Cadence::Instant };
            let source = source(datetime!(2026-07-01 14:59:58 UTC));
            let publisher = publisher(cadence);
            let mut next_serial = 10u8;
            let mut seen = std::collections::HashMap::new();
            let mut last = std::collections::HashMap::new();
            for step in &steps {
                match step {
                    Step::Advance(seconds) => {
                        *source.now.lock().unwrap() += time::Duration::seconds(i64::from(*seconds));
                    }
                    Step::Revoke => {
                        revoke(&source, serial(next_serial), source.now());
                        next_serial += 1;
                    }
                    Step::Fault(fault) => *source.crl_fault.lock().unwrap() = Some(*fault),
                    Step::Fetch => {
                        for partition in
                            [CrlPartition::Full, CrlPartition::Municipality("13113".into())]
                        {
                            let faulty = source.crl_fault.lock().unwrap().is_some();
                            let der = publisher.crl(&source, Hierarchy::Sign, &partition).unwrap();
                            let number = crl_number(&der);
                            if let Some(earlier) =
                                seen.insert((partition.clone(), number), der.clone())
                            {
                                prop_assert_eq!(&earlier, &der, "CRL {} changed", number);
                            }
                            if !faulty {
                                let previous = last.insert(partition, number);
                                prop_assert!(previous.is_none_or(|p| p <= number));
                            }
                        }
                    }
                }
            }
        }
    }
}
