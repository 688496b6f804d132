//! Forged end-entity certificates, each made from a holder's genuine one: the serial, subject and
//! key stay, so the status services still vouch for the serial and the card's signature still
//! verifies under the certified key. Only the one forged property can make a verifier refuse.

use der::asn1::OctetString;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_cert::Certificate;

use super::{der_error, unknown_critical_extension, x509_time, Resigner};
use crate::asn1;
use crate::error::Result;
use crate::hierarchy::CertificateAuthority;
use crate::keys::KeyMaterial;

const WHAT: &str = "certificate";
const KEY_USAGE: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.15");

/// How an end-entity certificate presented at enrolment is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CertificateForgery {
    /// The genuine contents signed by an attacker CA that copies the CA's subject name and key
    /// identifier but holds its own key: only the signature tells them apart.
    AttackerCa,
    /// The genuine certificate with notAfter moved five years on after the CA signed it, the
    /// CA's signature kept: the signature no longer covers the contents.
    AlteredAfterSigning,
    /// Signed by the CA, with one more extension, critical, that no verifier knows.
    UnknownCriticalExtension,
    /// Signed by the CA, with notBefore a day after now.
    NotYetValid,
    /// Signed by the CA, with keyUsage keyEncipherment only: the key may not sign.
    WrongKeyUsage,
}

/// Forges `forgery` from the genuine certificate `genuine_der` that `ca` issued. `impostor` is
/// the attacker's key; `now` the world's time.
pub fn forge_certificate(
    genuine_der: &[u8],
    forgery: CertificateForgery,
    ca: &CertificateAuthority,
    impostor: &KeyMaterial,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    let mut certificate = Certificate::from_der(genuine_der).map_err(der_error(WHAT))?;
    let tbs = &mut certificate.tbs_certificate;
    let signer = match forgery {
        CertificateForgery::AttackerCa => Some(Resigner::of_key(impostor, WHAT)?),
        CertificateForgery::AlteredAfterSigning => {
            let not_after = x509_to_offset(&tbs.validity.not_after) + Duration::days(5 * 365);
            tbs.validity.not_after = x509_time(not_after, "forged notAfter")?;
            None
        }
        CertificateForgery::UnknownCriticalExtension => {
            tbs.extensions
                .get_or_insert_with(Vec::new)
                .push(unknown_critical_extension(WHAT)?);
            Some(Resigner::of_ca(ca, WHAT)?)
        }
        CertificateForgery::NotYetValid => {
            tbs.validity.not_before = x509_time(now + Duration::DAY, "forged notBefore")?;
            Some(Resigner::of_ca(ca, WHAT)?)
        }
        CertificateForgery::WrongKeyUsage => {
            const KEY_ENCIPHERMENT: u8 = 0x20;
            let value = asn1::named_bits(&[KEY_ENCIPHERMENT]);
            for extension in tbs.extensions.iter_mut().flatten() {
                if extension.extn_id == KEY_USAGE {
                    extension.extn_value =
                        OctetString::new(value.clone()).map_err(der_error(WHAT))?;
                }
            }
            Some(Resigner::of_ca(ca, WHAT)?)
        }
    };
    if let Some(signer) = signer {
        let tbs_der = certificate
            .tbs_certificate
            .to_der()
            .map_err(der_error(WHAT))?;
        certificate.signature = signer.sign(&tbs_der, WHAT)?;
    }
    certificate.to_der().map_err(der_error(WHAT))
}

fn x509_to_offset(time: &x509_cert::time::Time) -> OffsetDateTime {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
