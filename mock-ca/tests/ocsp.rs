//! The OCSP responder checked by independent implementations: OpenSSL's `openssl ocsp` builds the
//! requests and verifies the responses (docs/vpcd.md §9), RustCrypto x509-ocsp decodes them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use der::{Decode, Encode};
use mock_ca::crl::RevocationReason;
use mock_ca::ocsp::{
    CertStatus, HashAlgorithm, OcspCache, OcspErrorStatus, OcspRequest, OcspRequestError,
    OcspResponder, OcspResponse, OcspWindow, ResponderCertificate, ResponderSigner, REFRESH_PERIOD,
};
use mock_ca::{CaKeyRole, Error, Hierarchy, KeyMaterial, KeySeed, Serial};
use time::macros::datetime;
use time::OffsetDateTime;

/// The simulated clock of every test: 00:07:12 falls in the 00:00–00:15 window.
const NOW: OffsetDateTime = datetime!(2025-01-01 00:07:12 UTC);
/// The same instant for OpenSSL's chain checks (`-attime`), so the tests do not age.
const AT_TIME: &str = "1735690032";
/// OpenSSL checks thisUpdate/nextUpdate against the real clock; a ~63-year tolerance disables
/// that check, since the windows come from the simulated clock.
const VALIDITY_PERIOD: &str = "2000000000";

fn window() -> OcspWindow {
    OcspWindow::containing(NOW, REFRESH_PERIOD).unwrap()
}

fn responder_key() -> &'static KeyMaterial {
    static KEY: OnceLock<KeyMaterial> = OnceLock::new();
    KEY.get_or_init(|| {
        KeySeed::for_authority(1, CaKeyRole::OcspResponder)
            .derive_key()
            .expect("responder key")
    })
}

fn responder_certificate(hierarchy: Hierarchy) -> ResponderCertificate {
    ResponderCertificate::issue(
        common::mock_ca().authority(hierarchy),
        responder_key(),
        datetime!(2024-07-01 00:00 UTC),
        datetime!(2025-07-01 00:00 UTC),
    )
    .expect("responder certificate")
}

fn delegated(hierarchy: Hierarchy) -> OcspResponder {
    let signer = ResponderSigner::Delegated {
        certificate: responder_certificate(hierarchy),
        key: responder_key().clone(),
    };
    OcspResponder::new(common::mock_ca().authority(hierarchy), signer).unwrap()
}

fn ca_signed(hierarchy: Hierarchy) -> OcspResponder {
    OcspResponder::new(common::mock_ca().authority(hierarchy), ResponderSigner::Ca).unwrap()
}

fn ee_serial(hierarchy: Hierarchy) -> Serial {
    common::request(hierarchy).serial
}

fn good(_: &Serial) -> CertStatus {
    CertStatus::Good
}

/// Revoked on an address change (affiliationChanged), as JPKI does.
fn revoked(_: &Serial) -> CertStatus {
    CertStatus::Revoked {
        at: datetime!(2024-12-01 03:00 UTC),
        reason: RevocationReason::AffiliationChanged,
    }
}

