//! Signed `OCSPResponse`s for one CA (RFC 6960 §4.2), and the unsigned error answers.
//!
//! Protocol outcomes are values: an unknown issuer, a malformed request or a signing failure is an
//! answer with the matching responseStatus, never a Rust error. Only building a responder can fail.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rcgen::PublicKeyData;
use time::OffsetDateTime;

use super::oid;
use super::request::{CertId, HashAlgorithm, OcspRequest};
use super::responder_cert::ResponderCertificate;
use super::window::{whole_seconds, OcspWindow};
use crate::asn1;
use crate::crl::RevocationReason;
use crate::error::{Error, Result};
use crate::hierarchy::{CertificateAuthority, Hierarchy};
use crate::keys::{KeyMaterial, SubjectKey};
use crate::serial::Serial;

/// What the responder says about one certificate (RFC 6960 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertStatus {
    /// Not revoked (the certificate was issued by this CA and is not on its revocation list).
    Good,
    /// Revoked at `at` (the CRL entry's revocationDate) for `reason`, e.g.
    /// [`RevocationReason::AffiliationChanged`] for a JPKI address change. As in the CRL,
    /// [`RevocationReason::Unspecified`] leaves revocationReason out, so both sources agree.
    Revoked {
        /// revocationTime: the CRL entry's revocationDate, encoded in whole seconds, UTC.
        at: OffsetDateTime,
        /// revocationReason.
        reason: RevocationReason,
    },
    /// This CA never issued the serial.
    Unknown,
}

/// Who signs the responses: a delegated responder with its own certificate (sent in `certs`) or
/// the CA key itself (no certificates sent; verifiers already hold the CA certificate).
#[derive(Debug, Clone)]
pub enum ResponderSigner {
    /// A delegated responder (id-kp-OCSPSigning) certified by the CA: its certificate goes in
    /// `certs` and `key` signs.
    Delegated {
        /// The responder certificate the CA issued for `key`.
        certificate: ResponderCertificate,
        /// The responder's key pair.
        key: KeyMaterial,
    },
    /// The CA's own key signs; `certs` is left out.
    Ca,
}

/// The unsuccessful OCSPResponseStatus values (RFC 6960 §4.2.1): answers without a signature.
/// Named in snake case where faults are configured (`try_later`, `sig_required`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OcspErrorStatus {
    /// `1`: the request could not be parsed.
    MalformedRequest,
    /// `2`: the responder failed (here: signing or encoding failed; or injected).
    InternalError,
    /// `3`: the responder is busy (fault injection).
    TryLater,
    /// `5`: the request must be signed (fault injection; this responder never requires it).
    SigRequired,
    /// `6`: the responder is not authoritative for a CertID's issuer.
    Unauthorized,
}

impl OcspErrorStatus {
    /// The ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            OcspErrorStatus::MalformedRequest => 1,
            OcspErrorStatus::InternalError => 2,
            OcspErrorStatus::TryLater => 3,
            OcspErrorStatus::SigRequired => 5,
            OcspErrorStatus::Unauthorized => 6,
        }
    }

    /// The RFC 6960 name (`malformedRequest`, …).
    pub fn name(self) -> &'static str {
        match self {
            OcspErrorStatus::MalformedRequest => "malformedRequest",
            OcspErrorStatus::InternalError => "internalError",
            OcspErrorStatus::TryLater => "tryLater",
            OcspErrorStatus::SigRequired => "sigRequired",
            OcspErrorStatus::Unauthorized => "unauthorized",
        }
    }
}

/// Constructors of whole `OCSPResponse` encodings that need no responder.
#[derive(Debug)]
pub enum OcspResponse {}

impl OcspResponse {
    /// `OCSPResponse { responseStatus status }` without responseBytes: what a responder sends for
    /// a bad request or when it cannot answer, and what fault profiles send on purpose.
    pub fn error(status: OcspErrorStatus) -> Vec<u8> {
        vec![0x30, 0x03, ENUMERATED, 0x01, status.code()]
    }
}

