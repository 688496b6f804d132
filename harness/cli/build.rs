//! Records the commit the binary was built from, for `jpki-sim --version`: a report or a bug
//! says exactly which simulator produced it.

use std::process::Command;

fn main() {
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
