//! CRLs (RFC 5280 §5).
