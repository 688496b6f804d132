//! Every forgery the world serves, checked by OpenSSL: it fails OpenSSL's check for the intended
//! reason, and the genuine article it was made from passes the same check. Where OpenSSL does
//! not make the check (a missing nextUpdate, keyUsage without a purpose), the forgery passes
//! everything OpenSSL checks, so the one thing wrong with it is the documented one.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use mock_ca::forgery::{CertificateForgery, CrlForgery, OcspForgery};
use mock_ca::publication::CrlPartition;
use mock_ca::Hierarchy;
use mock_jlis::clock::ClockMode;
use mock_jlis::events::{EventKind, EventRequest};
use mock_jlis::faults::{Endpoint, FaultKind, FaultRule};
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use tempfile::TempDir;
use time::OffsetDateTime;

const CARD: &str = "felica:FEDCBA9876543210";

struct Fixture {
    world: Arc<World>,
    dir: TempDir,
}

impl Fixture {
    /// A world at the host's time (OpenSSL checks validity by it), one card, files for OpenSSL.
    fn new() -> Fixture {
        Fixture::with(|_| {})
    }

    /// [`Fixture::new`] with the world's configuration changed by `change`.
    fn with(change: impl FnOnce(&mut WorldConfig)) -> Fixture {
        let mut config = WorldConfig::new("http://127.0.0.1:8700");
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        config.clock = Some(ClockMode::Frozen { at: now });
        // Revocations show at once, so the true answer after a death is `revoked`.
        config.cadence = mock_ca::publication::Cadence::Instant;
        change(&mut config);
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("forgeries-keys.sqlite");
        let world = Arc::new(
            World::open(
                config,
                Store::in_memory().unwrap(),
                Some(Store::open_key_cache(&cache).unwrap()),
            )
            .unwrap(),
        );
        world.provision(&CARD.parse().unwrap(), None).unwrap();
        let fixture = Fixture {
            world,
            dir: tempfile::tempdir().unwrap(),
        };
        for hierarchy in [Hierarchy::Auth, Hierarchy::Sign] {
            let pem = fixture.world.ca(hierarchy).certificate_pem();
            fixture.write(&format!("{}-ca.pem", hierarchy.tag()), pem.as_bytes());
        }
        let state = fixture.world.card(&CARD.parse().unwrap()).unwrap().state();
        fixture.write("auth.der", &state.auth.der);
        fixture.write("sign.der", &state.sign.unwrap().der);
        fixture
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn genuine(&self, hierarchy: Hierarchy) -> Vec<u8> {
        std::fs::read(self.path(&format!("{}.der", hierarchy.tag()))).unwrap()
    }

    fn openssl(&self, args: &[&str]) -> String {
        let out = Command::new("openssl").args(args).output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `openssl verify` of the DER certificate `der` against the CA of `hierarchy`.
    fn verify(&self, hierarchy: Hierarchy, der: &[u8], extra: &[&str]) -> String {
        let cert = self.write("presented.der", der);
        let pem = self.openssl(&["x509", "-inform", "DER", "-in", &cert]);
        let pem_path = self.write("presented.pem", pem.as_bytes());
        let ca = self.path(&format!("{}-ca.pem", hierarchy.tag()));
        let mut args = vec!["verify", "-CAfile", &ca];
        args.extend_from_slice(extra);
        args.push(&pem_path);
        self.openssl(&args)
    }

    /// The holder dies: both certificates are revoked (at once, on the instant cadence).
    fn holder_dies(&self) {
        self.world
            .apply_event(&EventRequest {
                card: CARD.parse().unwrap(),
                kind: EventKind::Death,
                persona: None,
                reason: None,
            })
            .unwrap();
    }

    fn arm(&self, endpoint: Endpoint, fault: FaultKind) {
        self.world
            .faults()
            .arm(FaultRule {
                endpoint,
                fault,
                count: Some(1),
            })
            .unwrap();
    }

    /// The auth certificate's status per OpenSSL, asked with a nonce, answered by the world
    /// (with `fault` armed for the one request).
    fn ocsp(&self, fault: Option<OcspForgery>) -> String {
        let ca = self.path("auth-ca.pem");
        let cert_pem = self.openssl(&["x509", "-inform", "DER", "-in", &self.path("auth.der")]);
        let cert = self.write("auth.pem", cert_pem.as_bytes());
        let request = self.path("request.der");
        self.openssl(&[
            "ocsp", "-issuer", &ca, "-cert", &cert, "-nonce", "-reqout", &request,
        ]);
        if let Some(forgery) = fault {
            self.arm(Endpoint::Ocsp, FaultKind::ForgedOcsp { forgery });
        }
        let response = self.world.ocsp(&std::fs::read(&request).unwrap());
        let response = self.write("response.der", &response);
        // The nonce is ours (the world echoes it); `-no_nonce` keeps OpenSSL from building a
        // second request with a nonce of its own to compare with.
        self.openssl(&[
            "ocsp",
            "-respin",
            &response,
            "-issuer",
            &ca,
            "-cert",
            &cert,
            "-no_nonce",
            "-CAfile",
            &ca,
            "-resp_text",
        ])
    }

    /// `openssl verify -crl_check` of the auth certificate with the CRL the world serves at the
    /// auth CRL URL (with `fault` armed for the one request), and the CRL as text.
    fn crl(&self, fault: Option<CrlForgery>) -> String {
        if let Some(forgery) = fault {
            self.arm(Endpoint::Crl, FaultKind::ForgedCrl { forgery });
        }
        let crl = self
            .world
            .crl(Hierarchy::Auth, &CrlPartition::Full)
            .unwrap();
        let der = self.write("crl.der", &crl);
        let text = self.openssl(&["crl", "-inform", "DER", "-in", &der, "-text"]);
        let pem = self.openssl(&["crl", "-inform", "DER", "-in", &der]);
        let pem = self.write("crl.pem", pem.as_bytes());
        let verdict = self.verify(
            Hierarchy::Auth,
            &self.genuine(Hierarchy::Auth),
            &["-crl_check", "-CRLfile", &pem],
        );
        format!("{verdict}\n{text}")
    }
}

/// The error lines of `openssl verify` output (`error 24 at 1 depth lookup: ...`), one per
/// failed check.
fn verify_errors(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("error ") && l.contains(" at "))
        .collect()
}

fn assert_has(text: &str, wanted: &str, what: &str) {
    assert!(
        text.contains(wanted),
        "{what}: wanted {wanted:?} in\n{text}"
    );
}

#[test]
fn forged_certificates_fail_openssl_for_their_reason_only() {
    let fixture = Fixture::new();
    for hierarchy in [Hierarchy::Auth, Hierarchy::Sign] {
        let genuine = fixture.genuine(hierarchy);
        assert_has(&fixture.verify(hierarchy, &genuine, &[]), ": OK", "genuine");
        let forge = |forgery| {
            let der = fixture
                .world
                .forge_certificate(hierarchy, &genuine, forgery)
                .unwrap()
                .der;
            fixture.verify(hierarchy, &der, &[])
        };
        for (forgery, wanted) in [
            (
                CertificateForgery::AttackerCa,
                "certificate signature failure",
            ),
            (
                CertificateForgery::AlteredAfterSigning,
                "certificate signature failure",
            ),
            (
                CertificateForgery::UnknownCriticalExtension,
                "unhandled critical extension",
            ),
            (
                CertificateForgery::NotYetValid,
                "certificate is not yet valid",
            ),
        ] {
            let out = forge(forgery);
            assert_has(&out, wanted, &format!("{hierarchy:?} {forgery:?}"));
            assert!(!out.contains(": OK"), "{forgery:?}: {out}");
        }
        // OpenSSL checks keyUsage only for a purpose; the chain is otherwise sound.
        let der = fixture
            .world
            .forge_certificate(hierarchy, &genuine, CertificateForgery::WrongKeyUsage)
            .unwrap()
            .der;
        assert_has(
            &fixture.verify(hierarchy, &der, &[]),
            ": OK",
            "wrong_key_usage",
        );
        let path = fixture.write("usage.der", &der);
        let usage = fixture.openssl(&[
            "x509", "-inform", "DER", "-in", &path, "-noout", "-ext", "keyUsage",
        ]);
        assert_has(&usage, "Key Encipherment", "wrong_key_usage");
        assert!(!usage.contains("Digital Signature"), "{usage}");

        // Another issuer's name over the CA's signature: OpenSSL finds no issuer of that name
        // (its one error), and the issuer field is the CA's name and one more RDN.
        let der = fixture
            .world
            .forge_certificate(hierarchy, &genuine, CertificateForgery::OtherIssuerName)
            .unwrap()
            .der;
        let out = fixture.verify(hierarchy, &der, &[]);
        assert_has(
            &out,
            "unable to get local issuer certificate",
            "other_issuer_name",
        );
        assert_eq!(verify_errors(&out).len(), 1, "other_issuer_name: {out}");
        let path = fixture.write("issuer.der", &der);
        let issuer =
            fixture.openssl(&["x509", "-inform", "DER", "-in", &path, "-noout", "-issuer"]);
        let ca = fixture.openssl(&[
            "x509",
            "-in",
            &fixture.path(&format!("{}-ca.pem", hierarchy.tag())),
            "-noout",
            "-subject",
        ]);
        let ca_name = ca.trim().trim_start_matches("subject=").trim();
        assert_has(&issuer, ca_name, "other_issuer_name keeps the CA's name");
        assert_has(&issuer, "OU = jpki-sim another issuer", "other_issuer_name");

        // E-mail protection only: OpenSSL checks extendedKeyUsage only for a purpose. For
        // login (TLS client) the authentication forgery is refused and the genuine taken; the
        // signature forgery (OpenSSL has no document-signing purpose) verifies, with the
        // extension as forged.
        let der = fixture
            .world
            .forge_certificate(
                hierarchy,
                &genuine,
                CertificateForgery::OtherExtendedKeyUsage,
            )
            .unwrap()
            .der;
        assert_has(
            &fixture.verify(hierarchy, &der, &[]),
            ": OK",
            "other_extended_key_usage",
        );
        if hierarchy == Hierarchy::Auth {
            let client = ["-purpose", "sslclient"];
            assert_has(
                &fixture.verify(hierarchy, &genuine, &client),
                ": OK",
                "genuine client",
            );
            let out = fixture.verify(hierarchy, &der, &client);
            assert_has(
                &out,
                "unsuitable certificate purpose",
                "other_extended_key_usage",
            );
            assert!(!out.contains(": OK"), "other_extended_key_usage: {out}");
        }
        let path = fixture.write("eku.der", &der);
        let usage = fixture.openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &path,
            "-noout",
            "-ext",
            "extendedKeyUsage",
        ]);
        assert_has(&usage, "E-mail Protection", "other_extended_key_usage");
        assert!(!usage.contains("TLS Web Client"), "{usage}");

