//! The card's layout, in one place: which file of which AP holds what (docs/card-protocol.md §3),
//! and the DigestInfo prefixes of what the JPKI keys sign (§4.6). The personaliser writes these
//! files, the reference SDK and the benches read them, the test image lays them out.
//!
//! The AIDs themselves are [`Aid::JPKI`](crate::image::Aid::JPKI) and its siblings. Files whose
//! purpose no public source names are `UNKNOWN_xx`: the card has them, nothing reads them.

use crate::image::FileId;

/// 公的個人認証AP (JPKI-AP), §3.1.
pub mod jpki {
    use super::FileId;

    /// 署名用電子証明書: the signature certificate, behind the signature password.
    pub const SIGN_CERT: FileId = FileId(0x0001);
    /// 署名用CA証明書: the signature CA certificate, free.
    pub const SIGN_CA_CERT: FileId = FileId(0x0002);
    /// Purpose unknown.
    pub const UNKNOWN_05: FileId = FileId(0x0005);
    /// Token information (a PKCS#11 `CK_TOKEN_INFO`, 160 bytes), free (§7.1).
    pub const TOKEN_INFO: FileId = FileId(0x0006);
    /// Which certificates are present: `8F` or `00` for signature, authentication, then `00`.
    pub const CERTIFICATE_AVAILABILITY: FileId = FileId(0x0008);
    /// Purpose unknown; no client opens it.
    pub const UNKNOWN_09: FileId = FileId(0x0009);
    /// 利用者証明用電子証明書: the authentication certificate, free.
    pub const AUTH_CERT: FileId = FileId(0x000A);
    /// 利用者証明用CA証明書: the authentication CA certificate, free.
    pub const AUTH_CA_CERT: FileId = FileId(0x000B);
    /// A key reference of unknown purpose.
    pub const UNKNOWN_10: FileId = FileId(0x0010);
    /// The terminal-CA key reference of SET PUBLIC IC KEY (`80 A2`).
    pub const TERMINAL_CA_KEY: FileId = FileId(0x0016);
    /// 利用者証明用秘密鍵: the authentication key, behind the authentication PIN.
    pub const AUTH_KEY: FileId = FileId(0x0017);
    /// 利用者証明用暗証番号: the authentication PIN, 4 digits, 3 tries.
    pub const AUTH_PIN: FileId = FileId(0x0018);
    /// Purpose unknown.
    pub const UNKNOWN_19: FileId = FileId(0x0019);
    /// 署名用秘密鍵: the signature key, behind the signature password.
    pub const SIGN_KEY: FileId = FileId(0x001A);
    /// 署名用パスワード: the signature password, 6–16 of `A-Z0-9`, 5 tries.
    pub const SIGN_PASSWORD: FileId = FileId(0x001B);
    /// Purpose unknown.
    pub const UNKNOWN_1C: FileId = FileId(0x001C);
    /// Purpose unknown.
    pub const UNKNOWN_1E: FileId = FileId(0x001E);
}

/// 券面事項入力補助AP (the text AP), §3.2.
pub mod text {
    use super::FileId;

    /// 個人番号: `FF 10 0C` + 12 digits (§7.3), behind the text PIN or 照合番号A.
    pub const MY_NUMBER: FileId = FileId(0x0001);
    /// 基本4情報: name, address, birth date, sex (§7.4), behind the text PIN or 照合番号B.
    pub const BASIC_INFO: FileId = FileId(0x0002);
    /// Integrity record: digests of the two files above, signed (§7.5).
    pub const INTEGRITY: FileId = FileId(0x0003);
    /// The AP's card-verifiable certificate `7F 21` (§7.6), free.
    pub const CVC: FileId = FileId(0x0004);
    /// AP basic information `FF 40` (§7.7), free.
    pub const AP_INFO: FileId = FileId(0x0005);
    /// The session-key encryption public key `A1`.
    pub const SESSION_KEY_PUBLIC: FileId = FileId(0x0006);
    /// The AP key's public half, signed: `FF 50`.
    pub const SIGNED_PUBLIC_KEY: FileId = FileId(0x0007);
    /// 16 bytes `FF`, purpose unknown.
    pub const UNKNOWN_08: FileId = FileId(0x0008);
    /// Purpose unknown.
    pub const UNKNOWN_10: FileId = FileId(0x0010);
    /// 券面事項入力補助用暗証番号: the text PIN, 4 digits, 3 tries.
    pub const PIN: FileId = FileId(0x0011);
    /// A key reference blocked on every card examined.
    pub const BLOCKED_12: FileId = FileId(0x0012);
    /// The AP's own signing key (its public half in [`SIGNED_PUBLIC_KEY`]).
    pub const AP_KEY: FileId = FileId(0x0013);
    /// 照合番号A: the my number.
    pub const PIN_A: FileId = FileId(0x0014);
    /// 照合番号B: birth date, expiry year, security code (§6.1).
    pub const PIN_B: FileId = FileId(0x0015);
    /// Purpose unknown.
    pub const UNKNOWN_1C: FileId = FileId(0x001C);
    /// Purpose unknown.
    pub const UNKNOWN_1E: FileId = FileId(0x001E);
}

