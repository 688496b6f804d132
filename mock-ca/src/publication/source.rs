//! What a [`super::Publisher`] needs from the registry it publishes.

use time::OffsetDateTime;

use super::faults::{CrlFault, OcspFault};
use super::schedule::AsOf;
use crate::crl::RevokedEntry;
use crate::hierarchy::Hierarchy;
use crate::keys::KeyMaterial;
use crate::ocsp::CertStatus;
use crate::serial::Serial;

/// One consistent view of the revocation data (typically the registry behind a read lock).
pub trait RevocationData {
    /// Increases with every change, so CRLs built from this view can be cached against it.
    fn version(&self) -> u64;

    /// The prefecture and municipality names (romaji) the certificates of the municipality with
    /// 5-digit `code` carry in their CRL distribution point, if the municipality is known.
    fn municipality_names(&self, code: &str) -> Option<(String, String)>;

    /// The 5-digit municipality codes of the certificates of `hierarchy`, sorted, without
    /// repeats: the partitions the CRL index lists. Default: none.
    fn municipality_codes(&self, hierarchy: Hierarchy) -> Vec<String> {
        let _ = hierarchy;
        Vec::new()
    }

    /// What a CRL of `hierarchy` with data `as_of` lists, in CRL order: the certificates whose
    /// revocation `as_of` [includes](AsOf::includes) and that are not expired at
    /// [`AsOf::instant`]; only the certificates of `municipality` when given.
    fn revoked(
        &self,
        hierarchy: Hierarchy,
        as_of: AsOf,
        municipality: Option<&str>,
    ) -> Vec<RevokedEntry>;

    /// How many certificates of `hierarchy` have a revocation `as_of` includes, expired ones
    /// included. It never decreases as `as_of` moves forward or revocations are added, also
    /// across restarts (count what is stored, not what happened in this process): the instant
    /// cadence numbers its CRLs with it.
    fn revocations(&self, hierarchy: Hierarchy, as_of: AsOf) -> u64;

    /// What OCSP says of `serial` with data `as_of`: `Revoked` when `as_of` includes its
    /// revocation, `Unknown` when it was never issued or not yet at [`AsOf::instant`].
    fn status(&self, hierarchy: Hierarchy, serial: &Serial, as_of: AsOf) -> CertStatus;
}

/// The registry side of publication: the data, the clock, and hooks for injected faults.
pub trait RevocationSource: Send + Sync + 'static {
    /// The current instant on the simulated clock.
    fn now(&self) -> OffsetDateTime;

    /// Runs `read` on one consistent view of the revocation data.
    fn read<R>(&self, read: impl FnOnce(&dyn RevocationData) -> R) -> R;

    /// Consumes one armed CRL fault, if any: asked once per CRL request.
    fn crl_fault(&self) -> Option<CrlFault> {
        None
    }

    /// Consumes one armed OCSP fault, if any: asked once per OCSP request.
    fn ocsp_fault(&self) -> Option<OcspFault> {
        None
    }

    /// The key nobody certified that [`OcspFault::WrongKey`] answers are signed with; `None`
    /// makes such answers `internalError`.
    fn impostor_key(&self) -> Option<KeyMaterial> {
        None
    }
}
