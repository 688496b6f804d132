//! CRLs checked by independent implementations: the OpenSSL CLI, rustls-webpki and the
//! RustCrypto `x509-cert` decoder.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use der::{Decode, Encode};
use mock_ca::crl::{
    build_crl, build_crl_pem, crl_size_hint, CrlRequest, CrlScope, RevocationReason, RevokedEntry,
};
use mock_ca::{CertificateAuthority, Error, Hierarchy, KeyRole, Serial};
use rustls_pki_types::{CertificateDer, UnixTime};
use time::macros::datetime;
use time::OffsetDateTime;
use x509_cert::ext::pkix::{CrlDistributionPoints, IssuingDistributionPoint};

/// OpenSSL and webpki check validity at this time, between thisUpdate and nextUpdate below.
const AT_TIME: &str = "1735689600"; // 2025-01-01T00:00:00Z
const AT_UNIX: u64 = 1_735_689_600;

/// 2025-01-01 00:00 JST, the daily CRL of that day.
fn request(scope: CrlScope) -> CrlRequest {
    CrlRequest {
        this_update: datetime!(2024-12-31 15:00 UTC),
        next_update: datetime!(2025-01-01 15:00 UTC),
        crl_number: 42,
        scope,
    }
}

/// The fixed holder's municipality (Tokyo-to, Shibuya-ku).
fn shibuya() -> CrlScope {
    CrlScope::Municipality {
        prefecture_romaji: "Tokyo-to".into(),
        municipality_romaji: "Shibuya-ku".into(),
    }
}

fn entry(serial: &Serial, reason: RevocationReason) -> RevokedEntry {
    RevokedEntry {
        serial: serial.clone(),
        revoked_at: datetime!(2024-12-31 12:00 UTC),
        reason,
    }
}

fn numbered(n: u32, reason: RevocationReason) -> RevokedEntry {
    entry(&Serial::from_bytes(&n.to_be_bytes()).unwrap(), reason)
}

/// One entry per reason, serials 01..0A, plus serials that need a zero pad and the longest one.
fn every_reason() -> Vec<RevokedEntry> {
    let mut entries: Vec<RevokedEntry> = RevocationReason::ALL
        .into_iter()
        .zip(1..)
        .map(|(reason, n)| numbered(n, reason))
        .collect();
    entries.push(entry(
        &Serial::from_bytes(&[0x80, 0, 0, 1]).unwrap(),
        RevocationReason::Superseded,
    ));
    entries.push(entry(
        &Serial::from_bytes(&[0x7F; 20]).unwrap(),
        RevocationReason::KeyCompromise,
    ));
    entries
}

fn sign_ca() -> &'static CertificateAuthority {
    &common::mock_ca().sign
}

struct Dir {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Dir {
    /// A directory holding both CA certificates and both end-entity certificates as PEM.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        for hierarchy in Hierarchy::ALL {
            let tag = hierarchy.tag();
            let ca = common::mock_ca().authority(hierarchy);
            std::fs::write(path.join(format!("{tag}-ca.pem")), ca.certificate_pem()).unwrap();
            let ee = common::issue(hierarchy).pem();
            std::fs::write(path.join(format!("{tag}-ee.pem")), ee).unwrap();
        }
        Dir { _dir: dir, path }
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path.join(name), bytes).unwrap();
    }

    fn openssl(&self, args: &[&str]) -> (bool, String) {
        openssl(args, &self.path)
    }
}

fn openssl(args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl CLI on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `openssl crl -inform DER -in <file> -CAfile <ca> -noout`: checks the signature only.
fn assert_openssl_verifies(dir: &Dir, crl_der: &[u8], ca_pem: &str) {
    dir.write("check.crl", crl_der);
    let (ok, out) = dir.openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        "check.crl",
        "-CAfile",
        ca_pem,
        "-noout",
    ]);
    assert!(ok && out.contains("verify OK"), "{out}");
}

