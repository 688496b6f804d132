//! `jpki-sim run` end to end: the bundled suite passes against the reference SDK and PF, a
//! wrong expectation fails at its step's position, and a broken file stops the run.

use std::path::{Path, PathBuf};
use std::process::Output;

/// Keys are deterministic: every test shares one cache and derives each key once.
fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-keys.sqlite")
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn jpki_sim_run(args: &[&Path]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The scenario files under `dir`, counted as the loader finds them.
fn yaml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|area| area.unwrap().path())
        .filter(|area| area.is_dir())
        .flat_map(|area| std::fs::read_dir(area).unwrap())
        .filter(|file| file.as_ref().unwrap().path().extension() == Some("yaml".as_ref()))
        .count()
}

#[test]
fn bundled_suite_passes_and_writes_junit_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, json, html) = (
        dir.path().join("junit.xml"),
        dir.path().join("report.json"),
        dir.path().join("report.html"),
    );
    let suite = suite_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .arg(&suite)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let count = yaml_files(&suite);
    assert!(
        text.lines()
            .any(|line| line == format!("{count} passed, 0 failed, 0 skipped")),
        "{text}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>"));
    assert!(xml.ends_with("</testsuite>\n</testsuites>\n"), "{xml}");
    assert!(xml.contains(&format!("tests=\"{count}\" failures=\"0\" errors=\"0\"")));
    assert_eq!(xml.matches("<testcase ").count(), count);
    assert!(xml.contains("name=\"revocation/ocsp_after_address_change\""));
    assert!(!xml.contains("<failure"));

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["version"], conformance::report::json::VERSION);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), count);
    assert!(results.iter().all(|r| r["outcome"] == "pass"), "{report:#}");
    assert!(results.iter().any(|r| r["id"] == "card/auth_pin_lockout"));

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<code>faults/ocsp_down_fails_closed</code>"));
}

/// An area directory and a single file can be given beside each other; ids stay `<area>/<name>`.
#[test]
fn an_area_directory_runs_its_scenarios_with_their_ids() {
    let area = suite_dir().join("consent");
    let file = suite_dir().join("card/auth_pin_lockout.yaml");
    let out = jpki_sim_run(&[&area, &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let in_area = std::fs::read_dir(&area).unwrap().count();
    assert!(in_area > 1);
    let passed: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("pass"))
        .map(str::trim)
        .collect();
    assert_eq!(passed.len(), in_area + 1, "{}", stdout(&out));
    assert!(
        passed.contains(&"card/auth_pin_lockout"),
        "{}",
        stdout(&out)
    );
    assert!(
        passed
            .iter()
            .filter(|id| id.starts_with("consent/"))
            .count()
            == in_area,
        "{}",
        stdout(&out)
    );
}

/// A failing PF step's trace shows the PF's HTTP exchanges with the world: the CRL it fetched.
#[test]
fn a_failure_trace_has_the_http_exchanges_of_the_pf() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("revocation")).unwrap();
    let yaml = std::fs::read_to_string(suite_dir().join("revocation/crl_address_change.yaml"))
        .unwrap()
        .replace("reason: affiliation_changed", "reason: key_compromise");
    std::fs::write(dir.path().join("revocation/wrong_reason.yaml"), yaml).unwrap();
    let json = dir.path().join("report.json");
    let out = jpki_sim_run(&[dir.path(), Path::new("--json"), &json]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let http: Vec<String> = report["results"][0]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "http")
        .map(|entry| {
            format!(
                "{} {} {} {}",
                entry["method"].as_str().unwrap(),
                entry["path"].as_str().unwrap(),
                entry["status"],
                entry["response_len"]
            )
        })
        .collect();
    // The reference PF reads the CRL of the certificate's partition (`/crl/sign/NNNNN.crl`),
    // found through the CRL index.
    let crl_fetches: Vec<&String> = http
        .iter()
        .filter(|line| line.starts_with("GET /crl/sign/") && line.contains(".crl 200 "))
        .collect();
    assert!(crl_fetches.len() >= 2, "{http:#?}");
    // The CRL grew by the revoked entry between the first fetch and the last.
    let size = |line: &str| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
    assert!(
        size(crl_fetches.last().unwrap()) > size(crl_fetches[0]),
        "{http:#?}"
    );
}

#[test]
fn wrong_expectation_exits_1_and_junit_names_the_step_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bad")).unwrap();
    let file = dir.path().join("bad/wrong_expect.yaml");
    std::fs::write(
        &file,
        "\
description: A deliberately wrong expectation, to see the runner name the step.
importance: low
cards:
  - id: \"felica:0123456789ABCDEF\"
steps:
  - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}
  # The first wrong PIN leaves 2 tries, not 1.
  - sdk: {op: verify_pin, pin: auth, value: \"0000\", expect: {wrong_pin: {retries_left: 1}}}
",
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let out = jpki_sim_run(&[dir.path(), "--junit".as_ref(), &junit]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines().any(|l| l == "0 passed, 1 failed, 0 skipped"),
        "{text}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let message = format!(
        "<failure message=\"step 2 at {}:8:5: expected wrong_pin with 1 left (63 C1), got status 63 C2 (RETRIES_LEFT)\"",
        file.display()
    );
    assert!(xml.contains(&message), "{xml}");
    // The trace in the body shows the exchange that decided it, the PIN left out.
    assert!(
        xml.contains("00 20 00 80 04 [PIN, 4 bytes]  (VERIFY)\n  card 0 &lt; 63 C2"),
        "{xml}"
    );
}

