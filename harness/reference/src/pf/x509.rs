//! Certificate checks the PF makes itself: trust anchors from PEM, signatures by a key, validity.

use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;

const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// The JPKI certificate policies: 署名用 and 利用者証明用 (docs/card-protocol.md).
const POLICY_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.20");
const POLICY_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30");
/// The extensions this PF understands, and may therefore see marked critical: the RFC 5280
/// ones a JPKI end-entity certificate carries, plus basicConstraints.
const UNDERSTOOD_EXTENSIONS: [ObjectIdentifier; 10] = [
    KEY_USAGE,
    EXTENDED_KEY_USAGE,
    ObjectIdentifier::new_unwrap("2.5.29.14"), // subjectKeyIdentifier
    ObjectIdentifier::new_unwrap("2.5.29.17"), // subjectAltName
    ObjectIdentifier::new_unwrap("2.5.29.18"), // issuerAltName
    BASIC_CONSTRAINTS,
    ObjectIdentifier::new_unwrap("2.5.29.31"), // cRLDistributionPoints
    CERTIFICATE_POLICIES,
    ObjectIdentifier::new_unwrap("2.5.29.35"), // authorityKeyIdentifier
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1"), // authorityInfoAccess
];
const KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// id-kp-documentSigning (RFC 9336).
const KP_DOCUMENT_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// Why a certificate or signature does not check out.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    #[error("not a PEM certificate")]
    Pem,
    #[error("not DER X.509: {0}")]
    Der(#[from] der::Error),
    #[error("unsupported signature algorithm {0}")]
    Algorithm(ObjectIdentifier),
    #[error("the signature does not verify")]
    Signature,
    #[error("issued by another CA than {expected}")]
    Issuer { expected: String },
}

/// A CA the PF trusts, with what it needs to check what the CA signed.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub certificate: Certificate,
    /// DER of the subject, compared with issuers byte for byte.
    pub subject_der: Vec<u8>,
    /// SHA-1 of the subjectPublicKey bits (OCSP issuerKeyHash, responder byKey).
    pub key_hash: Vec<u8>,
    /// The last certificate [`Anchor::issued_remembered`] found this CA issued.
    last_issued: Arc<Mutex<Option<Certificate>>>,
}

impl Anchor {
    pub fn from_pem(pem: &str) -> Result<Anchor, X509Error> {
        let certificate = Certificate::from_der(&pem_to_der(pem)?)?;
        let subject_der = certificate.tbs_certificate.subject.to_der()?;
        let key_hash = key_hash(&certificate);
        Ok(Anchor {
            certificate,
            subject_der,
            key_hash,
            last_issued: Arc::default(),
        })
    }

    pub fn public_key(&self) -> &[u8] {
        public_key(&self.certificate)
    }

    pub fn name(&self) -> &Name {
        &self.certificate.tbs_certificate.subject
    }

    /// [`Anchor::issued`], remembering the last certificate that checked out. A delegated OCSP
    /// responder sends the same certificate with every response, and the same certificate —
    /// compared whole, signature included — checks out the same way every time; this saves an
    /// RSA verification per status check. Validity and key usage are not covered: callers
    /// check them each time.
    pub fn issued_remembered(&self, certificate: &Certificate) -> Result<(), X509Error> {
        let known = |last: &Option<Certificate>| last.as_ref() == Some(certificate);
        if known(&self.last_issued.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        self.issued(certificate)?;
        *self.last_issued.lock().unwrap_or_else(|e| e.into_inner()) = Some(certificate.clone());
        Ok(())
    }

    /// Checks that `certificate` names this CA as issuer and carries its signature.
    pub fn issued(&self, certificate: &Certificate) -> Result<(), X509Error> {
        self.named_issuer_of(certificate)?;
        self.signed(certificate)
    }

    /// Checks only that `certificate` carries this CA's signature: the other half of
    /// [`Anchor::issued`].
    pub fn signed(&self, certificate: &Certificate) -> Result<(), X509Error> {
        verify(
            self.public_key(),
            &certificate.signature_algorithm.oid,
            &certificate.tbs_certificate.to_der()?,
            certificate.signature.raw_bytes(),
        )
    }
}

impl Anchor {
    /// Checks only that `certificate` names this CA as issuer: half of [`Anchor::issued`].
    pub fn named_issuer_of(&self, certificate: &Certificate) -> Result<(), X509Error> {
        if certificate.tbs_certificate.issuer.to_der()? != self.subject_der {
            return Err(X509Error::Issuer {
                expected: self.name().to_string(),
            });
        }
        Ok(())
    }
}

/// The first critical extension of `certificate` this PF does not understand (RFC 5280 §4.2:
/// such a certificate must be rejected).
pub fn unknown_critical_extension(certificate: &Certificate) -> Option<ObjectIdentifier> {
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|extension| extension.critical && !UNDERSTOOD_EXTENSIONS.contains(&extension.extn_id))
        .map(|extension| extension.extn_id)
}