fn openssl_text(dir: &Dir, crl_der: &[u8]) -> String {
    dir.write("text.crl", crl_der);
    let (ok, out) = dir.openssl(&[
        "crl", "-inform", "DER", "-in", "text.crl", "-text", "-noout",
    ]);
    assert!(ok, "{out}");
    out
}

/// `openssl verify -crl_check` of `<tag>-ee.pem` with the given CRL (PEM).
fn openssl_verify_with_crl(dir: &Dir, tag: &str, crl_pem: &str) -> (bool, String) {
    dir.write("chain.crl.pem", crl_pem);
    dir.openssl(&[
        "verify",
        "-attime",
        AT_TIME,
        "-crl_check",
        "-CAfile",
        &format!("{tag}-ca.pem"),
        "-CRLfile",
        "chain.crl.pem",
        &format!("{tag}-ee.pem"),
    ])
}

/// The extension `oid` of a certificate or CRL extension list.
fn extension_value(extensions: &Option<x509_cert::ext::Extensions>, oid: &str) -> Vec<u8> {
    let oid = der::asn1::ObjectIdentifier::new_unwrap(oid);
    extensions
        .iter()
        .flatten()
        .find(|ext| ext.extn_id == oid)
        .map(|ext| ext.extn_value.as_bytes().to_vec())
        .unwrap_or_else(|| panic!("no extension {oid}"))
}

#[test]
fn openssl_verifies_empty_full_and_partition_crls() {
    let dir = Dir::new();
    for hierarchy in Hierarchy::ALL {
        let ca = common::mock_ca().authority(hierarchy);
        let ca_pem = format!("{}-ca.pem", hierarchy.tag());
        let empty = build_crl(ca, &request(CrlScope::Full), Vec::<RevokedEntry>::new()).unwrap();
        assert_openssl_verifies(&dir, &empty, &ca_pem);
        let full = build_crl(ca, &request(CrlScope::Full), every_reason()).unwrap();
        assert_openssl_verifies(&dir, &full, &ca_pem);
        let partition = build_crl(ca, &request(shibuya()), every_reason()).unwrap();
        assert_openssl_verifies(&dir, &partition, &ca_pem);
    }
}

#[test]
fn openssl_rejects_a_crl_under_the_other_hierarchys_root() {
    let dir = Dir::new();
    let crl = build_crl(sign_ca(), &request(CrlScope::Full), every_reason()).unwrap();
    dir.write("sign.crl", &crl);
    let (ok, out) = dir.openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        "sign.crl",
        "-CAfile",
        "auth-ca.pem",
        "-noout",
    ]);
    assert!(!ok || !out.contains("verify OK"), "{out}");
}

#[test]
fn an_empty_crl_has_no_revoked_certificates_field() {
    let dir = Dir::new();
    let empty = build_crl(
        sign_ca(),
        &request(CrlScope::Full),
        Vec::<RevokedEntry>::new(),
    )
    .unwrap();
    let list = x509_cert::crl::CertificateList::from_der(&empty).unwrap();
    assert_eq!(list.tbs_cert_list.revoked_certificates, None);
    assert!(openssl_text(&dir, &empty).contains("No Revoked Certificates."));
}

