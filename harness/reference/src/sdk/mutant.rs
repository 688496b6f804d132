//! Deliberately wrong variants of the reference SDK. Each makes one mistake card clients make;
//! the suite must fail against every one of them (`jpki-sim run --mutants`), which shows that
//! its `sdk` scenarios notice the mistake.

use std::fmt;
use std::str::FromStr;

use crate::pf::UnknownMutant;

/// One deliberate mistake of the reference SDK. Names are kebab-case, prefixed `sdk-`
/// (`--mutant sdk-retries-wrong-pin`), so they never clash with the PF's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SdkMutant {
    /// Sends a VERIFY the card refused (`63 Cx`) once more, burning a second try.
    RetriesWrongPin,
    /// Goes on after a refused VERIFY as if it had succeeded.
    IgnoresVerifyStatus,
    /// Asks for the tries left with a VERIFY of a guessed value instead of an empty one, which
    /// uses a try.
    PinStatusByVerify,
    /// Sends the bare hash to COMPUTE DIGITAL SIGNATURE instead of its DigestInfo.
    RawHash,
    /// Signs the SHA-256 DigestInfo whatever hash was asked for.
    AlwaysSha256,
    /// Reads a file's first 256 bytes only, whatever its TLV header says.
    FirstChunkOnly,
    /// Takes the body of a refused READ BINARY as the file.
    IgnoresReadStatus,
    /// Sends CHANGE REFERENCE DATA without verifying the old value first.
    ChangeWithoutVerify,
    /// Signs without verifying the PIN it was given.
    SignWithoutPin,
    /// Selects the PIN or data EF without selecting its AP first.
    SkipsApSelect,
    /// Reads the basic 4 info with the name and the address swapped.
    SwapsNameAndAddress,
    /// Reports a `6C xx` (wrong Le; send again with Le = xx) as a refusal instead of sending
    /// the command again with the Le the card asked for.
    NoLeResend,
    /// Returns what COMPUTE DIGITAL SIGNATURE answered as the signature, whatever its status
    /// word.
    IgnoresSignStatus,
    /// Takes the bytes read before a refused READ BINARY for the whole file, when the file
    /// ends before its TLV header says.
    KeepsShortFile,
    /// Reports a refusal about a certificate or key as it came, without reading JPKI EF
    /// `0008` to see whether the card holds one (a holder under 15 is told their signature
    /// password is blocked).
    IgnoresAvailability,
}

impl SdkMutant {
    /// Every SDK mutant, in the order reports list them.
    pub const ALL: [SdkMutant; 15] = [
        SdkMutant::RetriesWrongPin,
        SdkMutant::IgnoresVerifyStatus,
        SdkMutant::PinStatusByVerify,
        SdkMutant::RawHash,
        SdkMutant::AlwaysSha256,
        SdkMutant::FirstChunkOnly,
        SdkMutant::IgnoresReadStatus,
        SdkMutant::ChangeWithoutVerify,
        SdkMutant::SignWithoutPin,
        SdkMutant::SkipsApSelect,
        SdkMutant::SwapsNameAndAddress,
        SdkMutant::NoLeResend,
        SdkMutant::IgnoresSignStatus,
        SdkMutant::KeepsShortFile,
        SdkMutant::IgnoresAvailability,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            SdkMutant::RetriesWrongPin => "sdk-retries-wrong-pin",
            SdkMutant::IgnoresVerifyStatus => "sdk-ignores-verify-status",
            SdkMutant::PinStatusByVerify => "sdk-pin-status-by-verify",
            SdkMutant::RawHash => "sdk-raw-hash",
            SdkMutant::AlwaysSha256 => "sdk-always-sha256",
            SdkMutant::FirstChunkOnly => "sdk-first-chunk-only",
            SdkMutant::IgnoresReadStatus => "sdk-ignores-read-status",
            SdkMutant::ChangeWithoutVerify => "sdk-change-without-verify",
            SdkMutant::SignWithoutPin => "sdk-sign-without-pin",
            SdkMutant::SkipsApSelect => "sdk-skips-ap-select",
            SdkMutant::SwapsNameAndAddress => "sdk-swaps-name-and-address",
            SdkMutant::NoLeResend => "sdk-no-le-resend",
            SdkMutant::IgnoresSignStatus => "sdk-ignores-sign-status",
            SdkMutant::KeepsShortFile => "sdk-keeps-short-file",
            SdkMutant::IgnoresAvailability => "sdk-ignores-availability",
        }
    }
}

impl fmt::Display for SdkMutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SdkMutant {
    type Err = UnknownMutant;

    fn from_str(name: &str) -> Result<SdkMutant, UnknownMutant> {
        SdkMutant::ALL
            .into_iter()
            .find(|mutant| mutant.name() == name)
            .ok_or_else(|| UnknownMutant {
                name: name.to_owned(),
                known: SdkMutant::ALL.map(SdkMutant::name).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for mutant in SdkMutant::ALL {
            assert_eq!(mutant.name().parse::<SdkMutant>().unwrap(), mutant);
        }
        let mut names: Vec<_> = SdkMutant::ALL.map(SdkMutant::name).to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SdkMutant::ALL.len());
    }
}
