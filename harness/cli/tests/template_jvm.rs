//! The JVM SDK adapter template (`harness/adapters/templates/jvm/`), run as a vendor runs it
//! (`java JpkiSdkAdapter.java`, a single-file source launch): `jpki-sim adapter check` finds
//! nothing wrong, and card scenarios of the features it claims pass through its example SDK
//! and the APDU bridge, while one needing a feature it does not claim is skipped.
//!
//! Skips without a JDK unless JPKI_SIM_REQUIRE_PCSC is set (CI sets it).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::show;

const BIN: &str = env!("CARGO_BIN_EXE_jpki-sim");

/// The adapter as `--sut` names it, relative to the repository root.
const SUT: &str = "sdk=java harness/adapters/templates/jvm/JpkiSdkAdapter.java";

/// Card scenarios of what the template claims (`sign_key`, `card_removal`) or needs no
/// feature, each exercising a different part of its example SDK: PIN counters and the
/// blocked PIN, every DigestInfo with both keys, the look at EF 0008 for a missing
/// certificate, a card pulled mid-signature (409 `no_card`), and a 6C resend.
const PASSING: [&str; 5] = [
    "card/auth_pin_lockout",
    "card/sign_with_each_hash",
    "card/no_signature_certificate_under_15",
    "card/card_pulled_mid_signature",
    "card/wrong_le_answered_by_resending",
];

/// Needs `text_ap`, which the template does not claim.
const SKIPPED: &str = "card/text_pin_lockout";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-jvm-keys.sqlite")
}

/// Whether the test can run: `false` (with a message) to skip when there is no `java` that
/// can launch a source file (a JDK: a JRE lacks the compiler module it needs); a failure
/// instead when JPKI_SIM_REQUIRE_PCSC says everything must run.
fn java_available(test: &str) -> bool {
    let found = Command::new("java")
        .arg("--list-modules")
        .output()
        .is_ok_and(|out| {
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("jdk.compiler")
        });
    support::tool_available(
        found,
        &format!("JDK 17 or later (`java` with jdk.compiler) for {test}"),
    )
}

fn jpki_sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        // The source launcher compiles the file at every start, once per scenario: the
        // client compiler alone and the serial collector halve that on a small machine.
        .env(
            "JDK_JAVA_OPTIONS",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        )
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .expect("jpki-sim runs")
}

#[test]
fn the_template_passes_the_adapter_check() {
    if !java_available("the_template_passes_the_adapter_check") {
        return;
    }
    // A generous timeout: a busy machine makes the compiling start slow.
    let out = jpki_sim(&["adapter", "check", "--sut", SUT, "--timeout", "60"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        !lines.iter().any(|l| l.starts_with("WRONG")),
        "{}",
        show(&out)
    );
    let has = |prefix: &str| {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix)),
            "no line {prefix:?}\n{}",
            show(&out)
        )
    };
    // It claims exactly what its example SDK does.
    has("ok    hello: \"example-jvm-sdk 0.1\", version 1, features [sign_key, card_removal]");
    // Every operation it implements answered with a result, the rules of the protocol kept.
    has("ok    request read_certificate (the authentication certificate): result");
    has("ok    request read_certificate (the signature certificate, behind the signature password): result");
    has("ok    request pin_status (the authentication PIN): result");
    has("ok    request verify_pin (the right authentication PIN): result");
    has("ok    request sign (with the authentication key and its PIN): result");
    has("ok    request sign (with the signature key and its password): result");
    has(
        "ok    request pin_status (with a field this version does not have, to be ignored): result",
    );
    has("ok    request pin_status (after a blank line, to be ignored): result");
    has("ok    request frobnicate (an op the protocol does not have): error `unsupported`");
    has("ok    request verify_pin (no `value` field): error `bad_request`");
    has("ok    request pin_status (`pin` not a PIN of the card): error `bad_request`");
    has("ok    request sign (`data` a number, not hex): error `bad_request`");
    has("ok    bye: it exited 0");
    has("ok    hello of version 99");
    // What it does not claim is skipped, not wrong.
    has("skip  request read_basic_info (with the text PIN): it does not claim `text_ap`");
    has("skip  request change_pin (the text PIN): it does not claim `pin_change`");
}

#[test]
fn the_template_passes_the_card_scenarios_of_its_features() {
    if !java_available("the_template_passes_the_card_scenarios_of_its_features") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let files: Vec<String> = PASSING
        .iter()
        .chain([&SKIPPED])
        .map(|id| format!("scenarios/{id}.yaml"))
        .collect();
    let mut args = vec!["run", "--sut", SUT, "--step-timeout", "60", "--json"];
    args.push(json.to_str().unwrap());
    args.extend(files.iter().map(String::as_str));
    let out = jpki_sim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outcome = |id: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no result for {id}\n{}", show(&out)))["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for id in PASSING {
        assert_eq!(outcome(id), "pass", "{id}\n{}", show(&out));
    }
    assert_eq!(outcome(SKIPPED), "skipped", "{}", show(&out));
}