#[test]
fn openssl_text_lists_each_serial_with_its_reason() {
    let dir = Dir::new();
    let crl = build_crl(sign_ca(), &request(CrlScope::Full), every_reason()).unwrap();
    let text = openssl_text(&dir, &crl);

    // "Serial Number: 03 ... X509v3 CRL Reason Code: ... Affiliation Changed", one block each.
    let blocks: Vec<(String, Option<String>)> = text
        .split("Serial Number: ")
        .skip(1)
        .map(|block| {
            let mut lines = block.lines().map(str::trim);
            let serial = lines.next().unwrap().to_owned();
            let reason = lines
                .skip_while(|line| !line.starts_with("X509v3 CRL Reason Code"))
                .nth(1)
                .map(str::to_owned);
            (serial, reason)
        })
        .collect();
    let expected: Vec<(String, Option<String>)> = [
        ("01", None), // unspecified: no reasonCode extension
        ("02", Some("Key Compromise")),
        ("03", Some("CA Compromise")),
        ("04", Some("Affiliation Changed")),
        ("05", Some("Superseded")),
        ("06", Some("Cessation Of Operation")),
        ("07", Some("Certificate Hold")),
        ("08", Some("Remove From CRL")),
        ("09", Some("Privilege Withdrawn")),
        ("0A", Some("AA Compromise")),
        ("80000001", Some("Superseded")),
        (
            "7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F7F",
            Some("Key Compromise"),
        ),
    ]
    .into_iter()
    .map(|(serial, reason)| (serial.to_owned(), reason.map(str::to_owned)))
    .collect();
    assert_eq!(blocks, expected, "{text}");

    for line in [
        "Version 2 (0x1)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: C = JP, O = JPKI-SIM, OU = JPKI for digital signature, OU = jpki-sim simulator (not J-LIS)",
        "Last Update: Dec 31 15:00:00 2024 GMT",
        "Next Update: Jan  1 15:00:00 2025 GMT",
        "X509v3 CRL Number:",
        "42",
        "X509v3 Authority Key Identifier:",
        "Revocation Date: Dec 31 12:00:00 2024 GMT",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let key_id = hex::encode_upper(sign_ca().key_identifier());
    let printed: String = text
        .lines()
        .skip_while(|line| !line.contains("X509v3 Authority Key Identifier"))
        .nth(1)
        .unwrap()
        .trim()
        .trim_start_matches("keyid:")
        .replace(':', "");
    assert_eq!(printed, key_id, "{text}");
    assert!(!text.contains("Issuing Distribution Point"), "{text}");
}

#[test]
fn openssl_text_shows_the_partitions_distribution_point() {
    let dir = Dir::new();
    let crl = build_crl(
        &common::mock_ca().auth,
        &request(shibuya()),
        [numbered(1, RevocationReason::KeyCompromise)],
    )
    .unwrap();
    let text = openssl_text(&dir, &crl);
    for line in [
        "X509v3 Issuing Distribution Point: critical",
        "Full Name:",
        "DirName:C = JP, O = JPKI-SIM, OU = JPKI for user authentication, OU = CRL Distribution Points, OU = Tokyo-to, CN = Shibuya-ku CRLDP",
        "Only User Certificates",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn issuer_and_partition_name_are_the_bytes_the_certificates_carry() {
    for hierarchy in Hierarchy::ALL {
        let ca = common::mock_ca().authority(hierarchy);
        let crl = build_crl(ca, &request(shibuya()), every_reason()).unwrap();
        let crl = x509_cert::crl::CertificateList::from_der(&crl).unwrap();
        let ca_cert = x509_cert::Certificate::from_der(ca.certificate_der()).unwrap();
        assert_eq!(
            crl.tbs_cert_list.issuer.to_der().unwrap(),
            ca_cert.tbs_certificate.subject.to_der().unwrap()
        );

        let ee = x509_cert::Certificate::from_der(&common::issue(hierarchy).der).unwrap();
        let dps = CrlDistributionPoints::from_der(&extension_value(
            &ee.tbs_certificate.extensions,
            "2.5.29.31",
        ))
        .unwrap();
        let idp = IssuingDistributionPoint::from_der(&extension_value(
            &crl.tbs_cert_list.crl_extensions,
            "2.5.29.28",
        ))
        .unwrap();
        // The certificate's first point is the municipality's directoryName.
        assert_eq!(
            idp.distribution_point.to_der().unwrap(),
            dps.0[0].distribution_point.to_der().unwrap()
        );
        assert!(idp.only_contains_user_certs);
        assert!(!idp.only_contains_ca_certs && !idp.indirect_crl);
        let critical: Vec<bool> = crl
            .tbs_cert_list
            .crl_extensions
            .iter()
            .flatten()
            .map(|ext| ext.critical)
            .collect();
        assert_eq!(critical, [false, false, true]); // AKI, cRLNumber, IDP
    }
}

#[test]
fn openssl_verify_reports_a_listed_certificate_as_revoked() {
    let dir = Dir::new();
    for hierarchy in Hierarchy::ALL {
        let ca = common::mock_ca().authority(hierarchy);
        let tag = hierarchy.tag();
        let ee = common::issue(hierarchy);
        for scope in [CrlScope::Full, shibuya()] {
            let listed = [
                numbered(7, RevocationReason::Superseded),
                entry(&ee.serial, RevocationReason::AffiliationChanged),
            ];
            let crl = build_crl_pem(ca, &request(scope.clone()), listed).unwrap();
            let (ok, out) = openssl_verify_with_crl(&dir, tag, &crl);
            assert!(
                !ok && out.contains("certificate revoked"),
                "{tag} {scope:?}: {out}"
            );

            let others = [numbered(7, RevocationReason::Superseded)];
            let crl = build_crl_pem(ca, &request(scope.clone()), others).unwrap();
            let (ok, out) = openssl_verify_with_crl(&dir, tag, &crl);
            assert!(
                ok && out.trim_end().ends_with(": OK"),
                "{tag} {scope:?}: {out}"
            );
        }
    }
}

#[test]
fn openssl_verify_ignores_another_municipalitys_partition() {
    let dir = Dir::new();
    let elsewhere = CrlScope::Municipality {
        prefecture_romaji: "Kanagawa-ken".into(),
        municipality_romaji: "Yokohama-shi-Naka-ku".into(),
    };
    let ee = common::issue(Hierarchy::Sign);
    let listed = [entry(&ee.serial, RevocationReason::KeyCompromise)];
    let crl = build_crl_pem(sign_ca(), &request(elsewhere), listed).unwrap();
    let (ok, out) = openssl_verify_with_crl(&dir, "sign", &crl);
    // Not this certificate's partition: OpenSSL finds no CRL in scope for it.
    assert!(!ok && out.contains("different CRL scope"), "{out}");
}

#[test]
fn webpki_parses_every_entry_with_its_serial_and_reason() {
    let entries = every_reason();
    let der = build_crl(sign_ca(), &request(CrlScope::Full), &entries).unwrap();
    let crl = webpki::BorrowedCertRevocationList::from_der(&der).unwrap();
    let parsed: Vec<(Vec<u8>, u64, Option<u8>)> = (&crl)
        .into_iter()
        .map(|revoked| {
            let revoked = revoked.unwrap();
            let code = revoked.reason_code.map(|reason| reason as u8);
            (
                revoked.serial_number.to_vec(),
                revoked.revocation_date.as_secs(),
                code,
            )
        })
        .collect();
    let expected: Vec<(Vec<u8>, u64, Option<u8>)> = entries
        .iter()
        .map(|entry| {
            let magnitude = entry.serial.as_bytes();
            let mut integer = if magnitude[0] & 0x80 != 0 {
                vec![0]
            } else {
                vec![]
            };
            integer.extend_from_slice(magnitude);
            let code = (entry.reason != RevocationReason::Unspecified).then(|| entry.reason.code());
            (integer, entry.revoked_at.unix_timestamp() as u64, code)
        })
        .collect();
    assert_eq!(parsed, expected);
}

/// An end entity webpki can process: the JPKI profiles mark certificatePolicies critical, an
/// extension webpki does not implement, so it rejects them (see the test below). This one is
/// issued by the same CA and copies the signature certificate's CRL distribution points.
fn webpki_friendly_end_entity(serial: &Serial) -> Vec<u8> {
    let jpki = x509_cert::Certificate::from_der(&common::issue(Hierarchy::Sign).der).unwrap();
    let dps = extension_value(&jpki.tbs_certificate.extensions, "2.5.29.31");
    let mut params = rcgen::CertificateParams::default();
    params.not_before = datetime!(2024-04-01 00:00 UTC);
    params.not_after = datetime!(2029-01-01 00:00 UTC);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "webpki revocation check");
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 31],
        dps,
    )];
    let key = common::card_key(KeyRole::Sign).signing_key().unwrap();
    params
        .signed_by(&key, sign_ca().signer())
        .unwrap()
        .der()
        .to_vec()
}