/// A temporary directory with both CA certificates (`sign-ca.pem`, `auth-ca.pem`), both
/// end-entity certificates (`sign-ee.pem`, `auth-ee.pem`) and both responder certificates.
struct Files {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let ca = common::mock_ca();
        for hierarchy in Hierarchy::ALL {
            let tag = hierarchy.tag();
            let ca_pem = ca.authority(hierarchy).certificate_pem();
            std::fs::write(path.join(format!("{tag}-ca.pem")), ca_pem).unwrap();
            let ee_pem = common::issue(hierarchy).pem();
            std::fs::write(path.join(format!("{tag}-ee.pem")), ee_pem).unwrap();
            let responder_pem = responder_certificate(hierarchy).pem();
            std::fs::write(path.join(format!("{tag}-responder.pem")), responder_pem).unwrap();
        }
        Files { _dir: dir, path }
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path.join(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path.join(name)).unwrap()
    }

    /// `openssl ocsp -issuer <tag>-ca.pem [options] -cert <cert> -reqout <out>`; options such
    /// as `-no_nonce` and `-sha256` go before `-cert`, where OpenSSL expects them.
    fn request(&self, tag: &str, cert: &str, options: &[&str], out: &str) -> Vec<u8> {
        let issuer = format!("{tag}-ca.pem");
        let mut args = vec!["ocsp", "-issuer", &issuer];
        args.extend_from_slice(options);
        args.extend_from_slice(&["-cert", cert, "-reqout", out]);
        let (ok, text) = openssl(&args, &self.path);
        assert!(ok, "openssl ocsp -reqout failed: {text}");
        self.read(out)
    }

    /// `openssl ocsp -respin <response> -CAfile <tag>-ca.pem -issuer <tag>-ca.pem [extra]` with the
    /// simulated clock.
    fn check(&self, tag: &str, response: &str, extra: &[&str]) -> (bool, String) {
        let ca = format!("{tag}-ca.pem");
        let mut args = vec![
            "ocsp",
            "-respin",
            response,
            "-CAfile",
            &ca,
            "-issuer",
            &ca,
            "-attime",
            AT_TIME,
            "-validity_period",
            VALIDITY_PERIOD,
        ];
        args.extend_from_slice(extra);
        openssl(&args, &self.path)
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

fn parse(der: &[u8]) -> OcspRequest {
    OcspRequest::from_der(der).expect("OpenSSL's request parses")
}

/// The BasicOCSPResponse inside a successful response, decoded by x509-ocsp.
fn basic(response: &[u8]) -> x509_ocsp::BasicOcspResponse {
    let outer = x509_ocsp::OcspResponse::from_der(response).expect("OCSPResponse");
    assert_eq!(
        outer.response_status,
        x509_ocsp::OcspResponseStatus::Successful
    );
    let bytes = outer.response_bytes.expect("responseBytes");
    assert_eq!(bytes.response_type.to_string(), "1.3.6.1.5.5.7.48.1.1");
    x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("BasicOCSPResponse")
}

fn generalized(at: OffsetDateTime) -> x509_ocsp::OcspGeneralizedTime {
    let seconds = u64::try_from(at.unix_timestamp()).unwrap();
    let time =
        der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))
            .unwrap();
    x509_ocsp::OcspGeneralizedTime(time)
}

#[test]
fn openssl_accepts_a_delegated_good_answer_without_nonce() {
    let files = Files::new();
    let request = files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der");
    files.write(
        "resp.der",
        &delegated(Hierarchy::Auth).respond(&parse(&request), &good, window()),
    );

    let (ok, out) = files.check(
        "auth",
        "resp.der",
        &["-reqin", "req.der", "-no_nonce", "-cert", "auth-ee.pem"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("auth-ee.pem: good"), "{out}");
}

#[test]
fn openssl_rejects_a_tampered_signature() {
    let files = Files::new();
    let request = files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der");
    let mut response = delegated(Hierarchy::Auth).respond(&parse(&request), &good, window());
    // The signature's last byte sits just before the certs field.
    let certificate_len = responder_certificate(Hierarchy::Auth).der().len();
    let last_signature_byte = response.len() - certificate_len - 4 - 4 - 1;
    response[last_signature_byte] ^= 0x01;
    files.write("resp.der", &response);
    let (ok, out) = files.check("auth", "resp.der", &["-no_nonce", "-cert", "auth-ee.pem"]);
    assert!(!ok, "{out}");
    assert!(out.contains("Response Verify Failure"), "{out}");
}

#[test]
fn openssl_accepts_a_ca_signed_revoked_answer_with_its_reason() {
    let files = Files::new();
    let request = files.request("sign", "sign-ee.pem", &["-no_nonce"], "req.der");
    files.write(
        "resp.der",
        &ca_signed(Hierarchy::Sign).respond(&parse(&request), &revoked, window()),
    );

    let (ok, out) = files.check("sign", "resp.der", &["-no_nonce", "-cert", "sign-ee.pem"]);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("sign-ee.pem: revoked"), "{out}");
    assert!(out.contains("Reason: affiliationChanged"), "{out}");
    assert!(
        out.contains("Revocation Time: Dec  1 03:00:00 2024 GMT"),
        "{out}"
    );
}

