//! The OpenSSL command-line PF (`harness/adapters/openssl_pf.py`) against the whole suite, with
//! its expectations file: the run is as expected, every listed divergence shows up as one,
//! exactly the scenarios needing features it lacks are skipped, exactly those without a `pf`
//! step (the reference SDK plays them all) are not exercised, and everything else passes.
//! A silently skipped or broken adapter changes those counts and fails the test.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conformance::runner::Expectations;
use conformance::scenario::load_suite;
use vocab::Role;

/// What the adapter says it supports, as a contract: a change here is a change of the adapter.
const FEATURES: [&str; 4] = ["crl", "faults", "ocsp", "world_clock"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn adapter() -> PathBuf {
    root().join("harness/adapters/openssl_pf.py")
}

fn expectations_file() -> PathBuf {
    root().join("harness/adapters/expectations/openssl-pf.yaml")
}

/// The adapter's answer to hello: its features.
fn hello_features() -> BTreeSet<String> {
    let mut child = Command::new("python3")
        .arg(adapter())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    let hello = serde_json::json!({
        "type": "hello", "version": 1, "role": "pf",
        "environment": {
            "base_url": "http://127.0.0.1:9", "ca_url": "", "crl_url": "", "ocsp_url": "",
            "jlis_url": "", "sign_ca_pem": pem, "auth_ca_pem": pem, "cards": []
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{hello}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    writeln!(stdin, r#"{{"type":"bye"}}"#).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let answer: serde_json::Value = serde_json::from_str(&line).expect(&line);
    assert_eq!(answer["type"], "hello", "{answer}");
    assert!(
        answer["name"]
            .as_str()
            .unwrap()
            .starts_with("openssl-pf (OpenSSL "),
        "{answer}"
    );
    answer["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_openssl_pf_passes_the_suite_but_for_its_known_divergences() {
    let features = hello_features();
    assert_eq!(
        features,
        FEATURES
            .iter()
            .map(|f| f.to_string())
            .collect::<BTreeSet<_>>()
    );
    let suite = load_suite(&root().join("scenarios")).expect("the suite loads");
    let expectations = Expectations::load(&expectations_file()).unwrap();
    // Scenarios needing a PF feature the adapter lacks are skipped; SDK steps stay with the
    // reference SDK, which has every SDK feature. Scenarios without a PF step ask the adapter
    // nothing: not exercised, never a pass.
    let expected = support::ExpectedRun::of(&suite, Role::Pf, &features, &expectations);
    assert!(expected
        .not_exercised
        .iter()
        .any(|id| id.starts_with("card/")));

    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("openssl-pf.json");
    let mut command = Command::new(env!("CARGO_BIN_EXE_jpki-sim"));
    command
        .current_dir(root())
        .args(["run", "scenarios", "--jobs", "2", "--sut"])
        .arg(format!("pf=python3 {}", adapter().display()))
        .arg("--expectations")
        .arg(expectations_file())
        .arg("--json")
        .arg(&json)
        .arg("--key-cache")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("openssl-pf-keys.sqlite"));
    let (results, _) = expected.check(command, &json);
    assert!(results.iter().all(|r| r["adapter"] == "openssl-pf"));
}
