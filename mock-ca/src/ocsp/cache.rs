//! Pre-signed responses for the common case: one CertID, no nonce. Such an answer depends only on
//! the issuer, the CertID and the window, so it is signed once per window and then served as a
//! hash lookup and a reference-count increment.
//!
//! The cache assumes `status` is constant within a window, which is the JPKI model (revocation
//! data refreshed every 15 minutes): evaluate revocation as of `window.this_update`, or call
//! [`OcspCache::clear`] after changing it mid-window or moving the clock backwards.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::request::{HashAlgorithm, OcspRequest};
use super::response::{CertStatus, OcspErrorStatus, OcspResponder, OcspResponse};
use super::window::OcspWindow;
use crate::serial::Serial;

/// Default bound on cached responses: about 100 MB with delegated responses (≈ 1.6 KB each).
pub const DEFAULT_CACHE_CAPACITY: usize = 65_536;

/// Responses of the current window, shared by every responder that uses it (keys include the
/// issuer and the responder, so one cache can serve both hierarchies).
#[derive(Debug)]
pub struct OcspCache {
    capacity: usize,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Start of the newest window seen; older windows are evicted when it moves.
    current: Option<i64>,
    entries: HashMap<Key, Arc<[u8]>>,
}

/// Everything a single-CertID, nonce-less response depends on besides `status`. Fixed-size so a
/// lookup allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    issuer: [u8; 20],
    responder: [u8; 20],
    /// The echoed CertID differs by hash algorithm and by NULL vs absent parameters.
    algorithm: HashAlgorithm,
    null_parameters: bool,
    serial_len: u8,
    serial: [u8; 20],
    this_update: i64,
    next_update: i64,
}

impl Default for OcspCache {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_CAPACITY)
    }
}

impl OcspCache {
    /// A cache holding at most `capacity` responses; when full, further answers of the window are
    /// signed on demand rather than evicting (the next window starts empty).
    pub fn new(capacity: usize) -> Self {
        OcspCache {
            capacity,
            state: RwLock::new(State::default()),
        }
    }

    /// As [`OcspResponder::respond`], from the cache when the request has one CertID, no nonce
    /// and a window with a nextUpdate; other requests are signed on demand.
    pub fn respond(
        &self,
        responder: &OcspResponder,
        request: &OcspRequest,
        status: &dyn Fn(&Serial) -> CertStatus,
        window: OcspWindow,
    ) -> Arc<[u8]> {
        // Checked before the lookup: the key names this responder's issuer, not the request's.
        if !responder.is_authoritative_for(request) {
            return OcspResponse::error(OcspErrorStatus::Unauthorized).into();
        }
        let Some(key) = Key::of(responder, request, window) else {
            return responder.respond(request, status, window).into();
        };
        if let Some(hit) = self.read().entries.get(&key) {
            return Arc::clone(hit);
        }
        // A failure is answered but not cached: an internalError must not stick for a window.
        let Some(response) = responder.signed_response(request, status, window) else {
            return OcspResponse::error(OcspErrorStatus::InternalError).into();
        };
        let response: Arc<[u8]> = response.into();
        self.insert(key, Arc::clone(&response));
        response
    }

    /// Drops every cached response.
    pub fn clear(&self) {
        let mut state = self.write();
        state.entries.clear();
        state.current = None;
    }

    /// Number of cached responses.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether nothing is cached (a fresh window, or after [`OcspCache::clear`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, key: Key, response: Arc<[u8]>) {
        let mut state = self.write();
        match state.current {
            Some(current) if key.this_update < current => return,
            Some(current) if key.this_update == current => {}
            _ => {
                state
                    .entries
                    .retain(|k, _| k.this_update >= key.this_update);
                state.current = Some(key.this_update);
            }
        }
        if state.entries.len() < self.capacity {
            state.entries.insert(key, response);
        }
    }

    // A panic while holding the lock cannot leave the map inconsistent (single insert/retain
    // calls), so a poisoned lock is used as is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Key {
    fn of(responder: &OcspResponder, request: &OcspRequest, window: OcspWindow) -> Option<Key> {
        let [id] = request.cert_ids() else {
            return None;
        };
        if request.nonce().is_some() {
            return None;
        }
        let next_update = window.next_update?;
        let bytes = id.serial().as_bytes();
        let mut serial = [0u8; 20];
        serial.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Key {
            issuer: responder.issuer_key_sha1().try_into().ok()?,
            responder: *responder.responder_id(),
            algorithm: id.algorithm(),
            null_parameters: id.null_parameters(),
            serial_len: bytes.len() as u8,
            serial,
            this_update: window.this_update.unix_timestamp(),
            next_update: next_update.unix_timestamp(),
        })
    }
}
