//! A minimal DER writer for the structures rcgen does not encode natively: UTF8String directory
//! names inside GeneralNames, IssuerAltName, CRL distribution points with a directoryName,
//! authority key identifiers with issuer and serial, certificate policies with a CPS qualifier,
//! and SubjectAltName otherNames.
//!
//! Every function returns one complete TLV. Only low tag numbers (below 31) are needed here.

/// Universal tag numbers used by the certificate profiles.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const ENUMERATED: u8 = 0x0A;
    pub(crate) const UTF8_STRING: u8 = 0x0C;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
}

/// One TLV with a definite-length header.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// `SEQUENCE { parts... }`; each part is already a complete TLV.
pub(crate) fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// `SET { parts... }`. The caller keeps DER's SET OF ordering (all our sets have one member).
pub(crate) fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SET, &parts.concat())
}

/// An OBJECT IDENTIFIER from its arcs (at least two, as every OID in this crate has).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    if let [first, second, rest @ ..] = arcs {
        push_base128(&mut content, first * 40 + second);
        for arc in rest {
            push_base128(&mut content, *arc);
        }
    }
    tlv(tag::OID, &content)
}

pub(crate) fn utf8_string(value: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, value.as_bytes())
}

/// The caller guarantees the PrintableString character set (checked where names are built).
pub(crate) fn printable_string(value: &str) -> Vec<u8> {
    tlv(tag::PRINTABLE_STRING, value.as_bytes())
}

/// The caller guarantees ASCII (URLs are checked when a [`crate::BaseUrl`] is parsed).
pub(crate) fn ia5_string(value: &str) -> Vec<u8> {
    tlv(tag::IA5_STRING, value.as_bytes())
}

pub(crate) fn octet_string(value: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, value)
}

pub(crate) fn boolean(value: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if value { 0xFF } else { 0x00 }])
}

/// The content octets of a non-negative INTEGER given as big-endian magnitude bytes: leading
/// zeros stripped, one zero added back when the high bit would make it negative.
pub(crate) fn unsigned_integer_content(magnitude: &[u8]) -> Vec<u8> {
    let first_nonzero = magnitude.iter().position(|b| *b != 0);
    let trimmed = match first_nonzero {
        Some(i) => &magnitude[i..],
        None => return vec![0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    content
}

/// A BIT STRING holding named bits (KeyUsage): trailing zero bits are not encoded, as DER
/// requires for named bit lists.
pub(crate) fn named_bits(bytes: &[u8]) -> Vec<u8> {
    let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let bytes = &bytes[..used];
    let unused_bits = bytes.last().map_or(0, |b| b.trailing_zeros() as u8);
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(unused_bits);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

/// `[n] EXPLICIT inner`, or `[n] IMPLICIT` of a constructed type (the tag replaces the inner
/// SEQUENCE/SET tag): pass the inner *contents* for the latter.
pub(crate) fn context_constructed(number: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xA0 | number, content)
}

/// `[n] IMPLICIT` of a primitive type, given its content octets.
pub(crate) fn context_primitive(number: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | number, content)
}

/// Only the tag and length octets of a TLV, for writers that append the content themselves:
/// large structures (CRLs) are written once into a pre-sized buffer instead of nested copies.
pub(crate) fn push_header(out: &mut Vec<u8>, tag: u8, content_len: usize) {
    out.push(tag);
    push_length(out, content_len);
}

/// How many octets [`push_header`] writes for `content_len` content octets.
pub(crate) fn header_len(content_len: usize) -> usize {
    let length_octets = if content_len < 0x80 {
        1
    } else {
        1 + (usize::BITS - content_len.leading_zeros()).div_ceil(8) as usize
    };
    1 + length_octets
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn push_base128(out: &mut Vec<u8>, mut value: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    loop {
        groups[n] = (value & 0x7F) as u8;
        n += 1;
        value >>= 7;
        if value == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_encodes_multi_byte_arcs() {
        // 1.2.392.200149.8.5.5.1 (jpki-personalData commonName)
        assert_eq!(
            hex::encode(oid(&[1, 2, 392, 200149, 8, 5, 5, 1])),
            "060a2a83088c9b5508050501"
        );
        // 2.5.29.15 keyUsage
        assert_eq!(hex::encode(oid(&[2, 5, 29, 15])), "0603551d0f");
    }

    #[test]
    fn key_usage_bits_match_the_real_certificates() {
        assert_eq!(hex::encode(named_bits(&[0x06])), "03020106"); // keyCertSign + cRLSign
        assert_eq!(hex::encode(named_bits(&[0x80])), "03020780"); // digitalSignature
        assert_eq!(hex::encode(named_bits(&[0xC0])), "030206c0"); // + nonRepudiation
    }

    #[test]
    fn long_lengths_use_the_minimal_long_form() {
        assert_eq!(&tlv(0x04, &[0; 0x80])[..3], &[0x04, 0x81, 0x80]);
        assert_eq!(&tlv(0x04, &[0; 0x1234])[..4], &[0x04, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn header_len_matches_what_push_header_writes() {
        for len in [
            0, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0xFF_FFFF, 0x100_0000,
        ] {
            let mut out = Vec::new();
            push_header(&mut out, tag::SEQUENCE, len);
            assert_eq!(out.len(), header_len(len), "{len:#x}");
        }
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(unsigned_integer_content(&[0, 0, 0x7F]), vec![0x7F]);
        assert_eq!(unsigned_integer_content(&[0x80]), vec![0x00, 0x80]);
        assert_eq!(unsigned_integer_content(&[0, 0]), vec![0x00]);
    }
}
