//! Publishing revocation status on the JPKI cadences (jpki-pki.md): a full CRL per hierarchy
//! and per-municipality partitions issued daily, and OCSP answers whose data is refreshed on
//! 15-minute boundaries. A revocation is published by a channel once that channel's data instant
//! (the CRL's thisUpdate, the OCSP window's start) has passed it; `Cadence::Instant` publishes at
//! once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mock_ca::crl::{build_crl, CrlRequest, CrlScope, RevokedEntry};
use mock_ca::ocsp::{
    CertStatus as OcspStatus, OcspCache, OcspErrorStatus, OcspRequest, OcspResponder, OcspResponse,
    OcspWindow,
};
use mock_ca::{Hierarchy, Serial};
use time::{Duration, OffsetDateTime, Time};

use crate::faults::{Endpoint, FaultKind};
use crate::world::{Cadence, World, WorldError};

/// Daily CRLs are issued at 00:00 JST.
const CRL_ISSUE_UTC: Time = match Time::from_hms(15, 0, 0) {
    Ok(t) => t,
    Err(_) => panic!("valid time"),
};

/// The OCSP refresh period.
pub const OCSP_PERIOD: Duration = Duration::minutes(15);

/// Sixteen octets no client's random nonce will be, echoed when a request without a nonce gets
/// the `foreign_nonce` fault.
const FOREIGN_NONCE: &[u8; 16] = b"not your nonce!!";

/// A nonce extension value other than `asked`: the request's with its last octet inverted (so
/// an RFC 8954 OCTET STRING stays well-formed), or a DER OCTET STRING of [`FOREIGN_NONCE`].
fn foreign_nonce(asked: Option<&[u8]>) -> Vec<u8> {
    match asked {
        Some([head @ .., last]) => {
            let mut nonce = head.to_vec();
            nonce.push(!last);
            nonce
        }
        _ => {
            let mut nonce = vec![0x04, FOREIGN_NONCE.len() as u8];
            nonce.extend_from_slice(FOREIGN_NONCE);
            nonce
        }
    }
}

/// Which CRL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CrlPartition {
    Full,
    /// A municipality by its 5-digit code.
    Municipality(String),
}

/// OCSP responders of both hierarchies and the response cache.
pub struct OcspService {
    pub(crate) sign: OcspResponder,
    pub(crate) auth: OcspResponder,
    pub(crate) cache: OcspCache,
}

/// What a CRL's bytes depend on: hierarchy, partition, thisUpdate, cRLNumber, registry version.
type CrlKey = (Hierarchy, CrlPartition, i64, u64, u64);

/// Cached CRLs.
#[derive(Default)]
pub struct CrlCache {
    entries: Mutex<HashMap<CrlKey, Arc<Vec<u8>>>>,
}

impl World {
    /// The CRL `partition` of `hierarchy` as published now (DER), honouring CRL faults.
    pub fn crl(
        &self,
        hierarchy: Hierarchy,
        partition: &CrlPartition,
    ) -> Result<Arc<Vec<u8>>, WorldError> {
        let now = self.now();
        let (mut this_update, mut next_update, mut number) = self.crl_schedule(hierarchy, now);
        match self.faults().take(Endpoint::Crl, |f| {
            matches!(f, FaultKind::YesterdaysCrl | FaultKind::ExpiredCrl)
        }) {
            Some(FaultKind::YesterdaysCrl) => {
                this_update -= Duration::DAY;
                next_update -= Duration::DAY;
                number = number.saturating_sub(1).max(1);
            }
            Some(FaultKind::ExpiredCrl) => {
                // Issued two days ago and never refreshed: nextUpdate lies a day in the past.
                this_update -= Duration::days(2);
                next_update = this_update + Duration::DAY;
                number = number.saturating_sub(2).max(1);
            }
            _ => {}
        }
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let key = (
            hierarchy,
            partition.clone(),
            this_update.unix_timestamp(),
            number,
            registry.version(),
        );
        if let Some(hit) = self
            .crls
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let (scope, municipality) = match partition {
            CrlPartition::Full => (CrlScope::Full, None),
            CrlPartition::Municipality(code) => {
                let (prefecture_romaji, municipality_romaji) = registry
                    .municipality_names(code)
                    .or_else(|| {
                        crate::persona::municipality_by_code(code)
                            .map(|m| (m.prefecture_romaji.to_owned(), m.romaji.to_owned()))
                    })
                    .ok_or_else(|| WorldError::UnknownMunicipality(code.clone()))?;
                (
                    CrlScope::Municipality {
                        prefecture_romaji,
                        municipality_romaji,
                    },
                    Some(code.as_str()),
                )
            }
        };
        let entries: Vec<RevokedEntry> = registry
            .crl_entries(hierarchy, this_update, municipality)
            .into_iter()
            .map(|(serial, revocation)| RevokedEntry {
                serial,
                revoked_at: revocation.at,
                reason: revocation.reason,
            })
            .collect();
        drop(registry);
        let request = CrlRequest {
            this_update,
            next_update,
            crl_number: number,
            scope,
        };
        let der = Arc::new(build_crl(self.ca(hierarchy), &request, entries)?);
        let mut cache = self.crls.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Only the newest CRLs are worth keeping.
        cache
            .retain(|k, _| k.2 >= this_update.unix_timestamp() - Duration::days(2).whole_seconds());
        cache.insert(key, der.clone());
        Ok(der)
    }

