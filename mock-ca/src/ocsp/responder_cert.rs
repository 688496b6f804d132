//! The delegated OCSP responder certificate (RFC 6960 §4.2.2.2): an end-entity certificate issued
//! directly by a hierarchy's CA, so verifiers accept its signatures on that CA's answers.

use rcgen::{CertificateParams, CustomExtension, SerialNumber};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::oid as ocsp_oid;
use super::window::whole_seconds;
use crate::asn1;
use crate::error::{Error, Result};
use crate::hierarchy::{CertificateAuthority, Hierarchy};
use crate::keys::{pem_encode, KeyMaterial, SubjectKey};
use crate::names::{Attr, Name, SIM_ORGANIZATION};
use crate::oid;
use crate::serial::Serial;

/// A responder certificate with the facts the responder needs: its DER (sent in `certs`) and the
/// SHA-1 of its public key (the `byKey` responder ID).
#[derive(Clone, PartialEq, Eq)]
pub struct ResponderCertificate {
    der: Vec<u8>,
    hierarchy: Hierarchy,
    serial: Serial,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_hash: Vec<u8>,
    issuer_key_id: Vec<u8>,
}

impl ResponderCertificate {
    /// Issues the responder certificate of `ca`'s hierarchy for `key` (usually
    /// `KeySeed::for_authority(generation, CaKeyRole::OcspResponder)`).
    ///
    /// Subject `C=JP, O=JPKI-SIM, OU=<hierarchy unit>, CN=jpki-sim OCSP responder (sign|auth)`;
    /// extensions KeyUsage digitalSignature (critical), ExtendedKeyUsage id-kp-OCSPSigning,
    /// id-pkix-ocsp-nocheck, AKI and SKI; no basicConstraints, as usual for end entities. The
    /// validity (whole seconds, UTC) must lie within the CA's. Same inputs, same bytes.
    pub fn issue(
        ca: &CertificateAuthority,
        key: &KeyMaterial,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self> {
        let not_before = whole_seconds(not_before);
        let not_after = whole_seconds(not_after);
        if not_after <= not_before {
            return Err(Error::EmptyValidity {
                not_before,
                not_after,
            });
        }
        if not_before < ca.not_before() || not_after > ca.not_after() {
            return Err(Error::OcspResponderValidity {
                not_before,
                not_after,
                ca_not_before: ca.not_before(),
                ca_not_after: ca.not_after(),
            });
        }
        Self::issue_by(ca, ca.signer(), key, not_before, not_after, true)
    }

    /// Issues a responder certificate of `ca`'s hierarchy signed by `issuer` (which names `ca`
    /// as issuer but may hold another key), with or without id-kp-OCSPSigning, for any validity:
    /// the building block of forged responders too.
    pub(crate) fn issue_by(
        ca: &CertificateAuthority,
        issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
        key: &KeyMaterial,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        ocsp_signing: bool,
    ) -> Result<Self> {
        let not_before = whole_seconds(not_before);
        let not_after = whole_seconds(not_after);
        let hierarchy = ca.hierarchy();
        let subject_key = SubjectKey::from_spki_der(key.spki_der())?;
        let key_hash = subject_key.key_id();
        let serial = responder_serial(hierarchy, ca.generation(), not_before)?;

        let mut params = CertificateParams::default();
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
        params.distinguished_name = subject(hierarchy).to_rcgen()?;
        params.custom_extensions = extensions(ca.key_identifier(), &key_hash, ocsp_signing);
        let certificate =
            params
                .signed_by(&subject_key, issuer)
                .map_err(|source| Error::Certificate {
                    profile: "OCSP responder",
                    source,
                })?;
        Ok(ResponderCertificate {
            der: certificate.der().to_vec(),
            hierarchy,
            serial,
            not_before,
            not_after,
            key_hash,
            issuer_key_id: ca.key_identifier().to_vec(),
        })
    }

    /// The certificate, DER, as responses carry it in `certs`.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// The hierarchy whose CA issued it; it answers for that CA's certificates only.
    pub fn hierarchy(&self) -> Hierarchy {
        self.hierarchy
    }

    /// Its serial number, derived from hierarchy, CA generation and notBefore.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// notBefore, whole seconds, UTC.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// notAfter, whole seconds, UTC; never past the CA's.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// SHA-1 of the responder's subjectPublicKey bits: its SKI and its `byKey` responder ID.
    pub fn key_hash(&self) -> &[u8] {
        &self.key_hash
    }

    /// The subject Name DER: what a `byName` responder ID carries.
    pub(crate) fn subject_der(&self) -> Vec<u8> {
        subject(self.hierarchy).to_der()
    }

    /// The issuing CA's key identifier (this certificate's AKI).
    pub(crate) fn issuer_key_id(&self) -> &[u8] {
        &self.issuer_key_id
    }
}

impl std::fmt::Debug for ResponderCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponderCertificate")
            .field("hierarchy", &self.hierarchy)
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key_hash", &hex::encode(&self.key_hash))
            .finish_non_exhaustive()
    }
}

