//! Certificate revocation lists (RFC 5280 §5): a CA's full list and the per-municipality
//! partitions its end-entity certificates name in their CRL distribution points.
//!
//! The encoder is our own rather than rcgen's, for two reasons: a partition's
//! issuingDistributionPoint must carry the directoryName the certificates carry
//! (`…, OU=CRL Distribution Points, OU=<prefecture>, CN=<city> CRLDP`), and a national CRL with
//! millions of entries should be written once into one buffer rather than assembled from nested
//! copies. Entries keep the caller's order; the same request and entries give the same bytes.
//!
//! ```no_run
//! use mock_ca::crl::{build_crl, CrlRequest, CrlScope, RevocationReason, RevokedEntry};
//! # fn demo(ca: &mock_ca::CertificateAuthority, serial: mock_ca::Serial) -> mock_ca::Result<()> {
//! use time::macros::datetime;
//! let request = CrlRequest {
//!     this_update: datetime!(2025-01-01 00:00 UTC),
//!     next_update: datetime!(2025-01-02 00:00 UTC),
//!     crl_number: 1,
//!     scope: CrlScope::Full,
//! };
//! let revoked = RevokedEntry {
//!     serial,
//!     revoked_at: datetime!(2024-12-31 12:00 UTC),
//!     reason: RevocationReason::AffiliationChanged,
//! };
//! let der = build_crl(ca, &request, [revoked])?;
//! # Ok(()) }
//! ```

mod encode;
mod reason;

use std::borrow::Borrow;

use time::OffsetDateTime;

use crate::error::Result;
use crate::hierarchy::CertificateAuthority;
use crate::keys::pem_encode;
use crate::serial::Serial;

pub use reason::RevocationReason;

/// What a CRL says about one revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// userCertificate: the revoked certificate's serial number.
    pub serial: Serial,
    /// revocationDate: when the CA processed the revocation. Encoded in whole seconds, UTC.
    pub revoked_at: OffsetDateTime,
    /// reasonCode. [`RevocationReason::Unspecified`] leaves the extension out (RFC 5280 §5.3.1).
    pub reason: RevocationReason,
}

/// Which certificates a CRL speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlScope {
    /// Everything the CA issued, without an issuingDistributionPoint: the list served at
    /// `{base}/crl/{sign|auth}.crl`, the URL distribution point of every certificate.
    Full,
    /// The end-entity certificates of one municipality. The CRL carries a critical
    /// issuingDistributionPoint whose fullName is the directoryName distribution point of those
    /// certificates, `C=JP, O=JPKI-SIM, OU=JPKI for …, OU=CRL Distribution Points,
    /// OU=<prefecture_romaji>, CN=<municipality_romaji> CRLDP`, and onlyContainsUserCerts.
    /// The two names must be spelt as in the holders' [`crate::Holder`] records.
    Municipality {
        /// The prefecture as the certificates spell it (`Tokyo-to`).
        prefecture_romaji: String,
        /// The municipality as the certificates spell it (`Shibuya-ku`).
        municipality_romaji: String,
    },
}

/// Everything in a CRL except its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRequest {
    /// thisUpdate (whole seconds, UTC). UTCTime up to 2049, GeneralizedTime from 2050.
    pub this_update: OffsetDateTime,
    /// nextUpdate: must be later than `this_update`; JPKI publishes daily.
    pub next_update: OffsetDateTime,
    /// cRLNumber: must increase with every CRL of the same CA and scope, and never be given to
    /// two different lists of that scope (RFC 5280 §5.2.3; the publication cadences choose it
    /// so, see [`crate::publication::Cadence::crl_issue`]).
    pub crl_number: u64,
    /// The full list, or one municipality's partition.
    pub scope: CrlScope,
}

/// Encodes and signs a v2 CRL (DER) of `ca` with the given entries, in their order.
///
/// The issuer is the CA's subject (the same bytes as in its certificate); the CRL extensions are
/// authorityKeyIdentifier (the CA's key identifier), cRLNumber, and for a municipality
/// partition the issuingDistributionPoint; the signature is RSA PKCS#1 v1.5 with SHA-256.
/// An empty list leaves revokedCertificates out, as RFC 5280 requires. Entries may be owned or
/// borrowed (`&[RevokedEntry]`), so one list can feed several CRLs without copies.
///
/// The output is written into one buffer reserved from the iterator's size hint; give an
/// iterator that knows its length (a `Vec`, a slice, `map` over either) for 1M-entry lists.
pub fn build_crl<I>(ca: &CertificateAuthority, request: &CrlRequest, entries: I) -> Result<Vec<u8>>
where
    I: IntoIterator,
    I::Item: Borrow<RevokedEntry>,
{
    encode::CrlParts::new(ca, request)?.build(ca, entries.into_iter())
}

/// As [`build_crl`], PEM-armoured (`-----BEGIN X509 CRL-----`).
pub fn build_crl_pem<I>(
    ca: &CertificateAuthority,
    request: &CrlRequest,
    entries: I,
) -> Result<String>
where
    I: IntoIterator,
    I::Item: Borrow<RevokedEntry>,
{
    Ok(pem_encode("X509 CRL", &build_crl(ca, request, entries)?))
}

/// An upper bound on the DER size of the CRL [`build_crl`] makes from `request` and
/// `entry_count` entries (each entry counted at its largest: a 20-octet serial, a
/// GeneralizedTime, a reason code). A 1M-entry CRL with 8-byte serials is about 41 MB.
/// Fails on the requests [`build_crl`] rejects.
pub fn crl_size_hint(
    ca: &CertificateAuthority,
    request: &CrlRequest,
    entry_count: usize,
) -> Result<usize> {
    Ok(encode::CrlParts::new(ca, request)?.size_hint(entry_count))
}
