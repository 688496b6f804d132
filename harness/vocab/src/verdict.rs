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
    /// The certificate is expired.
    Expired,
    /// The status could not be established (responder down, bad answer): failing closed.
    StatusUndetermined,
}

/// Why a certificate was revoked: an RFC 5280 CRLReason by its snake_case name, with its code.
// The schema of `mock_ca::crl::RevocationReason`, which does not derive `JsonSchema`, for the
// verdicts that carry one; the test below proves it has the original's names. Values are only
// made by the tests: the schema needs the type.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "RevocationReason")]
pub(crate) enum RevocationReasonName {
    /// 0: destroyed before delivery (or no reason given).
    Unspecified,
    /// 1: key compromise, loss or theft.
    KeyCompromise,
    /// 2: the CA's key was compromised.
    CaCompromise,
    /// 3: a basic-4-info change (move, name change...).
    AffiliationChanged,
    /// 4: renewed.
    Superseded,
    /// 5: death, emigration, the holder's request.
    CessationOfOperation,
    /// 6: on hold (suspension).
    CertificateHold,
    /// 8: delta CRLs only.
    RemoveFromCrl,
    /// 9: privilege withdrawn.
    PrivilegeWithdrawn,
    /// 10: an attribute authority was compromised.
    AaCompromise,
}

#[cfg(test)]
mod tests {
    use mock_ca::crl::RevocationReason;

    use super::RevocationReasonName;

    // Exhaustive: a reason added to the original breaks the build here.
    fn mirror(reason: RevocationReason) -> RevocationReasonName {
        use RevocationReason as R;
        use RevocationReasonName as M;
        match reason {
            R::Unspecified => M::Unspecified,
            R::KeyCompromise => M::KeyCompromise,
            R::CaCompromise => M::CaCompromise,
            R::AffiliationChanged => M::AffiliationChanged,
            R::Superseded => M::Superseded,
            R::CessationOfOperation => M::CessationOfOperation,
            R::CertificateHold => M::CertificateHold,
            R::RemoveFromCrl => M::RemoveFromCrl,
            R::PrivilegeWithdrawn => M::PrivilegeWithdrawn,
            R::AaCompromise => M::AaCompromise,
        }
    }

    #[test]
    fn the_revocation_reason_schema_has_the_original_names() {
        let schema = schemars::schema_for!(RevocationReasonName);
        let names: Vec<serde_json::Value> = RevocationReason::ALL
            .into_iter()
            .map(|reason| {
                let name = serde_json::to_value(reason).unwrap();
                assert_eq!(serde_json::to_value(mirror(reason)).unwrap(), name);
                name
            })
            .collect();
        let listed: Vec<serde_json::Value> = schema
            .as_value()
            .pointer("/oneOf")
            .and_then(|one_of| one_of.as_array())
            .map(|variants| {
                variants
                    .iter()
                    .filter_map(|v| v.get("const").cloned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(listed, names);
    }
}
