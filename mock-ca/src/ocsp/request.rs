//! OCSP requests parsed at the boundary: raw bytes (a POST body, or the base64 path segment of an
//! RFC 5019 GET) become an [`OcspRequest`] with checked CertIDs; nothing past this point sees the
//! raw form. Every malformed input is an [`OcspRequestError`], which the responder answers with
//! `malformedRequest`.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tagged};

use crate::serial::Serial;

/// The largest request accepted. A request with a few CertIDs is a few hundred bytes; the limit
/// only keeps a hostile body from being decoded at all.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// A parsed `OCSPRequest`: its CertIDs in request order and the nonce, if any. Request
/// signatures and other extensions are accepted and ignored, as most responders do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    cert_ids: Vec<CertId>,
    nonce: Option<Vec<u8>>,
}

/// Why bytes are not an OCSP request this responder can answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcspRequestError {
    /// The body (or the decoded GET path) is larger than [`MAX_REQUEST_LEN`].
    #[error("OCSP request of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The size in bytes: of the DER, or of the GET path segment before decoding.
        len: usize,
        /// The limit: [`MAX_REQUEST_LEN`] for DER, four times that for a GET path segment.
        max: usize,
    },

    /// The GET path segment has a `%` not followed by two hex digits.
    #[error("bad percent-encoding at byte {position} of the GET path")]
    PercentEncoding {
        /// The byte offset of the `%` in the path segment.
        position: usize,
    },

    /// The GET path segment, once percent-decoded, is not standard base64.
    #[error("GET path is not base64: {reason} at character {position}")]
    Base64 {
        /// `bad padding`, `truncated group` or `invalid character`.
        reason: &'static str,
        /// Where in the decoded segment it went wrong (character offset).
        position: usize,
    },

    /// The bytes are not a DER `OCSPRequest` (RFC 6960 §4.1.1).
    #[error("not a DER OCSPRequest")]
    Der {
        /// What the DER decoder reported.
        #[source]
        source: der::Error,
    },

    /// The requestList is empty: there is nothing to answer.
    #[error("the OCSP request lists no CertID")]
    NoCertIds,

    /// A CertID hashes with an algorithm other than SHA-1 or SHA-256.
    #[error("CertID {index}: hash algorithm {oid} is not SHA-1 or SHA-256")]
    UnsupportedHashAlgorithm {
        /// The CertID's position in the requestList, from 0.
        index: usize,
        /// The algorithm OID, dotted.
        oid: String,
    },

    /// A CertID's hash AlgorithmIdentifier has parameters other than absent or NULL.
    #[error("CertID {index}: hash algorithm parameters must be absent or NULL")]
    HashParameters {
        /// The CertID's position in the requestList, from 0.
        index: usize,
    },

    /// An issuerNameHash or issuerKeyHash is not as long as its algorithm's digest.
    #[error("CertID {index}: {field} is {len} bytes, {algorithm} gives {expected}")]
    HashLength {
        /// The CertID's position in the requestList, from 0.
        index: usize,
        /// `issuerNameHash` or `issuerKeyHash`.
        field: &'static str,
        /// The CertID's hash algorithm.
        algorithm: HashAlgorithm,
        /// The hash's length in bytes.
        len: usize,
        /// The algorithm's digest length (20 or 32).
        expected: usize,
    },

    /// A CertID's serialNumber is zero, negative or longer than 20 octets (RFC 5280 §4.1.2.2):
    /// no certificate of any CA here can have it.
    #[error("CertID {index}: serial number {hex} is not a positive integer of at most 20 bytes")]
    InvalidSerial {
        /// The CertID's position in the requestList, from 0.
        index: usize,
        /// The serialNumber's content octets as hex.
        hex: String,
    },
}