/// Signs OCSP responses for one CA. Holds its own copy of the signing key, so it outlives the
/// borrow of the CA and can be shared between threads.
pub struct OcspResponder {
    hierarchy: Hierarchy,
    sha1: IssuerHashes,
    sha256: IssuerHashes,
    responder_id: [u8; 20],
    key: RsaKeyPair,
    /// `[0] EXPLICIT SEQUENCE OF Certificate`, ready to append (delegated mode only).
    certs: Option<Vec<u8>>,
    /// The signer's subject Name DER (the CA's, or the delegated responder's), for `byName`.
    signer_name: Vec<u8>,
    rng: SystemRandom,
}

/// issuerNameHash and issuerKeyHash of the CA under one algorithm.
#[derive(Debug, Clone)]
struct IssuerHashes {
    name: Vec<u8>,
    key: Vec<u8>,
}

impl OcspResponder {
    /// A responder for `ca`. A delegated certificate must be issued by `ca` and certify `key`.
    pub fn new(ca: &CertificateAuthority, signer: ResponderSigner) -> Result<Self> {
        let ca_key = ca.signer().key();
        let name = ca.name_der();
        let public_key_bits = ca_key.der_bytes();
        let hashes = |algorithm: HashAlgorithm| IssuerHashes {
            name: algorithm.digest(&name),
            key: algorithm.digest(public_key_bits),
        };
        let (pkcs8, key_hash, certs, signer_name) = match &signer {
            ResponderSigner::Ca => (
                ca_key.serialized_der(),
                ca.key_identifier().to_vec(),
                None,
                ca.name_der(),
            ),
            ResponderSigner::Delegated { certificate, key } => {
                if certificate.issuer_key_id() != ca.key_identifier() {
                    return Err(Error::OcspResponderMismatch {
                        hierarchy: ca.hierarchy(),
                        reason: "the responder certificate was issued by another CA",
                    });
                }
                if SubjectKey::from_spki_der(key.spki_der())?.key_id() != certificate.key_hash() {
                    return Err(Error::OcspResponderMismatch {
                        hierarchy: ca.hierarchy(),
                        reason: "the key is not the one the responder certificate certifies",
                    });
                }
                let sequence_of = asn1::sequence(&[certificate.der().to_vec()]);
                (
                    key.pkcs8_der(),
                    certificate.key_hash().to_vec(),
                    Some(asn1::context_constructed(0, &sequence_of)),
                    certificate.subject_der(),
                )
            }
        };
        let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|source| Error::OcspSigningKey {
            hierarchy: ca.hierarchy(),
            source,
        })?;
        let responder_id =
            key_hash
                .as_slice()
                .try_into()
                .map_err(|_| Error::OcspResponderMismatch {
                    hierarchy: ca.hierarchy(),
                    reason: "the responder key identifier is not a SHA-1 hash",
                })?;
        Ok(OcspResponder {
            hierarchy: ca.hierarchy(),
            sha1: hashes(HashAlgorithm::Sha1),
            sha256: hashes(HashAlgorithm::Sha256),
            responder_id,
            key,
            certs,
            signer_name,
            rng: SystemRandom::new(),
        })
    }

    /// A responder for fault injection: it answers for `ca` and names the CA as responder, but
    /// signs with `key`, which nobody certified. Verifiers must reject its responses.
    pub fn impostor(ca: &CertificateAuthority, key: &KeyMaterial) -> Result<Self> {
        let mut responder = Self::new(ca, ResponderSigner::Ca)?;
        responder.key =
            RsaKeyPair::from_pkcs8(key.pkcs8_der()).map_err(|source| Error::OcspSigningKey {
                hierarchy: ca.hierarchy(),
                source,
            })?;
        Ok(responder)
    }

    /// The hierarchy whose CA this responder answers for.
    pub fn hierarchy(&self) -> Hierarchy {
        self.hierarchy
    }

    /// SHA-1 of the signer's public key bits: the `byKey` ResponderID of every response.
    pub fn responder_id(&self) -> &[u8; 20] {
        &self.responder_id
    }

    /// Whether every CertID names this CA (by name and key hash), i.e. whether
    /// [`OcspResponder::respond`] will answer rather than say `unauthorized`. Lets a server with
    /// one responder per hierarchy pick the right one.
    pub fn is_authoritative_for(&self, request: &OcspRequest) -> bool {
        request.cert_ids().iter().all(|id| self.is_issuer_of(id))
    }

    /// The DER `OCSPResponse` to `request`: one SingleResponse per CertID, in request order, with
    /// `status` of each serial and the window's times; `unauthorized` if any CertID names
    /// another issuer; `internalError` if encoding or signing fails.
    ///
    /// producedAt is the window start, so answers are identical within a window, unless the
    /// request has a nonce: then producedAt is `window.now` and the nonce is echoed.
    pub fn respond(
        &self,
        request: &OcspRequest,
        status: &dyn Fn(&Serial) -> CertStatus,
        window: OcspWindow,
    ) -> Vec<u8> {
        if !self.is_authoritative_for(request) {
            return OcspResponse::error(OcspErrorStatus::Unauthorized);
        }
        self.signed_response(request, status, window)
            .unwrap_or_else(|| OcspResponse::error(OcspErrorStatus::InternalError))
    }

    /// [`OcspResponder::respond`] to raw request bytes (a POST body): `malformedRequest` if they
    /// do not parse.
    pub fn respond_to_der(
        &self,
        request_der: &[u8],
        status: &dyn Fn(&Serial) -> CertStatus,
        window: OcspWindow,
    ) -> Vec<u8> {
        match OcspRequest::from_der(request_der) {
            Ok(request) => self.respond(&request, status, window),
            Err(_) => OcspResponse::error(OcspErrorStatus::MalformedRequest),
        }
    }

    /// SHA-1 of the CA's public key bits, which identifies the issuer in cache keys.
    pub(crate) fn issuer_key_sha1(&self) -> &[u8] {
        &self.sha1.key
    }

    fn is_issuer_of(&self, id: &CertId) -> bool {
        let (name, key) = self.issuer_hashes(id.algorithm());
        id.issuer_name_hash() == name && id.issuer_key_hash() == key
    }

    /// issuerNameHash and issuerKeyHash of this responder's CA under `algorithm`.
    pub(crate) fn issuer_hashes(&self, algorithm: HashAlgorithm) -> (&[u8], &[u8]) {
        let hashes = match algorithm {
            HashAlgorithm::Sha1 => &self.sha1,
            HashAlgorithm::Sha256 => &self.sha256,
        };
        (&hashes.name, &hashes.key)
    }

    /// The successful response to an authoritative request; `None` when a time is outside
    /// GeneralizedTime's range or aws-lc-rs fails to sign.
    pub(crate) fn signed_response(
        &self,
        request: &OcspRequest,
        status: &dyn Fn(&Serial) -> CertStatus,
        window: OcspWindow,
    ) -> Option<Vec<u8>> {
        let mut singles = Vec::with_capacity(request.cert_ids().len());
        for id in request.cert_ids() {
            singles.push(single_response(id.der(), status(id.serial()), window)?);
        }
        let signer = self.signer();
        signer.sign(&self.responder_id_by_key(), request, window, &singles)
    }

    /// The key, `certs` and randomness this responder signs with.
    pub(crate) fn signer(&self) -> ResponseSigner<'_> {
        ResponseSigner {
            key: &self.key,
            certs: self.certs.as_deref(),
            rng: &self.rng,
        }
    }

    /// `responderID` `byKey [2]`, as every genuine answer names its signer.
    pub(crate) fn responder_id_by_key(&self) -> Vec<u8> {
        asn1::context_constructed(2, &asn1::octet_string(&self.responder_id))
    }

    /// `responderID` `byName [1]`: the signer's subject, the other form RFC 6960 §4.2.2.3 allows.
    pub(crate) fn responder_id_by_name(&self) -> Vec<u8> {
        asn1::context_constructed(1, &self.signer_name)
    }
}