fn webpki_check(ee_der: &[u8], crl_der: &[u8]) -> Result<(), webpki::Error> {
    let ca_der = CertificateDer::from(sign_ca().certificate_der());
    let anchors = [webpki::anchor_from_trusted_cert(&ca_der).unwrap()];
    let crl: webpki::CertRevocationList<'_> =
        webpki::BorrowedCertRevocationList::from_der(crl_der)?.into();
    let crls = [&crl];
    let revocation = webpki::RevocationOptionsBuilder::new(&crls)
        .unwrap()
        .with_status_policy(webpki::UnknownStatusPolicy::Deny)
        .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
        .build();
    let ee_der = CertificateDer::from(ee_der);
    let ee = webpki::EndEntityCert::try_from(&ee_der)?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(AT_UNIX)),
        webpki::KeyUsage::client_auth(),
        Some(revocation),
        None,
    )
    .map(|_| ())
}

#[test]
fn webpki_reports_a_certificate_in_the_full_crl_as_revoked() {
    let serial: Serial = "5A5A0001".parse().unwrap();
    let ee = webpki_friendly_end_entity(&serial);
    let full = request(CrlScope::Full);

    let listed = [
        numbered(1, RevocationReason::Superseded),
        entry(&serial, RevocationReason::CessationOfOperation),
    ];
    let crl = build_crl(sign_ca(), &full, listed).unwrap();
    assert!(matches!(
        webpki_check(&ee, &crl),
        Err(webpki::Error::CertRevoked)
    ));

    let crl = build_crl(
        sign_ca(),
        &full,
        [numbered(1, RevocationReason::Superseded)],
    )
    .unwrap();
    webpki_check(&ee, &crl).unwrap();

    // A CRL past its nextUpdate is refused rather than trusted.
    let stale = CrlRequest {
        this_update: datetime!(2024-12-30 15:00 UTC),
        next_update: datetime!(2024-12-31 15:00 UTC),
        ..full
    };
    let crl = build_crl(sign_ca(), &stale, Vec::<RevokedEntry>::new()).unwrap();
    assert!(matches!(
        webpki_check(&ee, &crl),
        Err(webpki::Error::CrlExpired { .. })
    ));
}

