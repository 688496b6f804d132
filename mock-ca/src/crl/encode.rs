//! The DER of a `CertificateList`, written in one pass into one buffer:
//!
//! ```text
//! SEQUENCE {                                  outer header
//!   SEQUENCE {                                TBS header
//!     version v2, signature, issuer,          `head`: fixed per request
//!     thisUpdate, nextUpdate,
//!     SEQUENCE OF RevokedCertificate,         list header + entries (absent when empty)
//!     [0] EXPLICIT Extensions }               `extensions`: fixed per request
//!   signatureAlgorithm, BIT STRING signature }
//! ```
//!
//! The three headers in front of the entries encode lengths known only once the entries are
//! written. The entries therefore go after a headroom sized from the iterator's size hint, and
//! the front is filled in afterwards. Headers grow by one octet only each time a length passes a
//! power of 256, so the guess is nearly always right; when it is not (or the iterator has no
//! size hint), the body is moved once with `copy_within`. Entries are written in place without
//! heap allocation.

use std::borrow::Borrow;

use time::{OffsetDateTime, UtcOffset};

use super::{CrlRequest, CrlScope, RevocationReason, RevokedEntry};
use crate::asn1::{self, tag};
use crate::error::{Error, Result};
use crate::hierarchy::CertificateAuthority;
use crate::keys::RSA_BITS;
use crate::names;
use crate::oid;

/// sha256WithRSAEncryption (PKCS #1).
const SHA256_WITH_RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
/// id-ce-cRLNumber
const CRL_NUMBER: &[u64] = &[2, 5, 29, 20];
/// id-ce-issuingDistributionPoint
const ISSUING_DISTRIBUTION_POINT: &[u64] = &[2, 5, 29, 28];

/// `crlEntryExtensions` holding only a reasonCode, less its last octet (the code):
/// `SEQUENCE { SEQUENCE { id-ce-cRLReasons, OCTET STRING { ENUMERATED } } }`. Written as bytes
/// so that an entry costs no allocation; a unit test checks it against the asn1 writer.
#[rustfmt::skip]
const REASON_EXTENSIONS_PREFIX: [u8; 13] = [
    tag::SEQUENCE, 0x0C,
    tag::SEQUENCE, 0x0A,
    tag::OID, 0x03, 0x55, 0x1D, 0x15, // 2.5.29.21
    tag::OCTET_STRING, 0x03,
    tag::ENUMERATED, 0x01,
];
const REASON_EXTENSIONS_LEN: usize = REASON_EXTENSIONS_PREFIX.len() + 1;

/// The largest entry: header, INTEGER of 20 content octets, GeneralizedTime, reasonCode.
const MAX_ENTRY_LEN: usize = 2 + 22 + 17 + REASON_EXTENSIONS_LEN;
/// An entry with an 8-byte serial, a UTCTime and a reason code, to guess header sizes.
const TYPICAL_ENTRY_LEN: usize = 2 + 10 + 15 + REASON_EXTENSIONS_LEN;
/// PKCS#1 v1.5 signatures are as long as the modulus (only a guess: any RSA CA key works).
const SIGNATURE_LEN_GUESS: usize = RSA_BITS / 8;

/// The request-dependent parts of a CRL, encoded once.
pub(super) struct CrlParts {
    /// version, signature, issuer, thisUpdate, nextUpdate: the TBS fields before the entries.
    head: Vec<u8>,
    /// `[0] EXPLICIT Extensions`, the last TBS field.
    extensions: Vec<u8>,
    /// signatureAlgorithm of the outer SEQUENCE (the same as the TBS `signature` field).
    algorithm: Vec<u8>,
}

impl CrlParts {
    pub(super) fn new(ca: &CertificateAuthority, request: &CrlRequest) -> Result<Self> {
        let this_update = whole_seconds_utc(request.this_update, "CRL thisUpdate")?;
        let next_update = whole_seconds_utc(request.next_update, "CRL nextUpdate")?;
        if next_update <= this_update {
            return Err(Error::InvalidCrlPeriod {
                this_update: request.this_update,
                next_update: request.next_update,
            });
        }
        let algorithm = asn1::sequence(&[
            asn1::oid(SHA256_WITH_RSA_ENCRYPTION),
            asn1::tlv(tag::NULL, &[]),
        ]);
        let mut head = asn1::tlv(tag::INTEGER, &[1]); // v2
        head.extend_from_slice(&algorithm);
        head.extend_from_slice(&ca.name_der());
        push_time(&mut head, this_update);
        push_time(&mut head, next_update);
        Ok(CrlParts {
            head,
            extensions: crl_extensions(ca, request)?,
            algorithm,
        })
    }

