//! What a caller asks a CA to issue, and what it gets back.

use time::{Date, OffsetDateTime};

use crate::holder::Holder;
use crate::keys::pem_encode;
use crate::serial::Serial;

/// One end-entity certificate to issue; the CA's hierarchy picks the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceRequest {
    /// Whose certificate: subject, SubjectAltName (signature certificates) and CRL partition.
    pub holder: Holder,
    /// Usually [`Serial::for_card`].
    pub serial: Serial,
    /// notBefore (truncated to whole seconds); also the day the fifth-birthday rule counts from.
    pub issued_at: OffsetDateTime,
    /// Overrides the computed notAfter (scenarios that need an odd validity).
    pub not_after: Option<OffsetDateTime>,
    /// The card's own expiry day, which caps the computed notAfter (23:59:59 JST that day).
    pub card_expires_on: Option<Date>,
    /// The card key's SubjectPublicKeyInfo DER (RSA).
    pub subject_public_key: Vec<u8>,
}

/// An issued certificate with the facts a registry keeps about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate, DER, as written to the card's certificate EF.
    pub der: Vec<u8>,
    /// The serial number, as the request gave it.
    pub serial: Serial,
    /// notBefore, whole seconds (UTC).
    pub not_before: OffsetDateTime,
    /// notAfter: the computed or overridden end of validity (14:59:59Z = 23:59:59 JST for the
    /// computed one).
    pub not_after: OffsetDateTime,
}

impl IssuedCertificate {
    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}
