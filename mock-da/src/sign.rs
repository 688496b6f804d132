//! The sign API's inputs and outputs, without HTTP: the body that opens a sign transaction
//! (what the SP wants signed), its parsing into the DigestInfo the card signs, the transaction
//! id, and the sign result the JWE carries (docs/digital-agency.md, "Sign API").

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Sequence, Tagged};
use serde::{Deserialize, Serialize};
use sim_card::layout::digest_info;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// id-sha256 (RFC 8017 appendix B.1).
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// The body of `POST /da/api/sign-transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// `sha256` (the document's SHA-256 digest) or `digest_info` (a DER DigestInfo of it).
    pub digest_type: String,
    /// The digest or the DigestInfo, standard base64 with padding (RFC 4648 §4).
    pub digest: String,
}

/// What the SP gave to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestType {
    /// A bare SHA-256 digest (32 bytes); the provider wraps it in a DigestInfo.
    Sha256,
    /// A DER `DigestInfo` of a SHA-256 digest (51 bytes), for XML signatures and submissions
    /// to J-LIS.
    DigestInfo,
}

impl DigestType {
    /// The name in a request and in the sign result.
    pub fn name(self) -> &'static str {
        match self {
            DigestType::Sha256 => "sha256",
            DigestType::DigestInfo => "digest_info",
        }
    }
}

/// What the card signs for a transaction: the canonical SHA-256 DigestInfo, and how the SP gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInput {
    /// How the SP gave the digest.
    pub digest_type: DigestType,
    /// `30 31 30 0D 06 09 <id-sha256> 05 00 04 20 <digest>`.
    pub digest_info: [u8; 51],
}

impl SignInput {
    /// The 32 digest bytes.
    pub fn digest(&self) -> &[u8] {
        &self.digest_info[19..]
    }
}

/// Why a sign request's digest was refused; the text is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// `digest_type` is none of the two.
    #[error("digest_type {0:?} is not known: sha256 or digest_info")]
    UnknownType(String),
    /// `digest` is not standard base64 with padding.
    #[error("digest is not standard base64 with padding (RFC 4648 section 4){hint}")]
    Base64 {
        /// What looks wrong, when something does.
        hint: &'static str,
    },
    /// A `sha256` digest that is not 32 bytes.
    #[error("a sha256 digest is 32 bytes, not {0}")]
    DigestLength(usize),
    /// A `digest_info` that is not one DER `DigestInfo` (trailing bytes included).
    #[error("digest is not a DER DigestInfo (RFC 8017 section 9.2): {0}")]
    NotDigestInfo(String),
    /// A DigestInfo of another hash than SHA-256.
    #[error("the DigestInfo's algorithm is {0}, not id-sha256 (2.16.840.1.101.3.4.2.1)")]
    NotSha256(String),
    /// A DigestInfo whose parameters are absent or not NULL.
    #[error("the DigestInfo's algorithm parameters must be NULL (RFC 8017 appendix A.2.4)")]
    Parameters,
    /// A SHA-256 DigestInfo whose digest is not 32 bytes.
    #[error("the DigestInfo's digest is {0} bytes, not 32")]
    DigestInfoLength(usize),
}

/// `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }`.
#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

impl SignRequest {
    /// The DigestInfo to sign, or why the request cannot give one.
    pub fn parse(&self) -> Result<SignInput, DigestError> {
        let digest_type = match self.digest_type.as_str() {
            "sha256" => DigestType::Sha256,
            "digest_info" => DigestType::DigestInfo,
            other => return Err(DigestError::UnknownType(other.to_owned())),
        };
        if self.digest.is_empty() {
            return Err(DigestError::Base64 {
                hint: ": it is empty",
            });
        }
        let bytes = STANDARD
            .decode(&self.digest)
            .map_err(|_| DigestError::Base64 {
                hint: base64_hint(&self.digest),
            })?;
        let digest = match digest_type {
            DigestType::Sha256 => {
                if bytes.len() != 32 {
                    return Err(DigestError::DigestLength(bytes.len()));
                }
                bytes
            }
            DigestType::DigestInfo => {
                let info = DigestInfo::from_der(&bytes)
                    .map_err(|err| DigestError::NotDigestInfo(err.to_string()))?;
                if info.algorithm.oid != SHA256 {
                    return Err(DigestError::NotSha256(info.algorithm.oid.to_string()));
                }
                let null = info
                    .algorithm
                    .parameters
                    .as_ref()
                    .is_some_and(|p| p.tag() == der::Tag::Null && p.value().is_empty());
                if !null {
                    return Err(DigestError::Parameters);
                }
                let digest = info.digest.as_bytes();
                if digest.len() != 32 {
                    return Err(DigestError::DigestInfoLength(digest.len()));
                }
                digest.to_vec()
            }
        };
        let mut digest_info = [0; 51];
        digest_info[..19].copy_from_slice(&digest_info::SHA256);
        digest_info[19..].copy_from_slice(&digest);
        Ok(SignInput {
            digest_type,
            digest_info,
        })
    }
}

fn base64_hint(text: &str) -> &'static str {
    if text.contains(['-', '_']) {
        ": base64url is not accepted"
    } else if text.contains(char::is_whitespace) {
        ": no whitespace or line breaks"
    } else if !text.len().is_multiple_of(4) {
        ": padding is required"
    } else {
        ""
    }
}

