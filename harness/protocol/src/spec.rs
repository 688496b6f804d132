//! How a user names an adapter on the command line: `--sut ROLE=COMMAND|URL`, the same grammar
//! for `jpki-sim run` and `jpki-sim load`.

use std::fmt;
use std::str::FromStr;

use vocab::Role;

/// An adapter to drive: the role it plays and where it is — a command run with `sh -c`, or an
/// `http://` URL of an adapter serving the protocol over HTTP ([`crate::link::is_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSpec {
    /// The side of JPKI the adapter plays.
    pub role: Role,
    /// The command or URL.
    pub target: String,
}

/// Why a `--sut` value is not `ROLE=COMMAND|URL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterSpecError {
    /// No `=` separates the role from the command.
    #[error("{0:?} is not ROLE=COMMAND|URL (pf=... or sdk=...)")]
    NotRoleEquals(String),
    /// The role is neither `pf` nor `sdk`.
    #[error("unknown role {0:?}: pf or sdk")]
    UnknownRole(String),
    /// Nothing follows `ROLE=`.
    #[error("the adapter command after {}= is empty", .0.name())]
    EmptyTarget(Role),
}

impl FromStr for AdapterSpec {
    type Err = AdapterSpecError;

    fn from_str(text: &str) -> Result<AdapterSpec, AdapterSpecError> {
        let (role, target) = text
            .split_once('=')
            .ok_or_else(|| AdapterSpecError::NotRoleEquals(text.to_owned()))?;
        let role = match role.trim() {
            "pf" => Role::Pf,
            "sdk" => Role::Sdk,
            other => return Err(AdapterSpecError::UnknownRole(other.to_owned())),
        };
        if target.trim().is_empty() {
            return Err(AdapterSpecError::EmptyTarget(role));
        }
        Ok(AdapterSpec {
            role,
            target: target.to_owned(),
        })
    }
}

impl fmt::Display for AdapterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.role.name(), self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_then_command_or_url() {
        let spec: AdapterSpec = "pf=python3 my_pf.py --flag=1".parse().unwrap();
        assert_eq!(spec.role, Role::Pf);
        assert_eq!(spec.target, "python3 my_pf.py --flag=1");
        assert_eq!(spec.to_string(), "pf=python3 my_pf.py --flag=1");
        let spec: AdapterSpec = "sdk=http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(spec.role, Role::Sdk);
    }

    #[test]
    fn each_mistake_is_named() {
        assert_eq!(
            "ref".parse::<AdapterSpec>(),
            Err(AdapterSpecError::NotRoleEquals("ref".to_owned()))
        );
        assert_eq!(
            "verifier=x".parse::<AdapterSpec>(),
            Err(AdapterSpecError::UnknownRole("verifier".to_owned()))
        );
        let empty = "pf= ".parse::<AdapterSpec>().unwrap_err();
        assert_eq!(empty, AdapterSpecError::EmptyTarget(Role::Pf));
        assert_eq!(empty.to_string(), "the adapter command after pf= is empty");
    }
}
