//! Faults an SP must survive, armed through `/da/admin/v1/faults` like the world's own
//! (`/admin/v1/faults`): the provider misbehaves on purpose, for the next `count` uses or until
//! cleared, in exactly one way an SP's checks must catch (docs/digital-agency.md, "Faults").
//!
//! Each fault belongs to one [`Site`], the place in the flow that applies it; the provider asks
//! [`Faults::take`] there. The admin API itself is never faulted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The longest `token_delay`: long enough for any SP's timeout, short enough that a forgotten
/// rule does not hang a test run.
pub const MAX_DELAY_MILLIS: u64 = 120_000;

/// Where in the flow a fault is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The authorization endpoint's redirect back to the SP.
    Redirect,
    /// The token endpoint, before the request is looked at (an outage, a delay).
    TokenEndpoint,
    /// The code exchange, once the client is authenticated.
    CodeExchange,
    /// The ID token the code exchange issues, and the JWKS at `/certs`.
    IdToken,
    /// The userinfo answer.
    Userinfo,
    /// The sign result's JWE.
    SignResult,
}

/// An `error` the authorization endpoint can redirect with (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectError {
    /// The user (or the provider) refused.
    AccessDenied,
    /// The provider needs the user to log in and cannot show a page.
    LoginRequired,
    /// The provider failed.
    ServerError,
    /// The provider is overloaded or under maintenance.
    TemporarilyUnavailable,
}

impl RedirectError {
    /// The registered code.
    pub fn code(self) -> &'static str {
        match self {
            RedirectError::AccessDenied => "access_denied",
            RedirectError::LoginRequired => "login_required",
            RedirectError::ServerError => "server_error",
            RedirectError::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// What goes wrong. Every ID-token fault is one deviation in an otherwise genuine token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DaFault {
    /// The ID token's `iss` is another realm of the same server.
    IdTokenIssuer,
    /// The ID token's `aud` is another client (`azp` still the SP).
    IdTokenAudience,
    /// The ID token's `aud` is the SP and another client, and `azp` the other client.
    IdTokenAzp,
    /// The ID token expired an hour ago (`exp`), issued two hours ago (`iat`).
    IdTokenExpired,
    /// The ID token is issued an hour in the future (`iat`), and expires an hour after that.
    IdTokenIssuedInFuture,
    /// The ID token's `nonce` is not the one of the SP's authorization request.
    IdTokenNonce,
    /// The ID token is signed by the provider's key, but its header names a `kid` the JWKS
    /// does not have.
    IdTokenUnknownKid,
    /// The ID token is unsigned: header `alg: none`, an empty signature.
    IdTokenAlgNone,
    /// The ID token is signed by a key not in the JWKS, under the provider's `kid`.
    IdTokenForeignKey,
    /// The provider has rotated its key: ID tokens are signed by the next key, and `/certs`
    /// serves only that one (the old key is gone). Until cleared.
    JwksRotated,
    /// A key rollover: ID tokens are signed by the next key, and `/certs` serves both, the next
    /// one first. Until cleared.
    JwksRollover,
    /// The redirect carries a `state` other than the SP's, with a genuine code.
    ForeignState,
    /// The redirect carries `error` (and the SP's `state`) instead of a code; the armed login is
    /// not taken.
    ErrorRedirect {
        /// Which error.
        error: RedirectError,
    },
    /// The code was redeemed by someone else just before the SP: the SP's exchange is
    /// `invalid_grant`, "already used", as a replay is answered.
    CodeReplayed,
    /// The token endpoint answers `status` (5xx) without looking at the request: nothing is
    /// spent, so the same code works again.
    TokenError {
        /// The HTTP status, 500 to 599 (500 when absent).
        #[serde(default = "server_error_status")]
        status: u16,
    },
    /// The token endpoint answers `millis` milliseconds late, then as usual.
    TokenDelay {
        /// How long, in milliseconds (at most [`MAX_DELAY_MILLIS`]).
        millis: u64,
    },
    /// Userinfo answers another person's `sub` than the ID token's.
    UserinfoSub,
    /// The sign result's plaintext names another transaction than the one fetched.
    SignResultTransaction,
    /// The sign result is encrypted to a key that is not the SP's (under the SP's `kid`).
    SignResultForeignKey,
}

fn server_error_status() -> u16 {
    500
}

impl DaFault {
    /// Where it is applied.
    pub fn site(self) -> Site {
        match self {
            DaFault::IdTokenIssuer
            | DaFault::IdTokenAudience
            | DaFault::IdTokenAzp
            | DaFault::IdTokenExpired
            | DaFault::IdTokenIssuedInFuture
            | DaFault::IdTokenNonce
            | DaFault::IdTokenUnknownKid
            | DaFault::IdTokenAlgNone
            | DaFault::IdTokenForeignKey
            | DaFault::JwksRotated
            | DaFault::JwksRollover => Site::IdToken,
            DaFault::ForeignState | DaFault::ErrorRedirect { .. } => Site::Redirect,
            DaFault::CodeReplayed => Site::CodeExchange,
            DaFault::TokenError { .. } | DaFault::TokenDelay { .. } => Site::TokenEndpoint,
            DaFault::UserinfoSub => Site::Userinfo,
            DaFault::SignResultTransaction | DaFault::SignResultForeignKey => Site::SignResult,
        }
    }