/// The sign result, the JWE's plaintext: which transaction, the signature, the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignResult {
    /// The transaction signed.
    pub sign_transaction_id: String,
    /// `sha256` or `digest_info`, as the transaction was opened.
    pub digest_type: String,
    /// The PKCS#1 v1.5 signature over the SHA-256 DigestInfo of the digest, standard base64.
    pub signature: String,
    /// The signature certificate (署名用電子証明書), DER, standard base64.
    pub certificate: String,
}

impl SignResult {
    /// The result of `id` from what the card gave.
    pub fn new(id: &str, input: &SignInput, signature: &[u8], certificate_der: &[u8]) -> Self {
        SignResult {
            sign_transaction_id: id.to_owned(),
            digest_type: input.digest_type.name().to_owned(),
            signature: STANDARD.encode(signature),
            certificate: STANDARD.encode(certificate_der),
        }
    }
}

/// A random (version 4) UUID, lower-case hex with hyphens (RFC 9562 §5.4): a sign
/// transaction's id, the shape the authorization request's `sign_transaction_id` has.
pub fn transaction_id() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Without the system RNG, nothing guessable: the time's hash instead.
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let hash = <sha2::Sha256 as sha2::Digest>::digest(now.to_be_bytes());
        bytes.copy_from_slice(&hash[..16]);
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(digest_type: &str, bytes: &[u8]) -> SignRequest {
        SignRequest {
            digest_type: digest_type.into(),
            digest: STANDARD.encode(bytes),
        }
    }

    fn digest_info_of(digest: &[u8]) -> Vec<u8> {
        let mut der = digest_info::SHA256.to_vec();
        der.extend_from_slice(digest);
        der
    }

    #[test]
    fn a_digest_and_its_digest_info_sign_the_same_bytes() {
        let digest = [0xA5; 32];
        let bare = request("sha256", &digest).parse().unwrap();
        let wrapped = request("digest_info", &digest_info_of(&digest))
            .parse()
            .unwrap();
        assert_eq!(bare.digest_info, wrapped.digest_info);
        assert_eq!(bare.digest(), digest);
        assert_eq!(bare.digest_type, DigestType::Sha256);
        assert_eq!(wrapped.digest_type, DigestType::DigestInfo);
    }

    #[test]
    fn each_malformed_digest_is_refused_with_its_reason() {
        let digest = [0x11; 32];
        let mut sha1 = vec![
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
            0x14,
        ];
        sha1.extend_from_slice(&[0; 20]);
        // id-sha256 without parameters: valid DER, but not the NULL form.
        let mut absent = vec![
            0x30, 0x2F, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x04, 0x20,
        ];
        absent.extend_from_slice(&digest);
        // A 31-byte digest in a SHA-256 DigestInfo.
        let mut short = digest_info_of(&digest[..31]);
        short[1] = 0x30;
        short[18] = 0x1F;
        let mut trailing = digest_info_of(&digest);
        trailing.push(0);
        let cases: Vec<(SignRequest, DigestError)> = vec![
            (
                request("sha512", &digest),
                DigestError::UnknownType("sha512".into()),
            ),
            (
                request("sha256", &digest[..31]),
                DigestError::DigestLength(31),
            ),
            (
                request("sha256", &digest_info_of(&digest)),
                DigestError::DigestLength(51),
            ),
            (
                request("digest_info", &sha1),
                DigestError::NotSha256("1.3.14.3.2.26".into()),
            ),
            (request("digest_info", &absent), DigestError::Parameters),
            (
                request("digest_info", &short),
                DigestError::DigestInfoLength(31),
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(request.parse().unwrap_err(), expected, "{request:?}");
        }
        for bad in [&trailing[..], &digest[..], &[0x30, 0x80][..]] {
            let err = request("digest_info", bad).parse().unwrap_err();
            assert!(matches!(err, DigestError::NotDigestInfo(_)), "{err:?}");
        }
        for (text, hint) in [
            ("qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq-_", "base64url"),
            ("qqqq qqqq", "whitespace"),
            ("", "empty"),
            ("qqqqq", "padding"),
        ] {
            let err = SignRequest {
                digest_type: "sha256".into(),
                digest: text.into(),
            }
            .parse()
            .unwrap_err();
            assert!(err.to_string().contains(hint), "{text:?}: {err}");
        }
    }

    #[test]
    fn every_changed_header_byte_and_every_truncation_of_a_digest_info_is_refused() {
        let good = digest_info_of(&[0x5A; 32]);
        for at in 0..good.len() {
            for flip in [0x01, 0x80, 0xFF] {
                let mut changed = good.clone();
                changed[at] ^= flip;
                let parsed = request("digest_info", &changed).parse();
                if at < 19 {
                    assert!(parsed.is_err(), "byte {at} ^ {flip:02X} accepted");
                } else {
                    assert_eq!(parsed.unwrap().digest_info[..], changed[..]);
                }
            }
            assert!(request("digest_info", &good[..at]).parse().is_err(), "{at}");
        }
    }

    #[test]
    fn transaction_ids_are_random_version_4_uuids() {
        let a = transaction_id();
        assert_ne!(a, transaction_id());
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]), "{a}");
        assert_eq!(a.matches('-').count(), 4);
    }
}
