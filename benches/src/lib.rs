//! Shared pieces of the benchmarks (`benches/`) and of `compare.sh`'s signature-rate example:
//! the APDUs a JPKI client sends, and a `jpki-sim up` child process attached to vpcd.
//!
//! See `docs/performance.md` for what each benchmark measures and the targets.

pub mod apdu;
pub mod up;