#[test]
fn openssl_accepts_unknown_in_both_signing_modes() {
    let files = Files::new();
    let request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    for (name, responder) in [
        ("delegated", delegated(Hierarchy::Auth)),
        ("ca", ca_signed(Hierarchy::Auth)),
    ] {
        files.write(
            "resp.der",
            &responder.respond(&request, &|_| CertStatus::Unknown, window()),
        );
        let (ok, out) = files.check("auth", "resp.der", &["-no_nonce", "-cert", "auth-ee.pem"]);
        assert!(ok, "{name}: {out}");
        assert!(out.contains("Response verify OK"), "{name}: {out}");
        assert!(out.contains("auth-ee.pem: unknown"), "{name}: {out}");
    }
}

#[test]
fn openssl_checks_the_echoed_nonce_against_its_request() {
    let files = Files::new();
    let request = files.request("auth", "auth-ee.pem", &[], "req.der");
    let parsed = parse(&request);
    assert!(parsed.nonce().is_some(), "OpenSSL adds a nonce by default");
    for (name, responder) in [
        ("delegated", delegated(Hierarchy::Auth)),
        ("ca", ca_signed(Hierarchy::Auth)),
    ] {
        files.write("resp.der", &responder.respond(&parsed, &good, window()));
        // Without -cert, OpenSSL uses the request from -reqin and verifies its nonce.
        let (ok, out) = files.check("auth", "resp.der", &["-reqin", "req.der"]);
        assert!(ok && out.contains("Response verify OK"), "{name}: {out}");
        assert!(!out.contains("Nonce"), "{name}: {out}");
        // The same response against another request's nonce is caught.
        files.request("auth", "auth-ee.pem", &[], "other.der");
        let (ok, out) = files.check("auth", "resp.der", &["-reqin", "other.der"]);
        assert!(!ok && out.contains("Nonce Verify error"), "{name}: {out}");
    }
}

