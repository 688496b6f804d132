//! Shared pieces of the benchmarks (`benches/`) and of `compare.sh`'s signature-rate example:
//! the APDUs a JPKI client sends, a `jpki-sim up` child process attached to vpcd, and the inputs
//! of the revocation benchmarks (CRL entries, OCSP requests).
//!
//! See `docs/performance.md` for what each benchmark measures and the targets.

pub mod apdu;
pub mod revocation;
pub mod up;