#[test]
fn a_scenario_file_that_does_not_load_exits_2_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bad")).unwrap();
    std::fs::write(
        dir.path().join("bad/typo.yaml"),
        "description: x\nimportance: low\ncards: [{id: 'felica:0123456789ABCDEF'}]\nsteps:\n  - sdk: {op: pin_status, pin: auth, expekt: ok}\n",
    )
    .unwrap();
    let out = jpki_sim_run(&[dir.path()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("typo.yaml:5:"), "{text}");
}

mod mechanism {
    //! The runner's own outcomes, with adapters that misbehave on purpose.

    use std::sync::Arc;
    use std::time::Duration;

    use conformance::runner::{run_suite, Outcome, RunConfig};
    use conformance::scenario::{parse, LoadedScenario};
    use vocab::Feature;
    use vocab::StatusChannel;
    use vocab::{
        Consent, EnrolOutcome, EnrolRequest, LatestOutcome, Platform, PlatformError, StatusOutcome,
        UserOutcome,
    };

    /// A PF that never answers an enrolment.
    struct Stuck;

    impl Platform for Stuck {
        fn enrol(&mut self, _: &EnrolRequest) -> Result<EnrolOutcome, PlatformError> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(EnrolOutcome::Accepted)
        }
        fn check_status(
            &mut self,
            _: &str,
            _: StatusChannel,
        ) -> Result<StatusOutcome, PlatformError> {
            Ok(StatusOutcome::Good)
        }
        fn register_consent(&mut self, _: &str, _: &Consent) -> Result<(), PlatformError> {
            Ok(())
        }
        fn latest_info(&mut self, _: &str) -> Result<LatestOutcome, PlatformError> {
            Ok(LatestOutcome::NotConsented)
        }
        fn resolve_user(&mut self, _: &str) -> Result<UserOutcome, PlatformError> {
            Ok(UserOutcome::NotLinkedYet)
        }
    }

    fn scenario(name: &str, yaml: &str) -> LoadedScenario {
        let path = format!("tests/{name}.yaml");
        parse(
            yaml,
            path.as_ref(),
            format!("tests/{name}").parse().unwrap(),
        )
        .unwrap()
    }

    fn config() -> RunConfig {
        RunConfig {
            key_cache: Some(super::key_cache()),
            ..RunConfig::reference()
        }
    }

    #[test]
    fn a_platform_that_never_answers_is_a_hang_at_its_step() {
        let loaded = scenario(
            "stuck",
            "description: x\nimportance: low\ncards: [{id: 'felica:0123456789ABCDEF'}]\nsteps:\n  - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}\n  - pf: {op: enrol, key: auth, name: a, expect: accepted}\n",
        );
        let config = RunConfig {
            platform: Arc::new(|_| Box::new(Stuck) as Box<dyn Platform>),
            step_timeout: Duration::from_millis(300),
            ..config()
        };
        let results = run_suite(&[loaded], &config).unwrap();
        match &results[0].outcome {
            Outcome::Hang {
                step,
                position,
                after,
            } => {
                assert_eq!(*step, 1);
                assert_eq!((position.line, position.column), (6, 5));
                assert!(*after >= Duration::from_millis(300));
            }
            other => panic!("expected a hang, got {other:?}"),
        }
        // The trace so far shows the card signing for the enrolment that never came back.
        assert!(results[0]
            .trace
            .iter()
            .any(|entry| entry.to_string().contains("COMPUTE DIGITAL SIGNATURE")));
    }

    #[test]
    fn an_adapter_lacking_a_feature_gets_the_scenario_skipped() {
        let loaded = scenario(
            "needs_sign",
            "description: x\nimportance: low\nfeatures: [sign_key]\ncards: [{id: 'felica:0123456789ABCDEF'}]\nsteps:\n  - sdk: {op: pin_status, pin: sign, expect: {retries_left: 5}}\n",
        );
        let mut config = config();
        config.features.remove(&Feature::SignKey);
        let results = run_suite(&[loaded], &config).unwrap();
        assert_eq!(
            results[0].outcome,
            Outcome::Skipped {
                missing: vec![Feature::SignKey]
            }
        );
        assert!(results[0].outcome.is_expected());
    }

    #[test]
    fn a_removed_card_answers_no_card_and_works_again_once_inserted() {
        let loaded = scenario(
            "removal",
            "description: x\nimportance: low\nfeatures: [card_removal]\ncards: [{id: 'felica:0123456789ABCDEF'}]\nsteps:\n  - sdk: {op: verify_pin, pin: auth, expect: ok}\n  - card: {remove: 0}\n  - sdk: {op: pin_status, pin: auth, expect: no_card}\n  - card: {insert: 0}\n  # Pulled out, the card lost its verified PIN.\n  - sdk: {op: sign, key: auth, data: {text: hi}, expect: security_status}\n",
        );
        let results = run_suite(&[loaded], &config()).unwrap();
        assert_eq!(
            results[0].outcome,
            Outcome::Pass,
            "{}",
            results[0].summary()
        );
    }
}

#[test]
fn shards_split_the_suite_without_overlap_and_bad_shards_are_refused() {
    let total = yaml_files(&suite_dir());
    let mut seen = std::collections::BTreeSet::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = jpki_sim_run(&[&suite_dir(), Path::new("--shard"), Path::new(shard)]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(id) = line.strip_prefix("pass").map(str::trim) {
                assert!(seen.insert(id.to_owned()), "{id} ran in two shards");
            }
        }
    }
    assert_eq!(
        seen.len(),
        total,
        "the shards together run every scenario once"
    );
    for bad in ["0/3", "4/3", "1/0", "x"] {
        let out = jpki_sim_run(&[&suite_dir(), Path::new("--shard"), Path::new(bad)]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--shard {bad}: {}",
            stdout(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not a shard"),
            "{}",
            stdout(&out)
        );
    }
}
