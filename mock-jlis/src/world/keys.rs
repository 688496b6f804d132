//! Deterministic keys, derived once per machine: RSA generation dominates start-up, so every
//! derived key is kept as PKCS#8 in a key cache (the world's store, or a separate file when the
//! world itself is in memory). A world that reuses a few keys for many cards (a key pool) also
//! keeps them in memory once loaded, so a card costs no cache read and no key parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mock_ca::{KeyMaterial, KeySeed};

use super::WorldError;
use crate::store::Store;

/// Where derived keys are cached.
pub(crate) struct KeyCache {
    /// A dedicated cache file; absent, keys go to the world's store.
    dedicated: Option<Store>,
    store: Arc<Store>,
    /// Keys loaded or derived so far, by seed, when the world reuses keys (`None`: each key is
    /// read from the cache every time, which keeps memory flat for a population of distinct
    /// keys).
    memo: Option<Mutex<HashMap<[u8; 32], KeyMaterial>>>,
}

impl KeyCache {
    /// A cache over `dedicated` (or the world's `store`); `memo` keeps loaded keys in memory.
    pub(crate) fn new(dedicated: Option<Store>, store: Arc<Store>, memo: bool) -> Self {
        KeyCache {
            dedicated,
            store,
            memo: memo.then(Mutex::default),
        }
    }

    fn cache(&self) -> &Store {
        self.dedicated.as_ref().unwrap_or(&self.store)
    }

    /// Derives (or loads) the keys of `seeds`, in order: cached keys are read first, and only
    /// the missing ones are generated, in parallel on every core.
    pub(crate) fn derive(&self, seeds: &[KeySeed]) -> Result<Vec<KeyMaterial>, WorldError> {
        let mut keys: Vec<Option<KeyMaterial>> = Vec::with_capacity(seeds.len());
        for seed in seeds {
            keys.push(match self.remembered(seed) {
                Some(key) => Some(key),
                None => loaded_key(self.cache(), seed)?,
            });
        }
        let missing: Vec<&KeySeed> = seeds
            .iter()
            .zip(&keys)
            .filter(|(_, key)| key.is_none())
            .map(|(seed, _)| seed)
            .collect();
        let mut generated = generate_keys(self.cache(), &missing)?.into_iter();
        let keys = keys
            .into_iter()
            .map(|key| key.or_else(|| generated.next()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| WorldError::CorruptState {
                card: "(key cache)".into(),
                what: "fewer keys generated than seeds were missing".into(),
            })?;
        if let Some(memo) = &self.memo {
            let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
            for (seed, key) in seeds.iter().zip(&keys) {
                memo.entry(*seed.as_bytes()).or_insert_with(|| key.clone());
            }
        }
        Ok(keys)
    }

    /// One key, or `None` if neither the cache nor derivation can give it.
    pub(crate) fn key_of(&self, seed: KeySeed) -> Option<KeyMaterial> {
        self.derive(std::slice::from_ref(&seed)).ok()?.pop()
    }

    fn remembered(&self, seed: &KeySeed) -> Option<KeyMaterial> {
        let memo = self.memo.as_ref()?;
        let memo = memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(seed.as_bytes()).cloned()
    }
}

/// The cached key of `seed`, if the cache holds a readable one.
fn loaded_key(cache: &Store, seed: &KeySeed) -> Result<Option<KeyMaterial>, WorldError> {
    let Some(pkcs8) = cache.cached_key(seed.as_bytes())? else {
        return Ok(None);
    };
    match KeyMaterial::from_pkcs8_der(&pkcs8) {
        Ok(key) => Ok(Some(key)),
        Err(err) => {
            tracing::warn!(error = %err, "ignoring an unreadable cached key; deriving it again");
            Ok(None)
        }
    }
}

/// Generates the keys of `seeds` (none of them cached) on every core, caching each.
fn generate_keys(cache: &Store, seeds: &[&KeySeed]) -> Result<Vec<KeyMaterial>, WorldError> {
    let generate = |seed: &KeySeed| -> Result<KeyMaterial, WorldError> {
        let key = seed.derive_key()?;
        cache.put_key(seed.as_bytes(), key.pkcs8_der())?;
        Ok(key)
    };
    if seeds.len() <= 1 {
        return seeds.iter().map(|seed| generate(seed)).collect();
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<KeyMaterial, WorldError>>>> =
        seeds.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(seeds.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(seed) = seeds.get(i) else { break };
                let key = generate(seed);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| {
                    Err(WorldError::CorruptState {
                        card: "(key cache)".into(),
                        what: "a key generation thread stopped early".into(),
                    })
                })
        })
        .collect()
}
