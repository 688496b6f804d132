//! The reference PF: a verifier that does everything right, so scenarios can be checked against
//! a known-good platform before deliberately wrong variants and external PFs are measured.
//!
//! Time: the PF reads the world clock (`GET /admin/v1/clock`) for every decision. A PF in this
//! test world lives in simulated time; the host clock would disagree with every CRL, OCSP window
//! and validity period once a scenario moves the clock.
//!
//! Failing closed: any answer the PF cannot trust (transport error, 5xx, garbage, `tryLater`
//! twice, a wrong signer, stale data) is `Undetermined`, never `Good`.
//!
//! Mutants: [`ReferencePf::with_mutant`] builds the PF with one deliberate mistake ([`Mutant`]);
//! without one, every check above holds.

mod crl;
mod http;
mod mutant;
mod ocsp;
mod path;
mod x509;

use std::collections::HashMap;

use base64::Engine;
use der::{Decode, Encode};
use mock_ca::crl::RevocationReason;
use time::OffsetDateTime;
use x509_cert::Certificate;

use self::http::{Http, Reply};
use self::mutant::is;
pub use self::mutant::{Mutant, UnknownMutant};
use self::x509::Anchor;
use vocab::{
    BasicInfo, Consent, EnrolOutcome, EnrolRequest, KeyKind, LatestOutcome, PfEnvironment,
    Platform, PlatformError, RejectReason, StatusChannel, StatusOutcome, UserOutcome,
};

/// A certificate's status as one channel reported it, trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Good,
    Revoked(Option<RevocationReason>),
    Unknown,
}

/// The correct verifier (see the module docs).
pub struct ReferencePf {
    http: Http,
    /// The sign and auth CAs; an unreadable anchor makes every enrolment a PF failure.
    anchors: Result<[Anchor; 2], String>,
    enrolments: HashMap<String, Enrolment>,
    /// J-LIS user id → this PF's user id: the first enrolment of a person names the user.
    users: HashMap<String, String>,
    /// The deliberate mistake this PF makes, if any.
    mutant: Option<Mutant>,
}

struct Enrolment {
    key: KeyKind,
    certificate: Certificate,
    der: Vec<u8>,
}

impl ReferencePf {
    /// The correct reference PF, trusting the CAs and reaching the status services `env` names.
    pub fn new(env: PfEnvironment) -> ReferencePf {
        ReferencePf::with_mutant(env, None)
    }

    /// The reference PF making `mutant`'s mistake (`None`: the correct PF).
    pub fn with_mutant(env: PfEnvironment, mutant: Option<Mutant>) -> ReferencePf {
        let anchors = (|| {
            let sign = Anchor::from_pem(&env.sign_ca_pem)
                .map_err(|err| format!("signature CA certificate: {err}"))?;
            let auth = Anchor::from_pem(&env.auth_ca_pem)
                .map_err(|err| format!("authentication CA certificate: {err}"))?;
            Ok([sign, auth])
        })();
        ReferencePf {
            http: Http::new(&env.base_url, env.admin_token.as_deref()),
            anchors,
            enrolments: HashMap::new(),
            users: HashMap::new(),
            mutant,
        }
    }

    fn anchor(&self, key: KeyKind) -> Result<&Anchor, PlatformError> {
        let [sign, auth] = self
            .anchors
            .as_ref()
            .map_err(|err| PlatformError::Failed(err.clone()))?;
        Ok(match key {
            KeyKind::Sign => sign,
            KeyKind::Auth => auth,
        })
    }

    fn enrolment(&self, name: &str) -> Result<&Enrolment, PlatformError> {
        self.enrolments
            .get(name)
            .ok_or_else(|| PlatformError::UnknownEnrolment(name.to_owned()))
    }

    /// The status through `via`; `Err` is the reason no answer could be trusted.
    fn status(
        &self,
        key: KeyKind,
        certificate: &Certificate,
        via: StatusChannel,
    ) -> Result<Result<Status, String>, PlatformError> {
        let anchor = self.anchor(key)?;
        let other = self.anchor(other_key(key))?;
        let now = match self.http.world_now() {
            Ok(now) => now,
            Err(err) => return Ok(Err(format!("no world time: {err}"))),
        };
        let status = match via {
            StatusChannel::Ocsp => {
                ocsp::check(&self.http, [anchor, other], certificate, now, self.mutant)
                    .map_err(|err| format!("OCSP: {err}"))
            }
            StatusChannel::Crl => crl::check(
                &self.http,
                [anchor, other],
                hierarchy(key),
                certificate,
                now,
                self.mutant,
            )
            .map_err(|err| format!("CRL: {err}")),
        };
        Ok(match (self.mutant, status) {
            (Some(Mutant::IgnoresRevocation), Ok(Status::Revoked(_)))
            | (
                Some(Mutant::HoldIsGood),
                Ok(Status::Revoked(Some(RevocationReason::CertificateHold))),
            )
            | (Some(Mutant::FailsOpen), Err(_)) => Ok(Status::Good),
            (_, status) => status,
        })
    }

