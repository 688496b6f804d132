//! Mutants: deliberately wrong reference PFs and SDKs. The whole suite kills every one of them,
//! and each PF mutant makes the mistake its doc names, seen in the scenario written against it.

use std::path::{Path, PathBuf};
use std::process::Output;

use conformance::runner::{mutant_platform, run_suite, Outcome, RunConfig};
use conformance::scenario::load_file;
use reference::pf::Mutant;

/// Keys are deterministic: every test shares one cache and derives each key once.
fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutants-keys.sqlite")
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn jpki_sim_run(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scenario(id: &str) -> String {
    suite_dir().join(format!("{id}.yaml")).display().to_string()
}

#[test]
fn the_suite_kills_every_mutant() {
    let suite = suite_dir().display().to_string();
    let out = jpki_sim_run(&[&suite, "--mutants"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let all = reference::ReferenceMutant::all();
    let n = all.len();
    let sdk = all
        .iter()
        .filter(|m| matches!(m, reference::ReferenceMutant::Sdk(_)))
        .count();
    assert!(n - sdk >= 30, "only {} PF mutants", n - sdk);
    assert!(sdk >= 10, "only {sdk} SDK mutants");
    assert!(text.contains(&format!("kill rate: {n}/{n}")), "{text}");
    assert!(!text.contains("SURVIVED"), "{text}");
    for mutant in all {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{mutant} "))),
            "{mutant} missing from\n{text}"
        );
    }
}

#[test]
fn a_surviving_mutant_fails_the_run() {
    let out = jpki_sim_run(&[
        &scenario("enrolment/sign_key_enrolment"),
        "--mutant",
        "hold-is-good",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("hold-is-good"), "{text}");
    assert!(text.contains("SURVIVED"), "{text}");
    assert!(text.contains("kill rate: 0/1"), "{text}");
}

#[test]
fn an_unknown_mutant_is_a_usage_error() {
    let out = jpki_sim_run(&["--mutant", "ignores-everything"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ignores-revocation"), "{err}");
}

/// Each mutant against the scenario written for its mistake: the scenario fails, and the
/// platform's answer is the wrong one the mutant's doc describes. The correct PF passes it.
#[test]
fn each_mutant_makes_its_documented_mistake() {
    let cases: [(Mutant, &str, &str); 15] = [
        (
            Mutant::IgnoresRevocation,
            "enrolment/revoked_certificate_rejected",
            "got {\"outcome\":\"accepted\"}",
        ),
        (
            Mutant::AcceptsStaleCrl,
            "faults/crl_expired_undetermined",
            "got {\"outcome\":\"good\"}",
        ),
        (
            Mutant::SkipsOcspSignature,
            "faults/ocsp_wrong_key_hides_nothing",
            // Believed although nobody certified the key that signed it.
            "got {\"outcome\":\"revoked\"",
        ),
        (
            Mutant::AcceptsStaleOcsp,
            "faults/ocsp_stale_response",
            "got {\"outcome\":\"good\"}",
        ),
        (
            Mutant::NoTryLaterRetry,
            "faults/ocsp_try_later_once_answered",
            "responseStatus TryLater",
        ),
        (
            Mutant::HoldIsGood,
            "revocation/suspension_certificate_hold",
            "got {\"outcome\":\"good\"}",
        ),
        (
            Mutant::StatusByCard,
            "revocation/ocsp_after_address_change",
            "got {\"outcome\":\"revoked\",\"reason\":\"affiliation_changed\"}",
        ),
        (
            Mutant::NewUserPerCertificate,
            "renewal/user_id_survives_renewal",
            "same_user_as",
        ),
        (
            Mutant::AcceptsExpired,
            "enrolment/expired_certificate_rejected",
            "got {\"outcome\":\"",
        ),
        (
            Mutant::SkipsDataSignature,
            "enrolment/tampered_data_rejected",
            "got {\"outcome\":\"accepted\"}",
        ),
        (
            Mutant::AcceptsEitherHierarchy,
            "enrolment/wrong_hierarchy_rejected",
            "got {\"outcome\":\"accepted\"}",
        ),
        (
            Mutant::FailsOpen,
            "faults/ocsp_down_fails_closed",
            "got {\"outcome\":\"good\"}",
        ),
        (
            Mutant::IgnoresNonce,
            "faults/ocsp_foreign_nonce_rejected",
            // Believed although it answers another request.
            "got {\"outcome\":\"good\"}",
        ),
        (
            Mutant::AcceptsEndEntityIssuer,
            "forgery/certificate_issued_by_an_end_entity",
            // The whole path checks out but for the end entity posing as a CA.
            "got {\"outcome\":\"accepted\"}",
        ),
        (
            Mutant::SkipsIntermediateSignature,
            "forgery/attacker_certificate_under_the_ca_certificate",
            // Climbed by name to the CA's own certificate, which the CA did sign.
            "got {\"outcome\":\"accepted\"}",
        ),
    ];
    // The other mutants' scenarios are the checklist's (tests/checklist.rs).
    let root = suite_dir();
    let scenarios: Vec<_> = cases
        .iter()
        .map(|(_, id, _)| load_file(&root.join(format!("{id}.yaml")), &root).unwrap())
        .collect();
    let mut config = RunConfig::reference();
    config.key_cache = Some(key_cache());
    for result in run_suite(&scenarios, &config).unwrap() {
        assert_eq!(result.outcome, Outcome::Pass, "{}", result.summary());
    }
    for ((mutant, id, wrong), loaded) in cases.iter().zip(&scenarios) {
        let config = RunConfig {
            platform: mutant_platform(*mutant),
            ..config.clone()
        };
        let results = run_suite(std::slice::from_ref(loaded), &config).unwrap();
        let summary = results[0].summary();
        assert!(
            matches!(results[0].outcome, Outcome::Fail { .. }),
            "{mutant} on {id}: {summary}"
        );
        assert!(summary.contains(wrong), "{mutant} on {id}: {summary}");
    }
}