    /// Whether it is a JWKS rotation (a state of the provider until cleared, not a use).
    pub fn is_rotation(self) -> bool {
        matches!(self, DaFault::JwksRotated | DaFault::JwksRollover)
    }
}

/// `POST /da/admin/v1/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct DaFaultRule {
    /// What goes wrong.
    pub fault: DaFault,
    /// Applies to the next `count` uses, then disarms; absent = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// A rule as sent, its fault still JSON: serde lets a member beside `kind` pass unseen on a
/// fault without fields, so [`DaFaultRule`] checks them itself.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    fault: serde_json::Value,
    #[serde(default)]
    count: Option<u32>,
}

impl TryFrom<RawRule> for DaFaultRule {
    type Error = String;

    fn try_from(raw: RawRule) -> Result<Self, String> {
        let fault: DaFault =
            serde_json::from_value(raw.fault.clone()).map_err(|err| format!("fault: {err}"))?;
        // What the fault writes back is every member its kind has.
        let known = serde_json::to_value(fault).map_err(|err| err.to_string())?;
        if let (Some(given), Some(known)) = (raw.fault.as_object(), known.as_object()) {
            if let Some(name) = given.keys().find(|name| !known.contains_key(*name)) {
                return Err(format!(
                    "fault: unknown field `{name}` for kind {}",
                    known["kind"]
                ));
            }
        }
        Ok(DaFaultRule {
            fault,
            count: raw.count,
        })
    }
}

/// Why a fault rule was refused: `400 invalid_fault`, but [`DaFaultError::Key`].
#[derive(Debug, thiserror::Error)]
pub enum DaFaultError {
    /// `count: 0`: a rule that would never fire.
    #[error("a fault count must be at least 1")]
    ZeroCount,
    /// A counted rotation: what the provider serves at `/certs` cannot follow a count of ID
    /// tokens (an SP fetches the JWKS after the token it could not verify).
    #[error("a JWKS rotation lasts until DELETE /da/admin/v1/faults: it takes no count")]
    CountedRotation,
    /// `token_error` with a status outside 500–599.
    #[error("token_error status {0} is not a server error (500 to 599)")]
    NotServerError(u16),
    /// `token_delay` longer than [`MAX_DELAY_MILLIS`].
    #[error("token_delay millis {0} is over the limit of {MAX_DELAY_MILLIS}")]
    DelayTooLong(u64),
    /// The key the fault signs or encrypts with could not be derived (a simulator fault).
    #[error("the fault's key could not be derived")]
    Key(#[source] crate::provider::DaError),
}

/// The armed rules, matched in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<DaFaultRule>>,
    /// Number of armed rules, read without the lock: every request asks, and almost always
    /// none is armed.
    armed: AtomicUsize,
}

impl Faults {
    /// Adds a rule after the armed ones; refused when it could never fire as written.
    pub fn arm(&self, rule: DaFaultRule) -> Result<(), DaFaultError> {
        match (rule.fault, rule.count) {
            (_, Some(0)) => return Err(DaFaultError::ZeroCount),
            (fault, Some(_)) if fault.is_rotation() => return Err(DaFaultError::CountedRotation),
            (DaFault::TokenError { status }, _) if !(500..=599).contains(&status) => {
                return Err(DaFaultError::NotServerError(status))
            }
            (DaFault::TokenDelay { millis }, _) if millis > MAX_DELAY_MILLIS => {
                return Err(DaFaultError::DelayTooLong(millis))
            }
            _ => {}
        }
        let mut rules = self.lock();
        rules.push(rule);
        self.armed.store(rules.len(), Ordering::Release);
        Ok(())
    }

