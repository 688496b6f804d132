//! Checking a card's signature with its certificate, independently of the card crate: the
//! SDK's `ok` for `sign` means the signature verifies, not merely that the card said `90 00`.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::Decode;
use x509_cert::Certificate;

use vocab::HashAlgorithm;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The certificate does not parse.
    #[error("the certificate does not parse: {0}")]
    Certificate(String),
    /// The signature is not the key's over the data's DigestInfo.
    #[error("the signature does not verify with the certificate's key")]
    Signature,
}

/// Verifies a PKCS#1 v1.5 `sig` over `data` with `hash`, by the key of `certificate` (DER).
pub fn verify_signature(
    certificate: &[u8],
    hash: HashAlgorithm,
    data: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let certificate =
        Certificate::from_der(certificate).map_err(|e| VerifyError::Certificate(e.to_string()))?;
    let key = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let algorithm: &'static dyn VerificationAlgorithm = match hash {
        HashAlgorithm::Sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        HashAlgorithm::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        HashAlgorithm::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        HashAlgorithm::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(data, sig)
        .map_err(|_| VerifyError::Signature)
}
