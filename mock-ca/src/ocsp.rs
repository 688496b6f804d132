//! OCSP responder (RFC 6960, RFC 5019).