    /// thisUpdate, nextUpdate and cRLNumber of the CRL current at `now`.
    pub fn crl_schedule(
        &self,
        hierarchy: Hierarchy,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime, u64) {
        let epoch = self.ca(hierarchy).not_before();
        match self.cadence() {
            Cadence::Realistic => {
                let today = OffsetDateTime::new_utc(now.date(), CRL_ISSUE_UTC);
                let this_update = if today <= now {
                    today
                } else {
                    today - Duration::DAY
                };
                let number = ((this_update - epoch).whole_days().max(0) as u64) + 1;
                (this_update, this_update + Duration::DAY, number)
            }
            Cadence::Instant => {
                let this_update = now.replace_nanosecond(0).unwrap_or(now);
                let number = ((this_update - epoch).whole_seconds().max(0) as u64) + 1;
                (this_update, this_update + Duration::DAY, number)
            }
        }
    }

    /// Answers an OCSP request (DER) as of now on the world's cadence, honouring OCSP faults.
    pub fn ocsp(&self, request_der: &[u8]) -> Arc<[u8]> {
        match OcspRequest::from_der(request_der) {
            Ok(request) => self.ocsp_request(&request),
            Err(err) => {
                tracing::debug!(error = %err, "malformed OCSP request");
                OcspResponse::error(OcspErrorStatus::MalformedRequest).into()
            }
        }
    }

    /// Answers a parsed OCSP request.
    pub fn ocsp_request(&self, request: &OcspRequest) -> Arc<[u8]> {
        let now = self.now();
        let fault = self.faults().take(Endpoint::Ocsp, |f| {
            f.is_protocol_fault() && f.applies_to(Endpoint::Ocsp)
        });
        if fault == Some(FaultKind::TryLater) {
            return OcspResponse::error(OcspErrorStatus::TryLater).into();
        }
        let renonced;
        let request = match fault {
            Some(FaultKind::ForeignNonce) => {
                renonced = request.with_nonce(Some(foreign_nonce(request.nonce())));
                &renonced
            }
            Some(FaultKind::NoNonce) => {
                renonced = request.with_nonce(None);
                &renonced
            }
            _ => request,
        };
        let mut window = match self.cadence() {
            Cadence::Realistic => match OcspWindow::containing(now, OCSP_PERIOD) {
                Ok(window) => window,
                Err(_) => return OcspResponse::error(OcspErrorStatus::InternalError).into(),
            },
            Cadence::Instant => {
                let mut window = OcspWindow::instant(now);
                window.next_update = Some(window.this_update + OCSP_PERIOD);
                window
            }
        };
        if fault == Some(FaultKind::StaleThisUpdate) {
            window.this_update -= Duration::DAY;
            window.next_update = window.next_update.map(|t| t - Duration::DAY);
        }
        let service = &self.ocsp;
        let responder = if service.auth.is_authoritative_for(request) {
            &service.auth
        } else {
            &service.sign
        };
        let hierarchy = responder.hierarchy();
        let as_of = window.this_update;
        let status = |serial: &Serial| -> OcspStatus {
            let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
            match registry.get(hierarchy, serial) {
                None => OcspStatus::Unknown,
                Some(record) if as_of < record.not_before => OcspStatus::Unknown,
                Some(record) => match record.revoked_as_of(as_of) {
                    Some(revocation) => OcspStatus::Revoked {
                        at: revocation.at,
                        reason: revocation.reason,
                    },
                    None => OcspStatus::Good,
                },
            }
        };
        if fault == Some(FaultKind::WrongKey) {
            return match &self.impostor_responder(hierarchy) {
                Some(impostor) => impostor.respond(request, &status, window).into(),
                None => OcspResponse::error(OcspErrorStatus::InternalError).into(),
            };
        }
        if fault.is_some() || self.cadence() == Cadence::Instant {
            // Faulty answers are never cached, and instant answers change from second to second.
            return responder.respond(request, &status, window).into();
        }
        service.cache.respond(responder, request, &status, window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_nonce_differs_from_the_one_asked_and_stays_an_octet_string() {
        let asked = [0x04, 0x03, 0xAA, 0xBB, 0xCC];
        let foreign = foreign_nonce(Some(&asked));
        assert_eq!(foreign, [0x04, 0x03, 0xAA, 0xBB, 0x33]);
        let unasked = foreign_nonce(None);
        assert_eq!(&unasked[..2], [0x04, 0x10]);
        assert_eq!(&unasked[2..], FOREIGN_NONCE);
        assert_eq!(foreign_nonce(Some(&[])), unasked);
    }
}
