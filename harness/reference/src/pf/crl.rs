//! CRL checks: the full CRL of the hierarchy, believed only if the CA signed it and it is current
//! by the world clock (thisUpdate ≤ now < nextUpdate).

use der::{Decode, Encode};
use mock_ca::crl::RevocationReason;
use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::Certificate;

use super::http::{Http, HttpError};
use super::mutant::{is, Mutant};
use super::x509::{self, Anchor};
use super::Status;

const REASON_CODE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.21");

/// Why no CRL could be believed.
#[derive(Debug, thiserror::Error)]
pub enum CrlError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{path} answered HTTP {status}")]
    Status { path: String, status: u16 },
    #[error("not a CRL: {0}")]
    Garbage(der::Error),
    #[error("the CRL is not the CA's: {0}")]
    Signer(x509::X509Error),
    #[error("the CRL has no nextUpdate")]
    NoNextUpdate,
    #[error(
        "the CRL is not current: thisUpdate {this_update}, nextUpdate {next_update}, now {now}"
    )]
    Stale {
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        now: OffsetDateTime,
    },
    #[error("the CRL has a critical extension this PF does not understand")]
    Critical,
}

/// Looks `certificate` up on `GET /crl/{hierarchy}.crl`.
pub fn check(
    http: &Http,
    ca: &Anchor,
    hierarchy: &str,
    certificate: &Certificate,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, CrlError> {
    let path = format!("/crl/{hierarchy}.crl");
    let reply = http.get(&path)?;
    if reply.status != 200 {
        return Err(CrlError::Status {
            path,
            status: reply.status,
        });
    }
    let crl = CertificateList::from_der(&reply.body).map_err(CrlError::Garbage)?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer.to_der().map_err(CrlError::Garbage)? != ca.subject_der {
        return Err(CrlError::Signer(x509::X509Error::Issuer {
            expected: ca.name().to_string(),
        }));
    }
    x509::verify(
        ca.public_key(),
        &crl.signature_algorithm.oid,
        &tbs.to_der().map_err(CrlError::Garbage)?,
        crl.signature.raw_bytes(),
    )
    .map_err(CrlError::Signer)?;
    let this_update = x509::to_time(&tbs.this_update);
    let next_update = x509::to_time(tbs.next_update.as_ref().ok_or(CrlError::NoNextUpdate)?);
    let current = if is(mutant, Mutant::AcceptsStaleCrl) {
        this_update <= now
    } else {
        this_update <= now && now < next_update
    };
    if !current {
        return Err(CrlError::Stale {
            this_update,
            next_update,
            now,
        });
    }
    // A critical extension (a partition's issuingDistributionPoint, a delta indicator) changes
    // what the list covers; not understanding it means not knowing what absence means.
    if tbs.crl_extensions.iter().flatten().any(|ext| ext.critical) {
        return Err(CrlError::Critical);
    }
    let serial = &certificate.tbs_certificate.serial_number;
    let Some(entry) = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|entry| entry.serial_number == *serial)
    else {
        return Ok(Status::Good);
    };
    let extensions = entry.crl_entry_extensions.iter().flatten();
    if extensions
        .clone()
        .any(|ext| ext.critical && ext.extn_id != REASON_CODE)
    {
        return Err(CrlError::Critical);
    }
    let reason = match extensions.clone().find(|ext| ext.extn_id == REASON_CODE) {
        // RFC 5280 §5.3.1: an absent reason is unspecified.
        None => Some(RevocationReason::Unspecified),
        Some(ext) => CrlReason::from_der(ext.extn_value.as_bytes())
            .ok()
            .and_then(|reason| RevocationReason::from_code(reason as u8)),
    };
    Ok(Status::Revoked(reason))
}
