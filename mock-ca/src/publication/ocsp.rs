//! OCSP answers on the cadence's window, with the protocol faults applied.

use std::sync::Arc;

use time::Duration;

use super::faults::OcspFault;
use super::publisher::Publisher;
use super::schedule::Cadence;
use super::source::RevocationSource;
use crate::forgery::{forge_ocsp, OcspForgeryContext};
use crate::ocsp::{CertStatus, OcspErrorStatus, OcspRequest, OcspResponder, OcspResponse};
use crate::serial::Serial;

/// Sixteen octets no client's random nonce will be, echoed when a request without a nonce gets
/// the [`OcspFault::ForeignNonce`] fault.
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

impl Publisher {
    /// Answers an OCSP request (DER) as of now on the cadence, honouring OCSP faults.
    pub fn ocsp<S: RevocationSource>(&self, source: &S, request_der: &[u8]) -> Arc<[u8]> {
        match OcspRequest::from_der(request_der) {
            Ok(request) => self.ocsp_request(source, &request),
            Err(err) => {
                tracing::debug!(error = %err, "malformed OCSP request");
                OcspResponse::error(OcspErrorStatus::MalformedRequest).into()
            }
        }
    }

    /// Answers a parsed OCSP request.
    pub fn ocsp_request<S: RevocationSource>(
        &self,
        source: &S,
        request: &OcspRequest,
    ) -> Arc<[u8]> {
        let now = source.now();
        let fault = source.ocsp_fault();
        if let Some(OcspFault::Unsuccessful(status)) = fault {
            return OcspResponse::error(status).into();
        }
        let renonced;
        let request = match fault {
            Some(OcspFault::ForeignNonce) => {
                renonced = request.with_nonce(Some(foreign_nonce(request.nonce())));
                &renonced
            }
            Some(OcspFault::NoNonce) => {
                renonced = request.with_nonce(None);
                &renonced
            }
            _ => request,
        };
        let Ok(mut window) = self.cadence().ocsp_window(now) else {
            return OcspResponse::error(OcspErrorStatus::InternalError).into();
        };
        if fault == Some(OcspFault::StaleThisUpdate) {
            window.this_update -= Duration::DAY;
            window.next_update = window.next_update.map(|t| t - Duration::DAY);
        }
        let responder = if self.auth_responder.is_authoritative_for(request) {
            &self.auth_responder
        } else {
            &self.sign_responder
        };
        let hierarchy = responder.hierarchy();
        // Realistic windows hold what was revoked before they opened; instant ones everything.
        let as_of = self.cadence().data_as_of(window.this_update);
        let unknown = fault == Some(OcspFault::UnknownStatus);
        let status = |serial: &Serial| -> CertStatus {
            if unknown {
                return CertStatus::Unknown;
            }
            source.read(|data| data.status(hierarchy, serial, as_of))
        };
        if let Some(OcspFault::Forged(forgery)) = fault {
            let other = hierarchy.other();
            let forged = source.impostor_key().map(|impostor| {
                let context = OcspForgeryContext {
                    ca: self.ca(hierarchy),
                    responder,
                    other_ca: self.ca(other),
                    other_responder: self.responder(other),
                    impostor: &impostor,
                    now,
                };
                forge_ocsp(forgery, &context, request, &status, window)
            });
            return match forged {
                Some(Ok(der)) => der.into(),
                Some(Err(err)) => {
                    tracing::warn!(error = %err, ?forgery, "forging an OCSP answer failed");
                    OcspResponse::error(OcspErrorStatus::InternalError).into()
                }
                None => OcspResponse::error(OcspErrorStatus::InternalError).into(),
            };
        }
        if fault == Some(OcspFault::WrongKey) {
            let impostor = source
                .impostor_key()
                .and_then(|key| OcspResponder::impostor(self.ca(hierarchy), &key).ok());
            return match &impostor {
                Some(impostor) => impostor.respond(request, &status, window).into(),
                None => OcspResponse::error(OcspErrorStatus::InternalError).into(),
            };
        }
        if fault.is_some() || self.cadence() == Cadence::Instant {
            // Faulty answers are never cached, and instant answers change from second to second.
            return responder.respond(request, &status, window).into();
        }
        self.ocsp_cache.respond(responder, request, &status, window)
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
