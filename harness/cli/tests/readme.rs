//! The README's promises that can drift from the code: the minimum Rust version is the
//! workspace's `rust-version`, and the two commands it gives exist as written.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_readme_states_the_workspaces_minimum_rust_version() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let msrv = env!("CARGO_PKG_RUST_VERSION");
    assert!(
        !msrv.is_empty(),
        "the jpki-sim package declares no rust-version"
    );
    assert!(
        readme.contains(&format!("Rust {msrv} or later")),
        "README.md does not say `Rust {msrv} or later`"
    );
}

#[test]
fn the_readmes_two_commands_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release --locked --bin jpki-sim -- run"));
    assert!(readme.contains("\nscripts/test\n"));
    let test = root().join("scripts/test");
    let mode = std::fs::metadata(&test).unwrap().permissions();
    assert!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
        "scripts/test is not executable"
    );
}
