//! Daily CRLs: the full list of each hierarchy and its per-municipality partitions, built once
//! per issue and registry version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::Duration;

use super::error::PublicationError;
use super::faults::CrlFault;
use super::publisher::Publisher;
use super::schedule::CrlIssue;
use super::source::RevocationSource;
use crate::crl::{build_crl, CrlRequest, CrlScope, RevokedEntry};
use crate::forgery::{forge_crl, CrlForgery};
use crate::hierarchy::Hierarchy;

/// Which CRL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CrlPartition {
    /// The CA's full list, `{base}/crl/{sign|auth}.crl`.
    Full,
    /// A municipality by its 5-digit code.
    Municipality(String),
}

/// What a CRL's bytes depend on: hierarchy, partition, thisUpdate, cRLNumber, registry version.
type CrlKey = (Hierarchy, CrlPartition, i64, u64, u64);

/// Cached CRLs.
#[derive(Default)]
pub(super) struct CrlCache {
    entries: Mutex<HashMap<CrlKey, Arc<Vec<u8>>>>,
}

/// A cached CRL, or what building it needs.
enum Lookup {
    Hit(Arc<Vec<u8>>),
    Miss {
        key: CrlKey,
        issue: CrlIssue,
        scope: CrlScope,
        entries: Vec<RevokedEntry>,
    },
}

impl Publisher {
    /// The CRL `partition` of `hierarchy` as published now (DER), honouring CRL faults.
    pub fn crl<S: RevocationSource>(
        &self,
        source: &S,
        hierarchy: Hierarchy,
        partition: &CrlPartition,
    ) -> Result<Arc<Vec<u8>>, PublicationError> {
        let fault = source.crl_fault();
        if fault == Some(CrlFault::FullListWithheld) && *partition == CrlPartition::Full {
            return Err(PublicationError::FullListWithheld);
        }
        let Some(CrlFault::Forged(forgery)) = fault else {
            return self.crl_with(source, hierarchy, partition, fault);
        };
        if forgery == CrlForgery::OtherHierarchy {
            let other = hierarchy.other();
            // The other CA's full list, whatever was asked: a partition of the other CA would
            // name the other CA's distribution point and give itself away by its scope.
            return self.crl_with(source, other, &CrlPartition::Full, None);
        }
        let genuine = self.crl_with(source, hierarchy, partition, None)?;
        let impostor = source
            .impostor_key()
            .ok_or(PublicationError::NoImpostorKey)?;
        let forged = forge_crl(
            &genuine,
            forgery,
            self.ca(hierarchy),
            &impostor,
            source.now(),
        )?;
        Ok(Arc::new(forged))
    }

    /// The CRL with a date fault (or none) applied.
    fn crl_with<S: RevocationSource>(
        &self,
        source: &S,
        hierarchy: Hierarchy,
        partition: &CrlPartition,
        fault: Option<CrlFault>,
    ) -> Result<Arc<Vec<u8>>, PublicationError> {
        let now = source.now();
        // A faulty CRL is a genuine older one: the previous day's, or the one of two days ago
        // (past its nextUpdate), with the number and entries it had.
        let at = match fault {
            Some(CrlFault::Yesterdays) => now - Duration::DAY,
            Some(CrlFault::Expired) => now - Duration::days(2),
            Some(CrlFault::Forged(_) | CrlFault::FullListWithheld) | None => now,
        };
        // The issue (its number counts revocations on the instant cadence), the version, the
        // cache lookup and the entries come from one view, so a CRL is never cached under a
        // number or version it does not reflect.
        let lookup = source.read(|data| -> Result<Lookup, PublicationError> {
            let issue = self.crl_issue(hierarchy, at, data);
            let key = (
                hierarchy,
                partition.clone(),
                issue.this_update.unix_timestamp(),
                issue.number,
                data.version(),
            );
            if let Some(hit) = self.crls.lock().get(&key) {
                return Ok(Lookup::Hit(hit.clone()));
            }
            let (scope, municipality) = match partition {
                CrlPartition::Full => (CrlScope::Full, None),
                CrlPartition::Municipality(code) => {
                    let (prefecture_romaji, municipality_romaji) = data
                        .municipality_names(code)
                        .ok_or_else(|| PublicationError::UnknownMunicipality(code.clone()))?;
                    (
                        CrlScope::Municipality {
                            prefecture_romaji,
                            municipality_romaji,
                        },
                        Some(code.as_str()),
                    )
                }
            };
            let entries = data.revoked(hierarchy, issue.as_of, municipality);
            Ok(Lookup::Miss {
                key,
                issue,
                scope,
                entries,
            })
        })?;
        let (key, issue, scope, entries) = match lookup {
            Lookup::Hit(der) => return Ok(der),
            Lookup::Miss {
                key,
                issue,
                scope,
                entries,
            } => (key, issue, scope, entries),
        };
        let this_update = issue.this_update;
        let request = CrlRequest {
            this_update,
            next_update: issue.next_update,
            crl_number: issue.number,
            scope,
        };
        let der = Arc::new(build_crl(self.ca(hierarchy), &request, entries)?);
        let mut cache = self.crls.lock();
        // Only the newest CRLs are worth keeping.
        cache
            .retain(|k, _| k.2 >= this_update.unix_timestamp() - Duration::days(2).whole_seconds());
        cache.insert(key, der.clone());
        Ok(der)
    }
}

impl CrlCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CrlKey, Arc<Vec<u8>>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
