//! The command APDUs of a JPKI authentication: select the AP, read the certificate, verify the
//! PIN, sign a SHA-256 DigestInfo.

use sim_card::image::Aid;
use sim_card::layout::{digest_info, jpki};

/// The JPKI AP (公的個人認証AP).
pub const JPKI_AID: &[u8] = Aid::JPKI;

/// 利用者証明用電子証明書 (authentication certificate).
pub const EF_AUTH_CERT: u16 = jpki::AUTH_CERT.0;
/// 利用者証明用暗証番号 (authentication PIN).
pub const EF_AUTH_PIN: u16 = jpki::AUTH_PIN.0;
/// 利用者証明用秘密鍵 (authentication key).
pub const EF_AUTH_KEY: u16 = jpki::AUTH_KEY.0;

/// The default authentication PIN.
pub const AUTH_PIN: &[u8] = b"1234";

/// SHA-256 of `abc` (FIPS 180-2 test vector): the digest the benchmarks sign.
pub const SHA256_ABC: [u8; 32] = [
    0xBA, 0x78, 0x16, 0xBF, 0x8F, 0x01, 0xCF, 0xEA, 0x41, 0x41, 0x40, 0xDE, 0x5D, 0xAE, 0x22, 0x23,
    0xB0, 0x03, 0x61, 0xA3, 0x96, 0x17, 0x7A, 0x9C, 0xB4, 0x10, 0xFF, 0x61, 0xF2, 0x00, 0x15, 0xAD,
];

/// DER prefix of a SHA-256 DigestInfo.
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = digest_info::SHA256;

/// SELECT by DF name, no response data: `00 A4 04 0C 0A D392F000260100000001`.
pub fn select_jpki_ap() -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, JPKI_AID.len() as u8];
    apdu.extend_from_slice(JPKI_AID);
    apdu
}

/// SELECT EF by file id, no response data: `00 A4 02 0C 02 <fid>`.
pub fn select_ef(fid: u16) -> Vec<u8> {
    let [hi, lo] = fid.to_be_bytes();
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]
}

/// READ BINARY of up to 256 bytes at `offset` of the current EF (`Le = 00` asks for 256).
pub fn read_binary(offset: u16, len: usize) -> Vec<u8> {
    assert!(
        (1..=256).contains(&len),
        "short READ BINARY reads 1..=256 bytes"
    );
    let [hi, lo] = offset.to_be_bytes();
    assert!(hi < 0x80, "offset {offset} needs the SFI-free 15-bit form");
    vec![0x00, 0xB0, hi, lo, (len % 256) as u8]
}

/// VERIFY the PIN of the current EF: `00 20 00 80 Lc <pin>`.
pub fn verify(pin: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, pin.len() as u8];
    apdu.extend_from_slice(pin);
    apdu
}

/// COMPUTE DIGITAL SIGNATURE with the current key EF over a SHA-256 DigestInfo:
/// `80 2A 00 80 33 <DigestInfo> 00`.
pub fn sign_sha256(digest: &[u8; 32]) -> Vec<u8> {
    let mut apdu = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
    apdu.extend_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    apdu.extend_from_slice(digest);
    apdu.push(0x00);
    apdu
}

/// The status word of a response APDU (`0000` when it is shorter than two bytes).
pub fn status(response: &[u8]) -> u16 {
    match response {
        [.., sw1, sw2] => u16::from_be_bytes([*sw1, *sw2]),
        _ => 0,
    }
}

/// Panics unless `response` ends in `90 00`; returns the data before the status word.
pub fn expect_ok<'r>(what: &str, response: &'r [u8]) -> &'r [u8] {
    let sw = status(response);
    assert_eq!(sw, 0x9000, "{what}: status {sw:04X}, expected 9000");
    &response[..response.len() - 2]
}

/// Total length of a DER TLV from its first bytes (tag, then short or long-form length).
pub fn der_length(head: &[u8]) -> Option<usize> {
    let first = *head.get(1)?;
    if first < 0x80 {
        return Some(2 + first as usize);
    }
    let count = (first & 0x7F) as usize;
    if count == 0 || count > 4 {
        return None;
    }
    let bytes = head.get(2..2 + count)?;
    let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
    Some(2 + count + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdus_have_the_documented_bytes() {
        assert_eq!(
            select_jpki_ap(),
            [
                0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
                0x01
            ]
        );
        assert_eq!(
            select_ef(0x000A),
            [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A]
        );
        assert_eq!(read_binary(0x0100, 256), [0x00, 0xB0, 0x01, 0x00, 0x00]);
        assert_eq!(read_binary(0x0600, 0x2E), [0x00, 0xB0, 0x06, 0x00, 0x2E]);
        assert_eq!(
            verify(AUTH_PIN),
            [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34]
        );
        let sign = sign_sha256(&SHA256_ABC);
        assert_eq!(sign.len(), 5 + 0x33 + 1);
        assert_eq!(sign[..5], [0x80, 0x2A, 0x00, 0x80, 0x33]);
        assert_eq!(sign[5..24], SHA256_DIGEST_INFO_PREFIX);
        assert_eq!(sign[24..56], SHA256_ABC);
        assert_eq!(sign[56], 0x00);
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_length(&[0x30, 0x82, 0x06, 0x2E]), Some(4 + 0x062E));
        assert_eq!(der_length(&[0x30, 0x81, 0x80]), Some(3 + 0x80));
        assert_eq!(der_length(&[0x30, 0x05]), Some(7));
        assert_eq!(der_length(&[0x30, 0x80]), None);
        assert_eq!(der_length(&[0x30]), None);
    }

    #[test]
    fn status_words() {
        assert_eq!(status(&[0x01, 0x90, 0x00]), 0x9000);
        assert_eq!(status(&[0x6A]), 0);
        assert_eq!(expect_ok("x", &[0x01, 0x02, 0x90, 0x00]), [0x01, 0x02]);
    }
}
