//! Records the commit the binary was built from, for `jpki-sim --version`: a report or a bug
//! says exactly which simulator produced it. Embeds the conformance suite (`scenarios/`), so
//! that a binary installed outside a checkout still has it (`src/builtin_suite.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    embed_suite();
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|commit| !commit.is_empty());
    let described = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=JPKI_SIM_COMMIT={described}");
    // A new commit or checkout changes HEAD or the ref it points to.
    for path in ["../../.git/HEAD", "../../.git/refs/heads"] {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// Writes `$OUT_DIR/builtin_suite.rs`: every file of `scenarios/` (path relative to it, and its
/// text by `include_str!`) and a hash of them all, which names the directory they are extracted
/// to.
fn embed_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    // FNV-1a, 64 bits: names a version of the suite, not a security boundary.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut source = String::from("/// Every file of the suite: its path under the suite root, and its text.\npub const FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read(file).expect("a suite file reads");
        for byte in relative.bytes().chain([0]).chain(text.iter().copied()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let absolute = file.canonicalize().expect("a suite file has a path");
        let _ = writeln!(
            source,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    source.push_str("];\n");
    let _ = writeln!(
        source,
        "/// A hash of every path and text in [`FILES`].\npub const HASH: u64 = {hash:#018x};"
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("builtin_suite.rs"), source).expect("OUT_DIR is writable");
}

/// The suite's files under `dir`: scenarios (`.yaml`), the schema and the README.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "json" || ext == "md")
        {
            files.push(path);
        }
    }
}
