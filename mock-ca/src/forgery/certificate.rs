//! Forged end-entity certificates, each made from a holder's genuine one: the serial and key stay
//! (and the subject, but where an end entity plays issuer), so the status services still vouch
//! for the serial and the card's signature still verifies under the certified key. Only the one
//! forged property can make a verifier refuse.

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
const SUBJECT_KEY_IDENTIFIER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14");
const AUTHORITY_KEY_IDENTIFIER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.35");
const EXTENDED_KEY_USAGE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-kp-emailProtection (RFC 5280 §4.2.1.12): a purpose neither JPKI certificate serves.
const KP_EMAIL_PROTECTION: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
const CERTIFICATE_POLICIES: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.32");
/// The JPKI policies of the two certificate kinds (docs/card-protocol.md, certificate profiles).
const POLICY_SIGN: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.20");
const POLICY_AUTH: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30");
/// The RDN the end-entity-issued forgery adds to the holder's subject, so that it is not
/// self-issued (a certificate whose subject is its issuer's reads as a self-signed root).
const IMPOSTOR_RDN: &str = "OU=jpki-sim issued by an end entity";
/// The RDN the other-issuer-name forgery adds to the CA's name in the issuer field.
const OTHER_ISSUER_RDN: &str = "OU=jpki-sim another issuer";

/// How an end-entity certificate presented at enrolment is forged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CertificateForgery {
    /// The genuine contents signed by an attacker CA that copies the CA's subject name and key
    /// identifier but holds its own key: only the signature tells them apart.
    AttackerCa,
    /// The [`CertificateForgery::AttackerCa`] certificate, presented with the genuine CA's own
    /// certificate as its intermediate: a verifier that climbs to a presented certificate by
    /// name without checking its signature on the one below reaches the trusted CA.
    AttackerCaUnderTheCa,
    /// The genuine certificate with notAfter moved five years on after the CA signed it, the
    /// CA's signature kept: the signature no longer covers the contents.
    AlteredAfterSigning,
    /// Signed by the CA, with one more extension, critical, that no verifier knows.
    UnknownCriticalExtension,
    /// Signed by the CA's key, with one more RDN in the issuer name: the key is the CA's, the
    /// name is nobody's the verifier trusts, so the names do not chain.
    OtherIssuerName,
    /// Signed by the CA, with notBefore a day after now.
    NotYetValid,
    /// Signed by the CA, with keyUsage keyEncipherment only: the key may not sign.
    WrongKeyUsage,
    /// Signed by the CA, with certificatePolicies naming the other kind's policy (the
    /// authentication policy on a signature certificate and the other way round): the CA
    /// vouches for the key, but not for this use.
    OtherUsePolicy,
    /// Signed by the CA, with extendedKeyUsage id-kp-emailProtection only: in place of the
    /// authentication certificate's clientAuth, and added to the signature certificate, which
    /// has none. The key may then serve that purpose alone.
    OtherExtendedKeyUsage,
    /// Issued by the holder's own genuine certificate, as if an end entity could be a CA: the
    /// holder's key signs it, its issuer is the genuine certificate's subject (its own subject
    /// gets one more RDN, so it is not self-issued) and its authorityKeyIdentifier names the
    /// genuine certificate. Presented with the genuine certificate as the intermediate, whose
    /// basicConstraints do not make it a CA; everything else in the path checks out.
    IssuedByEndEntity,
}

/// A forged certificate, with what must be presented along with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedCertificate {
    /// The forged end-entity certificate (DER).
    pub der: Vec<u8>,
    /// The certificates to present between it and the CA (DER, nearest first); empty for
    /// every forgery but [`CertificateForgery::IssuedByEndEntity`].
    pub intermediates: Vec<Vec<u8>>,
}

/// The keys a certificate forgery may sign with.
pub struct ForgerySigners<'a> {
    /// The CA that issued the genuine certificate.
    pub ca: &'a CertificateAuthority,
    /// A key nobody certified: the attacker CA's.
    pub impostor: &'a KeyMaterial,
    /// The holder's key of the genuine certificate (the card's), for
    /// [`CertificateForgery::IssuedByEndEntity`]; `None` if the caller has none.
    pub holder: Option<&'a KeyMaterial>,
}

impl CertificateForgery {
    /// Whether this forgery is signed with the holder's key ([`ForgerySigners::holder`]).
    pub fn needs_holder_key(self) -> bool {
        self == CertificateForgery::IssuedByEndEntity
    }
}

