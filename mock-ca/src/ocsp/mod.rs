//! OCSP responder (RFC 6960, with the RFC 5019 profile for GET requests and caching).
//!
//! The real JPKI responder refreshes its revocation data every 15 minutes (docs/jpki-pki.md), so
//! answers are built per [`OcspWindow`]: thisUpdate/nextUpdate are the window's bounds and, when
//! the request carries no nonce, producedAt is the window start. Such responses are the same bytes
//! for the whole window, which is what lets [`OcspCache`] serve them without signing.
//!
//! - [`OcspRequest`]: a parsed request (DER body or RFC 5019 GET path), every CertID and the nonce.
//! - [`ResponderCertificate`]: the delegated responder's certificate, issued by a hierarchy's CA.
//! - [`OcspResponder`]: signs `OCSPResponse`s for one CA, by the CA key or a delegated key.
//! - [`OcspCache`]: pre-signed responses for the common single-CertID, nonce-less request.
//!
//! Requests are decoded with RustCrypto `x509-ocsp`; responses are written with the crate's small
//! DER writer, as the certificate extensions are, so that the CertID is echoed byte for byte.
//! Signatures are RSA PKCS#1 v1.5 SHA-256 by aws-lc-rs.
//!
//! ```no_run
//! use mock_ca::ocsp::{CertStatus, OcspRequest, OcspResponder, OcspWindow, ResponderSigner};
//! # fn run(ca: &mock_ca::CertificateAuthority, body: &[u8]) -> mock_ca::Result<()> {
//! let responder = OcspResponder::new(ca, ResponderSigner::Ca)?;
//! let now = time::OffsetDateTime::now_utc();
//! let window = OcspWindow::containing(now, mock_ca::ocsp::REFRESH_PERIOD)?;
//! let der = match OcspRequest::from_der(body) {
//!     Ok(request) => responder.respond(&request, &|_serial| CertStatus::Good, window),
//!     Err(_) => mock_ca::ocsp::OcspResponse::error(mock_ca::ocsp::OcspErrorStatus::MalformedRequest),
//! };
//! # Ok(()) }
//! ```

mod cache;
mod request;
mod responder_cert;
pub(crate) mod response;
mod window;

pub use cache::{OcspCache, DEFAULT_CACHE_CAPACITY};
pub use request::{CertId, HashAlgorithm, OcspRequest, OcspRequestError, MAX_REQUEST_LEN};
pub use responder_cert::ResponderCertificate;
pub use response::{CertStatus, OcspErrorStatus, OcspResponder, OcspResponse, ResponderSigner};
pub use window::{OcspWindow, REFRESH_PERIOD};

/// Object identifiers of RFC 6960 and the algorithms used here, as arcs for the DER writer.
pub(crate) mod oid {
    /// id-pkix-ocsp-basic: the responseType of a BasicOCSPResponse.
    pub(crate) const OCSP_BASIC: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 1];
    /// id-pkix-ocsp-nonce (RFC 6960 §4.4.1, RFC 8954).
    pub(crate) const OCSP_NONCE: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 2];
    /// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): clients need not check the responder's status.
    pub(crate) const OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];
    /// id-kp-OCSPSigning (RFC 5280 §4.2.1.12).
    pub(crate) const KP_OCSP_SIGNING: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 9];
    /// sha256WithRSAEncryption (RFC 4055).
    pub(crate) const SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
}
