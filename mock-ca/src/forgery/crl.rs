//! Forged CRLs (RFC 5280 §5, §6.3), each made from the genuine current CRL. Except where the
//! forgery's point is an entry (`unknown_critical_entry_extension`) or another CA's genuine list
//! (`other_hierarchy`, served by the publisher), they list nothing: what an attacker hiding a
//! revocation would serve.

use der::asn1::OctetString;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_cert::crl::CertificateList;
use x509_cert::ext::Extension;

use super::{der_error, unknown_critical_extension, x509_time, Resigner};
use crate::error::Result;
use crate::hierarchy::CertificateAuthority;
use crate::keys::KeyMaterial;
use crate::{asn1, names};

const WHAT: &str = "CRL";
const ISSUING_DISTRIBUTION_POINT: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.28");

/// How a CRL served at a CRL URL is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CrlForgery {
    /// The other JPKI CA's genuine, current full CRL, at any CRL URL.
    OtherHierarchy,
    /// The CA's name and key identifier, signed by a key nobody certified.
    UnknownKey,
    /// Signed by the CA, with one more CRL extension, critical, that no verifier knows.
    UnknownCriticalExtension,
    /// Signed by the CA, listing what it should, every entry with one more entry extension,
    /// critical, that no verifier knows.
    UnknownCriticalEntryExtension,
    /// Signed by the CA, without nextUpdate.
    NoNextUpdate,
    /// Signed by the CA, thisUpdate a day after now.
    NotYetIssued,
    /// Signed by the CA, a partition (critical issuingDistributionPoint) for a distribution
    /// point no certificate names.
    PartitionNotCovering,
}

/// Forges `forgery` from `genuine_der`, the current CRL of `ca`. `impostor` is the attacker's
/// key, `now` the world's time. [`CrlForgery::OtherHierarchy`] needs the other CA's list: it
/// returns `genuine_der` unchanged, and the publisher serves the other list instead.
pub fn forge_crl(
    genuine_der: &[u8],
    forgery: CrlForgery,
    ca: &CertificateAuthority,
    impostor: &KeyMaterial,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    let mut crl = CertificateList::from_der(genuine_der).map_err(der_error(WHAT))?;
    let tbs = &mut crl.tbs_cert_list;
    let mut signer = Resigner::of_ca(ca, WHAT)?;
    match forgery {
        CrlForgery::OtherHierarchy => return Ok(genuine_der.to_vec()),
        CrlForgery::UnknownKey => {
            tbs.revoked_certificates = None;
            signer = Resigner::of_key(impostor, WHAT)?;
        }
        CrlForgery::UnknownCriticalExtension => {
            tbs.revoked_certificates = None;
            tbs.crl_extensions
                .get_or_insert_with(Vec::new)
                .push(unknown_critical_extension(WHAT)?);
        }
        CrlForgery::UnknownCriticalEntryExtension => {
            for entry in tbs.revoked_certificates.iter_mut().flatten() {
                entry
                    .crl_entry_extensions
                    .get_or_insert_with(Vec::new)
                    .push(unknown_critical_extension(WHAT)?);
            }
        }
        CrlForgery::NoNextUpdate => {
            tbs.revoked_certificates = None;
            tbs.next_update = None;
        }
        CrlForgery::NotYetIssued => {
            tbs.revoked_certificates = None;
            let this_update = now + Duration::DAY;
            tbs.this_update = x509_time(this_update, "forged CRL thisUpdate")?;
            tbs.next_update = Some(x509_time(
                this_update + Duration::DAY,
                "forged CRL nextUpdate",
            )?);
        }
        CrlForgery::PartitionNotCovering => {
            tbs.revoked_certificates = None;
            tbs.crl_extensions
                .get_or_insert_with(Vec::new)
                .push(foreign_partition(ca)?);
        }
    }
    let tbs_der = crl.tbs_cert_list.to_der().map_err(der_error(WHAT))?;
    crl.signature = signer.sign(&tbs_der, WHAT)?;
    crl.to_der().map_err(der_error(WHAT))
}

/// The distribution point no certificate names: a partition of a municipality that does not
/// exist, in the form the genuine partitions have.
pub const FOREIGN_PARTITION: (&str, &str) = ("Forged-ken", "Nowhere-shi");

/// A critical issuingDistributionPoint naming [`FOREIGN_PARTITION`], as a partition CRL carries.
fn foreign_partition(ca: &CertificateAuthority) -> Result<Extension> {
    let (prefecture, municipality) = FOREIGN_PARTITION;
    let partition = names::crl_partition_name(ca.hierarchy(), prefecture, municipality);
    let general_name = asn1::context_constructed(4, &partition.to_der());
    let idp = asn1::sequence(&[
        asn1::context_constructed(0, &asn1::context_constructed(0, &general_name)),
        asn1::context_primitive(1, &[0xFF]),
    ]);
    Ok(Extension {
        extn_id: ISSUING_DISTRIBUTION_POINT,
        critical: true,
        extn_value: OctetString::new(idp).map_err(der_error(WHAT))?,
    })
}
