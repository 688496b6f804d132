//! What the harness asks of a platform (PF) under test: the verifier side of JPKI. The runner
//! speaks to any PF through [`Platform`]; the reference PF and the adapter link to external PFs
//! implement it.

use mock_ca::crl::RevocationReason;
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
}

/// A signature to enrol: what the holder's card signed, with its certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The PF's handle for this enrolment, chosen by the runner.
    pub name: String,
    pub key: KeyKind,
    /// The end-entity certificate (DER, hex in JSON).
    #[serde(with = "hex::serde")]
    pub certificate: Vec<u8>,
    /// The signed data.
    #[serde(with = "hex::serde")]
    pub data: Vec<u8>,
    pub hash: HashAlgorithm,
    /// PKCS#1 v1.5 signature over the DigestInfo of `data`.
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EnrolOutcome {
    Accepted,
    Rejected {
        reason: RejectReason,
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StatusOutcome {
    Good,
    Revoked {
        reason: Option<RevocationReason>,
    },
    Unknown,
    /// No trustworthy answer; `detail` says why (the PF fails closed).
    Undetermined {
        detail: String,
    },
}

/// A consent document signed with the holder's signature key, for the latest-4-info service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consent {
    #[serde(with = "hex::serde")]
    pub document: Vec<u8>,
    /// sha256WithRSAEncryption (PKCS#1 v1.5) over `document` by the signature key.
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

/// The holder's current basic 4 info, as J-LIS returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicInfo {
    pub name: String,
    pub address: String,
    pub birth_date: String,
    pub sex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LatestOutcome {
    Info { info: BasicInfo, changed: bool },
    NotConsented,
    ConsentWithdrawn,
    ConsentExpired,
    LatestCertificateUnknown,
    LatestCertificateExpired,
    LatestCertificateRevoked { reason: Option<RevocationReason> },
    Undetermined { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UserOutcome {
    /// The PF's stable user id for the enrolment.
    User {
        id: String,
    },
    NotLinkedYet,
    Undetermined {
        detail: String,
    },
}

/// A PF failed as a program (not a verdict): the scenario fails with this.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("no enrolment named {0:?}")]
    UnknownEnrolment(String),
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
