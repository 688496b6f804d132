//! The words every part of the harness speaks: the card's keys, PINs and certificates, a
//! verifier's verdicts, adapter features and roles, and the two contracts a system under test
//! fulfils — [`Platform`] for a PF and [`SdkOutcome`] for what an SDK operation returns.
//!
//! The scenario language, the adapter protocol, the reference implementations, the runner and
//! load mode all depend on this crate and on nothing of each other for these names.

pub mod card;
pub mod feature;
pub mod platform;
pub mod sdk;
pub mod verdict;

pub use card::{CertificateSlot, HashAlgorithm, KeyKind, PinKind};
pub use feature::{Feature, Role};
pub use platform::{
    BasicInfo, Consent, EnrolOutcome, EnrolRequest, LatestOutcome, PfEnvironment, Platform,
    PlatformError, StatusOutcome, UserOutcome,
};
pub use sdk::{CardBasicInfo, SdkData, SdkOutcome};
pub use verdict::{RejectReason, StatusChannel};

/// `name()` for the vocabulary's enums: the snake_case name scenario files, the adapter protocol
/// and reports spell them with. Derived (strum), and tested to equal the serde name.
macro_rules! snake_case_names {
    ($($kind:ty),* $(,)?) => {
        $(impl $kind {
            /// The name in scenario files, adapter messages and reports.
            pub fn name(self) -> &'static str {
                self.into()
            }
        })*
    };
}

snake_case_names!(
    CertificateSlot,
    HashAlgorithm,
    KeyKind,
    PinKind,
    Feature,
    Role,
    RejectReason,
    StatusChannel,
);

/// An error and its causes, `: `-separated, for reports and adapter answers: the simulator's one
/// copy, under the name the harness crates use.
pub use mock_ca::error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived names are the serde names, so a name in a report always parses back.
    fn same_as_serde<T: serde::Serialize>(value: T, name: &str) {
        assert_eq!(serde_json::to_value(value).unwrap(), name, "{name}");
    }

    #[test]
    fn names_are_the_serde_names() {
        use strum::IntoEnumIterator;
        for feature in Feature::iter() {
            same_as_serde(feature, feature.name());
        }
        for pin in [
            PinKind::Auth,
            PinKind::Sign,
            PinKind::Text,
            PinKind::PinA,
            PinKind::PinB,
        ] {
            same_as_serde(pin, pin.name());
        }
        for slot in [
            CertificateSlot::Sign,
            CertificateSlot::Auth,
            CertificateSlot::SignCa,
            CertificateSlot::AuthCa,
        ] {
            same_as_serde(slot, slot.name());
        }
        for hash in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            same_as_serde(hash, hash.name());
        }
        for reason in [
            RejectReason::BadSignature,
            RejectReason::Untrusted,
            RejectReason::Revoked,
            RejectReason::Expired,
            RejectReason::StatusUndetermined,
        ] {
            same_as_serde(reason, reason.name());
        }
        same_as_serde(KeyKind::Auth, KeyKind::Auth.name());
        same_as_serde(KeyKind::Sign, KeyKind::Sign.name());
        same_as_serde(Role::Sdk, Role::Sdk.name());
        same_as_serde(Role::Pf, Role::Pf.name());
        same_as_serde(StatusChannel::Ocsp, StatusChannel::Ocsp.name());
        same_as_serde(StatusChannel::Crl, StatusChannel::Crl.name());
    }
}
