//! What a caller asks a CA to issue, and what it gets back.

use time::{Date, OffsetDateTime};

use crate::holder::Holder;
use crate::keys::pem_encode;
use crate::serial::Serial;

/// One end-entity certificate to issue; the CA's hierarchy picks the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceRequest {
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
    pub der: Vec<u8>,
    pub serial: Serial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IssuedCertificate {
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}
