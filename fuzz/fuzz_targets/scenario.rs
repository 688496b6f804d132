//! The scenario loader (YAML anyone may write): loads, or every problem is reported with its
//! place; never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let id = "card/fuzzed".parse().expect("a valid id");
    let _ = conformance::scenario::parse(text, Path::new("scenarios/card/fuzzed.yaml"), id);
});
