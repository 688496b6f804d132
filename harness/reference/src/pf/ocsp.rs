//! OCSP as a careful PF does it: a nonce per request, and only answers signed by the CA or by a
//! responder the CA delegated to, for this CertID, fresh by the world clock, are believed.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use mock_ca::crl::RevocationReason;
use time::{Duration, OffsetDateTime};
use x509_cert::ext::Extension;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, SingleResponse, TbsRequest, Version,
};

use super::http::{Http, HttpError};
use super::mutant::{is, Mutant};
use super::x509::{self, Anchor};
use super::Status;

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// Tolerated clock disagreement on thisUpdate/nextUpdate.
const SKEW: Duration = Duration::minutes(1);
/// RFC 8954 recommends 32 octets at most; 16 random octets cannot be replayed by chance.
const NONCE_LEN: usize = 16;

/// Why no OCSP answer could be believed.
#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the responder answered HTTP {0}")]
    Status(u16),
    #[error("cannot build the request: {0}")]
    Request(der::Error),
    #[error("no random nonce")]
    Random,
    #[error("not an OCSP response: {0}")]
    Garbage(der::Error),
    #[error("responseStatus {0:?}")]
    Unsuccessful(OcspResponseStatus),
    #[error("not a basic OCSP response")]
    NotBasic,
    #[error("the response is signed by no key the CA certified")]
    Signer,
    #[error("the response signature does not verify: {0}")]
    Signature(x509::X509Error),
    #[error("the response carries no nonce; ours was {sent}")]
    NonceMissing { sent: String },
    #[error("the response echoes nonce {echoed}, not ours ({sent})")]
    NonceMismatch { sent: String, echoed: String },
    #[error("no answer for the certificate asked about")]
    NoAnswer,
    #[error("the answer has no nextUpdate (RFC 5019 §4: not to be relied on)")]
    NoNextUpdate,
    #[error(
        "stale or future answer: thisUpdate {this_update}, nextUpdate {next_update:?}, now {now}"
    )]
    Stale {
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
        now: OffsetDateTime,
    },
}

/// Asks `POST /ocsp` about `certificate`, retrying once on `tryLater`. `anchors` are the
/// certificate's CA and the other JPKI CA (trusted only by mutants).
pub fn check(
    http: &Http,
    anchors: [&Anchor; 2],
    certificate: &Certificate,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, OcspError> {
    match ask(http, anchors, certificate, now, mutant) {
        Err(OcspError::Unsuccessful(OcspResponseStatus::TryLater))
            if !is(mutant, Mutant::NoTryLaterRetry) =>
        {
            ask(http, anchors, certificate, now, mutant)
        }
        Err(OcspError::Unsuccessful(status))
            if status != OcspResponseStatus::TryLater && is(mutant, Mutant::UnsuccessfulIsGood) =>
        {
            Ok(Status::Good)
        }
        other => other,
    }
}

fn ask(
    http: &Http,
    anchors: [&Anchor; 2],
    certificate: &Certificate,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, OcspError> {
    let cert_id = cert_id(anchors[0], certificate, mutant)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| OcspError::Random)?;
    let nonce_value = octets(nonce.to_vec())?
        .to_der()
        .map_err(OcspError::Request)?;
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![Extension {
                extn_id: OCSP_NONCE,
                critical: false,
                extn_value: octets(nonce_value.clone())?,
            }]),
        },
        optional_signature: None,
    };
    let body = request.to_der().map_err(OcspError::Request)?;
    let reply = http.post("/ocsp", "application/ocsp-request", &body)?;
    if reply.status != 200 {
        return Err(OcspError::Status(reply.status));
    }
    judge(&reply.body, anchors, &cert_id, &nonce_value, now, mutant)
}

/// The CertID the PF asks about for `certificate`, issued by `ca`.
pub fn cert_id(
    ca: &Anchor,
    certificate: &Certificate,
    mutant: Option<Mutant>,
) -> Result<CertId, OcspError> {
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: octets(x509::sha1(&ca.subject_der))?,
        issuer_key_hash: octets(ca.key_hash.clone())?,
        serial_number: x509::read_serial(certificate, mutant),
    })
}

/// What [`check`] concludes from one response's DER to a request for `cert_id` with
/// `nonce_value` (the nonce extension's value): the whole of the PF's belief in an OCSP answer,
/// apart from the transport, so it can also be fed any bytes (fuzz/).
pub fn judge(
    der: &[u8],
    anchors: [&Anchor; 2],
    cert_id: &CertId,
    nonce_value: &[u8],
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, OcspError> {
    let response = OcspResponse::from_der(der).map_err(OcspError::Garbage)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(OcspError::Unsuccessful(response.response_status));
    }
    let bytes = response.response_bytes.ok_or(OcspError::NotBasic)?;
    if bytes.response_type != OCSP_BASIC {
        return Err(OcspError::NotBasic);
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(OcspError::Garbage)?;
    if !is(mutant, Mutant::SkipsOcspSignature) {
        verify_signer(&basic, anchors, now, mutant)?;
    }
    let echoed = basic
        .tbs_response_data
        .response_extensions
        .iter()
        .flatten()
        .find(|extension| extension.extn_id == OCSP_NONCE)
        .map(|extension| extension.extn_value.as_bytes());
    if !is(mutant, Mutant::IgnoresNonce) {
        check_nonce(nonce_value, echoed)?;
    }
    let mut responses = basic.tbs_response_data.responses.iter();
    let single = if is(mutant, Mutant::FirstSingleResponse) {
        responses.next()
    } else {
        responses.find(|single| same_cert_id(&single.cert_id, cert_id, mutant))
    }
    .ok_or(OcspError::NoAnswer)?;
    fresh(single, now, mutant)?;
    Ok(match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Unknown(_) if is(mutant, Mutant::UnknownIsGood) => Status::Good,
        CertStatus::Unknown(_) => Status::Unknown,
        CertStatus::Revoked(info) => Status::Revoked(match info.revocation_reason {
            // RFC 5280 §5.3.1: an absent reason is unspecified.
            None => Some(RevocationReason::Unspecified),
            Some(reason) => RevocationReason::from_code(reason as u8),
        }),
    })
}

