//! The simulator's base URL and the fixed paths certificates point at (docs/contracts.md §4).

use std::fmt;

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;

/// An absolute `http://` or `https://` URL without a trailing slash, in ASCII (certificates
/// carry URLs as IA5String), e.g. `http://127.0.0.1:8700`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Accepts an `http://` or `https://` URL with a host, printable ASCII only; trailing slashes
    /// are dropped. Anything else is [`Error::InvalidBaseUrl`].
    pub fn parse(url: &str) -> Result<Self> {
        let trimmed = url.trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        let valid = rest.is_some_and(|host| !host.is_empty())
            && trimmed.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(Error::InvalidBaseUrl {
                url: url.to_owned(),
            });
        }
        Ok(BaseUrl(trimmed.to_owned()))
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{base}/crl/sign.crl` or `{base}/crl/auth.crl`: the full CRL of a hierarchy.
    pub fn crl(&self, hierarchy: Hierarchy) -> String {
        format!("{}/crl/{}.crl", self.0, hierarchy.tag())
    }

    /// `{base}/ocsp`: the OCSP responder of both hierarchies.
    pub fn ocsp(&self) -> String {
        format!("{}/ocsp", self.0)
    }

    /// `{base}/cps.html`: the certification practice statement pointer in the policies.
    /// It points at the simulator, not at the real `http://www.jpki.go.jp/cps.html`.
    pub fn cps(&self) -> String {
        format!("{}/cps.html", self.0)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_fixed_http_surface() {
        let base = BaseUrl::parse("http://127.0.0.1:8700/").unwrap();
        assert_eq!(
            base.crl(Hierarchy::Sign),
            "http://127.0.0.1:8700/crl/sign.crl"
        );
        assert_eq!(
            base.crl(Hierarchy::Auth),
            "http://127.0.0.1:8700/crl/auth.crl"
        );
        assert_eq!(base.ocsp(), "http://127.0.0.1:8700/ocsp");
    }

    #[test]
    fn relative_non_http_and_non_ascii_urls_are_rejected() {
        for bad in [
            "",
            "127.0.0.1:8700",
            "ftp://x",
            "http://",
            "http://例え.jp",
            "http://a b",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad:?}");
        }
    }
}
