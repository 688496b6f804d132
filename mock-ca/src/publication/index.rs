//! The CRL index (`GET /crl/{sign|auth}/index.json`): how a relying party finds the CRL of a
//! certificate's distribution point over HTTP. J-LIS hands CRL files out per distribution
//! point; a certificate names its partition only by a directoryName, so the index maps each
//! such name (its DER, byte for byte, and as text) to the URL of its partition CRL.

use serde::Serialize;

use super::publisher::Publisher;
use super::source::RevocationSource;
use crate::hierarchy::Hierarchy;
use crate::names;

/// The CRLs of one hierarchy: the full list and every partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrlIndex {
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// The path of the full list (`/crl/auth.crl`).
    pub full: String,
    /// The partitions, by municipality code.
    pub partitions: Vec<PartitionEntry>,
}

/// One partition CRL and the distribution point it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionEntry {
    /// The 5-digit municipality code.
    pub code: String,
    /// The distribution point's directoryName as text (RFC 4514 order as written).
    pub distribution_point: String,
    /// The same name's DER, hex: what a certificate's CRL distribution point carries.
    pub name_der_hex: String,
    /// The path of the partition CRL (`/crl/auth/13101.crl`).
    pub path: String,
}

impl Publisher {
    /// The index of `hierarchy`'s CRLs: every municipality with certificates of that hierarchy.
    pub fn crl_index<S: RevocationSource>(&self, source: &S, hierarchy: Hierarchy) -> CrlIndex {
        let tag = hierarchy.tag();
        let partitions = source.read(|data| {
            data.municipality_codes(hierarchy)
                .into_iter()
                .filter_map(|code| {
                    let (prefecture, municipality) = data.municipality_names(&code)?;
                    let name = names::crl_partition_name(hierarchy, &prefecture, &municipality);
                    Some(PartitionEntry {
                        distribution_point: name.to_string(),
                        name_der_hex: hex::encode_upper(name.to_der()),
                        path: format!("/crl/{tag}/{code}.crl"),
                        code,
                    })
                })
                .collect()
        });
        CrlIndex {
            hierarchy: tag,
            full: format!("/crl/{tag}.crl"),
            partitions,
        }
    }
}
