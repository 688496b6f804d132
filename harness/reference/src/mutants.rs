//! Every deliberate mistake of the reference implementations, PF and SDK, under one name space:
//! what `jpki-sim run --mutant NAME` and `--mutants` take.

use std::fmt;
use std::str::FromStr;

use crate::pf::{Mutant, UnknownMutant};
use crate::sdk::SdkMutant;

/// A mutant of the reference PF or of the reference SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReferenceMutant {
    /// The PF makes the mistake.
    Pf(Mutant),
    /// The SDK makes the mistake in `sdk` steps.
    Sdk(SdkMutant),
}

impl ReferenceMutant {
    /// Every mutant: the PF's, then the SDK's.
    pub fn all() -> Vec<ReferenceMutant> {
        Mutant::ALL
            .into_iter()
            .map(ReferenceMutant::Pf)
            .chain(SdkMutant::ALL.into_iter().map(ReferenceMutant::Sdk))
            .collect()
    }

    /// The kebab-case name (SDK mutants' start with `sdk-`).
    pub fn name(self) -> &'static str {
        match self {
            ReferenceMutant::Pf(mutant) => mutant.name(),
            ReferenceMutant::Sdk(mutant) => mutant.name(),
        }
    }
}

impl fmt::Display for ReferenceMutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReferenceMutant {
    type Err = UnknownMutant;

    fn from_str(name: &str) -> Result<ReferenceMutant, UnknownMutant> {
        ReferenceMutant::all()
            .into_iter()
            .find(|mutant| mutant.name() == name)
            .ok_or_else(|| UnknownMutant {
                name: name.to_owned(),
                known: ReferenceMutant::all()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pf_and_sdk_names_never_clash_and_round_trip() {
        let all = ReferenceMutant::all();
        for mutant in &all {
            assert_eq!(mutant.name().parse::<ReferenceMutant>().unwrap(), *mutant);
        }
        let mut names: Vec<_> = all.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