#[test]
fn openssl_accepts_sha256_cert_ids() {
    let files = Files::new();
    let request =
        parse(&files.request("auth", "auth-ee.pem", &["-no_nonce", "-sha256"], "req.der"));
    assert_eq!(request.cert_ids()[0].algorithm(), HashAlgorithm::Sha256);
    files.write(
        "resp.der",
        &delegated(Hierarchy::Auth).respond(&request, &good, window()),
    );
    let (ok, out) = files.check(
        "auth",
        "resp.der",
        &["-no_nonce", "-sha256", "-cert", "auth-ee.pem"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("auth-ee.pem: good"), "{out}");
}

#[test]
fn openssl_sees_each_answer_of_a_multi_cert_request() {
    let files = Files::new();
    // The responder certificate is issued by the same CA, but not a card certificate.
    let request = parse(&files.request(
        "auth",
        "auth-ee.pem",
        &["-no_nonce", "-cert", "auth-responder.pem"],
        "req.der",
    ));
    assert_eq!(request.cert_ids().len(), 2);
    let card = ee_serial(Hierarchy::Auth);
    let status = move |serial: &Serial| {
        if *serial == card {
            revoked(serial)
        } else {
            CertStatus::Unknown
        }
    };
    files.write(
        "resp.der",
        &delegated(Hierarchy::Auth).respond(&request, &status, window()),
    );
    let (ok, out) = files.check(
        "auth",
        "resp.der",
        &[
            "-no_nonce",
            "-cert",
            "auth-ee.pem",
            "-cert",
            "auth-responder.pem",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("auth-ee.pem: revoked"), "{out}");
    assert!(out.contains("auth-responder.pem: unknown"), "{out}");
}

#[test]
fn openssl_reports_unauthorized_for_the_other_hierarchy() {
    let files = Files::new();
    let request = parse(&files.request("sign", "sign-ee.pem", &["-no_nonce"], "req.der"));
    let auth = delegated(Hierarchy::Auth);
    assert!(!auth.is_authoritative_for(&request));
    files.write("resp.der", &auth.respond(&request, &good, window()));
    let (ok, out) = files.check("sign", "resp.der", &["-reqin", "req.der"]);
    assert!(!ok, "{out}");
    assert!(out.contains("Responder Error: unauthorized (6)"), "{out}");
}

#[test]
fn openssl_reports_malformed_request_for_garbage() {
    let files = Files::new();
    let response =
        delegated(Hierarchy::Auth).respond_to_der(b"GET / HTTP/1.1\r\n", &good, window());
    files.write("resp.der", &response);
    let (ok, out) = files.check("auth", "resp.der", &["-noverify"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Responder Error: malformedrequest (1)"),
        "{out}"
    );
}

#[test]
fn openssl_prints_quarter_hour_times_and_producedat_at_the_window_start() {
    let files = Files::new();
    let request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    files.write(
        "resp.der",
        &delegated(Hierarchy::Auth).respond(&request, &good, window()),
    );
    let (ok, out) = files.check("auth", "resp.der", &["-resp_text", "-noverify"]);
    assert!(ok, "{out}");
    for line in [
        "Produced At: Jan  1 00:00:00 2025 GMT",
        "This Update: Jan  1 00:00:00 2025 GMT",
        "Next Update: Jan  1 00:15:00 2025 GMT",
        "Hash Algorithm: sha1",
        "Responder Id: ",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }

    // With a nonce, producedAt is the request time instead.
    let request = parse(&files.request("auth", "auth-ee.pem", &[], "nonce.der"));
    files.write(
        "resp.der",
        &delegated(Hierarchy::Auth).respond(&request, &good, window()),
    );
    let (_, out) = files.check("auth", "resp.der", &["-resp_text", "-noverify"]);
    assert!(
        out.contains("Produced At: Jan  1 00:07:12 2025 GMT"),
        "{out}"
    );
    assert!(out.contains("OCSP Nonce"), "{out}");
}

#[test]
fn openssl_verifies_the_responder_certificate_for_ocsp_signing() {
    let files = Files::new();
    for tag in ["sign", "auth"] {
        let ca = format!("{tag}-ca.pem");
        let cert = format!("{tag}-responder.pem");
        let (ok, out) = openssl(
            &[
                "verify",
                "-attime",
                AT_TIME,
                "-purpose",
                "ocsphelper",
                "-CAfile",
                &ca,
                &cert,
            ],
            &files.path,
        );
        assert!(ok, "{tag}: {out}");
        let (ok, text) = openssl(&["x509", "-noout", "-text", "-in", &cert], &files.path);
        assert!(ok, "{text}");
        for expected in [
            "X509v3 Key Usage: critical",
            "Digital Signature",
            "OCSP Signing",
            "OCSP No Check",
            "X509v3 Authority Key Identifier",
            "X509v3 Subject Key Identifier",
            &format!("CN = jpki-sim OCSP responder ({tag})"),
        ] {
            assert!(text.contains(expected), "{tag}: {expected}: {text}");
        }
    }
}

#[test]
fn x509_ocsp_decodes_every_field_of_a_delegated_nonce_answer() {
    let files = Files::new();
    let request_der = files.request("auth", "auth-ee.pem", &[], "req.der");
    let request = parse(&request_der);
    let responder = delegated(Hierarchy::Auth);
    let basic = basic(&responder.respond(&request, &revoked, window()));
    let data = &basic.tbs_response_data;

    let certificate = responder_certificate(Hierarchy::Auth);
    assert_eq!(
        data.responder_id,
        x509_ocsp::ResponderId::ByKey(der::asn1::OctetString::new(certificate.key_hash()).unwrap())
    );
    assert_eq!(data.produced_at, generalized(NOW));
    assert_eq!(data.responses.len(), 1);
    let single = &data.responses[0];
    let sent = x509_ocsp::OcspRequest::from_der(&request_der).unwrap();
    assert_eq!(single.cert_id, sent.tbs_request.request_list[0].req_cert);
    assert_eq!(
        single.this_update,
        generalized(datetime!(2025-01-01 00:00 UTC))
    );
    assert_eq!(
        single.next_update,
        Some(generalized(datetime!(2025-01-01 00:15 UTC)))
    );
    let x509_ocsp::CertStatus::Revoked(info) = single.cert_status else {
        panic!("not revoked: {:?}", single.cert_status);
    };
    assert_eq!(
        info.revocation_time,
        generalized(datetime!(2024-12-01 03:00 UTC))
    );
    assert_eq!(
        info.revocation_reason,
        Some(x509_cert::ext::pkix::crl::CrlReason::AffiliationChanged)
    );
    assert_eq!(data.nonce(), sent.nonce());
    assert!(data.nonce().is_some());

    assert_eq!(
        basic.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11"
    );
    let certs = basic
        .certs
        .as_ref()
        .expect("delegated answers carry the certificate");
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].to_der().unwrap(), certificate.der());

    // The signature verifies under the responder's key over the re-encoded tbsResponseData.
    let spki = &certs[0].tbs_certificate.subject_public_key_info;
    let public_key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        spki.subject_public_key.raw_bytes(),
    );
    public_key
        .verify(&data.to_der().unwrap(), basic.signature.as_bytes().unwrap())
        .expect("signature verifies");
}

