//! libFuzzer's entry to `fuzz_targets::admin_json` (fuzz-targets/src/admin_json.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::admin_json::run(bytes));