    /// The armed rules, in the order they match, with the uses left.
    pub fn list(&self) -> Vec<DaFaultRule> {
        self.lock().clone()
    }

    /// Disarms every rule.
    pub fn clear(&self) {
        let mut rules = self.lock();
        rules.clear();
        self.armed.store(0, Ordering::Release);
    }

    /// Consumes one use of the first armed fault of `site` that `wanted` accepts.
    pub fn take(&self, site: Site, wanted: impl Fn(DaFault) -> bool) -> Option<DaFault> {
        if self.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.lock();
        let index = rules
            .iter()
            .position(|r| r.fault.site() == site && wanted(r.fault))?;
        let fault = rules[index].fault;
        if let Some(count) = rules[index].count.as_mut() {
            *count -= 1;
            if *count == 0 {
                rules.remove(index);
                self.armed.store(rules.len(), Ordering::Release);
            }
        }
        Some(fault)
    }

    /// The JWKS rotation in force, if one is armed (not a use: rotations are uncounted).
    pub fn rotation(&self) -> Option<DaFault> {
        if self.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock()
            .iter()
            .map(|r| r.fault)
            .find(|f| f.is_rotation())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<DaFaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> Result<DaFaultRule, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn counted_faults_disarm_and_unlimited_ones_stay() {
        let faults = Faults::default();
        faults
            .arm(rule(r#"{"fault": {"kind": "id_token_nonce"}, "count": 2}"#).unwrap())
            .unwrap();
        faults
            .arm(rule(r#"{"fault": {"kind": "userinfo_sub"}}"#).unwrap())
            .unwrap();
        let any = |_| true;
        assert_eq!(faults.take(Site::IdToken, any), Some(DaFault::IdTokenNonce));
        assert_eq!(faults.take(Site::Redirect, any), None);
        assert_eq!(faults.take(Site::IdToken, any), Some(DaFault::IdTokenNonce));
        assert_eq!(faults.take(Site::IdToken, any), None);
        for _ in 0..3 {
            assert_eq!(faults.take(Site::Userinfo, any), Some(DaFault::UserinfoSub));
        }
        faults.clear();
        assert!(faults.list().is_empty());
        assert_eq!(faults.take(Site::Userinfo, any), None);
    }

    #[test]
    fn rules_that_could_never_fire_as_written_are_refused_by_name() {
        let faults = Faults::default();
        for (json, error) in [
            (
                r#"{"fault": {"kind": "foreign_state"}, "count": 0}"#,
                DaFaultError::ZeroCount,
            ),
            (
                r#"{"fault": {"kind": "jwks_rotated"}, "count": 1}"#,
                DaFaultError::CountedRotation,
            ),
            (
                r#"{"fault": {"kind": "token_error", "status": 404}}"#,
                DaFaultError::NotServerError(404),
            ),
            (
                r#"{"fault": {"kind": "token_delay", "millis": 120001}}"#,
                DaFaultError::DelayTooLong(120_001),
            ),
        ] {
            let refused = faults.arm(rule(json).unwrap()).unwrap_err();
            assert_eq!(refused.to_string(), error.to_string(), "{json}");
        }
        assert!(faults.list().is_empty());
        // Parsing is strict: unknown kinds, fields and redirect errors are refused.
        for json in [
            r#"{"fault": {"kind": "nope"}}"#,
            r#"{"fault": {"kind": "foreign_state", "x": 1}}"#,
            r#"{"fault": {"kind": "error_redirect", "error": "invalid_scope"}}"#,
            r#"{"fault": {"kind": "error_redirect"}}"#,
            r#"{"fault": {"kind": "userinfo_sub"}, "endpoint": "token"}"#,
        ] {
            assert!(rule(json).is_err(), "{json}");
        }
        let status = rule(r#"{"fault": {"kind": "token_error"}}"#).unwrap();
        assert_eq!(status.fault, DaFault::TokenError { status: 500 });
    }

    #[test]
    fn a_rotation_is_in_force_until_cleared_and_never_used_up() {
        let faults = Faults::default();
        faults
            .arm(rule(r#"{"fault": {"kind": "jwks_rollover"}}"#).unwrap())
            .unwrap();
        for _ in 0..3 {
            assert_eq!(faults.rotation(), Some(DaFault::JwksRollover));
        }
        assert_eq!(faults.take(Site::IdToken, |f| !f.is_rotation()), None);
        faults.clear();
        assert_eq!(faults.rotation(), None);
    }
}