/// 券面事項確認AP (the visual AP), §3.3.
pub mod visual {
    use super::FileId;

    /// Age-verification record `FF 10`, behind the birth-date key.
    pub const AGE_RECORD: FileId = FileId(0x0001);
    /// The card face `FF 20` (§7.8), behind 照合番号A or B.
    pub const CARD_FACE: FileId = FileId(0x0002);
    /// AP basic information `FF 30`, free.
    pub const AP_INFO: FileId = FileId(0x0003);
    /// The AP's card-verifiable certificate `7F 21`, free.
    pub const CVC: FileId = FileId(0x0004);
    /// The rendered my number `FF 40`, behind 照合番号A only.
    pub const MY_NUMBER_IMAGE: FileId = FileId(0x0005);
    /// 16 bytes `FF`, purpose unknown.
    pub const UNKNOWN_06: FileId = FileId(0x0006);
    /// 生年月日: the birth-date key, era `YYMMDD`.
    pub const BIRTH_DATE_PIN: FileId = FileId(0x0011);
    /// 照合番号B.
    pub const PIN_B: FileId = FileId(0x0012);
    /// 照合番号A.
    pub const PIN_A: FileId = FileId(0x0013);
    /// The card's own signing key (its public half in the card face and the age record).
    pub const CARD_KEY: FileId = FileId(0x001A);
    /// Purpose unknown.
    pub const UNKNOWN_1C: FileId = FileId(0x001C);
    /// Purpose unknown.
    pub const UNKNOWN_1E: FileId = FileId(0x001E);
}

/// 住基AP, §3.4.
pub mod juki {
    use super::FileId;

    /// One 16-byte key reference (the same as the common AP's).
    pub const KEY_REFERENCE: FileId = FileId(0x0002);
    /// The 住基 PIN, 4 digits.
    pub const PIN: FileId = FileId(0x001C);
}

/// 共通カードAP, §3.5.
pub mod common {
    use super::FileId;

    /// Record 1: serial, municipality code, expiry.
    pub const CARD_RECORD: FileId = FileId(0x0001);
    /// One 16-byte key reference.
    pub const KEY_REFERENCE: FileId = FileId(0x0002);
    /// The INTERNAL AUTHENTICATE key.
    pub const KEY: FileId = FileId(0x0019);
    /// The AP's 4-digit PIN.
    pub const PIN: FileId = FileId(0x001C);
}

/// The DER prefixes of `DigestInfo { algorithm, digest }` (RFC 8017 §9.2, note 1): prefix then
/// the digest is what COMPUTE DIGITAL SIGNATURE signs with the JPKI keys (§4.6).
pub mod digest_info {
    /// SHA-1: 15 bytes, then 20 digest bytes.
    pub const SHA1: [u8; 15] = [
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
    ];
    /// SHA-256: 19 bytes, then 32 digest bytes.
    pub const SHA256: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    /// SHA-384: 19 bytes, then 48 digest bytes.
    pub const SHA384: [u8; 19] = [
        0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30,
    ];
    /// SHA-512: 19 bytes, then 64 digest bytes.
    pub const SHA512: [u8; 19] = [
        0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefix_announces_its_digest_length() {
        // The last byte is the OCTET STRING length; the second the SEQUENCE length.
        for (prefix, len) in [
            (&digest_info::SHA1[..], 20),
            (&digest_info::SHA256[..], 32),
            (&digest_info::SHA384[..], 48),
            (&digest_info::SHA512[..], 64),
        ] {
            assert_eq!(usize::from(prefix[prefix.len() - 1]), len);
            assert_eq!(usize::from(prefix[1]), prefix.len() - 2 + len);
        }
    }

    #[test]
    fn every_file_has_a_short_file_identifier() {
        for fid in [
            jpki::SIGN_PASSWORD,
            text::PIN_B,
            visual::CARD_KEY,
            common::PIN,
        ] {
            assert_eq!(u16::from(fid.sfi()), fid.0);
        }
    }
}
