//! Forged OCSP answers (RFC 6960): well-formed, correctly signed by *some* key, each wrong in
//! one way a client must check. Except where a forgery's point is a legitimate variation the
//! client must accept (`responder_by_name`) or an answer the client must pick correctly
//! (`good_for_another_first`), they say `good` for every certificate asked about.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::RsaKeyPair;
use rcgen::{CertificateParams, Issuer, KeyIdMethod};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::asn1::{self, tag};
use crate::error::{Error, Result};
use crate::hierarchy::CertificateAuthority;
use crate::keys::{signing_key, KeyMaterial, SubjectKey};
use crate::names;
use crate::ocsp::response::{single_response, ResponseSigner};
use crate::ocsp::{
    CertId, CertStatus, HashAlgorithm, OcspRequest, OcspResponder, OcspWindow, ResponderCertificate,
};
use crate::serial::Serial;

const WHAT: &str = "OCSP response";
const SHA1: &[u64] = &[1, 3, 14, 3, 2, 26];
const SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];

/// How an OCSP answer is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OcspForgery {
    /// The SingleResponse names another serial number (the asked one with its last bit flipped).
    OtherSerial,
    /// The SingleResponse's issuerNameHash is the other JPKI CA's.
    OtherIssuerNameHash,
    /// The SingleResponse's issuerKeyHash is the other JPKI CA's.
    OtherIssuerKeyHash,
    /// The SingleResponse's hash algorithm is relabelled (SHA-1 ↔ SHA-256), its hashes kept.
    MislabelledHashAlgorithm,
    /// A `good` for another serial first, then the true answer for the one asked about.
    GoodForAnotherFirst,
    /// thisUpdate a day after now.
    FutureThisUpdate,
    /// No nextUpdate (RFC 5019 §4: a client must then reject the response).
    NoNextUpdate,
    /// Signed by a delegated responder whose certificate names the CA as issuer but was signed
    /// by an attacker CA that copies the CA's name and key identifier.
    ResponderNotIssuedByCa,
    /// Signed by a responder certificate the CA issued without id-kp-OCSPSigning.
    ResponderWithoutOcspSigning,
    /// Signed by a responder certificate the CA issued with id-kp-OCSPSigning that expired
    /// yesterday.
    ResponderExpired,
    /// Signed by a genuine delegated responder of the *other* JPKI CA.
    ResponderOfOtherHierarchy,
    /// The genuine signer, the true status, and the responder identified `byName` rather than
    /// `byKey` (RFC 6960 §4.2.2.3 allows both): a client must accept it.
    ResponderByName,
}

/// What forging an answer needs: both CAs' genuine responders and the attacker's key.
pub struct OcspForgeryContext<'a> {
    /// The CA the request asks about.
    pub ca: &'a CertificateAuthority,
    /// Its genuine responder.
    pub responder: &'a OcspResponder,
    /// The other JPKI CA.
    pub other_ca: &'a CertificateAuthority,
    /// The other CA's genuine responder.
    pub other_responder: &'a OcspResponder,
    /// The attacker's key, which nobody certified.
    pub impostor: &'a KeyMaterial,
    /// The world's time.
    pub now: OffsetDateTime,
}

/// The DER `OCSPResponse` forging `forgery` for `request`, with `status` the truth.
pub fn forge_ocsp(
    forgery: OcspForgery,
    cx: &OcspForgeryContext<'_>,
    request: &OcspRequest,
    status: &dyn Fn(&Serial) -> CertStatus,
    window: OcspWindow,
) -> Result<Vec<u8>> {
    let mut window = window;
    match forgery {
        OcspForgery::FutureThisUpdate => {
            let length = window
                .next_update
                .map_or(Duration::minutes(15), |next| next - window.this_update);
            window.this_update = cx.now + Duration::DAY;
            window.next_update = Some(window.this_update + length);
        }
        OcspForgery::NoNextUpdate => window.next_update = None,
        _ => {}
    }
    let mut singles = Vec::new();
    for id in request.cert_ids() {
        let good = |cert_id: &[u8]| {
            single_response(cert_id, CertStatus::Good, window).ok_or(Error::DateOutOfRange {
                what: "forged OCSP times",
            })
        };
        let (other_name, other_key) = cx.other_responder.issuer_hashes(id.algorithm());
        match forgery {
            OcspForgery::OtherSerial => {
                singles.push(good(&cert_id_der(
                    id,
                    None,
                    None,
                    None,
                    Some(&flipped(id)?),
                ))?);
            }
            OcspForgery::OtherIssuerNameHash => {
                singles.push(good(&cert_id_der(id, None, Some(other_name), None, None))?);
            }
            OcspForgery::OtherIssuerKeyHash => {
                singles.push(good(&cert_id_der(id, None, None, Some(other_key), None))?);
            }
            OcspForgery::MislabelledHashAlgorithm => {
                let relabelled = match id.algorithm() {
                    HashAlgorithm::Sha1 => HashAlgorithm::Sha256,
                    HashAlgorithm::Sha256 => HashAlgorithm::Sha1,
                };
                singles.push(good(&cert_id_der(id, Some(relabelled), None, None, None))?);
            }
            OcspForgery::GoodForAnotherFirst => {
                singles.push(good(&cert_id_der(
                    id,
                    None,
                    None,
                    None,
                    Some(&flipped(id)?),
                ))?);
                singles.push(truthful(id, status, window)?);
            }
            OcspForgery::ResponderByName => singles.push(truthful(id, status, window)?),
            _ => singles.push(good(id.der())?),
        }
    }
    let rng = SystemRandom::new();
    let signed = match forgery {
        OcspForgery::ResponderNotIssuedByCa => {
            let attacker = attacker_ca(cx.ca, cx.impostor)?;
            forged_responder(
                cx,
                &attacker,
                cx.ca,
                (cx.ca.not_before(), cx.ca.not_after()),
                true,
            )?
            .sign(&rng, request, window, &singles)
        }
        OcspForgery::ResponderWithoutOcspSigning => forged_responder(
            cx,
            cx.ca.signer(),
            cx.ca,
            (cx.ca.not_before(), cx.ca.not_after()),
            false,
        )?
        .sign(&rng, request, window, &singles),
        OcspForgery::ResponderExpired => {
            let not_after = (cx.now - Duration::DAY).max(cx.ca.not_before() + Duration::SECOND);
            forged_responder(
                cx,
                cx.ca.signer(),
                cx.ca,
                (cx.ca.not_before(), not_after),
                true,
            )?
            .sign(&rng, request, window, &singles)
        }
        OcspForgery::ResponderOfOtherHierarchy => {
            let other = cx.other_ca;
            forged_responder(
                cx,
                other.signer(),
                other,
                (other.not_before(), other.not_after()),
                true,
            )?
            .sign(&rng, request, window, &singles)
        }
        OcspForgery::ResponderByName => cx.responder.signer().sign(
            &cx.responder.responder_id_by_name(),
            request,
            window,
            &singles,
        ),
        _ => cx.responder.signer().sign(
            &cx.responder.responder_id_by_key(),
            request,
            window,
            &singles,
        ),
    };
    signed.ok_or(Error::ForgerySignature { what: WHAT })
}