impl OcspRequest {
    /// Parses a DER `OCSPRequest` (an HTTP POST body).
    pub fn from_der(der: &[u8]) -> Result<Self, OcspRequestError> {
        if der.len() > MAX_REQUEST_LEN {
            return Err(OcspRequestError::TooLarge {
                len: der.len(),
                max: MAX_REQUEST_LEN,
            });
        }
        let request = x509_ocsp::OcspRequest::from_der(der)
            .map_err(|source| OcspRequestError::Der { source })?;
        let list = &request.tbs_request.request_list;
        if list.is_empty() {
            return Err(OcspRequestError::NoCertIds);
        }
        let cert_ids = list
            .iter()
            .enumerate()
            .map(|(index, single)| CertId::from_asn1(index, &single.req_cert))
            .collect::<Result<Vec<_>, _>>()?;
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|extension| extension.extn_id == NONCE)
            .map(|extension| extension.extn_value.as_bytes().to_vec());
        Ok(OcspRequest { cert_ids, nonce })
    }

    /// Parses the last path segment of an RFC 5019 GET (`GET /ocsp/{segment}`): the URL-encoded
    /// base64 of the DER request. `%2F`, `%2B` and `%3D` are decoded in either case; raw `+`, `/`
    /// and `=` are accepted too, a space is taken as a `+` mangled by form decoding, and missing
    /// padding is tolerated, because real clients do all of these.
    pub fn from_get_path(segment: &str) -> Result<Self, OcspRequestError> {
        // base64 is 4/3 the size, percent-encoding up to 3 times more: reject early.
        if segment.len() > MAX_REQUEST_LEN * 4 {
            return Err(OcspRequestError::TooLarge {
                len: segment.len(),
                max: MAX_REQUEST_LEN * 4,
            });
        }
        let text = percent_decode(segment.as_bytes())?;
        let der = base64_decode(&text)?;
        Self::from_der(&der)
    }

    /// The CertIDs in request order (never empty).
    pub fn cert_ids(&self) -> &[CertId] {
        &self.cert_ids
    }

    /// The nonce extension's extnValue contents (for RFC 8954 nonces a DER OCTET STRING), echoed
    /// byte for byte in the response.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }

    /// The same CertIDs with `nonce` instead of the request's own: what a responder answering
    /// someone else's request (or a pre-signed answer, `None`) would echo. For fault injection.
    pub fn with_nonce(&self, nonce: Option<Vec<u8>>) -> OcspRequest {
        OcspRequest {
            cert_ids: self.cert_ids.clone(),
            nonce,
        }
    }
}

/// The digest of a CertID's issuerNameHash and issuerKeyHash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlgorithm {
    /// SHA-1 (1.3.14.3.2.26): what RFC 5019 clients and OpenSSL send by default.
    Sha1,
    /// SHA-256 (2.16.840.1.101.3.4.2.1).
    Sha256,
}

impl HashAlgorithm {
    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            HashAlgorithm::Sha1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
        };
        aws_lc_rs::digest::digest(algorithm, data).as_ref().to_vec()
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
        })
    }
}

/// One CertID of a request, checked: a known hash algorithm, hashes of the right length and a
/// valid serial. Keeps its DER so the response can echo it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertId {
    algorithm: HashAlgorithm,
    null_parameters: bool,
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    serial: Serial,
    der: Vec<u8>,
}

impl CertId {
    /// The hash algorithm of the two issuer hashes.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Hash of the issuer's `Name` DER.
    pub fn issuer_name_hash(&self) -> &[u8] {
        &self.issuer_name_hash
    }

    /// Hash of the issuer's subjectPublicKey bits.
    pub fn issuer_key_hash(&self) -> &[u8] {
        &self.issuer_key_hash
    }

    /// The serial number of the certificate asked about.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// The CertID as it was sent (DER), echoed in the SingleResponse.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether the hash AlgorithmIdentifier carried NULL parameters (OpenSSL) or none: the one
    /// part of the echoed CertID not implied by the other fields.
    pub(crate) fn null_parameters(&self) -> bool {
        self.null_parameters
    }

