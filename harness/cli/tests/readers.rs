//! `jpki-sim run --pcsc` and `--reader`: scenario cards in real vpcd readers of pcscd, with the
//! bundled reference SDK reaching them through PC/SC. The reader tests skip without pcscd unless
//! JPKI_SIM_REQUIRE_PCSC is set; the `jpki-sim run` children lease the readers themselves.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// One run at a time: they would only wait for each other's readers.
static READERS: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `jpki-sim run ARGS...` from the workspace root.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .current_dir(root())
        .arg("run")
        .args(args)
        .arg("--key-cache")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("readers-keys.sqlite"))
        .output()
        .unwrap()
}

fn shown(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every SDK operation, both keys, all five PINs, card removal and two cards at once: the
/// reference SDK must pass them through PC/SC as it does in process.
const THROUGH_READERS: [&str; 9] = [
    "scenarios/card/removed_card_answers_nothing.yaml",
    "scenarios/card/basic_info_needs_its_pin.yaml",
    "scenarios/card/my_number_needs_its_pin.yaml",
    "scenarios/card/change_auth_pin.yaml",
    "scenarios/card/sign_with_each_hash.yaml",
    "scenarios/card/sign_cert_needs_password.yaml",
    "scenarios/card/pin_status_empty_query.yaml",
    "scenarios/card/card_face_needs_collation_number.yaml",
    "scenarios/multi_card/pin_counters_per_card.yaml",
];

#[test]
fn the_reference_sdk_passes_card_scenarios_through_pcsc_readers() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    if !support::pcsc_available("reference-sdk-in-readers") {
        return;
    }
    let mut args = vec!["--pcsc"];
    args.extend(THROUGH_READERS);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let summary = format!("{} passed, 0 failed, 0 skipped", THROUGH_READERS.len());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == summary),
        "expected `{summary}`:\n{}",
        shown(&out)
    );
}

/// `jpki-sim adapter ref-sdk` given readers in `hello` speaks PC/SC to them and claims the
/// `pcsc` feature, across a card taken out and put back; given only the bridge, it does not.
#[test]
fn the_reference_sdk_adapter_uses_the_readers_hello_names() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    if !support::pcsc_available("reference-sdk-adapter-in-readers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("card")).unwrap();
    std::fs::write(
        dir.path().join("card/in_a_reader.yaml"),
        "description: a wrong PIN, a power cycle in a PC/SC reader, and the counter kept\n\
         importance: high\n\
         features: [pcsc, card_removal]\n\
         cards: [{id: 'felica:0123456789ABCDEF'}]\n\
         steps:\n\
         \x20 - sdk: {op: verify_pin, pin: auth, value: '0000', expect: {wrong_pin: {retries_left: 2}}}\n\
         \x20 - card: {remove: 0}\n\
         \x20 - sdk: {op: pin_status, pin: auth, expect: no_card}\n\
         \x20 - card: {insert: 0}\n\
         \x20 - sdk: {op: pin_status, pin: auth, expect: {retries_left: 2}}\n\
         \x20 - sdk: {op: sign, key: auth, data: {text: hello}, hash: sha256, pin: '1234', expect: ok}\n",
    )
    .unwrap();
    let adapter = format!("sdk={} adapter ref-sdk", env!("CARGO_BIN_EXE_jpki-sim"));
    let suite = dir.path().to_str().unwrap();
    let summary = |out: &Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned()
    };
    let out = run(&[suite, "--pcsc", "--sut", &adapter]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(
        summary(&out),
        "1 passed, 0 failed, 0 skipped",
        "{}",
        shown(&out)
    );
    let out = run(&[suite, "--sut", &adapter]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(
        summary(&out),
        "0 passed, 0 failed, 1 skipped",
        "{}",
        shown(&out)
    );
}

#[test]
fn a_failing_scenario_in_a_reader_traces_pcscd_and_every_apdu() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    if !support::pcsc_available("reader-trace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("card")).unwrap();
    std::fs::write(
        dir.path().join("card/out_and_in.yaml"),
        "description: a power cycle in a reader, then a wrong expectation\n\
         importance: low\n\
         features: [card_removal]\n\
         cards: [{id: 'felica:0123456789ABCDEF'}]\n\
         steps:\n\
         \x20 - sdk: {op: verify_pin, pin: auth, value: '0000', expect: {wrong_pin: {retries_left: 2}}}\n\
         \x20 - card: {remove: 0}\n\
         \x20 - sdk: {op: pin_status, pin: auth, expect: no_card}\n\
         \x20 - card: {insert: 0}\n\
         \x20 - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}\n",
    )
    .unwrap();
    let json = dir.path().join("report.json");
    let out = run(&[
        dir.path().to_str().unwrap(),
        "--pcsc",
        "--json",
        json.to_str().unwrap(),
    ]);
    // The counter survived the power cycle in the reader: 2 tries left, not the 3 expected.
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("expected retries_left 3 (63 C3), got status 63 C2"),
        "{}",
        shown(&out)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let trace: Vec<String> = report["results"][0]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| match entry["kind"].as_str().unwrap() {
            "world" => entry["action"].as_str().unwrap().to_owned(),
            "apdu" => format!(
                "{} -> {}",
                entry["name"].as_str().unwrap(),
                entry["status"].as_str().unwrap_or("no card")
            ),
            _ => entry["summary"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    let position = |prefix: &str| {
        trace
            .iter()
            .position(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in the trace: {trace:#?}"))
    };
    // pcscd saw the card before the first APDU, and saw it go and come back.
    let inserted = position("card 0 in reader \"Virtual PCD");
    let verify = position("VERIFY -> 63 C2");
    let removed = position("card 0 removed (pcscd showed it after");
    let back = position("card 0 inserted (pcscd showed it after");
    let query = position("VERIFY (retry query) -> 63 C2");
    assert!(
        inserted < verify && verify < removed && removed < back && back < query,
        "{trace:#?}"
    );
    // The removed card answered nothing: no APDU between removal and insertion.
    assert!(
        trace[removed..back].iter().all(|line| !line.contains("->")),
        "{trace:#?}"
    );
}

#[test]
fn a_reader_pcscd_does_not_have_is_an_error_naming_the_readers_it_has() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    if !support::pcsc_available("unknown-reader") {
        return;
    }
    let out = run(&[
        "scenarios/card/correct_pin_resets_counter.yaml",
        "--reader",
        "No Such Reader=127.0.0.1:35963",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pcscd has no reader \"No Such Reader\"")
            && stdout.contains("\"Virtual PCD 00 00\""),
        "{}",
        shown(&out)
    );
}

#[test]
fn a_scenario_with_more_cards_than_readers_is_an_error_naming_them() {
    // Decided before any reader is touched: runs without pcscd too.
    let out = run(&[
        "scenarios/multi_card/pin_counters_per_card.yaml",
        "--reader",
        "Virtual PCD 00 00=127.0.0.1:35963",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "the scenario has 2 cards but only 1 PC/SC reader is configured (Virtual PCD 00 00): \
             give more with --reader NAME=HOST:PORT"
        ),
        "{}",
        shown(&out)
    );
}

#[test]
fn reader_flags_are_checked_before_anything_runs() {
    let out = run(&["--reader", "Virtual PCD 00 00"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not NAME=HOST:PORT"),
        "{}",
        shown(&out)
    );
    let out = run(&[
        "--pcsc",
        "--reader",
        "Again=127.0.0.1:35964",
        "scenarios/card/correct_pin_resets_counter.yaml",
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("that reader is already configured"),
        "{}",
        shown(&out)
    );
}
