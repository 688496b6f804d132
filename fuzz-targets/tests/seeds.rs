//! Every fuzz target over its committed seeds and a fixed set of mutations of them: what
//! libFuzzer starts from must hold, and small damage to it (the mutations libFuzzer makes
//! first) must too. This is CI's run of every target; the coverage-guided runs (`scripts/fuzz`)
//! go much further and their figures are in fuzz/README.md.
//!
//! `JPKI_SIM_FUZZ_SEED=N` draws other mutations; `JPKI_SIM_FUZZ_MUTATIONS=N` sets how many
//! per seed. A failing input is written under `target/fuzz-replay/` so that
//! `cargo fuzz run TARGET FILE` (fuzz/README.md) reproduces it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fuzz_targets::{Target, TARGETS};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Mutations per seed unless `JPKI_SIM_FUZZ_MUTATIONS` says otherwise.
const MUTATIONS: usize = 200;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn seeds(target: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = crate_dir().join("seeds").join(target.name);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// One of libFuzzer's simple mutations: flip a bit, set a byte, insert or erase bytes, copy
/// a run of bytes elsewhere, truncate, or splice in part of another seed.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    let below = |rng: &mut ChaCha8Rng, n: usize| (rng.next_u32() as usize) % n.max(1);
    for _ in 0..=below(rng, 3) {
        let len = bytes.len();
        match below(rng, 7) {
            0 if len > 0 => {
                let at = below(rng, len);
                bytes[at] ^= 1 << below(rng, 8);
            }
            1 if len > 0 => {
                let at = below(rng, len);
                // The values parsers treat specially more often than chance would.
                const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0xFE, 0xFF];
                bytes[at] = if rng.next_u32().is_multiple_of(2) {
                    INTERESTING[below(rng, INTERESTING.len())]
                } else {
                    rng.next_u32() as u8
                };
            }
            2 => {
                let at = below(rng, len + 1);
                let count = 1 + below(rng, 8);
                let fill: Vec<u8> = (0..count).map(|_| rng.next_u32() as u8).collect();
                bytes.splice(at..at, fill);
            }
            3 if len > 0 => {
                let at = below(rng, len);
                let count = (1 + below(rng, 16)).min(len - at);
                bytes.drain(at..at + count);
            }
            4 if len > 1 => {
                let from = below(rng, len);
                let count = (1 + below(rng, 32)).min(len - from);
                let run = bytes[from..from + count].to_vec();
                let to = below(rng, len + 1);
                bytes.splice(to..to, run);
            }
            5 if len > 0 => bytes.truncate(below(rng, len)),
            _ if !other.is_empty() => {
                let from = below(rng, other.len());
                let count = (1 + below(rng, 64)).min(other.len() - from);
                let at = below(rng, len + 1);
                let keep = at + below(rng, len - at + 1);
                bytes.splice(at..keep, other[from..from + count].iter().copied());
            }
            _ => {}
        }
    }
    bytes
}

/// Runs one input, and on a panic saves it and says where.
fn run_one(target: &Target, input: &[u8], what: &str) {
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let dir = crate_dir().join("../target/fuzz-replay").join(target.name);
        let saved = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                let path = dir.join(format!("crash-{}", hex(&sha(input))));
                std::fs::write(&path, input).map(|()| path)
            })
            .map(|path| path.display().to_string())
            .unwrap_or_else(|e| format!("(not saved: {e})"));
        panic!(
            "fuzz target {} failed on {what}: {message}\ninput saved as {saved}",
            target.name
        );
    }
}

/// A short name for a failing input (not a security use).
fn sha(bytes: &[u8]) -> [u8; 8] {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in bytes {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash.to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn replay(name: &str) {
    let target = TARGETS
        .iter()
        .find(|target| target.name == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "target {name} has no seeds");
    let mutations = env_number("JPKI_SIM_FUZZ_MUTATIONS", MUTATIONS as u64) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(env_number("JPKI_SIM_FUZZ_SEED", 0));
    for (index, (path, seed)) in seeds.iter().enumerate() {
        let file = path.file_name().expect("a file name").to_string_lossy();
        run_one(target, seed, &format!("seed {file}"));
        let other = &seeds[(index + 1) % seeds.len()].1;
        for round in 0..mutations {
            let input = mutate(&mut rng, seed, other);
            run_one(target, &input, &format!("mutation {round} of seed {file}"));
        }
    }
}

#[test]
fn apdu() {
    replay("apdu");
}

#[test]
fn ocsp_request() {
    replay("ocsp_request");
}

#[test]
fn adapter_message() {
    replay("adapter_message");
}

#[test]
fn scenario() {
    replay("scenario");
}

#[test]
fn card_session() {
    replay("card_session");
}

#[test]
fn pf_der() {
    replay("pf_der");
}

#[test]
fn admin_json() {
    replay("admin_json");
}

/// Every target has a test above, a libFuzzer binary in fuzz/ and seeds; nothing in fuzz/ is
/// left without a body here.
#[test]
fn every_target_is_replayed_and_built_for_libfuzzer() {
    let this = std::fs::read_to_string(file!())
        .or_else(|_| std::fs::read_to_string(crate_dir().join("tests/seeds.rs")))
        .expect("this file");
    let manifest =
        std::fs::read_to_string(crate_dir().join("../fuzz/Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut binaries: Vec<String> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "jpki-sim-fuzz")
        .map(str::to_owned)
        .collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    names.sort();
    assert_eq!(
        binaries, names,
        "fuzz/Cargo.toml's binaries and TARGETS differ"
    );
    for name in &names {
        assert!(
            this.contains(&format!("fn {name}() {{\n    replay(\"{name}\");")),
            "no replay test for {name}"
        );
        let entry = crate_dir().join(format!("../fuzz/fuzz_targets/{name}.rs"));
        let text =
            std::fs::read_to_string(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        assert!(
            text.contains(&format!("fuzz_targets::{name}::run(bytes)")),
            "{} does not call fuzz_targets::{name}::run",
            entry.display()
        );
    }
}