/// The extension `oid` of `certificate`, if it has one.
fn extension(
    certificate: &Certificate,
    oid: ObjectIdentifier,
) -> Option<&x509_cert::ext::Extension> {
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|extension| extension.extn_id == oid)
}

/// Whether the keyUsage of `certificate` allows the signatures `key` makes (RFC 5280
/// §4.2.1.3): digitalSignature for authentication, nonRepudiation (contentCommitment) for
/// document signatures. No keyUsage allows any use; an unreadable one allows none.
pub fn key_usage_allows(certificate: &Certificate, key: vocab::KeyKind) -> bool {
    use x509_cert::ext::pkix::KeyUsages;
    key_usage_has(
        certificate,
        match key {
            vocab::KeyKind::Auth => KeyUsages::DigitalSignature,
            vocab::KeyKind::Sign => KeyUsages::NonRepudiation,
        },
    )
}

/// Whether `certificate`'s keyUsage has `bit`: without the extension every use is allowed,
/// with an unreadable one none.
fn key_usage_has(certificate: &Certificate, bit: x509_cert::ext::pkix::KeyUsages) -> bool {
    use x509_cert::ext::pkix::KeyUsage;
    match extension(certificate, KEY_USAGE) {
        None => true,
        Some(e) => KeyUsage::from_der(e.extn_value.as_bytes()).is_ok_and(|u| u.0.contains(bit)),
    }
}

/// Whether the extendedKeyUsage of `certificate`, if it has one, allows `key`'s use (RFC 5280
/// §4.2.1.12: with the extension, the key serves the purposes listed only): id-kp-clientAuth for
/// authentication, id-kp-documentSigning (RFC 9336) for document signatures, or
/// anyExtendedKeyUsage. Without it any use is allowed, as for JPKI signature certificates;
/// an unreadable one allows none.
pub fn extended_key_usage_allows(certificate: &Certificate, key: vocab::KeyKind) -> bool {
    let purpose = match key {
        vocab::KeyKind::Auth => KP_CLIENT_AUTH,
        vocab::KeyKind::Sign => KP_DOCUMENT_SIGNING,
    };
    let Some(extension) = extension(certificate, EXTENDED_KEY_USAGE) else {
        return true;
    };
    ExtendedKeyUsage::from_der(extension.extn_value.as_bytes())
        .is_ok_and(|usage| usage.0.contains(&purpose) || usage.0.contains(&ANY_EXTENDED_KEY_USAGE))
}

/// Whether the certificatePolicies of `certificate` name the JPKI policy of `key`'s certificates:
/// path validation (RFC 5280 §6.1) with that policy as the user-initial-policy-set and an
/// explicit policy required, which for a path of one certificate under the anchor is this.
pub fn has_policy_for(certificate: &Certificate, key: vocab::KeyKind) -> bool {
    use x509_cert::ext::pkix::CertificatePolicies;
    let wanted = match key {
        vocab::KeyKind::Sign => POLICY_SIGN,
        vocab::KeyKind::Auth => POLICY_AUTH,
    };
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|extension| extension.extn_id == CERTIFICATE_POLICIES)
        .filter_map(|extension| CertificatePolicies::from_der(extension.extn_value.as_bytes()).ok())
        .any(|policies| policies.0.iter().any(|p| p.policy_identifier == wanted))
}

/// Whether `certificate` may issue certificates (RFC 5280 §6.1.4 (k) and (n)): basicConstraints
/// with cA TRUE, and a keyUsage, if it has one, with keyCertSign.
pub fn is_ca(certificate: &Certificate) -> bool {
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsages};
    let ca = extension(certificate, BASIC_CONSTRAINTS)
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|constraints| constraints.ca);
    ca && key_usage_has(certificate, KeyUsages::KeyCertSign)
}

/// Whether `certificate`'s keyUsage, if it has one, allows signing CRLs (cRLSign; RFC 5280
/// §4.2.1.3, §6.3.3 (f)).
pub fn may_sign_crls(certificate: &Certificate) -> bool {
    key_usage_has(certificate, x509_cert::ext::pkix::KeyUsages::CRLSign)
}

