//! libFuzzer's entry to `fuzz_targets::card_session` (fuzz-targets/src/card_session.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fuzz_targets::card_session::run(bytes));