#[test]
fn an_unspecified_reason_is_left_out_as_in_the_crl() {
    let files = Files::new();
    let request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    let status = |_: &Serial| CertStatus::Revoked {
        at: datetime!(2024-12-01 03:00 UTC),
        reason: RevocationReason::Unspecified,
    };
    let basic = basic(&ca_signed(Hierarchy::Auth).respond(&request, &status, window()));
    let x509_ocsp::CertStatus::Revoked(info) = basic.tbs_response_data.responses[0].cert_status
    else {
        panic!("not revoked");
    };
    assert_eq!(info.revocation_reason, None);
}

#[test]
fn ca_signed_answers_carry_no_certificates_and_name_the_ca_key() {
    let files = Files::new();
    let request = parse(&files.request("sign", "sign-ee.pem", &["-no_nonce"], "req.der"));
    let basic = basic(&ca_signed(Hierarchy::Sign).respond(&request, &good, window()));
    assert!(basic.certs.is_none());
    let ca = common::mock_ca().authority(Hierarchy::Sign);
    assert_eq!(
        basic.tbs_response_data.responder_id,
        x509_ocsp::ResponderId::ByKey(der::asn1::OctetString::new(ca.key_identifier()).unwrap())
    );
    assert!(basic.tbs_response_data.response_extensions.is_none());
    assert_eq!(
        basic.tbs_response_data.responses[0].cert_status,
        x509_ocsp::CertStatus::good()
    );
}

#[test]
fn answers_without_nonce_are_identical_within_a_window_and_change_with_it() {
    let files = Files::new();
    let request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    let responder = delegated(Hierarchy::Auth);
    let first = responder.respond(&request, &good, window());
    let later = OcspWindow::containing(NOW + time::Duration::minutes(7), REFRESH_PERIOD).unwrap();
    assert_eq!(later.this_update, window().this_update);
    assert_eq!(responder.respond(&request, &good, later), first);
    let next = OcspWindow::containing(NOW + time::Duration::minutes(8), REFRESH_PERIOD).unwrap();
    assert_ne!(responder.respond(&request, &good, next), first);
}