/// Forges `forgery` from the genuine certificate `genuine_der` that `signers.ca` issued; `now` is
/// the world's time.
pub fn forge_certificate(
    genuine_der: &[u8],
    forgery: CertificateForgery,
    signers: &ForgerySigners<'_>,
    now: OffsetDateTime,
) -> Result<ForgedCertificate> {
    let ca = signers.ca;
    let mut certificate = Certificate::from_der(genuine_der).map_err(der_error(WHAT))?;
    let mut intermediates = Vec::new();
    let tbs = &mut certificate.tbs_certificate;
    let signer = match forgery {
        CertificateForgery::AttackerCa => Some(Resigner::of_key(signers.impostor, WHAT)?),
        CertificateForgery::AttackerCaUnderTheCa => {
            intermediates.push(ca.certificate_der().to_vec());
            Some(Resigner::of_key(signers.impostor, WHAT)?)
        }
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
        CertificateForgery::OtherIssuerName => {
            let rdn = OTHER_ISSUER_RDN
                .parse::<x509_cert::name::RelativeDistinguishedName>()
                .map_err(der_error(WHAT))?;
            tbs.issuer.0.push(rdn);
            Some(Resigner::of_ca(ca, WHAT)?)
        }
        CertificateForgery::OtherUsePolicy => {
            other_use_policy(tbs)?;
            Some(Resigner::of_ca(ca, WHAT)?)
        }
        CertificateForgery::OtherExtendedKeyUsage => {
            let usage = x509_cert::ext::pkix::ExtendedKeyUsage(vec![KP_EMAIL_PROTECTION]);
            let extensions = tbs.extensions.get_or_insert_with(Vec::new);
            extensions.retain(|extension| extension.extn_id != EXTENDED_KEY_USAGE);
            extensions.push(x509_cert::ext::Extension {
                extn_id: EXTENDED_KEY_USAGE,
                critical: false,
                extn_value: OctetString::new(usage.to_der().map_err(der_error(WHAT))?)
                    .map_err(der_error(WHAT))?,
            });
            Some(Resigner::of_ca(ca, WHAT)?)
        }
        CertificateForgery::IssuedByEndEntity => {
            let holder = signers
                .holder
                .ok_or(crate::Error::ForgeryNeedsHolderKey { what: WHAT })?;
            issued_by_end_entity(tbs)?;
            intermediates.push(genuine_der.to_vec());
            Some(Resigner::of_key(holder, WHAT)?)
        }
    };
    if let Some(signer) = signer {
        let tbs_der = certificate
            .tbs_certificate
            .to_der()
            .map_err(der_error(WHAT))?;
        certificate.signature = signer.sign(&tbs_der, WHAT)?;
    }
    Ok(ForgedCertificate {
        der: certificate.to_der().map_err(der_error(WHAT))?,
        intermediates,
    })
}

/// Swaps each JPKI policy in certificatePolicies for the other kind's, qualifiers kept.
fn other_use_policy(tbs: &mut x509_cert::TbsCertificate) -> Result<()> {
    use x509_cert::ext::pkix::CertificatePolicies;
    for extension in tbs.extensions.iter_mut().flatten() {
        if extension.extn_id != CERTIFICATE_POLICIES {
            continue;
        }
        let mut policies = CertificatePolicies::from_der(extension.extn_value.as_bytes())
            .map_err(der_error(WHAT))?;
        for policy in &mut policies.0 {
            policy.policy_identifier = match policy.policy_identifier {
                POLICY_SIGN => POLICY_AUTH,
                POLICY_AUTH => POLICY_SIGN,
                other => other,
            };
        }
        extension.extn_value = OctetString::new(policies.to_der().map_err(der_error(WHAT))?)
            .map_err(der_error(WHAT))?;
    }
    Ok(())
}

/// Turns the genuine TBS into one the genuine certificate issued: issuer, subject and
/// authorityKeyIdentifier (keyIdentifier, and the genuine certificate's issuer and serial, as
/// RFC 5280 §4.2.1.1 has them).
fn issued_by_end_entity(tbs: &mut x509_cert::TbsCertificate) -> Result<()> {
    let genuine_subject = tbs.subject.clone();
    let genuine_issuer = tbs.issuer.to_der().map_err(der_error(WHAT))?;
    let genuine_serial = tbs.serial_number.as_bytes().to_vec();
    let impostor_rdn = IMPOSTOR_RDN
        .parse::<x509_cert::name::RelativeDistinguishedName>()
        .map_err(der_error(WHAT))?;
    tbs.subject.0.push(impostor_rdn);
    tbs.issuer = genuine_subject;
    let extensions = tbs.extensions.get_or_insert_with(Vec::new);
    let key_id = extensions
        .iter()
        .find(|extension| extension.extn_id == SUBJECT_KEY_IDENTIFIER)
        .map(|extension| OctetString::from_der(extension.extn_value.as_bytes()))
        .transpose()
        .map_err(der_error(WHAT))?;
    extensions.retain(|extension| extension.extn_id != AUTHORITY_KEY_IDENTIFIER);
    let mut identifier = Vec::new();
    if let Some(key_id) = key_id {
        identifier.push(asn1::context_primitive(0, key_id.as_bytes()));
    }
    identifier.push(asn1::context_constructed(
        1,
        &asn1::context_constructed(4, &genuine_issuer),
    ));
    identifier.push(asn1::context_primitive(2, &genuine_serial));
    extensions.push(x509_cert::ext::Extension {
        extn_id: AUTHORITY_KEY_IDENTIFIER,
        critical: false,
        extn_value: OctetString::new(asn1::sequence(&identifier)).map_err(der_error(WHAT))?,
    });
    Ok(())
}

fn x509_to_offset(time: &x509_cert::time::Time) -> OffsetDateTime {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
