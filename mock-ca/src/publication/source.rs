//! What a [`super::Publisher`] needs from the registry it publishes.

use time::OffsetDateTime;

use super::faults::{CrlFault, OcspFault};
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

    /// What a CRL of `hierarchy` as of `at` lists, in CRL order: revoked by then and not expired
    /// by then; only the certificates of `municipality` when given.
    fn revoked(
        &self,
        hierarchy: Hierarchy,
        at: OffsetDateTime,
        municipality: Option<&str>,
    ) -> Vec<RevokedEntry>;

    /// What OCSP says of `serial` as of `as_of`: `Unknown` when it was never issued or not yet.
    fn status(&self, hierarchy: Hierarchy, serial: &Serial, as_of: OffsetDateTime) -> CertStatus;
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