/// What signs a BasicOCSPResponse: the key, the `certs` to send along, randomness.
pub(crate) struct ResponseSigner<'a> {
    pub(crate) key: &'a RsaKeyPair,
    /// `[0] EXPLICIT SEQUENCE OF Certificate`, ready to append; `None` sends none.
    pub(crate) certs: Option<&'a [u8]>,
    pub(crate) rng: &'a SystemRandom,
}

impl ResponseSigner<'_> {
    /// The whole `OCSPResponse` with `singles` (encoded SingleResponses), signed. producedAt
    /// is the window start, or `window.now` when the request has a nonce, which is echoed.
    pub(crate) fn sign(
        &self,
        responder_id: &[u8],
        request: &OcspRequest,
        window: OcspWindow,
        singles: &[Vec<u8>],
    ) -> Option<Vec<u8>> {
        let produced_at = match request.nonce() {
            Some(_) => window.now,
            None => window.this_update,
        };
        let mut tbs_parts = vec![
            // version v1 is the DEFAULT and therefore omitted.
            responder_id.to_vec(),
            generalized_time(produced_at)?,
            asn1::sequence(singles),
        ];
        if let Some(nonce) = request.nonce() {
            let extension =
                asn1::sequence(&[asn1::oid(oid::OCSP_NONCE), asn1::octet_string(nonce)]);
            tbs_parts.push(asn1::context_constructed(1, &asn1::sequence(&[extension])));
        }
        let tbs = asn1::sequence(&tbs_parts);

        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, self.rng, &tbs, &mut signature)
            .ok()?;
        let mut bits = Vec::with_capacity(signature.len() + 1);
        bits.push(0); // no unused bits
        bits.extend_from_slice(&signature);

        let mut basic_parts = vec![
            tbs,
            asn1::sequence(&[asn1::oid(oid::SHA256_WITH_RSA), NULL.to_vec()]),
            asn1::tlv(BIT_STRING, &bits),
        ];
        if let Some(certs) = self.certs {
            basic_parts.push(certs.to_vec());
        }
        let basic = asn1::sequence(&basic_parts);
        let response_bytes =
            asn1::sequence(&[asn1::oid(oid::OCSP_BASIC), asn1::octet_string(&basic)]);
        Some(asn1::sequence(&[
            asn1::tlv(ENUMERATED, &[0]), // successful
            asn1::context_constructed(0, &response_bytes),
        ]))
    }
}

