//! The Node.js SDK adapter template (`harness/adapters/templates/node/`) passes `jpki-sim
//! adapter check` over stdio and over HTTP, and the card scenarios whose features it claims.
//! Skipped without `node` unless `JPKI_SIM_REQUIRE_PCSC` is set (CI sets it).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{show, Listening};

const BIN: &str = env!("CARGO_BIN_EXE_jpki-sim");
const TEMPLATE: &str = "harness/adapters/templates/node/jpki-sdk-adapter.mjs";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-node-keys.sqlite")
}

/// Whether `node` runs; a failure instead when CI requires every tool.
fn node_available() -> bool {
    let found = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    support::tool_available(found, "node")
}

fn jpki_sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .expect("jpki-sim runs")
}

fn assert_checks(sut: &str) {
    let out = jpki_sim(&["adapter", "check", "--sut", sut]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.lines().any(|l| l.starts_with("WRONG")),
        "{}",
        show(&out)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok    request sign (with the signature key")),
        "{}",
        show(&out)
    );
}

#[test]
fn the_template_passes_the_check_over_stdio_and_http() {
    if !node_available() {
        return;
    }
    assert_checks(&format!("sdk=node {TEMPLATE}"));
    let service = Listening::start(Command::new("node").current_dir(repo()).args([
        TEMPLATE,
        "--listen",
        "127.0.0.1:0",
    ]));
    assert_checks(&format!("sdk={}", service.url));
}

#[test]
fn the_template_passes_the_card_scenarios_it_claims_the_features_of() {
    if !node_available() {
        return;
    }
    let sut = format!("sdk=node {TEMPLATE}");
    let out = jpki_sim(&["run", "scenarios/card", "--sut", &sut, "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "card/auth_pin_lockout",
        "card/sign_with_each_hash",
        "card/sign_password_lockout",
        "card/no_signature_certificate_under_15",
        "card/wrong_le_answered_by_resending",
        "card/removed_card_answers_nothing",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pass", id]),
            "{id} did not pass\n{}",
            show(&out)
        );
    }
}
