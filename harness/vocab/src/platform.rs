//! What the harness asks of a platform (PF) under test: the verifier side of JPKI. The runner
//! speaks to any PF through [`Platform`]; the reference PF and the adapter link to external PFs
//! implement it.

use mock_ca::crl::RevocationReason;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{HashAlgorithm, KeyKind, RejectReason, StatusChannel};

/// Where the simulated J-LIS services are, and the trust anchors a PF starts from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PfEnvironment {
    /// Base URL of the server (`http://127.0.0.1:PORT`): `/crl/...`, `/ocsp`, `/jlis/v1/...`.
    pub base_url: String,
    /// The signature hierarchy's CA certificate (PEM).
    pub sign_ca_pem: String,
    /// The authentication hierarchy's CA certificate (PEM).
    pub auth_ca_pem: String,
    /// The admin token of a world served off loopback (`jpki-sim run --listen`), sent as
    /// `Authorization: Bearer` to its admin routes (the clock); `None` on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

/// A signature to enrol (`enrol`): what the holder's card signed, with its certificate.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnrolRequest {
    /// The PF's handle for this enrolment, chosen by the runner; later operations name it as
    /// `enrolment`.
    pub name: String,
    /// The card key that made the signature, and so the hierarchy the certificate must chain
    /// to.
    pub key: KeyKind,
    /// The end-entity certificate (DER, hex in JSON).
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
    pub certificate: Vec<u8>,
    /// Certificates presented between `certificate` and the trusted CA (DER, hex in JSON),
    /// nearest first. JPKI CAs issue end-entity certificates directly, so only a CA's own
    /// certificates (a link certificate after a key change) could belong here; the suite
    /// presents an end-entity certificate posing as an issuer, which a PF must refuse.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_list")]
    #[schemars(with = "Vec<String>")]
    pub intermediates: Vec<Vec<u8>>,
    /// The signed data (hex in JSON).
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
    pub data: Vec<u8>,
    /// The digest in the signed DigestInfo.
    pub hash: HashAlgorithm,
    /// PKCS#1 v1.5 signature over the DigestInfo of `data` (hex in JSON).
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
    pub signature: Vec<u8>,
}

/// The verdict on an enrolment, by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EnrolOutcome {
    /// The signature, the chain, validity and revocation status all hold: the holder is
    /// enrolled under the request's `name`.
    Accepted,
    /// The PF refuses the enrolment.
    Rejected {
        /// Why, as a scenario expects it.
        reason: RejectReason,
        /// What exactly failed, for people reading the report.
        detail: String,
    },
}

/// An enrolled certificate's status now, by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StatusOutcome {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// The CRL entry's or OCSP answer's reason; `null` or absent when it gave none.
        reason: Option<RevocationReason>,
    },
    /// The status source does not know the certificate (an OCSP `unknown`).
    Unknown,
    /// No trustworthy answer; `detail` says why (the PF fails closed).
    Undetermined {
        /// Why no answer could be trusted (responder down, stale or badly signed answer).
        detail: String,
    },
}

/// A consent document signed with the holder's signature key, for the latest-4-info service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Consent {
    /// The consent document as signed (hex in JSON).
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
    pub document: Vec<u8>,
    /// sha256WithRSAEncryption (PKCS#1 v1.5) over `document` by the signature key (hex in
    /// JSON).
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
    pub signature: Vec<u8>,
}

/// The holder's current basic 4 info, as J-LIS returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BasicInfo {
    /// The name (UTF-8).
    pub name: String,
    /// The address (UTF-8).
    pub address: String,
    /// The birth date, Gregorian: `YYYY-MM-DD` as J-LIS writes it, or `YYYYMMDD`.
    pub birth_date: String,
    /// Sex as the JIS X 0303 digit.
    pub sex: String,
    /// J-LIS's substitute-character (代替文字) flags of `name`: one `0` or `1` per character,
    /// `1` where the character stands in for one J-LIS cannot carry. Required when any flag
    /// is `1` (the name shown must then say it is not the holder's own spelling); may be left
    /// out when all are `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_substitute_flags: Option<String>,
    /// The flags of `address`, as `name_substitute_flags`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_substitute_flags: Option<String>,
}

impl BasicInfo {
    /// Whether a PF's answer (`self`) is the holder's info `holder`: birth dates compare as
    /// digits (J-LIS writes `YYYY-MM-DD`, the card `YYYYMMDD`); flags may be left out while
    /// all of the holder's are `0`, and must be right when given.
    pub fn matches(&self, holder: &BasicInfo) -> bool {
        let digits = |date: &str| date.replace('-', "");
        let flags = |got: &Option<String>, want: &Option<String>| match got {
            None => want.as_deref().is_none_or(|flags| !flags.contains('1')),
            Some(_) => got == want,
        };
        self.name == holder.name
            && self.address == holder.address
            && digits(&self.birth_date) == digits(&holder.birth_date)
            && self.sex == holder.sex
            && flags(&self.name_substitute_flags, &holder.name_substitute_flags)
            && flags(
                &self.address_substitute_flags,
                &holder.address_substitute_flags,
            )
    }
}