impl std::fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponder")
            .field("hierarchy", &self.hierarchy)
            .field("responder_id", &hex::encode(self.responder_id))
            .field("delegated", &self.certs.is_some())
            .finish_non_exhaustive()
    }
}

const BIT_STRING: u8 = 0x03;
const ENUMERATED: u8 = 0x0A;
const GENERALIZED_TIME: u8 = 0x18;
const NULL: [u8; 2] = [0x05, 0x00];

/// `SingleResponse { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT OPTIONAL }`, with
/// `cert_id` the DER of the CertID.
pub(crate) fn single_response(
    cert_id: &[u8],
    status: CertStatus,
    window: OcspWindow,
) -> Option<Vec<u8>> {
    let status = match status {
        CertStatus::Good => asn1::context_primitive(0, &[]),
        CertStatus::Unknown => asn1::context_primitive(2, &[]),
        CertStatus::Revoked { at, reason } => {
            // RevokedInfo { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL },
            // [1] IMPLICIT: the SEQUENCE tag is replaced, so the parts are concatenated.
            let mut info = generalized_time(at)?;
            if reason != RevocationReason::Unspecified {
                let code = asn1::tlv(ENUMERATED, &[reason.code()]);
                info.extend(asn1::context_constructed(0, &code));
            }
            asn1::context_constructed(1, &info)
        }
    };
    let mut parts = vec![
        cert_id.to_vec(),
        status,
        generalized_time(window.this_update)?,
    ];
    if let Some(next_update) = window.next_update {
        parts.push(asn1::context_constructed(
            0,
            &generalized_time(next_update)?,
        ));
    }
    Some(asn1::sequence(&parts))
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ` (UTC, whole seconds, as RFC 5280 §4.1.2.5.2 requires);
/// `None` outside years 0000..=9999.
pub(crate) fn generalized_time(at: OffsetDateTime) -> Option<Vec<u8>> {
    let at = whole_seconds(at);
    if !(0..=9999).contains(&at.year()) {
        return None;
    }
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    Some(asn1::tlv(GENERALIZED_TIME, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn error_responses_are_the_bare_status() {
        assert_eq!(
            hex::encode(OcspResponse::error(OcspErrorStatus::Unauthorized)),
            "30030a0106"
        );
        assert_eq!(
            hex::encode(OcspResponse::error(OcspErrorStatus::MalformedRequest)),
            "30030a0101"
        );
    }

    #[test]
    fn generalized_time_is_utc_whole_seconds() {
        let der = generalized_time(datetime!(2025-03-01 10:37:12.9 +09:00)).unwrap();
        assert_eq!(&der[2..], b"20250301013712Z");
        assert!(generalized_time(datetime!(-0001-01-01 00:00 UTC)).is_none());
    }
}
