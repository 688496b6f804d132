//! The card's keys, PINs and certificates, and the digests it signs, as every part names them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::IntoStaticStr;

/// The certificates of the JPKI AP.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CertificateSlot {
    /// The signature certificate (EF `0001`, behind the signature password).
    Sign,
    /// The authentication certificate (EF `000A`, free).
    Auth,
    /// The signature CA certificate (EF `0002`, free).
    SignCa,
    /// The authentication CA certificate (EF `000B`, free).
    AuthCa,
}

/// The card's PINs and passwords.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PinKind {
    /// The authentication PIN (利用者証明用電子証明書暗証番号), 4 digits, 3 tries.
    Auth,
    /// The signature password (署名用電子証明書暗証番号), 6–16 upper-case letters and digits, 5 tries.
    Sign,
    /// The text AP's PIN (券面事項入力補助用暗証番号), 4 digits, 3 tries.
    Text,
    /// 照合番号A: the my number. For `pin_status`, `verify_pin` and `change_pin`, the visual AP's.
    PinA,
    /// 照合番号B: birth date (YYMMDD), expiry year and security code. For `pin_status`,
    /// `verify_pin` and `change_pin`, the visual AP's.
    PinB,
}

/// The two JPKI keys.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum KeyKind {
    /// The authentication key (behind the authentication PIN).
    Auth,
    /// The signature key (behind the signature password).
    Sign,
}

/// The digest in the DigestInfo the card signs.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum HashAlgorithm {
    /// SHA-1.
    Sha1,
    /// SHA-256, the default.
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}
