//! The issued certificates parsed back with an independent decoder (RustCrypto x509-cert):
//! every extension's content and order against docs/card-protocol.md §8, and determinism.

mod common;

use der::asn1::{Ia5StringRef, Utf8StringRef};
use der::{Decode, Encode, Tag, Tagged};
use mock_ca::{Hierarchy, IssuanceRequest, MockCa, ProfileOptions, Serial};
use time::macros::datetime;
use time::OffsetDateTime;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, IssuerAltName, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;

const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";

fn parse(der: &[u8]) -> Certificate {
    Certificate::from_der(der).expect("x509-cert parses the certificate")
}

/// `(oid, critical)` of every extension, in order.
fn extension_list(cert: &Certificate) -> Vec<(String, bool)> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect()
}

fn extension<'a, T: Decode<'a>>(cert: &'a Certificate, oid: &str) -> T {
    let ext = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id.to_string() == oid)
        .unwrap_or_else(|| panic!("extension {oid} present"));
    T::from_der(ext.extn_value.as_bytes()).expect("extension decodes")
}

/// A name as `C(P)=JP, O(U)=…`: attribute, string type (P printable, U UTF-8), value.
fn render(name: &Name) -> String {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .map(|atv| {
            let short = match atv.oid.to_string().as_str() {
                "2.5.4.6" => "C",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.7" => "L",
                "2.5.4.3" => "CN",
                other => panic!("unexpected attribute {other}"),
            };
            let kind = match atv.value.tag() {
                Tag::PrintableString => "P",
                Tag::Utf8String => "U",
                other => panic!("unexpected string type {other:?}"),
            };
            let value = std::str::from_utf8(atv.value.value()).unwrap();
            format!("{short}({kind})={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn directory_name(names: &[GeneralName]) -> String {
    match names {
        [GeneralName::DirectoryName(name)] => render(name),
        other => panic!("expected one directoryName, got {other:?}"),
    }
}

fn full_name(point: &DistributionPoint) -> &[GeneralName] {
    match &point.distribution_point {
        Some(DistributionPointName::FullName(names)) => names,
        other => panic!("expected a fullName, got {other:?}"),
    }
}

fn uri(name: &GeneralName) -> String {
    match name {
        GeneralName::UniformResourceIdentifier(uri) => uri.to_string(),
        other => panic!("expected a URI, got {other:?}"),
    }
}

fn utc(time: &Time) -> OffsetDateTime {
    match time {
        Time::UtcTime(t) => {
            OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64).unwrap()
        }
        Time::GeneralTime(_) => panic!("validity below 2050 must be UTCTime"),
    }
}

fn ca_text(hierarchy: Hierarchy) -> String {
    format!(
        "C(P)=JP, O(U)=JPKI-SIM, OU(U)={}, OU(U)=jpki-sim simulator (not J-LIS)",
        hierarchy.unit()
    )
}

fn alt_text(hierarchy: Hierarchy) -> String {
    format!(
        "C(P)=JP, O(U)=公的個人認証サービス（シミュレータ）, OU(U)={}, \
         OU(U)=jpki-simシミュレータ（地方公共団体情報システム機構ではありません）",
        hierarchy.unit_ja()
    )
}

fn key_usages(cert: &Certificate) -> Vec<KeyUsages> {
    let usage: KeyUsage = extension(cert, "2.5.29.15");
    usage.0.into_iter().collect()
}

#[test]
fn roots_follow_the_ca_profile_in_order() {
    for hierarchy in Hierarchy::ALL {
        let ca = common::mock_ca().authority(hierarchy);
        let cert = parse(ca.certificate_der());
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.version, x509_cert::Version::V3);
        assert_eq!(tbs.signature.oid.to_string(), SHA256_WITH_RSA);
        assert_eq!(render(&tbs.subject), ca_text(hierarchy));
        assert_eq!(tbs.issuer, tbs.subject);
        assert_eq!(tbs.issuer.to_der().unwrap(), ca.name_der());
        assert_eq!(tbs.serial_number.as_bytes(), ca.serial().as_bytes());
        assert_eq!(
            utc(&tbs.validity.not_before),
            datetime!(2023-07-16 00:00:00 UTC)
        );
        assert_eq!(
            utc(&tbs.validity.not_after),
            datetime!(2033-07-15 14:59:59 UTC)
        );

        assert_eq!(
            extension_list(&cert),
            [
                ("2.5.29.15".into(), true),
                ("2.5.29.17".into(), false),
                ("2.5.29.19".into(), true),
                ("2.5.29.31".into(), false),
                ("2.5.29.14".into(), false),
            ]
        );
        assert_eq!(
            key_usages(&cert),
            [KeyUsages::KeyCertSign, KeyUsages::CRLSign]
        );
        let san: SubjectAltName = extension(&cert, "2.5.29.17");
        assert_eq!(directory_name(&san.0), alt_text(hierarchy));
        let bc: BasicConstraints = extension(&cert, "2.5.29.19");
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, None);
        let dps: CrlDistributionPoints = extension(&cert, "2.5.29.31");
        assert_eq!(dps.0.len(), 2);
        assert_eq!(directory_name(full_name(&dps.0[0])), ca_text(hierarchy));
        assert_eq!(
            uri(&full_name(&dps.0[1])[0]),
            format!("http://127.0.0.1:8700/crl/{}.crl", hierarchy.tag())
        );
        let ski: SubjectKeyIdentifier = extension(&cert, "2.5.29.14");
        assert_eq!(ski.0.as_bytes(), ca.key_identifier());
        assert_eq!(ca.key_identifier().len(), 20);
    }
}