    /// Upper bound of the DER length with `entry_count` entries.
    pub(super) fn size_hint(&self, entry_count: usize) -> usize {
        let list = entry_count.saturating_mul(MAX_ENTRY_LEN);
        // The signature of a larger key would not fit; a 16384-bit margin covers any RSA key
        // aws-lc-rs signs with.
        self.lengths(list, 2048).total
    }

    /// Writes the CRL and signs it with the CA key.
    pub(super) fn build<I>(&self, ca: &CertificateAuthority, entries: I) -> Result<Vec<u8>>
    where
        I: Iterator,
        I::Item: Borrow<RevokedEntry>,
    {
        let expected = entries.size_hint().0;
        let guessed = self.lengths(
            expected.saturating_mul(TYPICAL_ENTRY_LEN),
            SIGNATURE_LEN_GUESS,
        );
        let mut out = Vec::new();
        // An iterator may claim more than memory holds; then the buffer just grows as it goes.
        let _ = out.try_reserve_exact(self.size_hint(expected));
        out.resize(guessed.front, 0);
        for entry in entries {
            push_entry(&mut out, entry.borrow())?;
        }
        let list_len = out.len() - guessed.front;
        out.extend_from_slice(&self.extensions);

        // The TBS header, head and list header, now that the list length is known.
        let actual = self.lengths(list_len, SIGNATURE_LEN_GUESS);
        let mut front = Vec::with_capacity(actual.front);
        asn1::push_header(&mut front, tag::SEQUENCE, actual.tbs_content);
        front.extend_from_slice(&self.head);
        if list_len > 0 {
            asn1::push_header(&mut front, tag::SEQUENCE, list_len);
        }
        let tbs_start = actual.outer_header;
        move_tail(&mut out, guessed.front, tbs_start + front.len());
        out[tbs_start..tbs_start + front.len()].copy_from_slice(&front);

        let signature =
            rcgen::SigningKey::sign(ca.signer().key(), &out[tbs_start..]).map_err(|source| {
                Error::Signature {
                    what: "CRL",
                    source,
                }
            })?;
        let bit_string_content = 1 + signature.len();
        let outer_content = (out.len() - tbs_start)
            + self.algorithm.len()
            + asn1::header_len(bit_string_content)
            + bit_string_content;
        let mut outer_header = Vec::with_capacity(asn1::header_len(outer_content));
        asn1::push_header(&mut outer_header, tag::SEQUENCE, outer_content);
        move_tail(&mut out, tbs_start, outer_header.len());
        out[..outer_header.len()].copy_from_slice(&outer_header);

        out.extend_from_slice(&self.algorithm);
        asn1::push_header(&mut out, tag::BIT_STRING, bit_string_content);
        out.push(0); // no unused bits
        out.extend_from_slice(&signature);
        Ok(out)
    }

    fn lengths(&self, list_len: usize, signature_len: usize) -> Lengths {
        let list_header = if list_len > 0 {
            asn1::header_len(list_len)
        } else {
            0
        };
        let tbs_content = self
            .head
            .len()
            .saturating_add(list_header)
            .saturating_add(list_len)
            .saturating_add(self.extensions.len());
        let tbs = asn1::header_len(tbs_content).saturating_add(tbs_content);
        let bit_string = asn1::header_len(1 + signature_len) + 1 + signature_len;
        let outer_content = tbs
            .saturating_add(self.algorithm.len())
            .saturating_add(bit_string);
        let outer_header = asn1::header_len(outer_content);
        Lengths {
            front: outer_header + asn1::header_len(tbs_content) + self.head.len() + list_header,
            outer_header,
            tbs_content,
            total: outer_header.saturating_add(outer_content),
        }
    }
}

/// Sizes derived from the list length and signature length.
struct Lengths {
    /// Everything before the first entry: outer header, TBS header, head, list header.
    front: usize,
    outer_header: usize,
    tbs_content: usize,
    total: usize,
}