/// Checks that `issuer` is named as `certificate`'s issuer and signed it.
pub fn issued_by(issuer: &Certificate, certificate: &Certificate) -> Result<(), X509Error> {
    if certificate.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(X509Error::Issuer {
            expected: issuer.tbs_certificate.subject.to_string(),
        });
    }
    verify(
        public_key(issuer),
        &certificate.signature_algorithm.oid,
        &certificate.tbs_certificate.to_der()?,
        certificate.signature.raw_bytes(),
    )
}

/// The RSAPublicKey of a certificate, as aws-lc-rs takes it.
pub fn public_key(certificate: &Certificate) -> &[u8] {
    certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
}

pub fn key_hash(certificate: &Certificate) -> Vec<u8> {
    sha1(public_key(certificate))
}

pub fn sha1(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

/// Verifies an RSA PKCS#1 v1.5 signature named by its X.509 algorithm OID.
pub fn verify(
    key: &[u8],
    algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), X509Error> {
    let algorithm: &'static dyn VerificationAlgorithm = match *algorithm {
        SHA1_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        SHA256_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA256,
        SHA384_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA384,
        SHA512_WITH_RSA => &signature::RSA_PKCS1_2048_8192_SHA512,
        other => return Err(X509Error::Algorithm(other)),
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .map_err(|_| X509Error::Signature)
}

/// The algorithm OID for a PKCS#1 v1.5 signature with the scenario's hash.
pub fn rsa_with(hash: vocab::HashAlgorithm) -> ObjectIdentifier {
    use vocab::HashAlgorithm;
    match hash {
        HashAlgorithm::Sha1 => SHA1_WITH_RSA,
        HashAlgorithm::Sha256 => SHA256_WITH_RSA,
        HashAlgorithm::Sha384 => SHA384_WITH_RSA,
        HashAlgorithm::Sha512 => SHA512_WITH_RSA,
    }
}

pub fn to_time(time: &Time) -> OffsetDateTime {
    unix(time.to_unix_duration())
}

pub fn unix(duration: std::time::Duration) -> OffsetDateTime {
    i64::try_from(duration.as_secs())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whether `now` is within notBefore..=notAfter.
pub fn valid_at(certificate: &Certificate, now: OffsetDateTime) -> bool {
    let validity = &certificate.tbs_certificate.validity;
    to_time(&validity.not_before) <= now && not_expired_at(certificate, now)
}

/// Whether `now` is at or before notAfter (half of [`valid_at`]).
pub fn not_expired_at(certificate: &Certificate, now: OffsetDateTime) -> bool {
    now <= to_time(&certificate.tbs_certificate.validity.not_after)
}

/// Whether the certificate's extended key usage includes id-kp-OCSPSigning.
pub fn ocsp_signing(certificate: &Certificate) -> bool {
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|extension| extension.extn_id == EXTENDED_KEY_USAGE)
        .filter_map(|extension| ExtendedKeyUsage::from_der(extension.extn_value.as_bytes()).ok())
        .any(|usage| usage.0.contains(&KP_OCSP_SIGNING))
}

/// The certificate's serial as this PF reads it: as it is, or with [`Mutant::SignedSerial`] as
/// a signed integer of its magnitude bytes (negative when the top bit is set).
///
/// [`Mutant::SignedSerial`]: super::Mutant::SignedSerial
pub fn read_serial(
    certificate: &Certificate,
    mutant: Option<super::Mutant>,
) -> x509_cert::serial_number::SerialNumber {
    let serial = &certificate.tbs_certificate.serial_number;
    if mutant != Some(super::Mutant::SignedSerial) {
        return serial.clone();
    }
    // The content octets, less the leading zero that keeps a set top bit positive.
    let content = serial.as_bytes();
    let magnitude = &content[content.iter().position(|&b| b != 0).unwrap_or(0)..];
    let mut der = vec![0x02, magnitude.len() as u8];
    der.extend_from_slice(magnitude);
    x509_cert::serial_number::SerialNumber::from_der(&der).unwrap_or_else(|_| serial.clone())
}

/// Upper-case hex of a serial without sign padding, as J-LIS paths take it.
pub fn serial_hex(certificate: &Certificate) -> String {
    let bytes = certificate.tbs_certificate.serial_number.as_bytes();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    hex::encode_upper(&bytes[start..])
}

fn pem_to_der(pem: &str) -> Result<Vec<u8>, X509Error> {
    let body = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .ok_or(X509Error::Pem)?;
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| X509Error::Pem)
}
