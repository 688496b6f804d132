//! Why a CRL could not be published.

use crate::error::Error;

/// Why a [`super::Publisher`] could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicationError {
    /// A per-municipality CRL was asked for a code no certificate or table knows.
    #[error("no municipality with code {0:?} is known")]
    UnknownMunicipality(String),
    /// The full list is withheld by an injected fault; partitions are served.
    #[error("the full CRL is withheld (injected fault); its partitions are served")]
    FullListWithheld,
    /// A forged CRL was armed, but the registry has no impostor key to sign it with.
    #[error("a forged CRL needs an impostor key, and the registry has none")]
    NoImpostorKey,
    /// Encoding or signing the CRL failed.
    #[error("certificate authority failed")]
    Ca(#[from] Error),
}
