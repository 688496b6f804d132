//! Adapters: any SDK or PF as a separate process speaking JSON lines (docs/adapter-protocol.md,
//! DESIGN §5).

pub mod protocol;

pub use protocol::Role;