#[test]
fn instant_windows_answer_without_next_update() {
    let files = Files::new();
    let request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    let response = ca_signed(Hierarchy::Auth).respond(&request, &good, OcspWindow::instant(NOW));
    files.write("resp.der", &response);
    let single = &basic(&response).tbs_response_data.responses[0];
    assert_eq!(single.this_update, generalized(NOW));
    assert_eq!(single.next_update, None);
    let (ok, out) = files.check("auth", "resp.der", &["-no_nonce", "-cert", "auth-ee.pem"]);
    assert!(ok && out.contains("auth-ee.pem: good"), "{out}");
}

#[test]
fn get_paths_decode_url_encoded_base64() {
    let files = Files::new();
    let der = files.request("auth", "auth-ee.pem", &[], "req.der");
    let base64 = base64_encode(&der);
    let encoded = base64
        .replace('/', "%2F")
        .replace('+', "%2b")
        .replace('=', "%3D");
    assert_eq!(OcspRequest::from_get_path(&encoded).unwrap(), parse(&der));
    assert_eq!(OcspRequest::from_get_path(&base64).unwrap(), parse(&der));
    assert!(matches!(
        OcspRequest::from_get_path("MEIw%QA"),
        Err(OcspRequestError::PercentEncoding { position: 4 })
    ));
    assert!(matches!(
        OcspRequest::from_get_path("not*base64"),
        Err(OcspRequestError::Base64 { .. })
    ));
}

#[test]
fn cache_hits_share_one_signed_answer_per_window() {
    let files = Files::new();
    let plain = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    let sha256 = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce", "-sha256"], "s.der"));
    let nonce = parse(&files.request("auth", "auth-ee.pem", &[], "nonce.der"));
    let responder = delegated(Hierarchy::Auth);
    let cache = OcspCache::default();

    let first = cache.respond(&responder, &plain, &good, window());
    let second = cache.respond(&responder, &plain, &good, window());
    assert!(Arc::ptr_eq(&first, &second), "a hit is the same allocation");
    assert_eq!(&first[..], responder.respond(&plain, &good, window()));
    assert_eq!(cache.len(), 1);

    // The CertID hash algorithm is part of the key: the answer echoes the CertID.
    let other = cache.respond(&responder, &sha256, &good, window());
    assert_ne!(first, other);
    assert_eq!(cache.len(), 2);

    // Nonce answers are signed on demand and never stored.
    let nonce_answer = cache.respond(&responder, &nonce, &good, window());
    assert_eq!(basic(&nonce_answer).nonce(), {
        let sent = x509_ocsp::OcspRequest::from_der(&files.read("nonce.der")).unwrap();
        sent.nonce()
    });
    assert_eq!(cache.len(), 2);

    // A new window evicts the old one.
    let next = OcspWindow::containing(NOW + time::Duration::minutes(15), REFRESH_PERIOD).unwrap();
    let renewed = cache.respond(&responder, &plain, &good, next);
    assert_ne!(renewed, first);
    assert_eq!(cache.len(), 1);

    // An older window is still answered, but not stored.
    cache.respond(&responder, &sha256, &good, window());
    assert_eq!(cache.len(), 1);

    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn cache_keeps_hierarchies_apart_and_refuses_foreign_issuers() {
    let files = Files::new();
    let auth_request = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "a.der"));
    let sign_request = parse(&files.request("sign", "sign-ee.pem", &["-no_nonce"], "s.der"));
    let (auth, sign) = (delegated(Hierarchy::Auth), delegated(Hierarchy::Sign));
    let cache = OcspCache::new(10);
    cache.respond(&auth, &auth_request, &good, window());
    let unauthorized = cache.respond(&auth, &sign_request, &good, window());
    assert_eq!(
        &unauthorized[..],
        OcspResponse::error(OcspErrorStatus::Unauthorized)
    );
    let sign_answer = cache.respond(&sign, &sign_request, &revoked, window());
    assert!(matches!(
        basic(&sign_answer).tbs_response_data.responses[0].cert_status,
        x509_ocsp::CertStatus::Revoked(_)
    ));
    assert_eq!(cache.len(), 2);
}