/// The CN says "simulator" on its own, like every name this crate issues.
fn subject(hierarchy: Hierarchy) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::Organization, SIM_ORGANIZATION.into()),
        (Attr::OrgUnit, hierarchy.unit().into()),
        (
            Attr::CommonName,
            format!("jpki-sim OCSP responder ({})", hierarchy.tag()),
        ),
    ])
}

/// `SHA-256("jpki-sim/ocsp-serial/v1" 00 ‖ gen ‖ tag ‖ notBefore)` (gen a big-endian `u32`,
/// notBefore as big-endian `i64` Unix seconds), first 8 bytes with the first forced into
/// `0x40..=0x7F`: distinct per hierarchy, generation and re-issue, always positive.
fn responder_serial(
    hierarchy: Hierarchy,
    generation: u32,
    not_before: OffsetDateTime,
) -> Result<Serial> {
    let mut hash = Sha256::new();
    hash.update(b"jpki-sim/ocsp-serial/v1\0");
    hash.update(generation.to_be_bytes());
    hash.update(hierarchy.tag().as_bytes());
    hash.update(not_before.unix_timestamp().to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    bytes[0] = 0x40 | (bytes[0] & 0x3F);
    Serial::from_bytes(&bytes)
}

fn extensions(
    issuer_key_id: &[u8],
    subject_key_id: &[u8],
    ocsp_signing: bool,
) -> Vec<CustomExtension> {
    const DIGITAL_SIGNATURE: u8 = 0x80;
    const NULL: [u8; 2] = [0x05, 0x00];
    let mut extensions = vec![ext(
        oid::KEY_USAGE,
        true,
        asn1::named_bits(&[DIGITAL_SIGNATURE]),
    )];
    if ocsp_signing {
        extensions.push(ext(
            oid::EXT_KEY_USAGE,
            false,
            asn1::sequence(&[asn1::oid(ocsp_oid::KP_OCSP_SIGNING)]),
        ));
    }
    extensions.extend([
        ext(ocsp_oid::OCSP_NOCHECK, false, NULL.to_vec()),
        ext(
            oid::AUTHORITY_KEY_IDENTIFIER,
            false,
            asn1::sequence(&[asn1::context_primitive(0, issuer_key_id)]),
        ),
        ext(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            asn1::octet_string(subject_key_id),
        ),
    ]);
    extensions
}

fn ext(oid: &[u64], critical: bool, value: Vec<u8>) -> CustomExtension {
    let mut extension = CustomExtension::from_oid_content(oid, value);
    extension.set_criticality(critical);
    extension
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn serials_differ_per_hierarchy_and_reissue_and_are_positive() {
        let at = datetime!(2025-01-01 00:00 UTC);
        let sign = responder_serial(Hierarchy::Sign, 1, at).unwrap();
        assert_ne!(sign, responder_serial(Hierarchy::Auth, 1, at).unwrap());
        assert_ne!(
            sign,
            responder_serial(Hierarchy::Sign, 1, at + time::Duration::days(1)).unwrap()
        );
        assert_eq!(sign.as_bytes().len(), 8);
        assert!((0x40..=0x7F).contains(&sign.as_bytes()[0]));
    }

    #[test]
    fn subject_names_the_simulator() {
        assert_eq!(
            subject(Hierarchy::Auth).to_string(),
            "C=JP, O=JPKI-SIM, OU=JPKI for user authentication, CN=jpki-sim OCSP responder (auth)"
        );
    }
}