/// Checks shared by both end-entity profiles: issuer, IAN, CRLDP, AIA, AKI, SKI.
fn check_common_end_entity(cert: &Certificate, hierarchy: Hierarchy, request: &IssuanceRequest) {
    let ca = common::mock_ca().authority(hierarchy);
    let tbs = &cert.tbs_certificate;
    assert_eq!(tbs.version, x509_cert::Version::V3);
    assert_eq!(tbs.signature.oid.to_string(), SHA256_WITH_RSA);
    assert_eq!(render(&tbs.issuer), ca_text(hierarchy));
    assert_eq!(tbs.serial_number.as_bytes(), request.serial.as_bytes());
    assert_eq!(
        tbs.subject_public_key_info.to_der().unwrap(),
        request.subject_public_key
    );
    assert_eq!(
        utc(&tbs.validity.not_before),
        datetime!(2024-04-01 01:23:45 UTC)
    );
    // The fifth birthday (DOB 02-17) after 2024-04-01, 23:59:59 JST.
    assert_eq!(
        utc(&tbs.validity.not_after),
        datetime!(2029-02-17 14:59:59 UTC)
    );

    let cp: CertificatePolicies = extension(cert, "2.5.29.32");
    let policy = match hierarchy {
        Hierarchy::Sign => "1.2.392.200149.8.5.1.1.20",
        Hierarchy::Auth => "1.2.392.200149.8.5.1.3.30",
    };
    assert_eq!(cp.0.len(), 1);
    assert_eq!(cp.0[0].policy_identifier.to_string(), policy);
    let qualifiers = cp.0[0].policy_qualifiers.as_ref().unwrap();
    assert_eq!(qualifiers.len(), 1);
    assert_eq!(
        qualifiers[0].policy_qualifier_id.to_string(),
        "1.3.6.1.5.5.7.2.1"
    );
    let cps = qualifiers[0].qualifier.as_ref().unwrap();
    let cps: Ia5StringRef<'_> = cps.decode_as().unwrap();
    assert_eq!(cps.as_str(), "http://127.0.0.1:8700/cps.html");

    let ian: IssuerAltName = extension(cert, "2.5.29.18");
    assert_eq!(directory_name(&ian.0), alt_text(hierarchy));

    let dps: CrlDistributionPoints = extension(cert, "2.5.29.31");
    assert_eq!(dps.0.len(), 2);
    assert_eq!(
        directory_name(full_name(&dps.0[0])),
        format!(
            "C(P)=JP, O(U)=JPKI-SIM, OU(U)={}, OU(U)=CRL Distribution Points, \
             OU(U)=Tokyo-to, CN(U)=Shibuya-ku CRLDP",
            hierarchy.unit()
        )
    );
    assert_eq!(
        uri(&full_name(&dps.0[1])[0]),
        format!("http://127.0.0.1:8700/crl/{}.crl", hierarchy.tag())
    );
    assert!(dps
        .0
        .iter()
        .all(|p| p.reasons.is_none() && p.crl_issuer.is_none()));

    let aia: AuthorityInfoAccessSyntax = extension(cert, "1.3.6.1.5.5.7.1.1");
    assert_eq!(aia.0.len(), 1);
    assert_eq!(aia.0[0].access_method.to_string(), "1.3.6.1.5.5.7.48.1");
    assert_eq!(uri(&aia.0[0].access_location), "http://127.0.0.1:8700/ocsp");

    let aki: AuthorityKeyIdentifier = extension(cert, "2.5.29.35");
    assert_eq!(aki.key_identifier.unwrap().as_bytes(), ca.key_identifier());
    assert_eq!(
        directory_name(&aki.authority_cert_issuer.unwrap()),
        ca_text(hierarchy)
    );
    assert_eq!(
        aki.authority_cert_serial_number.unwrap().as_bytes(),
        ca.serial().as_bytes()
    );

    let ski: SubjectKeyIdentifier = extension(cert, "2.5.29.14");
    assert_eq!(ski.0.as_bytes().len(), 20);
    let root = parse(ca.certificate_der());
    let root_ski: SubjectKeyIdentifier = extension(&root, "2.5.29.14");
    assert_ne!(ski, root_ski);
}

