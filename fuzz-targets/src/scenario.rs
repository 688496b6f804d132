//! The scenario loader (YAML anyone may write): loads, or every problem is reported with its
//! place; never a panic.

use std::path::Path;

/// One input.
pub fn run(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let id = "card/fuzzed".parse().expect("a valid id");
    let _ = conformance::scenario::parse(text, Path::new("scenarios/card/fuzzed.yaml"), id);
}
