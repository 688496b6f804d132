//! Fault injection: make an endpoint misbehave on purpose, always or for the next N requests, so
//! a PF's handling of outages, stale data and forged answers can be tested.
//!
//! Generic faults (connection reset, 503, delay, garbage body, service down) are applied by a
//! middleware around the endpoint group; protocol faults (OCSP `tryLater`, a response signed by
//! the wrong key, a stale thisUpdate, a foreign or missing nonce, yesterday's CRL, a CRL past
//! nextUpdate) are applied by mock-ca's publisher, which asks the world for them through
//! `RevocationSource` (see `world/publication.rs`); the world answers with [`Faults::take`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use mock_ca::forgery::{CrlForgery, OcspForgery};
use mock_ca::ocsp::OcspErrorStatus;
use mock_ca::publication::{CrlFault, OcspFault};
use serde::{Deserialize, Serialize};

/// The endpoint groups a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/crl/...`
    Crl,
    /// `/ocsp`
    Ocsp,
    /// `/jlis/v1/...`
    Jlis,
    /// `/ca/...`
    Ca,
    /// `/cards/{card}/apdu`
    Bridge,
}

impl Endpoint {
    /// The group a request path belongs to, if faults apply to it (never the admin API).
    pub fn of_path(path: &str) -> Option<Endpoint> {
        let first = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        match first {
            "crl" => Some(Endpoint::Crl),
            "ocsp" => Some(Endpoint::Ocsp),
            "jlis" => Some(Endpoint::Jlis),
            "ca" => Some(Endpoint::Ca),
            "cards" => Some(Endpoint::Bridge),
            _ => None,
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// The connection is dropped without a complete response.
    ConnectionReset,
    /// HTTP 503 Service Unavailable.
    Unavailable,
    /// The answer comes after `millis` milliseconds.
    Delay {
        /// How long, in milliseconds.
        millis: u64,
    },
    /// HTTP 200 with bytes that are not the expected format.
    Garbage,
    /// The whole service is down (J-LIS maintenance): 503 with a machine-readable code.
    Down,
    /// OCSP: responseStatus `tryLater`.
    TryLater,
    /// OCSP: another unsuccessful responseStatus (`malformed_request`, `internal_error`,
    /// `sig_required`, `unauthorized`; `try_later` is also accepted here): no status at all.
    UnsuccessfulOcsp {
        /// Which responseStatus.
        status: OcspErrorStatus,
    },
    /// OCSP: a genuine, validly signed answer saying `unknown` for the certificate, as a
    /// responder that has not heard of it answers.
    OcspUnknown,
    /// OCSP: a well-formed response signed by a key that is neither the CA's nor its responder's.
    WrongKey,
    /// OCSP: thisUpdate a day in the past (nextUpdate too), as a stale cache would serve.
    StaleThisUpdate,
    /// OCSP: a validly signed response echoing a nonce other than the request's, as a replayed
    /// or misrouted answer would.
    ForeignNonce,
    /// OCSP: a validly signed response without the nonce the request carried, as a responder
    /// serving pre-signed answers would.
    NoNonce,
    /// CRL: the previous day's CRL (the 5–10 minute daily refresh window).
    YesterdaysCrl,
    /// CRL: a CRL whose nextUpdate has passed.
    ExpiredCrl,
    /// OCSP: a forged answer, wrong in one way a client must check (mock-ca `forgery`).
    ForgedOcsp {
        /// Which forgery.
        forgery: OcspForgery,
    },
    /// CRL: a forged CRL, wrong in one way a client must check (mock-ca `forgery`).
    ForgedCrl {
        /// Which forgery.
        forgery: CrlForgery,
    },
    /// CRL: the full list answers 503 `unavailable`; the partitions are served (each CRL
    /// request, full or partition, counts toward `count`).
    FullCrlWithheld,
}

impl FaultKind {
    /// Whether the fault is handled by the endpoint's own handler rather than the middleware.
    pub fn is_protocol_fault(self) -> bool {
        matches!(
            self,
            FaultKind::TryLater
                | FaultKind::UnsuccessfulOcsp { .. }
                | FaultKind::OcspUnknown
                | FaultKind::WrongKey
                | FaultKind::StaleThisUpdate
                | FaultKind::ForeignNonce
                | FaultKind::NoNonce
                | FaultKind::YesterdaysCrl
                | FaultKind::ExpiredCrl
                | FaultKind::ForgedOcsp { .. }
                | FaultKind::ForgedCrl { .. }
                | FaultKind::FullCrlWithheld
        )
    }

    /// Whether the fault makes sense on `endpoint`.
    pub fn applies_to(self, endpoint: Endpoint) -> bool {
        match self {
            FaultKind::TryLater
            | FaultKind::UnsuccessfulOcsp { .. }
            | FaultKind::OcspUnknown
            | FaultKind::WrongKey
            | FaultKind::StaleThisUpdate
            | FaultKind::ForeignNonce
            | FaultKind::NoNonce
            | FaultKind::ForgedOcsp { .. } => endpoint == Endpoint::Ocsp,
            FaultKind::YesterdaysCrl
            | FaultKind::ExpiredCrl
            | FaultKind::ForgedCrl { .. }
            | FaultKind::FullCrlWithheld => endpoint == Endpoint::Crl,
            _ => true,
        }
    }

    /// The publisher's fault this is, if it is a CRL protocol fault.
    pub fn crl_fault(self) -> Option<CrlFault> {
        match self {
            FaultKind::YesterdaysCrl => Some(CrlFault::Yesterdays),
            FaultKind::ExpiredCrl => Some(CrlFault::Expired),
            FaultKind::ForgedCrl { forgery } => Some(CrlFault::Forged(forgery)),
            FaultKind::FullCrlWithheld => Some(CrlFault::FullListWithheld),
            _ => None,
        }
    }

    /// The publisher's fault this is, if it is an OCSP protocol fault.
    pub fn ocsp_fault(self) -> Option<OcspFault> {
        match self {
            FaultKind::TryLater => Some(OcspFault::Unsuccessful(OcspErrorStatus::TryLater)),
            FaultKind::UnsuccessfulOcsp { status } => Some(OcspFault::Unsuccessful(status)),
            FaultKind::OcspUnknown => Some(OcspFault::UnknownStatus),
            FaultKind::WrongKey => Some(OcspFault::WrongKey),
            FaultKind::StaleThisUpdate => Some(OcspFault::StaleThisUpdate),
            FaultKind::ForeignNonce => Some(OcspFault::ForeignNonce),
            FaultKind::NoNonce => Some(OcspFault::NoNonce),
            FaultKind::ForgedOcsp { forgery } => Some(OcspFault::Forged(forgery)),
            _ => None,
        }
    }

    /// How long a `delay` fault holds the answer back; `None` for every other fault.
    pub fn delay(self) -> Option<Duration> {
        match self {
            FaultKind::Delay { millis } => Some(Duration::from_millis(millis)),
            _ => None,
        }
    }
}

/// `POST /admin/v1/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The endpoint group it applies to.
    pub endpoint: Endpoint,
    /// What goes wrong there.
    pub fault: FaultKind,
    /// Applies to the next `count` requests, then disarms; absent = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// Why a fault rule was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    /// A protocol fault aimed at another endpoint (an OCSP fault on `crl`, a CRL fault on
    /// `ocsp`, either on `jlis`, `ca` or `bridge`).
    #[error(
        "fault {} does not apply to endpoint {}",
        as_sent(.fault),
        as_sent(.endpoint)
    )]
    NotApplicable {
        /// The endpoint group the rule named.
        endpoint: Endpoint,
        /// The fault it named.
        fault: FaultKind,
    },
    /// `count: 0`: a rule that would never fire.
    #[error("a fault count must be at least 1")]
    ZeroCount,
}

