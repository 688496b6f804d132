//! Inputs of the revocation benchmarks: revoked entries that `compare-revocation.sh` can write
//! into an OpenSSL `index.txt` with the same serials, dates and reason, and OCSP requests built
//! by hand (the DER `openssl ocsp -reqout` writes for one certificate).
//!
//! Entry `i` (from 1) has serial `40 00 00 00 ‖ i` (8 bytes, big-endian `u32` i, the length of a
//! card certificate's serial), revocationDate 2025-01-01 00:00:00 UTC and reason
//! affiliationChanged (the JPKI ground for an address change). In `index.txt` that is
//! `R\t300101000000Z\t250101000000Z,affiliationChanged\t40000000<i as %08X>\tunknown\t/CN=x`.

use mock_ca::crl::{CrlRequest, CrlScope, RevocationReason, RevokedEntry};
use mock_ca::Serial;
use time::macros::datetime;
use time::OffsetDateTime;

/// revocationDate of every generated entry.
pub const REVOKED_AT: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);

/// The serial of entry `i`: `40 00 00 00` followed by `i` as a big-endian `u32`.
pub fn entry_serial(i: u32) -> Serial {
    let mut bytes = [0x40, 0, 0, 0, 0, 0, 0, 0];
    bytes[4..].copy_from_slice(&i.to_be_bytes());
    Serial::from_bytes(&bytes).expect("an 8-byte positive serial")
}

/// Entries 1..=n, in serial order.
pub fn revoked_entries(n: u32) -> Vec<RevokedEntry> {
    (1..=n)
        .map(|i| RevokedEntry {
            serial: entry_serial(i),
            revoked_at: REVOKED_AT,
            reason: RevocationReason::AffiliationChanged,
        })
        .collect()
}

/// A full (not partitioned) daily CRL.
pub fn full_crl_request() -> CrlRequest {
    CrlRequest {
        this_update: datetime!(2025-01-02 00:00 UTC),
        next_update: datetime!(2025-01-03 00:00 UTC),
        crl_number: 2,
        scope: CrlScope::Full,
    }
}

/// A DER TLV with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

const SEQUENCE: u8 = 0x30;
const OCTET_STRING: u8 = 0x04;
const INTEGER: u8 = 0x02;
/// `[2] EXPLICIT` (requestExtensions of TBSRequest).
const REQUEST_EXTENSIONS: u8 = 0xA2;
/// `AlgorithmIdentifier { id-sha1, NULL }`, as OpenSSL writes it in a CertID.
const SHA1_WITH_NULL: [u8; 11] = [
    0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00,
];
/// The OID id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2), tag and length included.
const OCSP_NONCE_OID: [u8; 11] = [
    0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02,
];

/// An `OCSPRequest` for one SHA-1 CertID (RFC 6960 §4.1.1), unsigned, with a nonce extension
/// (the nonce as an OCTET STRING inside extnValue, as OpenSSL sends it) when `nonce` is given.
///
/// `issuer_name_sha1` is SHA-1 of the issuer's DER name, `issuer_key_sha1` SHA-1 of its
/// subjectPublicKey bits (for the mock CAs, their key identifier).
pub fn ocsp_request_der(
    issuer_name_sha1: &[u8],
    issuer_key_sha1: &[u8],
    serial: &Serial,
    nonce: Option<&[u8]>,
) -> Vec<u8> {
    let mut serial_content = Vec::new();
    if serial.as_bytes().first().is_some_and(|b| b & 0x80 != 0) {
        serial_content.push(0);
    }
    serial_content.extend_from_slice(serial.as_bytes());
    let cert_id = [
        SHA1_WITH_NULL.to_vec(),
        tlv(OCTET_STRING, issuer_name_sha1),
        tlv(OCTET_STRING, issuer_key_sha1),
        tlv(INTEGER, &serial_content),
    ]
    .concat();
    let request = tlv(SEQUENCE, &tlv(SEQUENCE, &cert_id));
    let mut tbs = tlv(SEQUENCE, &request);
    if let Some(nonce) = nonce {
        let value = tlv(OCTET_STRING, &tlv(OCTET_STRING, nonce));
        let extension = tlv(SEQUENCE, &[OCSP_NONCE_OID.to_vec(), value].concat());
        tbs.extend(tlv(REQUEST_EXTENSIONS, &tlv(SEQUENCE, &extension)));
    }
    tlv(SEQUENCE, &tlv(SEQUENCE, &tbs))
}

/// Whether `der` is an `OCSPResponse` whose responseStatus is successful (0).
pub fn ocsp_successful(der: &[u8]) -> bool {
    // SEQUENCE header (2 to 4 bytes), then ENUMERATED 01 00.
    let header = match der.get(1) {
        Some(&len) if len < 0x80 => 2,
        Some(&len) => 2 + (len & 0x7F) as usize,
        None => return false,
    };
    der.get(header..header + 3) == Some(&[0x0A, 0x01, 0x00])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_eight_bytes_with_the_index_last() {
        assert_eq!(
            entry_serial(0x0102_0304).as_bytes(),
            [0x40, 0, 0, 0, 1, 2, 3, 4]
        );
        let entries = revoked_entries(3);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].serial, entry_serial(3));
    }

    #[test]
    fn requests_parse_with_and_without_nonce() {
        let serial = entry_serial(7);
        let plain = ocsp_request_der(&[1; 20], &[2; 20], &serial, None);
        let parsed = mock_ca::ocsp::OcspRequest::from_der(&plain).unwrap();
        assert_eq!(parsed.cert_ids().len(), 1);
        assert_eq!(parsed.cert_ids()[0].serial(), &serial);
        assert_eq!(parsed.cert_ids()[0].issuer_key_hash(), [2; 20]);
        assert!(parsed.nonce().is_none());

        let with_nonce = ocsp_request_der(&[1; 20], &[2; 20], &serial, Some(&[9; 16]));
        let parsed = mock_ca::ocsp::OcspRequest::from_der(&with_nonce).unwrap();
        assert!(parsed.nonce().is_some());
    }

    #[test]
    fn response_status() {
        assert!(ocsp_successful(&[0x30, 0x82, 0x01, 0x00, 0x0A, 0x01, 0x00]));
        assert!(!ocsp_successful(&[0x30, 0x03, 0x0A, 0x01, 0x06]));
        assert!(!ocsp_successful(&[]));
    }
}
