//! CRL checks (RFC 5280 §6.3): the full CRL of the hierarchy, believed only if the CA signed it,
//! it is current by the world clock (thisUpdate ≤ now < nextUpdate), its scope covers the
//! certificate, and it has no critical extension this PF does not understand.

use der::{Decode, Encode};
use mock_ca::crl::RevocationReason;
use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{CrlDistributionPoints, CrlReason};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use super::http::{Http, HttpError};
use super::mutant::{is, Mutant};
use super::x509::{self, Anchor};
use super::Status;

const REASON_CODE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.21");
const ISSUING_DISTRIBUTION_POINT: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.28");
const CRL_DISTRIBUTION_POINTS: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.31");

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
    #[error("the CA's certificate does not allow it to sign CRLs (keyUsage without cRLSign)")]
    NoCrlSign,
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
    #[error("the CRL is a partition that does not cover the certificate")]
    NotCovering,
}

/// Looks `certificate` up on `GET /crl/{hierarchy}.crl`. `anchors` are the certificate's CA
/// and the other JPKI CA (trusted only by mutants).
pub fn check(
    http: &Http,
    [ca, other]: [&Anchor; 2],
    hierarchy: &str,
    certificate: &Certificate,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, CrlError> {
    let path = partition_path(http, hierarchy, certificate, mutant)
        .unwrap_or_else(|| format!("/crl/{hierarchy}.crl"));
    let reply = http.get(&path)?;
    if reply.status != 200 {
        return Err(CrlError::Status {
            path,
            status: reply.status,
        });
    }
    judge(&reply.body, [ca, other], certificate, now, mutant)
}

/// What [`check`] concludes from the CRL's DER once fetched: the whole of the PF's belief in a
/// CRL, apart from the transport, so it can also be fed any bytes (fuzz/).
pub fn judge(
    der: &[u8],
    [ca, other]: [&Anchor; 2],
    certificate: &Certificate,
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Status, CrlError> {
    let crl = CertificateList::from_der(der).map_err(CrlError::Garbage)?;
    let tbs = &crl.tbs_cert_list;
    let signed_by = |anchor: &Anchor| -> Result<(), CrlError> {
        if tbs.issuer.to_der().map_err(CrlError::Garbage)? != anchor.subject_der {
            return Err(CrlError::Signer(x509::X509Error::Issuer {
                expected: anchor.name().to_string(),
            }));
        }
        if is(mutant, Mutant::SkipsCrlSignature) {
            return Ok(());
        }
        // RFC 5280 §6.3.3 (f): the CRL issuer's key must be one certified to sign CRLs.
        if !x509::may_sign_crls(&anchor.certificate) && !is(mutant, Mutant::IgnoresCrlSign) {
            return Err(CrlError::NoCrlSign);
        }
        x509::verify(
            anchor.public_key(),
            &crl.signature_algorithm.oid,
            &tbs.to_der().map_err(CrlError::Garbage)?,
            crl.signature.raw_bytes(),
        )
        .map_err(CrlError::Signer)
    };
    match signed_by(ca) {
        Err(_) if is(mutant, Mutant::AcceptsOtherHierarchyCrl) && signed_by(other).is_ok() => {}
        signed => signed?,
    }
    let this_update = x509::to_time(&tbs.this_update);
    let next_update = match &tbs.next_update {
        Some(next) => x509::to_time(next),
        None if is(mutant, Mutant::AcceptsCrlWithoutNextUpdate) => now + time::Duration::DAY,
        None => return Err(CrlError::NoNextUpdate),
    };
    let issued = this_update <= now || is(mutant, Mutant::AcceptsFutureCrl);
    let unexpired = now < next_update || is(mutant, Mutant::AcceptsStaleCrl);
    if !(issued && unexpired) {
        return Err(CrlError::Stale {
            this_update,
            next_update,
            now,
        });
    }
    if !is(mutant, Mutant::IgnoresCriticalCrlExtension) {
        for extension in tbs.crl_extensions.iter().flatten() {
            if extension.extn_id == ISSUING_DISTRIBUTION_POINT {
                // A partition lists only the certificates of its distribution point: absence
                // from it says nothing of a certificate elsewhere.
                if !is(mutant, Mutant::IgnoresCrlScope) && !covers(extension, certificate) {
                    return Err(CrlError::NotCovering);
                }
            } else if extension.critical {
                return Err(CrlError::Critical);
            }
        }
    }
    // §5.3: a critical entry extension this PF cannot process makes the whole CRL unusable.
    let unknown_entry_extension = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .flat_map(|entry| entry.crl_entry_extensions.iter().flatten())
        .any(|ext| ext.critical && ext.extn_id != REASON_CODE);
    if unknown_entry_extension && !is(mutant, Mutant::IgnoresCriticalEntryExtension) {
        return Err(CrlError::Critical);
    }
    let serial = &x509::read_serial(certificate, mutant);
    let Some(entry) = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|entry| entry.serial_number == *serial)
    else {
        return Ok(Status::Good);
    };
    let extensions = entry.crl_entry_extensions.iter().flatten();
    let reason = match extensions.clone().find(|ext| ext.extn_id == REASON_CODE) {
        // RFC 5280 §5.3.1: an absent reason is unspecified.
        None => Some(RevocationReason::Unspecified),
        Some(ext) => CrlReason::from_der(ext.extn_value.as_bytes())
            .ok()
            .and_then(|reason| RevocationReason::from_code(reason as u8)),
    };
    Ok(Status::Revoked(reason))
}

/// The path of the partition CRL of `certificate`'s distribution point, from the CRL index
/// (`/crl/{hierarchy}/index.json`): the partition whose name is, byte for byte, a directoryName
/// the certificate's cRLDistributionPoints carries. `None` (use the full list) when the index
/// is unavailable or names none of them.
fn partition_path(
    http: &Http,
    hierarchy: &str,
    certificate: &Certificate,
    mutant: Option<Mutant>,
) -> Option<String> {
    if is(mutant, Mutant::FullCrlOnly) {
        return None;
    }
    let index = http.get(&format!("/crl/{hierarchy}/index.json")).ok()?;
    let index = index.json()?;
    let names: Vec<String> = distribution_points(certificate)
        .into_iter()
        .flatten()
        .filter_map(|name| match name {
            GeneralName::DirectoryName(name) => name.to_der().ok().map(hex::encode_upper),
            _ => None,
        })
        .collect();
    index
        .get("partitions")?
        .as_array()?
        .iter()
        .find(|entry| {
            entry
                .get("name_der_hex")
                .and_then(|der| der.as_str())
                .is_some_and(|der| names.iter().any(|name| name == der))
        })?
        .get("path")?
        .as_str()
        .map(str::to_owned)
}

/// The fullName of each of `certificate`'s CRL distribution points.
fn distribution_points(certificate: &Certificate) -> Vec<Vec<GeneralName>> {
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|ext| ext.extn_id == CRL_DISTRIBUTION_POINTS)
        .filter_map(|ext| CrlDistributionPoints::from_der(ext.extn_value.as_bytes()).ok())
        .flat_map(|points| points.0)
        .filter_map(|point| match point.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .collect()
}

/// Whether the issuingDistributionPoint `extension` covers `certificate` (RFC 5280 §6.3.3 (b)):
/// a scope this PF reads (no onlySomeReasons, not indirect, not CA certificates only, not
/// attribute certificates only) whose distribution point is one the certificate names. An
/// unreadable extension covers nothing.
fn covers(extension: &Extension, certificate: &Certificate) -> bool {
    let Ok(idp) = IssuingDistributionPoint::from_der(extension.extn_value.as_bytes()) else {
        return false;
    };
    if idp.only_some_reasons.is_some()
        || idp.indirect_crl
        || idp.only_contains_ca_certs
        || idp.only_contains_attribute_certs
    {
        return false;
    }
    let Some(DistributionPointName::FullName(scope)) = idp.distribution_point else {
        // No distribution point: the CRL covers every certificate the CA issued.
        return idp.distribution_point.is_none();
    };
    distribution_points(certificate)
        .iter()
        .any(|names| names.iter().any(|name| scope.contains(name)))
}