        // The other use's policy: OpenSSL checks policies only when asked for one; asked for
        // this use's, explicitly, it refuses the forgery and takes the genuine certificate.
        let policy = match hierarchy {
            Hierarchy::Sign => "1.2.392.200149.8.5.1.1.20",
            Hierarchy::Auth => "1.2.392.200149.8.5.1.3.30",
        };
        let explicit = ["-policy", policy, "-explicit_policy"];
        assert_has(
            &fixture.verify(hierarchy, &genuine, &explicit),
            ": OK",
            "genuine under its policy",
        );
        let der = fixture
            .world
            .forge_certificate(hierarchy, &genuine, CertificateForgery::OtherUsePolicy)
            .unwrap()
            .der;
        assert_has(
            &fixture.verify(hierarchy, &der, &[]),
            ": OK",
            "other_use_policy",
        );
        let out = fixture.verify(hierarchy, &der, &explicit);
        assert_has(&out, "no explicit policy", "other_use_policy");
        assert!(!out.contains(": OK"), "other_use_policy: {out}");

        // The attacker's certificate under the CA's own certificate: OpenSSL's one error is the
        // signature of the certificate presented.
        let forged = fixture
            .world
            .forge_certificate(
                hierarchy,
                &genuine,
                CertificateForgery::AttackerCaUnderTheCa,
            )
            .unwrap();
        assert_eq!(
            forged.intermediates,
            vec![fixture.world.ca(hierarchy).certificate_der().to_vec()]
        );
        let ca_pem = fixture.path(&format!("{}-ca.pem", hierarchy.tag()));
        let out = fixture.verify(hierarchy, &forged.der, &["-untrusted", &ca_pem]);
        assert_has(
            &out,
            "certificate signature failure",
            "attacker_ca_under_the_ca",
        );
        assert_eq!(
            verify_errors(&out).len(),
            1,
            "attacker_ca_under_the_ca: {out}"
        );