/// Finds the key that signed the response, the CA's or a delegated responder's, and checks it.
/// A delegated responder must be certified by the CA itself (`anchors[0]`), carry
/// id-kp-OCSPSigning and be valid now (RFC 6960 §4.2.2.2).
fn verify_signer(
    basic: &BasicOcspResponse,
    [ca, other]: [&Anchor; 2],
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<(), OcspError> {
    let named =
        |certificate: &Certificate, key_hash: &[u8]| match &basic.tbs_response_data.responder_id {
            ResponderId::ByKey(hash) => hash.as_bytes() == key_hash,
            ResponderId::ByName(_) if is(mutant, Mutant::OnlyByKeyResponder) => false,
            ResponderId::ByName(name) => *name == certificate.tbs_certificate.subject,
        };
    let certified = |candidate: &Certificate| match mutant {
        Some(Mutant::TrustsEmbeddedResponder) => true,
        Some(Mutant::AcceptsOtherHierarchyResponder) => {
            ca.issued_remembered(candidate).is_ok() || other.issued(candidate).is_ok()
        }
        _ => ca.issued_remembered(candidate).is_ok(),
    };
    let by_ca =
        named(&ca.certificate, &ca.key_hash) && !is(mutant, Mutant::RequiresDelegatedResponder);
    let key = if by_ca {
        ca.public_key()
    } else {
        basic
            .certs
            .iter()
            .flatten()
            .find(|candidate| {
                named(candidate, &x509::key_hash(candidate))
                    && certified(candidate)
                    && (x509::ocsp_signing(candidate) || is(mutant, Mutant::SkipsResponderEku))
                    && (x509::valid_at(candidate, now)
                        || is(mutant, Mutant::SkipsResponderValidity))
            })
            .map(x509::public_key)
            .ok_or(OcspError::Signer)?
    };
    let signed = basic
        .tbs_response_data
        .to_der()
        .map_err(OcspError::Garbage)?;
    x509::verify(
        key,
        &basic.signature_algorithm.oid,
        &signed,
        basic.signature.raw_bytes(),
    )
    .map_err(OcspError::Signature)
}

/// The answer must echo our nonce (RFC 8954 §2.1): anything else may be a replay.
fn check_nonce(sent: &[u8], echoed: Option<&[u8]>) -> Result<(), OcspError> {
    match echoed {
        Some(echoed) if echoed == sent => Ok(()),
        Some(echoed) => Err(OcspError::NonceMismatch {
            sent: hex::encode(sent),
            echoed: hex::encode(echoed),
        }),
        None => Err(OcspError::NonceMissing {
            sent: hex::encode(sent),
        }),
    }
}

/// Whether an answer's CertID is the one asked (RFC 6960 §4.2.2.3 (1)): every part of it.
fn same_cert_id(got: &CertId, asked: &CertId, mutant: Option<Mutant>) -> bool {
    (is(mutant, Mutant::IgnoresCertIdAlgorithm)
        || got.hash_algorithm.oid == asked.hash_algorithm.oid)
        && (is(mutant, Mutant::IgnoresIssuerNameHash)
            || got.issuer_name_hash == asked.issuer_name_hash)
        && (is(mutant, Mutant::IgnoresIssuerKeyHash)
            || got.issuer_key_hash == asked.issuer_key_hash)
        && (is(mutant, Mutant::IgnoresCertIdSerial) || got.serial_number == asked.serial_number)
}

/// thisUpdate not after now, nextUpdate present and not passed, each with [`SKEW`] of
/// tolerance (RFC 5019 §4).
fn fresh(
    single: &SingleResponse,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<(), OcspError> {
    let this_update = x509::unix(single.this_update.0.to_unix_duration());
    let next_update = single
        .next_update
        .map(|next| x509::unix(next.0.to_unix_duration()));
    if next_update.is_none() && !is(mutant, Mutant::AcceptsMissingNextUpdate) {
        return Err(OcspError::NoNextUpdate);
    }
    let too_new = this_update > now + SKEW && !is(mutant, Mutant::AcceptsFutureOcsp);
    let too_old =
        next_update.is_some_and(|next| next + SKEW < now) && !is(mutant, Mutant::AcceptsStaleOcsp);
    if too_new || too_old {
        return Err(OcspError::Stale {
            this_update,
            next_update,
            now,
        });
    }
    Ok(())
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, OcspError> {
    OctetString::new(bytes).map_err(OcspError::Request)
}
