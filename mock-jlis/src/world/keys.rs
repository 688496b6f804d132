//! Deterministic keys, derived once per machine: RSA generation dominates start-up, so every
//! derived key is kept as PKCS#8 in a key cache (the world's store, or a separate file when the
//! world itself is in memory).

use std::sync::Arc;

use mock_ca::{KeyMaterial, KeySeed};

use super::WorldError;
use crate::store::Store;

/// Where derived keys are cached.
pub(crate) struct KeyCache {
    /// A dedicated cache file; absent, keys go to the world's store.
    dedicated: Option<Store>,
    store: Arc<Store>,
}

impl KeyCache {
    pub(crate) fn new(dedicated: Option<Store>, store: Arc<Store>) -> Self {
        KeyCache { dedicated, store }
    }

    fn cache(&self) -> &Store {
        self.dedicated.as_ref().unwrap_or(&self.store)
    }

    /// Derives (or loads) the keys of `seeds`, generating missing ones in parallel.
    pub(crate) fn derive(&self, seeds: &[KeySeed]) -> Result<Vec<KeyMaterial>, WorldError> {
        derive_keys(self.cache(), seeds)
    }

    /// One key, or `None` if neither the cache nor derivation can give it.
    pub(crate) fn key_of(&self, seed: KeySeed) -> Option<KeyMaterial> {
        cached_key(self.cache(), &seed).ok()
    }
}

/// Derives (or loads from `cache`) the keys of `seeds`, generating missing ones in parallel.
fn derive_keys(cache: &Store, seeds: &[KeySeed]) -> Result<Vec<KeyMaterial>, WorldError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = seeds.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|seed| cached_key(cache, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn cached_key(cache: &Store, seed: &KeySeed) -> Result<KeyMaterial, WorldError> {
    if let Some(pkcs8) = cache.cached_key(seed.as_bytes())? {
        match KeyMaterial::from_pkcs8_der(&pkcs8) {
            Ok(key) => return Ok(key),
            Err(err) => {
                tracing::warn!(error = %err, "ignoring an unreadable cached key; deriving it again")
            }
        }
    }
    let key = seed.derive_key()?;
    cache.put_key(seed.as_bytes(), key.pkcs8_der())?;
    Ok(key)
}