        // An end entity posing as issuer, presented with the genuine certificate as the
        // intermediate: the path fails for the genuine certificate being no CA, and only that.
        let forged = fixture
            .world
            .forge_certificate(hierarchy, &genuine, CertificateForgery::IssuedByEndEntity)
            .unwrap();
        assert_eq!(forged.intermediates, vec![genuine.clone()]);
        let genuine_der = fixture.write("intermediate.der", &genuine);
        let genuine_pem = fixture.openssl(&["x509", "-inform", "DER", "-in", &genuine_der]);
        let intermediate = fixture.write("intermediate.pem", genuine_pem.as_bytes());
        let only_not_a_ca = |out: &str| {
            assert_has(out, "invalid CA certificate", "issued_by_end_entity");
            assert!(!out.contains(": OK"), "issued_by_end_entity: {out}");
            for line in verify_errors(out) {
                assert!(
                    line.contains("invalid CA certificate")
                        || line.contains("key usage does not include certificate signing"),
                    "issued_by_end_entity fails for another reason too: {line}\n{out}"
                );
            }
        };
        only_not_a_ca(&fixture.verify(
            hierarchy,
            &forged.der,
            &["-untrusted", &intermediate, "-show_chain"],
        ));
        // With the genuine certificate as the anchor itself, the path is the forgery and its
        // issuer alone: still refused for its issuer being no CA, and for nothing else (no
        // signature, name or validity error).
        let presented = fixture.path("presented.pem");
        only_not_a_ca(&fixture.openssl(&[
            "verify",
            "-partial_chain",
            "-trusted",
            &intermediate,
            &presented,
        ]));
    }
}