/// A value as a client writes it in JSON (`{"kind":"ocsp","status":"try_later"}`, `crl`), for
/// messages that name what was sent rather than Rust's names for it.
fn as_sent<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => "(unprintable)".to_owned(),
    }
}

/// The armed faults. Rules are matched in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    /// Number of armed rules, read without the lock: every request asks, and almost always
    /// none is armed.
    armed: AtomicUsize,
}

impl Faults {
    /// Adds a rule after the armed ones (`POST /admin/v1/faults`); refused when the fault does
    /// not apply to the endpoint or the count is zero.
    pub fn arm(&self, rule: FaultRule) -> Result<(), FaultError> {
        if !rule.fault.applies_to(rule.endpoint) {
            return Err(FaultError::NotApplicable {
                endpoint: rule.endpoint,
                fault: rule.fault,
            });
        }
        if rule.count == Some(0) {
            return Err(FaultError::ZeroCount);
        }
        let mut rules = self.lock();
        rules.push(rule);
        self.armed.store(rules.len(), Ordering::Release);
        Ok(())
    }

    /// The armed rules, in the order they match, with the uses left.
    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Disarms every rule (`DELETE /admin/v1/faults`).
    pub fn clear(&self) {
        let mut rules = self.lock();
        rules.clear();
        self.armed.store(0, Ordering::Release);
    }

