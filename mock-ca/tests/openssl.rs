//! Everything mock-ca emits, checked by an independent implementation: the OpenSSL CLI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use mock_ca::Hierarchy;

/// OpenSSL checks validity against this time, so the test does not age with the wall clock.
const AT_TIME: &str = "1735689600"; // 2025-01-01T00:00:00Z

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
        }
        Files { _dir: dir, path }
    }

    fn file(&self, name: &str) -> String {
        self.path.join(name).to_string_lossy().into_owned()
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

fn verify(files: &Files, ca: &str, ee: &str) -> (bool, String) {
    openssl(
        &[
            "verify",
            "-attime",
            AT_TIME,
            "-CAfile",
            &files.file(ca),
            &files.file(ee),
        ],
        &files.path,
    )
}

fn text(files: &Files, cert: &str) -> String {
    let (ok, out) = openssl(
        &[
            "x509",
            "-noout",
            "-text",
            "-nameopt",
            "utf8,sep_comma_plus_space",
            "-in",
            &files.file(cert),
        ],
        &files.path,
    );
    assert!(ok, "openssl x509 failed: {out}");
    out
}

#[test]
fn openssl_verifies_each_end_entity_against_its_own_root() {
    let files = Files::new();
    for tag in ["sign", "auth"] {
        let (ok, out) = verify(&files, &format!("{tag}-ca.pem"), &format!("{tag}-ee.pem"));
        assert!(ok && out.trim_end().ends_with(": OK"), "{tag}: {out}");
    }
}

#[test]
fn openssl_rejects_the_auth_certificate_under_the_sign_root() {
    let files = Files::new();
    let (ok, out) = verify(&files, "sign-ca.pem", "auth-ee.pem");
    assert!(!ok, "{out}");
    assert!(
        out.contains("unable to get local issuer certificate"),
        "{out}"
    );
}

#[test]
fn openssl_verifies_the_roots_as_self_signed_trust_anchors() {
    let files = Files::new();
    for tag in ["sign", "auth"] {
        let (ok, out) = verify(&files, &format!("{tag}-ca.pem"), &format!("{tag}-ca.pem"));
        assert!(ok, "{tag}: {out}");
    }
}

#[test]
fn openssl_sees_the_signature_profile() {
    let out = text(&Files::new(), "sign-ee.pem");
    for expected in [
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: C=JP, O=JPKI-SIM, OU=JPKI for digital signature, OU=jpki-sim simulator (not J-LIS)",
        "Subject: C=JP, L=Tokyo-to, L=Shibuya-ku, CN=",
        "X509v3 Key Usage: critical",
        "Digital Signature, Non Repudiation",
        "X509v3 Subject Alternative Name:",
        "1.2.392.200149.8.5.5.1",
        "1.2.392.200149.8.5.5.6",
        "X509v3 Certificate Policies: critical",
        "Policy: 1.2.392.200149.8.5.1.1.20",
        "CPS: http://127.0.0.1:8700/cps.html",
        "X509v3 Issuer Alternative Name:",
        "X509v3 CRL Distribution Points:",
        "OU = CRL Distribution Points, OU = Tokyo-to, CN = Shibuya-ku CRLDP",
        "URI:http://127.0.0.1:8700/crl/sign.crl",
        "OCSP - URI:http://127.0.0.1:8700/ocsp",
        "X509v3 Authority Key Identifier:",
        "X509v3 Subject Key Identifier:",
        "Not After : Feb 17 14:59:59 2029 GMT",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
}

#[test]
fn openssl_sees_the_authentication_profile() {
    let out = text(&Files::new(), "auth-ee.pem");
    for expected in [
        "Issuer: C=JP, O=JPKI-SIM, OU=JPKI for user authentication, OU=jpki-sim simulator (not J-LIS)",
        "X509v3 Extended Key Usage:",
        "TLS Web Client Authentication",
        "Policy: 1.2.392.200149.8.5.1.3.30",
        "OU = JPKI for user authentication, OU = CRL Distribution Points, OU = Tokyo-to, CN = Shibuya-ku CRLDP",
        "URI:http://127.0.0.1:8700/crl/auth.crl",
        "OCSP - URI:http://127.0.0.1:8700/ocsp",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(!out.contains("Subject Alternative Name"), "{out}");
}

#[test]
fn openssl_accepts_a_crl_signed_through_the_ca_signer() {
    use rcgen::{
        CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams,
        SerialNumber,
    };
    use time::macros::datetime;

    let files = Files::new();
    let ca = &common::mock_ca().sign;
    let revoked = common::issue(Hierarchy::Sign);
    let crl = CertificateRevocationListParams {
        this_update: datetime!(2024-12-31 15:00 UTC),
        next_update: datetime!(2025-01-01 15:00 UTC),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(revoked.serial.as_bytes()),
            revocation_time: datetime!(2024-12-31 12:00 UTC),
            reason_code: Some(RevocationReason::AffiliationChanged),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::PreSpecified(ca.key_identifier().to_vec()),
    }
    .signed_by(ca.signer())
    .unwrap();
    std::fs::write(files.path.join("sign.crl.pem"), crl.pem().unwrap()).unwrap();

    let (ok, out) = openssl(
        &[
            "crl",
            "-in",
            "sign.crl.pem",
            "-CAfile",
            "sign-ca.pem",
            "-noout",
        ],
        &files.path,
    );
    assert!(ok && out.contains("verify OK"), "{out}");
    let (ok, out) = openssl(
        &[
            "verify",
            "-attime",
            AT_TIME,
            "-crl_check",
            "-CRLfile",
            "sign.crl.pem",
            "-CAfile",
            "sign-ca.pem",
            "sign-ee.pem",
        ],
        &files.path,
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");
}

#[test]
fn openssl_text_of_the_fixed_world_is_byte_exact() {
    let files = Files::new();
    for cert in ["sign-ca.pem", "auth-ca.pem", "sign-ee.pem", "auth-ee.pem"] {
        insta::assert_snapshot!(cert, text(&files, cert));
    }
}