#[test]
fn authentication_certificate_follows_section_8_2_in_order() {
    let request = common::request(Hierarchy::Auth);
    let issued = common::issue(Hierarchy::Auth);
    let cert = parse(&issued.der);
    check_common_end_entity(&cert, Hierarchy::Auth, &request);

    assert_eq!(
        render(&cert.tbs_certificate.subject),
        format!("C(P)=JP, CN(U)={}", request.holder.auth_cn.as_str())
    );
    assert_eq!(
        extension_list(&cert),
        [
            ("2.5.29.15".into(), true),          // KU
            ("2.5.29.37".into(), false),         // EKU
            ("2.5.29.32".into(), true),          // CP
            ("2.5.29.18".into(), false),         // IAN
            ("2.5.29.31".into(), false),         // CRLDP
            ("1.3.6.1.5.5.7.1.1".into(), false), // AIA
            ("2.5.29.35".into(), false),         // AKI
            ("2.5.29.14".into(), false),         // SKI
        ]
    );
    assert_eq!(key_usages(&cert), [KeyUsages::DigitalSignature]);
    let eku: ExtendedKeyUsage = extension(&cert, "2.5.29.37");
    assert_eq!(
        eku.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["1.3.6.1.5.5.7.3.2"]
    );
}

#[test]
fn signature_certificate_follows_section_8_3_in_order() {
    let request = common::request(Hierarchy::Sign);
    let issued = common::issue(Hierarchy::Sign);
    let cert = parse(&issued.der);
    check_common_end_entity(&cert, Hierarchy::Sign, &request);

    assert_eq!(
        render(&cert.tbs_certificate.subject),
        format!(
            "C(P)=JP, L(U)=Tokyo-to, L(U)=Shibuya-ku, CN(U)={}",
            request.holder.sign_cn.as_str()
        )
    );
    assert_eq!(
        extension_list(&cert),
        [
            ("2.5.29.15".into(), true),          // KU
            ("2.5.29.17".into(), false),         // SAN
            ("2.5.29.32".into(), true),          // CP
            ("2.5.29.18".into(), false),         // IAN
            ("2.5.29.31".into(), false),         // CRLDP
            ("1.3.6.1.5.5.7.1.1".into(), false), // AIA
            ("2.5.29.35".into(), false),         // AKI
            ("2.5.29.14".into(), false),         // SKI
        ]
    );
    assert_eq!(
        key_usages(&cert),
        [KeyUsages::DigitalSignature, KeyUsages::NonRepudiation]
    );

    let san: SubjectAltName = extension(&cert, "2.5.29.17");
    let other_names: Vec<(String, String)> = san
        .0
        .iter()
        .map(|name| match name {
            GeneralName::OtherName(other) => {
                let value: Utf8StringRef<'_> = other.value.decode_as().unwrap();
                (other.type_id.to_string(), value.as_str().to_owned())
            }
            other => panic!("expected otherName, got {other:?}"),
        })
        .collect();
    let pd = |n: u8| format!("1.2.392.200149.8.5.5.{n}");
    assert_eq!(
        other_names,
        [
            (pd(1), "黒桐　幹也".to_owned()),
            (pd(4), "319800217".to_owned()),
            (pd(3), "1".to_owned()),
            (pd(5), "東京都渋谷区神南１－２－３".to_owned()),
            (pd(2), "00000".to_owned()),
            (pd(6), "0000010000000".to_owned()),
        ]
    );
}

