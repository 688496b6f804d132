//! A verifier's vocabulary: how it learns a certificate's status, why it refuses one, and why
//! a certificate was revoked.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::IntoStaticStr;

/// How a PF learns a certificate's status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StatusChannel {
    /// OCSP (15-minute windows with the `realistic` cadence).
    Ocsp,
    /// CRLs (issued daily at 00:00 JST with the `realistic` cadence).
    Crl,
}

/// Why a PF refuses an enrolment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RejectReason {
    /// The signature does not verify with the certificate's key.
    BadSignature,
    /// The certificate does not chain to a trusted JPKI CA.
    Untrusted,
    /// The certificate is revoked.
    Revoked,
    /// The certificate is outside its validity period: expired, or not yet valid.
    Expired,
    /// The status could not be established (responder down, bad answer): failing closed.
    StatusUndetermined,
}
