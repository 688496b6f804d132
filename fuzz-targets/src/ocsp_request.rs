//! The OCSP request parser (an HTTP body from anyone): refused or parsed, never a panic.

/// One input.
pub fn run(der: &[u8]) {
    let _ = mock_ca::ocsp::OcspRequest::from_der(der);
}
