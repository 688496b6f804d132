//! libFuzzer's entry to `fuzz_targets::scenario` (fuzz-targets/src/scenario.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::scenario::run(bytes));
