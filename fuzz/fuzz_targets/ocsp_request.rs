//! The OCSP request parser (an HTTP body from anyone): refused or parsed, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|der: &[u8]| {
    let _ = mock_ca::ocsp::OcspRequest::from_der(der);
});