/// The true SingleResponse for `id`.
fn truthful(
    id: &CertId,
    status: &dyn Fn(&Serial) -> CertStatus,
    window: OcspWindow,
) -> Result<Vec<u8>> {
    single_response(id.der(), status(id.serial()), window).ok_or(Error::DateOutOfRange {
        what: "forged OCSP times",
    })
}

/// The serial asked about with its last bit flipped: another certificate's.
fn flipped(id: &CertId) -> Result<Serial> {
    let mut bytes = id.serial().as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    if bytes.first() == Some(&0) {
        bytes.remove(0);
    }
    Serial::from_bytes(&bytes)
}

/// `id` re-encoded with the given parts replaced.
fn cert_id_der(
    id: &CertId,
    algorithm: Option<HashAlgorithm>,
    name_hash: Option<&[u8]>,
    key_hash: Option<&[u8]>,
    serial: Option<&Serial>,
) -> Vec<u8> {
    let algorithm = match algorithm.unwrap_or(id.algorithm()) {
        HashAlgorithm::Sha1 => SHA1,
        HashAlgorithm::Sha256 => SHA256,
    };
    let mut algorithm_parts = vec![asn1::oid(algorithm)];
    if id.null_parameters() {
        algorithm_parts.push(asn1::tlv(tag::NULL, &[]));
    }
    let serial = serial.unwrap_or(id.serial());
    asn1::sequence(&[
        asn1::sequence(&algorithm_parts),
        asn1::octet_string(name_hash.unwrap_or(id.issuer_name_hash())),
        asn1::octet_string(key_hash.unwrap_or(id.issuer_key_hash())),
        asn1::tlv(
            tag::INTEGER,
            &asn1::unsigned_integer_content(serial.as_bytes()),
        ),
    ])
}

/// An issuer that names `ca` (subject and key identifier) but signs with `impostor`.
fn attacker_ca(
    ca: &CertificateAuthority,
    impostor: &KeyMaterial,
) -> Result<Issuer<'static, rcgen::KeyPair>> {
    let mut params = CertificateParams::default();
    params.distinguished_name = names::ca_name(ca.hierarchy()).to_rcgen()?;
    params.key_identifier_method = KeyIdMethod::PreSpecified(ca.key_identifier().to_vec());
    Ok(Issuer::new(
        params,
        signing_key(impostor.pkcs8_der(), "attacker CA")?,
    ))
}

/// A responder certificate for the impostor key, issued by `issuer` in the name of `named`,
/// and the signer that goes with it.
fn forged_responder(
    cx: &OcspForgeryContext<'_>,
    issuer: &Issuer<'_, rcgen::KeyPair>,
    named: &CertificateAuthority,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    ocsp_signing: bool,
) -> Result<ForgedSigner> {
    let certificate = ResponderCertificate::issue_by(
        named,
        issuer,
        cx.impostor,
        not_before,
        not_after,
        ocsp_signing,
    )?;
    let key = RsaKeyPair::from_pkcs8(cx.impostor.pkcs8_der())
        .map_err(|_| Error::ForgerySignature { what: WHAT })?;
    let key_hash = SubjectKey::from_spki_der(cx.impostor.spki_der())?.key_id();
    Ok(ForgedSigner {
        key,
        certs: asn1::context_constructed(0, &asn1::sequence(&[certificate.der().to_vec()])),
        responder_id: asn1::context_constructed(2, &asn1::octet_string(&key_hash)),
    })
}

/// A signer the CA did not (properly) delegate to.
struct ForgedSigner {
    key: RsaKeyPair,
    certs: Vec<u8>,
    responder_id: Vec<u8>,
}

impl ForgedSigner {
    fn sign(
        &self,
        rng: &SystemRandom,
        request: &OcspRequest,
        window: OcspWindow,
        singles: &[Vec<u8>],
    ) -> Option<Vec<u8>> {
        ResponseSigner {
            key: &self.key,
            certs: Some(&self.certs),
            rng,
        }
        .sign(&self.responder_id, request, window, singles)
    }
}