    /// Consumes one use of the first armed fault for `endpoint` that `wanted` accepts.
    pub fn take(
        &self,
        endpoint: Endpoint,
        wanted: impl Fn(FaultKind) -> bool,
    ) -> Option<FaultKind> {
        if self.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.lock();
        let index = rules
            .iter()
            .position(|r| r.endpoint == endpoint && wanted(r.fault))?;
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_disarm_and_unlimited_ones_stay() {
        let faults = Faults::default();
        faults
            .arm(FaultRule {
                endpoint: Endpoint::Ocsp,
                fault: FaultKind::TryLater,
                count: Some(2),
            })
            .unwrap();
        faults
            .arm(FaultRule {
                endpoint: Endpoint::Crl,
                fault: FaultKind::Unavailable,
                count: None,
            })
            .unwrap();
        let any = |_| true;
        assert_eq!(faults.take(Endpoint::Ocsp, any), Some(FaultKind::TryLater));
        assert_eq!(faults.take(Endpoint::Ocsp, any), Some(FaultKind::TryLater));
        assert_eq!(faults.take(Endpoint::Ocsp, any), None);
        for _ in 0..5 {
            assert_eq!(
                faults.take(Endpoint::Crl, any),
                Some(FaultKind::Unavailable)
            );
        }
        assert_eq!(
            faults.take(Endpoint::Crl, FaultKind::is_protocol_fault),
            None
        );
        faults.clear();
        assert!(faults.list().is_empty());
    }

    #[test]
    fn protocol_faults_only_arm_where_they_mean_something() {
        let faults = Faults::default();
        let err = faults
            .arm(FaultRule {
                endpoint: Endpoint::Crl,
                fault: FaultKind::TryLater,
                count: None,
            })
            .unwrap_err();
        assert!(matches!(err, FaultError::NotApplicable { .. }));
        // Named as the client sent them, not by their Rust names.
        assert_eq!(
            err.to_string(),
            r#"fault {"kind":"try_later"} does not apply to endpoint crl"#
        );
        assert_eq!(
            faults.arm(FaultRule {
                endpoint: Endpoint::Jlis,
                fault: FaultKind::Down,
                count: Some(0),
            }),
            Err(FaultError::ZeroCount)
        );
        assert_eq!(Endpoint::of_path("/ocsp/MEIw"), Some(Endpoint::Ocsp));
        // The publisher's faults are exactly the protocol faults of its endpoints.
        for fault in [
            FaultKind::TryLater,
            FaultKind::WrongKey,
            FaultKind::StaleThisUpdate,
            FaultKind::ForeignNonce,
            FaultKind::NoNonce,
            FaultKind::YesterdaysCrl,
            FaultKind::ExpiredCrl,
            FaultKind::Garbage,
        ] {
            assert_eq!(
                fault.ocsp_fault().is_some(),
                fault.is_protocol_fault() && fault.applies_to(Endpoint::Ocsp)
            );
            assert_eq!(
                fault.crl_fault().is_some(),
                fault.is_protocol_fault() && fault.applies_to(Endpoint::Crl)
            );
        }
        assert_eq!(Endpoint::of_path("/admin/v1/faults"), None);
    }
}
