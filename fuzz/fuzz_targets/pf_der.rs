//! libFuzzer's entry to `fuzz_targets::pf_der` (fuzz-targets/src/pf_der.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::pf_der::run(bytes));