#[test]
fn signature_certificate_can_omit_the_ocsp_pointer() {
    let ca = MockCa::new(1, common::BASE_URL)
        .unwrap()
        .sign
        .with_options(ProfileOptions { sign_ocsp: false });
    let cert = parse(&ca.issue(&common::request(Hierarchy::Sign)).unwrap().der);
    let oids: Vec<String> = extension_list(&cert)
        .into_iter()
        .map(|(oid, _)| oid)
        .collect();
    assert!(!oids.contains(&"1.3.6.1.5.5.7.1.1".to_owned()), "{oids:?}");
    assert_eq!(oids.len(), 7);
}

#[test]
fn same_inputs_give_byte_identical_certificates() {
    // A fresh CA pair (keys derived again) against the shared one.
    let fresh = MockCa::new(1, common::BASE_URL).unwrap();
    for hierarchy in Hierarchy::ALL {
        let shared = common::mock_ca().authority(hierarchy);
        let again = fresh.authority(hierarchy);
        assert_eq!(shared.certificate_der(), again.certificate_der());
        let request = common::request(hierarchy);
        assert_eq!(
            shared.issue(&request).unwrap(),
            again.issue(&request).unwrap()
        );
    }
}

#[test]
fn generations_and_base_urls_change_the_roots() {
    let ca = common::mock_ca();
    let gen2 = MockCa::new(2, common::BASE_URL).unwrap();
    assert_ne!(ca.sign.certificate_der(), gen2.sign.certificate_der());
    assert_ne!(ca.sign.serial(), gen2.sign.serial());
    assert_ne!(ca.sign.key_identifier(), gen2.sign.key_identifier());
    assert_ne!(ca.sign.key_identifier(), ca.auth.key_identifier());
}

#[test]
fn requests_outside_the_rules_are_errors_not_panics() {
    let ca = &common::mock_ca().auth;
    let mut request = common::request(Hierarchy::Auth);
    request.issued_at = datetime!(2020-01-01 00:00 UTC);
    assert!(matches!(
        ca.issue(&request),
        Err(mock_ca::Error::OutsideCaValidity { .. })
    ));

    let mut request = common::request(Hierarchy::Auth);
    request.subject_public_key = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    assert!(matches!(
        ca.issue(&request),
        Err(mock_ca::Error::SubjectPublicKeyInfo { .. })
    ));

    let mut request = common::request(Hierarchy::Sign);
    request.holder.name.push('X');
    assert!(matches!(
        common::mock_ca().sign.issue(&request),
        Err(mock_ca::Error::SubstituteFlagsLength { .. })
    ));

    let mut request = common::request(Hierarchy::Auth);
    request.not_after = Some(request.issued_at);
    assert!(matches!(
        ca.issue(&request),
        Err(mock_ca::Error::EmptyValidity { .. })
    ));
}

#[test]
fn explicit_not_after_and_card_expiry_set_the_validity() {
    let ca = &common::mock_ca().auth;
    let mut request = common::request(Hierarchy::Auth);
    request.card_expires_on = Some(time::macros::date!(2026 - 03 - 31));
    let issued = ca.issue(&request).unwrap();
    assert_eq!(issued.not_after, datetime!(2026-03-31 14:59:59 UTC));
    request.not_after = Some(datetime!(2024-04-02 00:00:00.5 +9));
    let issued = ca.issue(&request).unwrap();
    assert_eq!(issued.not_after, datetime!(2024-04-01 15:00:00 UTC));
    assert_eq!(
        issued.serial,
        Serial::for_card(common::CARD, 1, Hierarchy::Auth).unwrap()
    );
}
