//! Object identifiers of the JPKI certificate profiles (docs/card-protocol.md §8), as arcs for rcgen.

/// id-ce-subjectKeyIdentifier
pub const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
/// id-ce-keyUsage
pub const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
/// id-ce-subjectAltName
pub const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
/// id-ce-issuerAltName
pub const ISSUER_ALT_NAME: &[u64] = &[2, 5, 29, 18];
/// id-ce-basicConstraints
pub const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
/// id-ce-cRLDistributionPoints
pub const CRL_DISTRIBUTION_POINTS: &[u64] = &[2, 5, 29, 31];
/// id-ce-certificatePolicies
pub const CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
/// id-ce-authorityKeyIdentifier
pub const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
/// id-ce-extKeyUsage
pub const EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
/// id-pe-authorityInfoAccess
pub const AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-ocsp
pub const AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
/// id-qt-cps
pub const QT_CPS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 2, 1];
/// id-kp-clientAuth
pub const KP_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// JPKI user-authentication certificate policy (`…8.5.1.3.30`, confirmed by a real cert).
pub const POLICY_AUTH: &[u64] = &[1, 2, 392, 200149, 8, 5, 1, 3, 30];
/// JPKI digital-signature certificate policy (`…8.5.1.1.20`).
pub const POLICY_SIGN: &[u64] = &[1, 2, 392, 200149, 8, 5, 1, 1, 20];

/// jpki-personalData otherName types (arc 1.2.392.200149.8.5.5).
pub mod personal_data {
    /// 氏名
    pub const NAME: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 1];
    /// 氏名の代替文字フラグ
    pub const NAME_SUBSTITUTE: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 2];
    /// 性別
    pub const GENDER: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 3];
    /// 生年月日 (`EYYYYMMDD`)
    pub const DATE_OF_BIRTH: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 4];
    /// 住所
    pub const ADDRESS: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 5];
    /// 住所の代替文字フラグ
    pub const ADDRESS_SUBSTITUTE: &[u64] = &[1, 2, 392, 200149, 8, 5, 5, 6];
}
