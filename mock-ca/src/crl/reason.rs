//! CRL entry reason codes (RFC 5280 §5.3.1) and the JPKI grounds each one stands for
//! (docs/jpki-pki.md §2).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a certificate was revoked: the RFC 5280 `CRLReason` values (7 is unused there).
///
/// Serialised as snake_case names (`affiliation_changed`), so scenarios read like the JPKI
/// grounds; `code()` gives the number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// 0: JPKI uses it for a certificate destroyed before delivery. Encoded by leaving the
    /// reasonCode extension out, as RFC 5280 §5.3.1 recommends.
    Unspecified,
    /// 1: key compromise, or a loss or theft report.
    KeyCompromise,
    /// 2: the issuing CA's key was compromised.
    CaCompromise,
    /// 3: certificate content changed (move, name change, any basic-4-info change).
    AffiliationChanged,
    /// 4: renewed; a new certificate replaces this one.
    Superseded,
    /// 5: no longer needed (death, emigration, the holder's request).
    CessationOfOperation,
    /// 6: temporary hold (JPKI never releases one).
    CertificateHold,
    /// 8: belongs in delta CRLs only (RFC 5280 §5.3.1), which this crate does not issue; kept
    /// so that a scenario can serve a non-conforming CRL on purpose.
    RemoveFromCrl,
    /// 9: the privilege the certificate stood for was withdrawn.
    PrivilegeWithdrawn,
    /// 10: an attribute authority was compromised.
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in code order.
    pub const ALL: [RevocationReason; 10] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::RemoveFromCrl,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The `CRLReason` ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::RemoveFromCrl => 8,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The reason with this `CRLReason` value; `None` for 7 and above 10.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }

    /// The RFC 5280 ASN.1 identifier (`affiliationChanged`).
    pub fn rfc5280_name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::RemoveFromCrl => "removeFromCRL",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }
}

/// The RFC 5280 identifier and code, e.g. `affiliationChanged (3)`.
impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.rfc5280_name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as ValueError, StrDeserializer};

    #[test]
    fn codes_round_trip_and_seven_is_unassigned() {
        for reason in RevocationReason::ALL {
            assert_eq!(RevocationReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(RevocationReason::from_code(7), None);
        assert_eq!(RevocationReason::from_code(11), None);
    }

    #[test]
    fn serde_names_are_snake_case() {
        insta::assert_json_snapshot!(RevocationReason::ALL, @r#"
        [
          "unspecified",
          "key_compromise",
          "ca_compromise",
          "affiliation_changed",
          "superseded",
          "cessation_of_operation",
          "certificate_hold",
          "remove_from_crl",
          "privilege_withdrawn",
          "aa_compromise"
        ]
        "#);
        let parsed = RevocationReason::deserialize(StrDeserializer::<ValueError>::new(
            "affiliation_changed",
        ));
        assert_eq!(parsed.unwrap(), RevocationReason::AffiliationChanged);
    }

    #[test]
    fn display_names_the_rfc_identifier_and_code() {
        assert_eq!(
            RevocationReason::CessationOfOperation.to_string(),
            "cessationOfOperation (5)"
        );
        assert_eq!(
            RevocationReason::AaCompromise.to_string(),
            "aACompromise (10)"
        );
    }
}
