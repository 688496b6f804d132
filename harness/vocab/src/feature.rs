//! What an adapter can do, and which side of JPKI it plays.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{EnumIter, IntoEnumIterator, IntoStaticStr};

/// A capability an adapter may lack.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    EnumIter,
    IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Feature {
    /// The adapter reaches the card through a PC/SC reader (not the HTTP APDU bridge).
    Pcsc,
    /// The signature key and certificate (署名用電子証明書), behind the signature password.
    SignKey,
    /// The text AP (券面事項入力補助AP): basic 4 info and my number, behind the text PIN.
    TextAp,
    /// The visual AP (券面AP): the card face, behind 照合番号A or B.
    VisualAp,
    /// Changing a PIN or password.
    PinChange,
    /// The card is removed and inserted again while the adapter runs.
    CardRemoval,
    /// Certificate status over OCSP.
    Ocsp,
    /// Certificate status from CRLs.
    Crl,
    /// The J-LIS latest basic-4-info service (with the holder's consent).
    LatestInfo,
    /// J-LIS linkage: the same user across renewals and re-issues.
    Linkage,
    /// The adapter copes with injected faults (the scenario arms them).
    Faults,
    /// The adapter takes time from the world clock, not the host clock, so moving the clock far
    /// ahead does not make it see answers from the future. Never inferred: list it when needed.
    WorldClock,
}

/// Which side of JPKI an adapter plays.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// The card side: an SDK's operations (read, verify, sign on a card).
    Sdk,
    /// The verifier side: a PF's operations (enrol, check status, consent, latest info, user).
    Pf,
}

impl Feature {
    /// Every feature: what the bundled reference SDK and PF support.
    pub fn all() -> BTreeSet<Feature> {
        Feature::iter().collect()
    }

    /// Which role a feature belongs to: a scenario's feature is covered by the adapter playing
    /// that role (or by the bundled reference when no adapter does).
    pub fn role(self) -> Role {
        use Feature::*;
        match self {
            Pcsc | SignKey | TextAp | VisualAp | PinChange | CardRemoval => Role::Sdk,
            Ocsp | Crl | LatestInfo | Linkage | Faults | WorldClock => Role::Pf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_features_belong_to_the_sdk_and_verifier_features_to_the_pf() {
        assert_eq!(Feature::Pcsc.role(), Role::Sdk);
        assert_eq!(Feature::CardRemoval.role(), Role::Sdk);
        assert_eq!(Feature::Ocsp.role(), Role::Pf);
        assert_eq!(Feature::WorldClock.role(), Role::Pf);
        let sdk = Feature::all()
            .into_iter()
            .filter(|f| f.role() == Role::Sdk)
            .count();
        assert_eq!((sdk, Feature::all().len() - sdk), (6, 6));
    }
}
