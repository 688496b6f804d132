//! libFuzzer's entry to `fuzz_targets::apdu` (fuzz-targets/src/apdu.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::apdu::run(bytes));
