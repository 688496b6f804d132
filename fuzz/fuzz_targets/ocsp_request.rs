//! libFuzzer's entry to `fuzz_targets::ocsp_request` (fuzz-targets/src/ocsp_request.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::ocsp_request::run(bytes));
