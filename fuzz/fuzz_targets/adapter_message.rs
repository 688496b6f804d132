//! libFuzzer's entry to `fuzz_targets::adapter_message` (fuzz-targets/src/adapter_message.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::adapter_message::run(bytes));
