//! Convincing forgeries: certificates, CRLs and OCSP answers that are right in every respect but
//! one, which a correct relying party checks (docs/conformance.md lists the checks).
//!
//! Each forgery is wrong in exactly one way, so a verifier that rejects it can only have done so
//! for that reason, and one that accepts it has skipped exactly that check. Forgeries that an
//! attacker would use to hide a revocation say what the attacker wants: forged OCSP answers say
//! `good` and forged CRLs list nothing. Tests run every forgery past OpenSSL, which must reject it
//! for the intended reason and no other.
//!
//! - [`CertificateForgery`]: an end-entity certificate presented at enrolment.
//! - [`OcspForgery`]: an answer of the OCSP responder.
//! - [`CrlForgery`]: a CRL served at a CRL URL.
//!
//! The "attacker" holds a key nobody certified (the world's impostor key) and copies whatever
//! is public: the CA's subject name, its key identifier, the holder's certificate.

mod certificate;
mod crl;
mod ocsp;

pub use certificate::{forge_certificate, CertificateForgery, ForgedCertificate, ForgerySigners};
pub use crl::{forge_crl, CrlForgery};
pub use ocsp::{forge_ocsp, OcspForgery, OcspForgeryContext};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use der::asn1::BitString;

use crate::error::{Error, Result};
use crate::hierarchy::CertificateAuthority;
use crate::keys::KeyMaterial;

/// An OID no real extension has: private enterprise number 32473 is reserved for documentation
/// (RFC 5612). The forgeries that need an extension no verifier knows mark it critical.
pub const UNKNOWN_EXTENSION_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1");

/// A key that signs forged structures (RSA PKCS#1 v1.5, SHA-256).
pub(crate) struct Resigner {
    key: RsaKeyPair,
}

impl Resigner {
    /// The CA's own key: a forgery the CA "mis-issued", validly signed.
    pub(crate) fn of_ca(ca: &CertificateAuthority, what: &'static str) -> Result<Self> {
        Self::of_pkcs8(ca.signer().key().serialized_der(), what)
    }

    /// A key nobody certified.
    pub(crate) fn of_key(key: &KeyMaterial, what: &'static str) -> Result<Self> {
        Self::of_pkcs8(key.pkcs8_der(), what)
    }

    fn of_pkcs8(pkcs8: &[u8], what: &'static str) -> Result<Self> {
        let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| Error::ForgerySignature { what })?;
        Ok(Resigner { key })
    }

    /// The signature over `tbs`, as the BIT STRING certificates and CRLs carry.
    pub(crate) fn sign(&self, tbs: &[u8], what: &'static str) -> Result<BitString> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), tbs, &mut signature)
            .map_err(|_| Error::ForgerySignature { what })?;
        BitString::from_bytes(&signature).map_err(|source| Error::ForgeryInput { what, source })
    }
}

/// Maps a DER codec error of forging `what` to ours.
pub(crate) fn der_error(what: &'static str) -> impl Fn(der::Error) -> Error {
    move |source| Error::ForgeryInput { what, source }
}

/// A critical extension with [`UNKNOWN_EXTENSION_OID`] and a NULL value.
pub(crate) fn unknown_critical_extension(what: &'static str) -> Result<x509_cert::ext::Extension> {
    use der::asn1::OctetString;
    Ok(x509_cert::ext::Extension {
        extn_id: UNKNOWN_EXTENSION_OID,
        critical: true,
        extn_value: OctetString::new(vec![0x05, 0x00]).map_err(der_error(what))?,
    })
}

/// `at` as an X.509 Time: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
pub(crate) fn x509_time(
    at: time::OffsetDateTime,
    what: &'static str,
) -> Result<x509_cert::time::Time> {
    let seconds = u64::try_from(at.unix_timestamp()).map_err(|_| Error::DateOutOfRange { what })?;
    let since_epoch = std::time::Duration::from_secs(seconds);
    if at.year() < 2050 {
        der::asn1::UtcTime::from_unix_duration(since_epoch)
            .map(x509_cert::time::Time::UtcTime)
            .map_err(der_error(what))
    } else {
        der::asn1::GeneralizedTime::from_unix_duration(since_epoch)
            .map(x509_cert::time::Time::GeneralTime)
            .map_err(der_error(what))
    }
}