/// The holder's latest basic 4 info, or why there is none, by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LatestOutcome {
    /// J-LIS answered with the holder's current basic 4 info.
    Info {
        /// The basic 4 info now.
        info: BasicInfo,
        /// Whether the holder's newest signature certificate is another than the enrolled one
        /// (after a basic-4-info change, a renewal or a re-issue).
        changed: bool,
    },
    /// The holder never registered consent for this enrolment.
    NotConsented,
    /// The holder withdrew the consent.
    ConsentWithdrawn,
    /// The consent has expired.
    ConsentExpired,
    /// The holder's newest certificate has a successor J-LIS has not linked yet (the linkage
    /// lag): ask again later.
    LatestCertificateUnknown,
    /// The holder's newest certificate is past its notAfter.
    LatestCertificateExpired,
    /// The holder's newest certificate is revoked or on hold.
    LatestCertificateRevoked {
        /// Its revocation reason; `null` or absent when J-LIS gave none.
        reason: Option<RevocationReason>,
    },
    /// No trustworthy answer (the service is down, or its answer does not verify).
    Undetermined {
        /// Why.
        detail: String,
    },
}

/// The user behind an enrolment, by `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UserOutcome {
    /// The PF's stable user id for the enrolment.
    User {
        /// The same for every enrolment of the same person, across renewals, re-issues and
        /// sign ↔ auth.
        id: String,
    },
    /// J-LIS linkage does not yet connect the enrolment to a known user.
    NotLinkedYet,
    /// No trustworthy answer (the service is down, or its answer does not verify).
    Undetermined {
        /// Why.
        detail: String,
    },
}

/// A PF failed as a program (not a verdict): the scenario fails with this.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The operation named an enrolment the PF does not hold.
    #[error("no enrolment named {0:?}")]
    UnknownEnrolment(String),
    /// The PF could not perform the operation (a dependency down, data that does not parse).
    #[error("the platform failed: {0}")]
    Failed(String),
}

/// The verifier operations (docs/adapter-protocol.md). Verdicts are values; `Err` is for a broken PF.
pub trait Platform: Send {
    /// Verifies the signature and the certificate (chain to the right hierarchy's CA, validity,
    /// revocation status) and, if all hold, enrols the holder under `request.name`.
    fn enrol(&mut self, request: &EnrolRequest) -> Result<EnrolOutcome, PlatformError>;
    /// Re-checks an enrolled certificate's status now (現況確認) through `via`.
    fn check_status(
        &mut self,
        enrolment: &str,
        via: StatusChannel,
    ) -> Result<StatusOutcome, PlatformError>;
    /// Registers the holder's consent for the latest-4-info service (signature enrolments).
    fn register_consent(&mut self, enrolment: &str, consent: &Consent)
        -> Result<(), PlatformError>;
    /// Fetches the holder's latest basic 4 info.
    fn latest_info(&mut self, enrolment: &str) -> Result<LatestOutcome, PlatformError>;
    /// The stable user behind an enrolment, across renewals, re-issues and sign ↔ auth.
    fn resolve_user(&mut self, enrolment: &str) -> Result<UserOutcome, PlatformError>;
}

/// A list of byte strings as a JSON array of hex strings.
mod hex_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(items: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(items.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| hex::decode(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(name_flags: &str) -> BasicInfo {
        BasicInfo {
            name: "渡邉　花子".to_owned(),
            address: "東京都千代田区".to_owned(),
            birth_date: "19900101".to_owned(),
            sex: "2".to_owned(),
            name_substitute_flags: Some(name_flags.to_owned()),
            address_substitute_flags: Some("0000000".to_owned()),
        }
    }

    #[test]
    fn birth_dates_compare_as_digits_and_zero_flags_may_be_left_out() {
        let answer = BasicInfo {
            birth_date: "1990-01-01".to_owned(),
            name_substitute_flags: None,
            address_substitute_flags: None,
            ..holder("00000")
        };
        assert!(answer.matches(&holder("00000")));
        assert!(!BasicInfo {
            sex: "1".to_owned(),
            ..answer.clone()
        }
        .matches(&holder("00000")));
    }

    #[test]
    fn a_substitute_character_must_be_reported_and_reported_right() {
        let dropped = BasicInfo {
            name_substitute_flags: None,
            ..holder("01000")
        };
        assert!(!dropped.matches(&holder("01000")));
        assert!(holder("01000").matches(&holder("01000")));
        assert!(!holder("00100").matches(&holder("01000")));
        assert!(!holder("00000").matches(&holder("01000")));
    }
}
