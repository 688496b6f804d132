//! `jpki-sim adapter check` passes every bundled adapter (the references over stdio and HTTP,
//! the OpenSSL PF), and fails a deliberately broken one, naming each message it got wrong.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{show, Listening};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jpki-sim");

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("adapter-check-keys.sqlite")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(sut: &str, more: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        .args([
            "adapter",
            "check",
            "--sut",
            sut,
            "--timeout",
            "20",
            "--key-cache",
        ])
        .arg(key_cache())
        .args(more)
        .output()
        .expect("jpki-sim runs")
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Passes with nothing wrong, and every request of the role was answered (none skipped but
/// what the adapter does not claim).
fn assert_passes(sut: &str, at_least: usize) {
    let out = check(sut, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = lines(&out);
    let ok = lines.iter().filter(|l| l.starts_with("ok ")).count();
    assert!(ok >= at_least, "only {ok} ok\n{}", show(&out));
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(" wrong, 0 skipped") || l.contains(" 0 wrong,")),
        "{}",
        show(&out)
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ok    bye")),
        "{}",
        show(&out)
    );
}

#[test]
fn the_reference_pf_and_sdk_pass_over_stdio() {
    assert_passes(&format!("pf={BIN} adapter ref-pf"), 16);
    assert_passes(&format!("sdk={BIN} adapter ref-sdk"), 20);
}

/// `jpki-sim adapter ROLE --listen 127.0.0.1:0`.
fn listening(which: &str) -> Listening {
    Listening::start(Command::new(BIN).args(["adapter", which, "--listen", "127.0.0.1:0"]))
}

#[test]
fn the_reference_pf_and_sdk_pass_over_http() {
    let pf = listening("ref-pf");
    assert_passes(&format!("pf={}", pf.url), 15);
    let sdk = listening("ref-sdk");
    assert_passes(&format!("sdk={}", sdk.url), 19);
}

#[test]
fn the_openssl_pf_passes_and_what_it_does_not_claim_is_skipped() {
    let out = check("pf=python3 harness/adapters/openssl_pf.py", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let lines = lines(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("skip  request latest_info")
                && l.contains("does not claim `latest_info`")),
        "{}",
        show(&out)
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("ok    request check_status (no `enrolment` field): error `bad_request`")),
        "{}",
        show(&out)
    );
}

/// A PF that says hello well, then answers every request `accepted` with the right id, and
/// one that answers with the wrong id: each mistake is named by its message.
const BROKEN: &str = r#"
import json, sys
shift = int(sys.argv[1])
for line in sys.stdin:
    if not line.strip():
        continue
    message = json.loads(line)
    if message["type"] == "hello":
        if message["version"] != 1:
            sys.exit(2)
        print(json.dumps({"type": "hello", "version": 1, "name": "broken", "features": ["ocsp", "crl"]}), flush=True)
    elif message["type"] == "request":
        print(json.dumps({"type": "response", "id": message["id"] + shift, "result": {"outcome": "accepted"}}), flush=True)
    else:
        sys.exit(0)
"#;

#[test]
fn a_broken_pf_fails_and_each_wrong_message_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("broken.py");
    std::fs::write(&script, BROKEN).unwrap();
    let json = dir.path().join("findings.json");
    let out = check(
        &format!("pf=python3 {} 0", script.display()),
        &["--json", json.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let said = lines(&out);
    let has = |prefix: &str, part: &str| {
        assert!(
            said.iter()
                .any(|l| l.starts_with(prefix) && l.contains(part)),
            "no line {prefix:?} … {part:?}\n{}",
            show(&out)
        )
    };
    // Right for enrol, but not a check_status outcome.
    has("ok    request enrol (an authentication", "accepted");
    has(
        "WRONG request check_status (via OCSP)",
        "is not one of `check_status`",
    );
    has(
        "WRONG request frobnicate",
        "expected error `unsupported`; got result",
    );
    has(
        "WRONG request check_status (no `enrolment` field)",
        "expected error `bad_request`",
    );
    has("ok    bye", "exited 0");
    has("ok    hello of version 99", "exit status: 2");
    let findings: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let wrong = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == "wrong")
        .count();
    assert!(
        said.iter().any(|l| l.contains(&format!(" {wrong} wrong,"))),
        "{wrong} wrong in the JSON\n{}",
        show(&out)
    );

    let out = check(&format!("pf=python3 {} 1", script.display()), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        lines(&out)
            .iter()
            .any(|l| l.starts_with("WRONG request enrol")
                && l.contains("the response to request 1 has the id 2")),
        "{}",
        show(&out)
    );
}
