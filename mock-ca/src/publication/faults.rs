//! Protocol faults the publisher itself applies. Transport faults (resets, 503s, delays) belong
//! to whoever serves the routes; these need the CRL or OCSP encoder.

use crate::forgery::{CrlForgery, OcspForgery};
use crate::ocsp::OcspErrorStatus;

/// A CRL that is wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrlFault {
    /// The previous day's CRL (the 5–10 minute daily refresh window).
    Yesterdays,
    /// Issued two days ago and never refreshed: nextUpdate lies a day in the past.
    Expired,
    /// A forged CRL (see [`crate::forgery`]).
    Forged(CrlForgery),
    /// The full list is withheld (503); partitions are served as usual.
    FullListWithheld,
}

/// An OCSP answer that is wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OcspFault {
    /// An unsuccessful responseStatus (`tryLater`, `internalError`, ...) without responseBytes.
    Unsuccessful(OcspErrorStatus),
    /// A genuine, validly signed answer whose certStatus is `unknown` for every certificate
    /// asked about, as a responder that has not heard of them answers.
    UnknownStatus,
    /// A well-formed response signed by a key that is neither the CA's nor its responder's.
    WrongKey,
    /// thisUpdate a day in the past (nextUpdate too), as a stale cache would serve.
    StaleThisUpdate,
    /// A validly signed response echoing a nonce other than the request's.
    ForeignNonce,
    /// A validly signed response without the nonce the request carried.
    NoNonce,
    /// A forged answer (see [`crate::forgery`]).
    Forged(OcspForgery),
}
