//! Publishing revocation status over HTTP on the JPKI cadences (docs/jpki-pki.md): a full CRL per
//! hierarchy and per-municipality partitions issued daily, OCSP answers whose data is refreshed
//! on 15-minute boundaries, and the CA certificates themselves.
//!
//! The CA does not keep the registry of what it issued: whoever does implements
//! [`RevocationSource`] (what is revoked as of when, which serials exist, the clock, the fault
//! hooks), and a [`Publisher`] turns that into signed CRLs and OCSP answers. [`routes`] serves
//! them at `/ca/...`, `/crl/...` and `/ocsp`.
//!
//! A revocation is published by a channel once that channel's data instant (the CRL's
//! thisUpdate, the OCSP window's start) is later than it: a revocation made exactly at the
//! instant waits for the next issue or window. [`Cadence::Instant`] publishes at once, including
//! what happened in the current second. [`AsOf`] says which revocations a publication holds, and
//! [`Cadence::crl_issue`] how cRLNumbers are chosen so that one number never names two lists.

mod crl;
mod error;
mod faults;
mod index;
mod ocsp;
mod publisher;
mod routes;
mod schedule;
mod source;

pub use crl::CrlPartition;
pub use error::PublicationError;
pub use faults::{CrlFault, OcspFault};
pub use index::{CrlIndex, PartitionEntry};
pub use publisher::{OcspSigner, Publisher};
pub use routes::{routes, ROUTES};
pub use schedule::{AsOf, Cadence, CrlIssue, OCSP_PERIOD};
pub use source::{RevocationData, RevocationSource};
