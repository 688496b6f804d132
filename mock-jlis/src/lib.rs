//! mock-jlis