#[test]
fn cache_capacity_bounds_the_entries() {
    let files = Files::new();
    let plain = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce"], "req.der"));
    let sha256 = parse(&files.request("auth", "auth-ee.pem", &["-no_nonce", "-sha256"], "s.der"));
    let responder = ca_signed(Hierarchy::Auth);
    let cache = OcspCache::new(1);
    cache.respond(&responder, &plain, &good, window());
    let signed = cache.respond(&responder, &sha256, &good, window());
    assert_eq!(cache.len(), 1);
    assert_eq!(&signed[..], responder.respond(&sha256, &good, window()));
}

#[test]
fn fault_statuses_have_their_rfc_codes() {
    for (status, code) in [
        (OcspErrorStatus::MalformedRequest, 1),
        (OcspErrorStatus::InternalError, 2),
        (OcspErrorStatus::TryLater, 3),
        (OcspErrorStatus::SigRequired, 5),
        (OcspErrorStatus::Unauthorized, 6),
    ] {
        let der = OcspResponse::error(status);
        let decoded = x509_ocsp::OcspResponse::from_der(&der).unwrap();
        assert_eq!(decoded.response_status as u8, code, "{}", status.name());
        assert!(decoded.response_bytes.is_none());
    }
}

#[test]
fn responder_certificates_are_deterministic_and_must_fit_their_ca() {
    assert_eq!(
        responder_certificate(Hierarchy::Sign),
        responder_certificate(Hierarchy::Sign)
    );
    let ca = common::mock_ca();
    assert!(matches!(
        ResponderCertificate::issue(
            &ca.auth,
            responder_key(),
            datetime!(2020-01-01 00:00 UTC),
            datetime!(2025-01-01 00:00 UTC)
        ),
        Err(Error::OcspResponderValidity { .. })
    ));
    assert!(matches!(
        ResponderCertificate::issue(&ca.auth, responder_key(), NOW, NOW),
        Err(Error::EmptyValidity { .. })
    ));
}

#[test]
fn a_responder_refuses_a_certificate_of_the_other_ca_or_another_key() {
    let ca = common::mock_ca();
    let foreign = ResponderSigner::Delegated {
        certificate: responder_certificate(Hierarchy::Sign),
        key: responder_key().clone(),
    };
    assert!(matches!(
        OcspResponder::new(&ca.auth, foreign),
        Err(Error::OcspResponderMismatch { .. })
    ));
    let wrong_key = ResponderSigner::Delegated {
        certificate: responder_certificate(Hierarchy::Auth),
        key: common::card_key(mock_ca::KeyRole::Auth),
    };
    assert!(matches!(
        OcspResponder::new(&ca.auth, wrong_key),
        Err(Error::OcspResponderMismatch { .. })
    ));
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 0x3F) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn sample_request() -> &'static [u8] {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        DER.get_or_init(|| Files::new().request("auth", "auth-ee.pem", &[], "req.der"))
    }

    fn responder() -> &'static OcspResponder {
        static RESPONDER: OnceLock<OcspResponder> = OnceLock::new();
        RESPONDER.get_or_init(|| ca_signed(Hierarchy::Auth))
    }

    proptest! {
        #[test]
        fn on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = OcspRequest::from_der(&bytes);
            let response = responder().respond_to_der(&bytes, &good, window());
            prop_assert!(!response.is_empty());
        }

        #[test]
        fn on_arbitrary_get_paths(path in "[A-Za-z0-9+/=% ]{0,300}") {
            let _ = OcspRequest::from_get_path(&path);
        }

        #[test]
        fn on_mutated_requests(position in any::<prop::sample::Index>(), value in any::<u8>(),
                               cut in any::<prop::sample::Index>()) {
            let mut bytes = sample_request().to_vec();
            let at = position.index(bytes.len());
            bytes[at] = value;
            let _ = responder().respond_to_der(&bytes, &good, window());
            bytes.truncate(cut.index(bytes.len()));
            let _ = responder().respond_to_der(&bytes, &good, window());
        }
    }
}