/// The CRL extensions, in the order OpenSSL and most CAs use: authorityKeyIdentifier,
/// cRLNumber, then the issuingDistributionPoint of a partition.
fn crl_extensions(ca: &CertificateAuthority, request: &CrlRequest) -> Result<Vec<u8>> {
    let crl_number = asn1::unsigned_integer_content(&request.crl_number.to_be_bytes());
    let mut list = vec![
        extension(
            oid::AUTHORITY_KEY_IDENTIFIER,
            false,
            asn1::sequence(&[asn1::context_primitive(0, ca.key_identifier())]),
        ),
        extension(CRL_NUMBER, false, asn1::tlv(tag::INTEGER, &crl_number)),
    ];
    if let CrlScope::Municipality {
        prefecture_romaji,
        municipality_romaji,
    } = &request.scope
    {
        check_scope_field("prefecture_romaji", prefecture_romaji)?;
        check_scope_field("municipality_romaji", municipality_romaji)?;
        // The same name the certificate profile puts into the CRL distribution point.
        let partition =
            names::crl_partition_name(ca.hierarchy(), prefecture_romaji, municipality_romaji);
        let general_name = asn1::context_constructed(4, &partition.to_der());
        // IssuingDistributionPoint { distributionPoint [0] { fullName [0] { directoryName } },
        //                            onlyContainsUserCerts [1] TRUE }
        let idp = asn1::sequence(&[
            asn1::context_constructed(0, &asn1::context_constructed(0, &general_name)),
            asn1::context_primitive(1, &[0xFF]),
        ]);
        list.push(extension(ISSUING_DISTRIBUTION_POINT, true, idp));
    }
    Ok(asn1::context_constructed(0, &asn1::sequence(&list)))
}

fn extension(oid: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![asn1::oid(oid)];
    if critical {
        parts.push(asn1::boolean(true));
    }
    parts.push(asn1::octet_string(&value));
    asn1::sequence(&parts)
}

