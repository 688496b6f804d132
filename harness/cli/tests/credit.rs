//! A system under test is credited only with the scenarios it took part in: with `--sut`, the
//! bundled reference plays the other role, and a scenario none of whose steps the system under
//! test answered is `not_exercised` in every report, never a pass, and fails no run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conformance::scenario::model::{SdkStep, Step};
use conformance::scenario::{load_suite, LoadedScenario};
use vocab::Role;

fn jpki_sim() -> &'static str {
    env!("CARGO_BIN_EXE_jpki-sim")
}

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The scenario files of one area (an area directory is not a suite root).
fn area(name: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite().join(name))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("credit-keys.sqlite")
}

/// `jpki-sim run --jobs 2 PATHS... [ARGS...]`.
fn run(paths: &[PathBuf], args: &[&str]) -> Output {
    Command::new(jpki_sim())
        .arg("run")
        .args(paths)
        .args(["--jobs", "2", "--key-cache"])
        .arg(key_cache())
        .args(args)
        .output()
        .expect("jpki-sim runs")
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn has_line(out: &Output, line: &str) -> bool {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == line)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The ids of the report's results with `outcome`.
fn with(report: &serde_json::Value, outcome: &str) -> BTreeSet<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == outcome)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn asks(scenario: &LoadedScenario, role: Role) -> bool {
    scenario.scenario.steps.iter().any(|step| match step {
        Step::Sdk(_) => role == Role::Sdk,
        Step::Pf(_) => role == Role::Pf,
        _ => false,
    })
}