#[test]
fn webpki_does_not_match_directory_name_partitions() {
    // Known divergence: webpki only matches URI distribution point names, so a partition that
    // names the certificate's directoryName is not authoritative for it (OpenSSL matches it).
    let serial: Serial = "5A5A0002".parse().unwrap();
    let ee = webpki_friendly_end_entity(&serial);
    let listed = [entry(&serial, RevocationReason::KeyCompromise)];
    let crl = build_crl(sign_ca(), &request(shibuya()), listed).unwrap();
    assert!(matches!(
        webpki_check(&ee, &crl),
        Err(webpki::Error::UnknownRevocationStatus)
    ));
}

#[test]
fn webpki_rejects_the_jpki_profile_for_its_critical_certificate_policies() {
    let ee = common::issue(Hierarchy::Auth).der;
    let crl = build_crl(
        sign_ca(),
        &request(CrlScope::Full),
        Vec::<RevokedEntry>::new(),
    )
    .unwrap();
    assert!(matches!(
        webpki_check(&ee, &crl),
        Err(webpki::Error::UnsupportedCriticalExtension)
    ));
}

#[test]
fn openssl_text_of_a_fixed_partition_crl_is_byte_exact() {
    let dir = Dir::new();
    let entries = [
        entry(
            &Serial::for_card(common::CARD, 1, Hierarchy::Sign).unwrap(),
            RevocationReason::AffiliationChanged,
        ),
        numbered(0x1234, RevocationReason::Unspecified),
        numbered(0x00AB_CDEF, RevocationReason::CertificateHold),
    ];
    let crl = build_crl(sign_ca(), &request(shibuya()), entries).unwrap();
    insta::assert_snapshot!(openssl_text(&dir, &crl));
}