#[test]
fn forged_ocsp_answers_fail_openssl_for_their_reason_only() {
    let fixture = Fixture::new();
    let genuine = fixture.ocsp(None);
    assert_has(&genuine, "Response verify OK", "genuine");
    assert_has(&genuine, "auth.pem: good", "genuine");
    for (forgery, wanted) in [
        (OcspForgery::OtherSerial, "No Status found"),
        (OcspForgery::OtherIssuerNameHash, "No Status found"),
        (OcspForgery::OtherIssuerKeyHash, "No Status found"),
        (OcspForgery::MislabelledHashAlgorithm, "No Status found"),
        (OcspForgery::FutureThisUpdate, "status not yet valid"),
        (
            OcspForgery::ResponderNotIssuedByCa,
            "Response Verify Failure",
        ),
        (
            OcspForgery::ResponderWithoutOcspSigning,
            "Response Verify Failure",
        ),
        (OcspForgery::ResponderExpired, "Response Verify Failure"),
        (
            OcspForgery::ResponderOfOtherHierarchy,
            "Response Verify Failure",
        ),
    ] {
        let out = fixture.ocsp(Some(forgery));
        assert_has(&out, wanted, &format!("{forgery:?}"));
    }
    // Signed right, for the right certificate: only what OpenSSL does not check is wrong.
    let out = fixture.ocsp(Some(OcspForgery::NoNextUpdate));
    assert_has(&out, "Response verify OK", "no_next_update");
    assert!(!out.contains("Next Update"), "{out}");
    let out = fixture.ocsp(Some(OcspForgery::ResponderByName));
    assert_has(&out, "Response verify OK", "responder_by_name");
    assert_has(&out, "Responder Id: C = JP", "responder_by_name");
    let out = fixture.ocsp(Some(OcspForgery::GoodForAnotherFirst));
    assert_has(&out, "Response verify OK", "good_for_another_first");
    // After a death the true answer, second, is found by CertID.
    fixture.holder_dies();
    let out = fixture.ocsp(Some(OcspForgery::GoodForAnotherFirst));
    assert_has(&out, "auth.pem: revoked", "good_for_another_first");
}

#[test]
fn forged_crls_fail_openssl_for_their_reason_only() {
    let fixture = Fixture::new();
    let genuine = fixture.crl(None);
    assert_has(&genuine, ": OK", "genuine");
    for (forgery, wanted) in [
        (CrlForgery::OtherHierarchy, "unable to get certificate CRL"),
        (CrlForgery::UnknownKey, "CRL signature failure"),
        (
            CrlForgery::UnknownCriticalExtension,
            "unhandled critical CRL extension",
        ),
        (CrlForgery::NotYetIssued, "CRL is not yet valid"),
    ] {
        let out = fixture.crl(Some(forgery));
        assert_has(&out, wanted, &format!("{forgery:?}"));
    }
    let out = fixture.crl(Some(CrlForgery::NoNextUpdate));
    assert_has(&out, ": OK", "no_next_update");
    assert_has(&out, "Next Update: NONE", "no_next_update");
    let out = fixture.crl(Some(CrlForgery::PartitionNotCovering));
    assert_has(&out, "different CRL scope", "partition_not_covering");
    fixture.holder_dies();
    assert_has(
        &fixture.crl(None),
        "certificate revoked",
        "genuine after a death",
    );
    let out = fixture.crl(Some(CrlForgery::UnknownCriticalEntryExtension));
    assert_has(
        &out,
        "unhandled critical CRL extension",
        "unknown_critical_entry_extension",
    );
}

#[test]
fn crls_of_a_ca_not_certified_to_sign_them_fail_openssl_for_that_only() {
    let fixture = Fixture::with(|config| config.ca_key_usage = mock_ca::CaKeyUsage::CertSignOnly);
    // The certificates still verify: the CA may sign those.
    assert_has(
        &fixture.verify(Hierarchy::Auth, &fixture.genuine(Hierarchy::Auth), &[]),
        ": OK",
        "certificate under a cert-sign-only CA",
    );
    let out = fixture.crl(None);
    assert_has(
        &out,
        "key usage does not include CRL signing",
        "cert_sign_only",
    );
    assert_eq!(
        verify_errors(&out).len(),
        1,
        "cert_sign_only fails for another reason too: {out}"
    );
}