/// The same rule as for holder names: a name the certificates could carry.
fn check_scope_field(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(Error::InvalidCrlScope {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// `RevokedCertificate ::= SEQUENCE { userCertificate, revocationDate, crlEntryExtensions }`.
fn push_entry(out: &mut Vec<u8>, entry: &RevokedEntry) -> Result<()> {
    let revoked_at = whole_seconds_utc(entry.revoked_at, "CRL revocationDate")?;
    let serial = entry.serial.as_bytes();
    // Serial holds a positive magnitude without leading zeros; a set top bit needs a zero.
    let pad = serial.first().is_some_and(|b| b & 0x80 != 0);
    let serial_content = serial.len() + usize::from(pad);
    let extensions = match entry.reason {
        RevocationReason::Unspecified => 0,
        _ => REASON_EXTENSIONS_LEN,
    };
    let content =
        asn1::header_len(serial_content) + serial_content + time_len(revoked_at) + extensions;
    asn1::push_header(out, tag::SEQUENCE, content);
    asn1::push_header(out, tag::INTEGER, serial_content);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(serial);
    push_time(out, revoked_at);
    if extensions > 0 {
        out.extend_from_slice(&REASON_EXTENSIONS_PREFIX);
        out.push(entry.reason.code());
    }
    Ok(())
}

/// The time in UTC without fractions, if its year fits the X.509 `Time` rules (1950..=9999).
fn whole_seconds_utc(at: OffsetDateTime, what: &'static str) -> Result<OffsetDateTime> {
    let utc = at.to_offset(UtcOffset::UTC);
    if !(1950..=9999).contains(&utc.year()) {
        return Err(Error::DateOutOfRange { what });
    }
    Ok(utc - time::Duration::nanoseconds(i64::from(utc.nanosecond())))
}

/// UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §5.1.2.4, §4.1.2.5).
fn uses_utc_time(at: OffsetDateTime) -> bool {
    at.year() < 2050
}

fn time_len(at: OffsetDateTime) -> usize {
    if uses_utc_time(at) {
        2 + 13
    } else {
        2 + 15
    }
}

/// `YYMMDDHHMMSSZ` or `YYYYMMDDHHMMSSZ`; `at` is UTC, whole seconds, years 1950..=9999.
fn push_time(out: &mut Vec<u8>, at: OffsetDateTime) {
    // Checked by whole_seconds_utc, so the year is positive and has four digits.
    let year = at.year().unsigned_abs();
    if uses_utc_time(at) {
        out.extend_from_slice(&[tag::UTC_TIME, 13]);
        push_two_digits(out, year % 100);
    } else {
        out.extend_from_slice(&[tag::GENERALIZED_TIME, 15]);
        push_two_digits(out, year / 100);
        push_two_digits(out, year % 100);
    }
    for part in [
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    ] {
        push_two_digits(out, u32::from(part));
    }
    out.push(b'Z');
}

fn push_two_digits(out: &mut Vec<u8>, value: u32) {
    // Callers pass 0..=99; the casts keep the tens and units digits.
    out.push(b'0' + (value / 10 % 10) as u8);
    out.push(b'0' + (value % 10) as u8);
}

/// Moves `out[from..]` so that it starts at `to`, growing or shrinking `out`. The bytes before
/// `to` are left for the caller to overwrite.
fn move_tail(out: &mut Vec<u8>, from: usize, to: usize) {
    let len = out.len();
    if to > from {
        out.resize(len + (to - from), 0);
        out.copy_within(from..len, to);
    } else if to < from {
        out.copy_within(from..len, to);
        out.truncate(len - (from - to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reason_extension_bytes_match_the_asn1_writer() {
        let reason = RevocationReason::AffiliationChanged;
        let built = asn1::sequence(&[extension(
            &[2, 5, 29, 21],
            false,
            asn1::tlv(tag::ENUMERATED, &[reason.code()]),
        )]);
        let mut constant = REASON_EXTENSIONS_PREFIX.to_vec();
        constant.push(reason.code());
        assert_eq!(constant, built);
    }

    #[test]
    fn times_switch_to_generalized_time_in_2050() {
        let mut out = Vec::new();
        push_time(&mut out, datetime!(2049-12-31 23:59:59 UTC));
        assert_eq!(out, b"\x17\x0d491231235959Z");
        out.clear();
        push_time(&mut out, datetime!(2050-01-01 00:00:00 UTC));
        assert_eq!(out, b"\x18\x0f20500101000000Z");
        out.clear();
        push_time(&mut out, datetime!(1950-01-01 00:00:00 UTC));
        assert_eq!(out, b"\x17\x0d500101000000Z");
        assert_eq!(time_len(datetime!(2049-12-31 23:59:59 UTC)), 15);
        assert_eq!(time_len(datetime!(2050-01-01 00:00:00 UTC)), 17);
    }

    #[test]
    fn times_are_normalised_to_whole_utc_seconds() {
        let at = datetime!(2025-01-01 09:00:00.75 +9);
        let utc = whole_seconds_utc(at, "test").unwrap();
        assert_eq!(utc, datetime!(2025-01-01 00:00:00 UTC));
        assert_eq!(utc.offset(), UtcOffset::UTC);
        assert!(matches!(
            whole_seconds_utc(datetime!(1949-12-31 23:59:59 UTC), "test"),
            Err(Error::DateOutOfRange { what: "test" })
        ));
    }

    #[test]
    fn entries_are_minimal_integers_with_an_optional_reason() {
        let serial = crate::Serial::from_bytes(&[0x80, 0x01]).unwrap();
        let mut out = Vec::new();
        let entry = RevokedEntry {
            serial,
            revoked_at: datetime!(2024-12-31 12:00 UTC),
            reason: RevocationReason::Unspecified,
        };
        push_entry(&mut out, &entry).unwrap();
        assert_eq!(
            hex::encode(&out),
            // SEQUENCE { INTEGER 00 80 01, UTCTime 241231120000Z }
            "3014020300800117 0d3234313233313132303030305a".replace(' ', "")
        );
        out.clear();
        push_entry(
            &mut out,
            &RevokedEntry {
                reason: RevocationReason::AaCompromise,
                ..entry
            },
        )
        .unwrap();
        assert_eq!(out.len(), 2 + 5 + 15 + REASON_EXTENSIONS_LEN);
        assert!(hex::encode(&out).ends_with("300c300a0603551d1504030a010a"));
    }

    #[test]
    fn the_tail_moves_both_ways() {
        let mut out = b"..abc".to_vec();
        move_tail(&mut out, 2, 4);
        assert_eq!(&out[4..], b"abc");
        move_tail(&mut out, 4, 1);
        assert_eq!(out, b".abc");
        move_tail(&mut out, 1, 1);
        assert_eq!(out, b".abc");
    }
}