#[test]
fn a_pf_under_test_is_not_credited_with_the_card_scenarios_in_any_report() {
    let files = area("card");
    let scenarios: Vec<LoadedScenario> = load_suite(&suite())
        .unwrap()
        .into_iter()
        .filter(|s| s.id.area() == "card")
        .collect();
    assert_eq!(scenarios.len(), files.len());
    assert!(
        scenarios.iter().all(|s| !asks(s, Role::Pf)),
        "a card scenario has a pf step: this test needs scenarios the PF takes no part in"
    );
    let count = files.len();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let sut = format!("pf={} adapter ref-pf", jpki_sim());
    let out = run(
        &files,
        &[
            "--sut",
            &sut,
            "--name",
            "ref-pf",
            "--json",
            path("pf.json").to_str().unwrap(),
            "--junit",
            path("pf.xml").to_str().unwrap(),
            "--html",
            path("pf.html").to_str().unwrap(),
        ],
    );
    // Not a failure: the run exits as for skips.
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        has_line(
            &out,
            &format!("0 passed, 0 failed, 0 skipped, {count} not exercised")
        ),
        "{}",
        show(&out)
    );
    assert!(
        has_line(
            &out,
            "not_exercised card/auth_pin_lockout  not exercised: the PF under test answered none \
             of its steps"
        ),
        "{}",
        show(&out)
    );

    let report = read_json(&path("pf.json"));
    assert_eq!(report["version"], conformance::report::json::VERSION);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), count);
    for result in results {
        assert_eq!(result["outcome"], "not_exercised", "{result:#}");
        assert_eq!(result["detail"]["under_test"], serde_json::json!(["pf"]));
        assert_eq!(result["expected"], true);
        assert_eq!(result["adapter"], "ref-pf");
    }

    let xml = std::fs::read_to_string(path("pf.xml")).unwrap();
    assert!(
        xml.contains(&format!(
            "tests=\"{count}\" failures=\"0\" errors=\"0\" skipped=\"{count}\""
        )),
        "{xml}"
    );
    assert_eq!(
        xml.matches(
            "<skipped message=\"not exercised: the PF under test answered none of its steps\"/>"
        )
        .count(),
        count,
        "{xml}"
    );

    let page = std::fs::read_to_string(path("pf.html")).unwrap();
    assert_eq!(
        page.matches("<td class=\"not_exercised\">not exercised")
            .count(),
        count
    );
    assert!(!page.contains("class=\"pass\""), "{page}");

    // Merged with a run of the reference, the PF's column has no pass either.
    let out = run(
        &files,
        &[
            "--name",
            "reference",
            "--json",
            path("reference.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let merged = Command::new(jpki_sim())
        .arg("report")
        .arg(path("reference.json"))
        .arg(path("pf.json"))
        .arg("--html")
        .arg(path("matrix.html"))
        .arg("--json")
        .arg(path("matrix.json"))
        .arg("--junit")
        .arg(path("matrix.xml"))
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(0), "{}", show(&merged));
    assert!(
        has_line(
            &merged,
            &format!("reference: {count} passed, 0 failed, 0 skipped")
        ),
        "{}",
        show(&merged)
    );
    assert!(
        has_line(
            &merged,
            &format!("ref-pf: 0 passed, 0 failed, 0 skipped, {count} not exercised")
        ),
        "{}",
        show(&merged)
    );
    let matrix = read_json(&path("matrix.json"));
    for result in matrix["results"].as_array().unwrap() {
        let want = if result["adapter"] == "ref-pf" {
            "not_exercised"
        } else {
            "pass"
        };
        assert_eq!(result["outcome"], want, "{result:#}");
    }
    let page = std::fs::read_to_string(path("matrix.html")).unwrap();
    assert_eq!(page.matches("class=\"pass\"").count(), count);
    assert_eq!(page.matches("class=\"not_exercised\"").count(), count);
    assert!(page.contains(&format!("{count} not exercised")), "{page}");
    let xml = std::fs::read_to_string(path("matrix.xml")).unwrap();
    assert!(
        xml.contains(&format!(
            "<testsuite name=\"{} (ref-pf)\" tests=\"{count}\" failures=\"0\" errors=\"0\" skipped=\"{count}\"",
            // The merged title: the suites the runs covered, relative to where they ran.
            files
                .iter()
                .map(|f| {
                    let here = std::env::current_dir().unwrap();
                    f.strip_prefix(&here).unwrap_or(f).display().to_string()
                })
                .collect::<Vec<_>>()
                .join(" ")
        )),
        "{xml}"
    );
}

/// An SDK adapter that implements `pin_status` and `verify_pin` only, though it claims the
/// features of the reference SDK adapter: that adapter behind a filter that answers every other
/// operation `unsupported`.
const PARTIAL_SDK: &str = r#"
import json, subprocess, sys

ONLY = {"pin_status", "verify_pin"}
reference = subprocess.Popen([sys.argv[1], "adapter", "ref-sdk"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)

def send(line):
    sys.stdout.write(line.rstrip("\n") + "\n")
    sys.stdout.flush()

for line in sys.stdin:
    if not line.strip():
        continue
    message = json.loads(line)
    if message["type"] == "request" and message.get("op") not in ONLY:
        send(json.dumps({"type": "response", "id": message["id"], "error": {
            "code": "unsupported", "message": "only pin_status and verify_pin"}}))
        continue
    reference.stdin.write(line.rstrip("\n") + "\n")
    reference.stdin.flush()
    if message["type"] == "bye":
        break
    answer = json.loads(reference.stdout.readline())
    if answer["type"] == "hello":
        answer["name"] = "partial SDK"
    send(json.dumps(answer))
reference.stdin.close()
reference.wait()
"#;

#[test]
fn an_sdk_answering_only_pin_status_and_verify_pin_is_credited_with_no_scenario_it_did_not_answer()
{
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("partial_sdk.py");
    std::fs::write(&script, PARTIAL_SDK).unwrap();
    let json = dir.path().join("partial.json");
    let sut = format!("sdk=python3 '{}' '{}'", script.display(), jpki_sim());
    let out = run(
        &[suite()],
        &["--sut", &sut, "--json", json.to_str().unwrap()],
    );
    // Scenarios with other SDK operations fail: the adapter refuses them.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let scenarios = load_suite(&suite()).unwrap();
    let ids = |keep: &dyn Fn(&LoadedScenario) -> bool| -> BTreeSet<String> {
        scenarios
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.id.to_string())
            .collect()
    };
    // Without readers, the reference SDK adapter claims every SDK feature but `pcsc`: the
    // scenarios needing that are skipped, as before.
    let skipped = |s: &LoadedScenario| s.scenario.features.contains(&vocab::Feature::Pcsc);
    let answerable = |s: &LoadedScenario| {
        s.scenario.steps.iter().all(|step| match step {
            Step::Sdk(step) => {
                matches!(step, SdkStep::PinStatus { .. } | SdkStep::VerifyPin { .. })
            }
            _ => true,
        })
    };
    let want_skipped = ids(&|s| skipped(s));
    let want_not_exercised = ids(&|s| !skipped(s) && !asks(s, Role::Sdk));
    let want_passed = ids(&|s| !skipped(s) && asks(s, Role::Sdk) && answerable(s));
    let want_failed = ids(&|s| !skipped(s) && asks(s, Role::Sdk) && !answerable(s));
    assert!(!want_passed.is_empty() && !want_not_exercised.is_empty());
    assert!(!want_failed.is_empty());

    let report = read_json(&json);
    assert_eq!(with(&report, "skipped"), want_skipped, "{}", show(&out));
    assert_eq!(
        with(&report, "not_exercised"),
        want_not_exercised,
        "{}",
        show(&out)
    );
    assert_eq!(with(&report, "pass"), want_passed, "{}", show(&out));
    assert_eq!(with(&report, "fail"), want_failed, "{}", show(&out));
    // In particular no enrolment or OCSP fault scenario, where it got nothing but hello and
    // bye, is a pass.
    let passed = with(&report, "pass");
    assert!(
        passed
            .iter()
            .all(|id| !id.starts_with("enrolment/") && !id.starts_with("faults/ocsp_")),
        "{passed:?}"
    );
    assert!(want_not_exercised.contains("enrolment/auth_key_enrolment"));
    assert!(want_not_exercised.contains("faults/ocsp_down_fails_closed"));
    for result in report["results"].as_array().unwrap() {
        if result["outcome"] == "not_exercised" {
            assert_eq!(result["detail"]["under_test"], serde_json::json!(["sdk"]));
        }
    }
    assert!(
        has_line(
            &out,
            &format!(
                "{} passed, {} failed, {} skipped, {} not exercised",
                want_passed.len(),
                want_failed.len(),
                want_skipped.len(),
                want_not_exercised.len()
            )
        ),
        "{}",
        show(&out)
    );
}
