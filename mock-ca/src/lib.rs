//! mock-ca