    fn from_asn1(index: usize, id: &x509_ocsp::CertId) -> Result<Self, OcspRequestError> {
        let algorithm = match id.hash_algorithm.oid {
            oid if oid == SHA1 => HashAlgorithm::Sha1,
            oid if oid == SHA256 => HashAlgorithm::Sha256,
            oid => {
                return Err(OcspRequestError::UnsupportedHashAlgorithm {
                    index,
                    oid: oid.to_string(),
                })
            }
        };
        let null_parameters = match &id.hash_algorithm.parameters {
            None => false,
            Some(any) if any.tag() == der::Tag::Null && any.value().is_empty() => true,
            Some(_) => return Err(OcspRequestError::HashParameters { index }),
        };
        let issuer_name_hash = id.issuer_name_hash.as_bytes().to_vec();
        let issuer_key_hash = id.issuer_key_hash.as_bytes().to_vec();
        for (field, hash) in [
            ("issuerNameHash", &issuer_name_hash),
            ("issuerKeyHash", &issuer_key_hash),
        ] {
            if hash.len() != algorithm.digest_len() {
                return Err(OcspRequestError::HashLength {
                    index,
                    field,
                    algorithm,
                    len: hash.len(),
                    expected: algorithm.digest_len(),
                });
            }
        }
        // INTEGER content octets: two's complement, so a set top bit means negative.
        let content = id.serial_number.as_bytes();
        let invalid_serial = || OcspRequestError::InvalidSerial {
            index,
            hex: hex::encode_upper(content),
        };
        if content.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(invalid_serial());
        }
        let serial = Serial::from_bytes(content).map_err(|_| invalid_serial())?;
        let der = id
            .to_der()
            .map_err(|source| OcspRequestError::Der { source })?;
        Ok(CertId {
            algorithm,
            null_parameters,
            issuer_name_hash,
            issuer_key_hash,
            serial,
            der,
        })
    }
}

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

fn percent_decode(input: &[u8]) -> Result<Vec<u8>, OcspRequestError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let digits = input.get(i + 1..i + 3);
            let value = digits
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or(OcspRequestError::PercentEncoding { position: i })?;
            out.push(value);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Standard-alphabet base64 (RFC 4648 §4) with optional padding.
fn base64_decode(text: &[u8]) -> Result<Vec<u8>, OcspRequestError> {
    let unpadded_len = text.iter().rposition(|c| *c != b'=').map_or(0, |i| i + 1);
    let padding = text.len() - unpadded_len;
    let error = |reason, position| OcspRequestError::Base64 { reason, position };
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
        return Err(error("bad padding", unpadded_len));
    }
    if unpadded_len % 4 == 1 {
        return Err(error("truncated group", unpadded_len));
    }
    let mut out = Vec::with_capacity(unpadded_len * 3 / 4);
    let mut accumulator: u32 = 0;
    let mut bits = 0;
    for (position, c) in text[..unpadded_len].iter().enumerate() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b' ' => 62,
            b'/' => 63,
            _ => return Err(error("invalid character", position)),
        };
        accumulator = (accumulator << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((accumulator >> bits) as u8);
            accumulator &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode(b"TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode(b"TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode(b"TWE").unwrap(), b"Ma");
        assert_eq!(base64_decode(b"TQ==").unwrap(), b"M");
        assert_eq!(base64_decode(b"+/+/").unwrap(), [0xFB, 0xFF, 0xBF]);
        assert_eq!(base64_decode(b"").unwrap(), b"");
    }

    #[test]
    fn base64_rejects_garbage_and_bad_padding() {
        assert!(base64_decode(b"TW!u").is_err());
        assert!(base64_decode(b"T").is_err());
        assert!(base64_decode(b"TQ===").is_err());
        assert!(base64_decode(b"TQ=").is_err());
        assert!(base64_decode(b"T=Q=").is_err());
    }

    #[test]
    fn percent_decoding_accepts_both_cases_and_rejects_truncation() {
        assert_eq!(percent_decode(b"a%2Fb%2bc%3d").unwrap(), b"a/b+c=");
        assert!(percent_decode(b"abc%2").is_err());
        assert!(percent_decode(b"%zz").is_err());
        assert!(percent_decode("%é".as_bytes()).is_err());
    }

    #[test]
    fn garbage_and_empty_requests_are_errors() {
        assert!(matches!(
            OcspRequest::from_der(b"not DER"),
            Err(OcspRequestError::Der { .. })
        ));
        // OCSPRequest { TBSRequest { requestList SEQUENCE {} } }
        assert!(matches!(
            OcspRequest::from_der(&hex::decode("30043002 3000".replace(' ', "")).unwrap()),
            Err(OcspRequestError::NoCertIds)
        ));
    }
}