#[test]
fn the_same_input_gives_the_same_bytes_through_any_iterator() {
    let entries = every_reason();
    let ca = sign_ca();
    let req = request(shibuya());
    let owned = build_crl(ca, &req, entries.clone()).unwrap();
    assert_eq!(build_crl(ca, &req, entries.clone()).unwrap(), owned);
    assert_eq!(build_crl(ca, &req, &entries).unwrap(), owned);
    // No size hint: the body is moved once the real length is known.
    assert_eq!(
        build_crl(ca, &req, entries.iter().filter(|_| true)).unwrap(),
        owned
    );
    // A size hint that overstates: the headroom shrinks.
    let overstated = Overstated(entries.iter());
    assert_eq!(build_crl(ca, &req, overstated).unwrap(), owned);
    insta::assert_snapshot!(hex::encode(sha2_256(&owned)));
}

/// Claims a million items more than it yields (allowed, if unhelpful, for an iterator).
struct Overstated<I>(I);

impl<I: Iterator> Iterator for Overstated<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.size_hint().0 + 1_000_000, None)
    }
}

fn sha2_256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

#[test]
fn times_from_2050_are_generalized_time() {
    let dir = Dir::new();
    let late = CrlRequest {
        this_update: datetime!(2049-12-31 23:59:59 UTC),
        next_update: datetime!(2050-01-01 00:00:00 UTC),
        crl_number: 1,
        scope: CrlScope::Full,
    };
    let crl = build_crl(sign_ca(), &late, Vec::<RevokedEntry>::new()).unwrap();
    let list = x509_cert::crl::CertificateList::from_der(&crl).unwrap();
    assert!(matches!(
        list.tbs_cert_list.this_update,
        x509_cert::time::Time::UtcTime(_)
    ));
    assert!(matches!(
        list.tbs_cert_list.next_update,
        Some(x509_cert::time::Time::GeneralTime(_))
    ));
    let text = openssl_text(&dir, &crl);
    assert!(
        text.contains("Next Update: Jan  1 00:00:00 2050 GMT"),
        "{text}"
    );
}

#[test]
fn bad_requests_are_errors() {
    let ca = sign_ca();
    let none = Vec::<RevokedEntry>::new;
    let backwards = CrlRequest {
        next_update: datetime!(2024-12-31 15:00 UTC),
        ..request(CrlScope::Full)
    };
    assert!(matches!(
        build_crl(ca, &backwards, none()),
        Err(Error::InvalidCrlPeriod { .. })
    ));
    let blank = CrlScope::Municipality {
        prefecture_romaji: "Tokyo-to".into(),
        municipality_romaji: " ".into(),
    };
    assert!(matches!(
        build_crl(ca, &request(blank), none()),
        Err(Error::InvalidCrlScope {
            field: "municipality_romaji",
            ..
        })
    ));
    let ancient = RevokedEntry {
        revoked_at: datetime!(1949-12-31 00:00 UTC),
        ..numbered(1, RevocationReason::KeyCompromise)
    };
    assert!(matches!(
        build_crl(ca, &request(CrlScope::Full), [ancient]),
        Err(Error::DateOutOfRange {
            what: "CRL revocationDate"
        })
    ));
    assert!(crl_size_hint(ca, &backwards, 1).is_err());
}

#[test]
fn a_100k_entry_crl_builds_within_its_size_hint_and_verifies() {
    let count = 100_000u32;
    let entries: Vec<RevokedEntry> = (1..=count)
        .map(|n| RevokedEntry {
            serial: Serial::for_card(&format!("felica:{n:016X}"), 1, Hierarchy::Sign).unwrap(),
            revoked_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
                - time::Duration::seconds(i64::from(n)),
            reason: RevocationReason::ALL[n as usize % 7],
        })
        .collect();
    let ca = sign_ca();
    let req = request(CrlScope::Full);
    let der = build_crl(ca, &req, &entries).unwrap();
    assert!(der.len() <= crl_size_hint(ca, &req, entries.len()).unwrap());

    let crl = webpki::BorrowedCertRevocationList::from_der(&der).unwrap();
    assert_eq!((&crl).into_iter().count(), entries.len());
    assert_openssl_verifies(&Dir::new(), &der, "sign-ca.pem");
}