    /// [`Mutant::StatusByCard`]: the status of an enrolled signature certificate of the same
    /// J-LIS user as the authentication certificate, if the PF holds one.
    fn status_by_card(
        &self,
        certificate: &Certificate,
        via: StatusChannel,
    ) -> Result<Option<Result<Status, String>>, PlatformError> {
        let Some(user) = self.jlis_user(KeyKind::Auth, certificate) else {
            return Ok(None);
        };
        for enrolled in self.enrolments.values() {
            if enrolled.key == KeyKind::Sign
                && self
                    .jlis_user(KeyKind::Sign, &enrolled.certificate)
                    .as_ref()
                    == Some(&user)
            {
                return self
                    .status(KeyKind::Sign, &enrolled.certificate, via)
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// The J-LIS user id linked to a certificate, if J-LIS names one.
    fn jlis_user(&self, key: KeyKind, certificate: &Certificate) -> Option<String> {
        let path = format!(
            "/jlis/v1/linkage/{}/{}",
            hierarchy(key),
            x509::serial_hex(certificate)
        );
        let reply = self.http.get(&path).ok()?;
        Some(reply.json()?.get("user_id")?.as_str()?.to_owned())
    }

    fn verify_enrolment(
        &self,
        request: &EnrolRequest,
        certificate: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Option<(RejectReason, String)>, PlatformError> {
        let reject = |reason, detail: String| Ok(Some((reason, detail)));
        let key = match self.verify_certificate(request, certificate, now)? {
            Ok(key) => key,
            Err((reason, detail)) => return reject(reason, detail),
        };
        match self.status(key, certificate, StatusChannel::Ocsp)? {
            Ok(Status::Good) => Ok(None),
            Ok(Status::Revoked(reason)) => {
                reject(RejectReason::Revoked, format!("revoked ({reason:?})"))
            }
            Ok(Status::Unknown) => reject(
                RejectReason::StatusUndetermined,
                "the OCSP responder does not know the certificate".to_owned(),
            ),
            Err(detail) => reject(RejectReason::StatusUndetermined, detail),
        }
    }

    /// The checks of an enrolment before the status one: the path, the CA's signature,
    /// validity, extensions and the holder's signature. `Ok` names the hierarchy whose status
    /// service is asked next.
    fn verify_certificate(
        &self,
        request: &EnrolRequest,
        certificate: &Certificate,
        now: OffsetDateTime,
    ) -> Result<Result<KeyKind, (RejectReason, String)>, PlatformError> {
        let reject = |reason, detail: String| Ok(Err((reason, detail)));
        let top = match path::top(certificate, &request.intermediates, now, self.mutant) {
            Ok(top) => top,
            Err(detail) => return reject(RejectReason::Untrusted, detail),
        };
        let issued_by = |anchor: &Anchor| match self.mutant {
            Some(Mutant::SkipsCertificateSignature) => anchor.named_issuer_of(&top),
            Some(Mutant::IgnoresIssuerName) => anchor.signed(&top),
            _ => anchor.issued(&top),
        };
        let mut key = request.key;
        if let Err(err) = issued_by(self.anchor(key)?) {
            let other = other_key(key);
            if is(self.mutant, Mutant::AcceptsEitherHierarchy)
                && issued_by(self.anchor(other)?).is_ok()
            {
                key = other;
            } else {
                return reject(
                    RejectReason::Untrusted,
                    format!("{} key: {err}", hierarchy(request.key)),
                );
            }
        }
        let valid = match self.mutant {
            Some(Mutant::AcceptsExpired) => true,
            Some(Mutant::IgnoresNotBefore) => x509::not_expired_at(certificate, now),
            _ => x509::valid_at(certificate, now),
        };
        if !valid {
            let validity = &certificate.tbs_certificate.validity;
            return reject(
                RejectReason::Expired,
                format!(
                    "valid {} to {}, now {now}",
                    validity.not_before, validity.not_after
                ),
            );
        }
        if let Some(oid) = x509::unknown_critical_extension(certificate) {
            if !is(self.mutant, Mutant::IgnoresUnknownCriticalExtension) {
                return reject(
                    RejectReason::Untrusted,
                    format!("unknown critical extension {oid}"),
                );
            }
        }
        if !x509::key_usage_allows(certificate, request.key)
            && !is(self.mutant, Mutant::IgnoresKeyUsage)
        {
            return reject(
                RejectReason::Untrusted,
                format!(
                    "keyUsage does not allow {} signatures",
                    hierarchy(request.key)
                ),
            );
        }
        if !x509::extended_key_usage_allows(certificate, key)
            && !is(self.mutant, Mutant::IgnoresExtendedKeyUsage)
        {
            return reject(
                RejectReason::Untrusted,
                format!(
                    "extendedKeyUsage does not allow {} signatures",
                    hierarchy(key)
                ),
            );
        }
        // The policy of the hierarchy the path ends at (which is the request's but for the
        // either-hierarchy mutant, whose one mistake stays the hierarchy).
        if !x509::has_policy_for(certificate, key)
            && !is(self.mutant, Mutant::IgnoresCertificatePolicy)
        {
            return reject(
                RejectReason::Untrusted,
                format!(
                    "certificatePolicies do not name the JPKI {} policy",
                    hierarchy(key)
                ),
            );
        }
        let verified = x509::verify(
            x509::public_key(certificate),
            &x509::rsa_with(request.hash),
            &request.data,
            &request.signature,
        );
        if let (Err(err), false) = (verified, is(self.mutant, Mutant::SkipsDataSignature)) {
            return reject(RejectReason::BadSignature, err.to_string());
        }
        Ok(Ok(key))
    }

    /// The reason the newest linked signature certificate was revoked, from its status record.
    fn latest_revocation_reason(&self, enrolled: &str) -> Option<RevocationReason> {
        let linkage = self
            .http
            .get(&format!("/jlis/v1/linkage/sign/{enrolled}"))
            .ok()?;
        let latest = linkage.json()?.get("latest")?.as_str()?.to_owned();
        let status = self
            .http
            .get(&format!("/jlis/v1/status/sign/{latest}"))
            .ok()?;
        serde_json::from_value(status.json()?.get("revocation")?.get("reason")?.clone()).ok()
    }
}

impl Platform for ReferencePf {
    fn enrol(&mut self, request: &EnrolRequest) -> Result<EnrolOutcome, PlatformError> {
        let certificate = match Certificate::from_der(&request.certificate) {
            Ok(certificate) => certificate,
            Err(err) => {
                return Ok(EnrolOutcome::Rejected {
                    reason: RejectReason::Untrusted,
                    detail: format!("not DER X.509: {err}"),
                })
            }
        };
        let now = match self.http.world_now() {
            Ok(now) => now,
            Err(err) => {
                return Ok(EnrolOutcome::Rejected {
                    reason: RejectReason::StatusUndetermined,
                    detail: format!("no world time: {err}"),
                })
            }
        };
        if let Some((reason, detail)) = self.verify_enrolment(request, &certificate, now)? {
            return Ok(EnrolOutcome::Rejected { reason, detail });
        }
        let der = certificate.to_der().map_err(|err| {
            PlatformError::Failed(format!("re-encoding a parsed certificate: {err}"))
        })?;
        self.enrolments.insert(
            request.name.clone(),
            Enrolment {
                key: request.key,
                certificate,
                der,
            },
        );
        Ok(EnrolOutcome::Accepted)
    }

    fn check_status(
        &mut self,
        enrolment: &str,
        via: StatusChannel,
    ) -> Result<StatusOutcome, PlatformError> {
        let enrolled = self.enrolment(enrolment)?;
        let by_card = match (self.mutant, enrolled.key) {
            (Some(Mutant::StatusByCard), KeyKind::Auth) => {
                self.status_by_card(&enrolled.certificate, via)?
            }
            _ => None,
        };
        let status = match by_card {
            Some(status) => status,
            None => self.status(enrolled.key, &enrolled.certificate, via)?,
        };
        Ok(match status {
            Ok(Status::Good) => StatusOutcome::Good,
            Ok(Status::Revoked(reason)) => StatusOutcome::Revoked { reason },
            Ok(Status::Unknown) => StatusOutcome::Unknown,
            Err(detail) => StatusOutcome::Undetermined { detail },
        })
    }

    /// A refused consent (wrong key, revoked certificate, injected fault) is only recorded by
    /// J-LIS's absence of it: `latest_info` then hears `not_consented` from J-LIS itself. Only
    /// the state store failing is a PF-visible failure.
    fn register_consent(
        &mut self,
        enrolment: &str,
        consent: &Consent,
    ) -> Result<(), PlatformError> {
        let enrolled = self.enrolment(enrolment)?;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let body = serde_json::json!({
            "document": b64(&consent.document),
            "signature": b64(&consent.signature),
            "certificate": b64(&enrolled.der),
        })
        .to_string();
        match self
            .http
            .post("/jlis/v1/consents", "application/json", body.as_bytes())
        {
            Ok(reply) if reply.error_code().as_deref() == Some("world_unavailable") => Err(
                PlatformError::Failed(format!("J-LIS consent registration: {}", body_text(&reply))),
            ),
            _ => Ok(()),
        }
    }

    fn latest_info(&mut self, enrolment: &str) -> Result<LatestOutcome, PlatformError> {
        let serial = x509::serial_hex(&self.enrolment(enrolment)?.certificate);
        let reply = match self.http.get(&format!("/jlis/v1/latest/{serial}")) {
            Ok(reply) => reply,
            Err(err) => {
                return Ok(LatestOutcome::Undetermined {
                    detail: err.to_string(),
                })
            }
        };
        if reply.status == 200 {
            return Ok(
                info(&reply, self.mutant).unwrap_or_else(|| LatestOutcome::Undetermined {
                    detail: format!("unreadable latest info: {}", body_text(&reply)),
                }),
            );
        }
        Ok(match reply.error_code().as_deref() {
            Some("not_consented") => LatestOutcome::NotConsented,
            Some("consent_withdrawn") if is(self.mutant, Mutant::WithdrawnIsNotConsented) => {
                LatestOutcome::NotConsented
            }
            Some("consent_withdrawn") => LatestOutcome::ConsentWithdrawn,
            Some("consent_expired") => LatestOutcome::ConsentExpired,
            Some("latest_certificate_unknown") => LatestOutcome::LatestCertificateUnknown,
            Some("latest_certificate_expired") => LatestOutcome::LatestCertificateExpired,
            Some("latest_certificate_revoked") => LatestOutcome::LatestCertificateRevoked {
                reason: self.latest_revocation_reason(&serial),
            },
            _ => LatestOutcome::Undetermined {
                detail: format!(
                    "J-LIS answered HTTP {}: {}",
                    reply.status,
                    body_text(&reply)
                ),
            },
        })
    }

    fn resolve_user(&mut self, enrolment: &str) -> Result<UserOutcome, PlatformError> {
        let enrolled = self.enrolment(enrolment)?;
        let path = format!(
            "/jlis/v1/linkage/{}/{}",
            hierarchy(enrolled.key),
            x509::serial_hex(&enrolled.certificate)
        );
        let reply = match self.http.get(&path) {
            Ok(reply) => reply,
            Err(err) => {
                return Ok(UserOutcome::Undetermined {
                    detail: err.to_string(),
                })
            }
        };
        let user = match (reply.status, reply.json()) {
            (200, Some(json)) => match json.get("user_id") {
                Some(serde_json::Value::String(user)) => user.clone(),
                Some(serde_json::Value::Null) if is(self.mutant, Mutant::NotLinkedIsNewUser) => {
                    let serial = x509::serial_hex(&enrolled.certificate);
                    return Ok(UserOutcome::User {
                        id: format!("new/{serial}"),
                    });
                }
                Some(serde_json::Value::Null) => return Ok(UserOutcome::NotLinkedYet),
                _ => {
                    return Ok(UserOutcome::Undetermined {
                        detail: format!("linkage without user_id: {json}"),
                    })
                }
            },
            _ => {
                return Ok(UserOutcome::Undetermined {
                    detail: format!(
                        "J-LIS answered HTTP {}: {}",
                        reply.status,
                        body_text(&reply)
                    ),
                })
            }
        };
        if is(self.mutant, Mutant::NewUserPerCertificate) {
            let serial = x509::serial_hex(&enrolled.certificate);
            return Ok(UserOutcome::User {
                id: format!("{user}/{serial}"),
            });
        }
        let id = self.users.entry(user.clone()).or_insert(user).clone();
        Ok(UserOutcome::User { id })
    }
}

/// The PF's judgement of DER from outside without the HTTP around it: what a fuzz target
/// (fuzz/) feeds any bytes to. Each runs the code the PF runs on a certificate presented for
/// enrolment, a fetched CRL or a fetched OCSP response; `Ok` is what the PF would believe,
/// `Err` why it refuses. Nothing here talks to a server.
impl ReferencePf {
    /// An enrolment's checks up to (not including) the status request, at `now`: the
    /// certificate's DER, the path through the presented certificates, the CA's signature,
    /// validity, extensions, the holder's signature, and the re-encoding the PF keeps.
    pub fn judge_enrolment(
        &self,
        request: &EnrolRequest,
        now: OffsetDateTime,
    ) -> Result<KeyKind, String> {
        let certificate = Certificate::from_der(&request.certificate)
            .map_err(|err| format!("not DER X.509: {err}"))?;
        let key = match self.verify_certificate(request, &certificate, now) {
            Ok(Ok(key)) => key,
            Ok(Err((reason, detail))) => return Err(format!("{reason:?}: {detail}")),
            Err(err) => return Err(err.to_string()),
        };
        certificate
            .to_der()
            .map_err(|err| format!("re-encoding a parsed certificate: {err}"))?;
        Ok(key)
    }

    /// The anchor of `key`'s hierarchy, then the other one's, for the `judge_*` entry points.
    fn both_anchors(&self, key: KeyKind) -> Result<[&Anchor; 2], String> {
        match [self.anchor(key), self.anchor(other_key(key))] {
            [Ok(ca), Ok(other)] => Ok([ca, other]),
            _ => Err("no anchors".to_owned()),
        }
    }

    /// The status of `certificate` (DER) of hierarchy `key` as the CRL `der` states it at `now`.
    pub fn judge_crl(
        &self,
        key: KeyKind,
        certificate: &[u8],
        der: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let certificate = Certificate::from_der(certificate).map_err(|err| err.to_string())?;
        let [ca, other] = self.both_anchors(key)?;
        crl::judge(der, [ca, other], &certificate, now, self.mutant)
            .map(|status| format!("{status:?}"))
            .map_err(|err| err.to_string())
    }

    /// The status of `certificate` (DER) of hierarchy `key` as the OCSP response `der` to a
    /// request with the nonce `nonce` states it at `now`.
    pub fn judge_ocsp(
        &self,
        key: KeyKind,
        certificate: &[u8],
        nonce: &[u8],
        der: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let certificate = Certificate::from_der(certificate).map_err(|err| err.to_string())?;
        let [ca, other] = self.both_anchors(key)?;
        let cert_id =
            ocsp::cert_id(ca, &certificate, self.mutant).map_err(|err| err.to_string())?;
        let nonce_value = der::asn1::OctetString::new(nonce)
            .and_then(|octets| octets.to_der())
            .map_err(|err| err.to_string())?;
        ocsp::judge(der, [ca, other], &cert_id, &nonce_value, now, self.mutant)
            .map(|status| format!("{status:?}"))
            .map_err(|err| err.to_string())
    }
}

fn other_key(key: KeyKind) -> KeyKind {
    match key {
        KeyKind::Sign => KeyKind::Auth,
        KeyKind::Auth => KeyKind::Sign,
    }
}

fn hierarchy(key: KeyKind) -> &'static str {
    match key {
        KeyKind::Sign => "sign",
        KeyKind::Auth => "auth",
    }
}

fn info(reply: &Reply, mutant: Option<Mutant>) -> Option<LatestOutcome> {
    let json = reply.json()?;
    let text = |field: &str| json.get(field)?.as_str().map(str::to_owned);
    let flags = |field: &str| text(field).filter(|_| !is(mutant, Mutant::DropsSubstituteFlags));
    Some(LatestOutcome::Info {
        info: BasicInfo {
            name: text("name")?,
            address: text("address")?,
            birth_date: text("birth_date")?,
            sex: text("sex")?,
            name_substitute_flags: flags("name_substitute_flags"),
            address_substitute_flags: flags("address_substitute_flags"),
        },
        changed: json.get("changed")?.as_bool()?,
    })
}

/// A short printable excerpt of a body, for details.
fn body_text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body)
        .chars()
        .take(200)
        .collect()
}
