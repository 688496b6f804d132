//! `jpki-sim run --expectations FILE` end to end: a listed failure is a known divergence (exit
//! 0), a listed pass is unexpected (exit 1), a stale entry (one matching no scenario, or only
//! scenarios the system under test takes no part in) stops a whole-suite run (exit 2), and
//! the adapter's name reaches the reports; `jpki-sim report` merges runs into one matrix.

use std::path::{Path, PathBuf};
use std::process::Output;

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("expectations-keys.sqlite")
}

/// A suite of two card scenarios: `bad/wrong_expect` fails at step 2, `bad/fine` passes.
fn suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bad")).unwrap();
    std::fs::write(
        dir.path().join("bad/wrong_expect.yaml"),
        "\
description: A deliberately wrong expectation.
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
    std::fs::write(
        dir.path().join("bad/fine.yaml"),
        "\
description: The authentication PIN reports its tries.
importance: low
cards:
  - id: \"felica:0123456789ABCDEF\"
steps:
  - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}
",
    )
    .unwrap();
    dir
}

fn expectations(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("acme.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(paths: &[&Path], args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .args(paths)
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap()
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\n{}\n--- stderr ---\n{}",
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

#[test]
fn a_listed_failure_is_a_known_divergence_and_the_run_passes() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/wrong_expect\n    reason: counts tries differently\n",
    );
    let json = work.path().join("report.json");
    let out = run(
        &[suite.path()],
        &[
            "--expectations",
            file.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        has_line(&out, "1 passed, 0 failed, 0 skipped, 1 known divergence"),
        "{}",
        show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("known_divergence bad/wrong_expect  known divergence (counts tries differently): step 2 at "),
        "{}",
        show(&out)
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let result = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "bad/wrong_expect")
        .unwrap();
    assert_eq!(result["adapter"], "acme", "{report:#}");
    assert_eq!(result["outcome"], "known_divergence");
    assert_eq!(result["expected"], true);
    assert_eq!(result["detail"]["reason"], "counts tries differently");
    assert_eq!(result["detail"]["listed_at"]["line"], 3);
    assert_eq!(result["detail"]["actual"]["outcome"], "fail");
    assert_eq!(result["detail"]["actual"]["step"], 1);
    assert!(!result["trace"].as_array().unwrap().is_empty());
}

#[test]
fn a_listed_pass_is_unexpected_names_the_entry_and_fails_the_run() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/*\n    reason: no PIN support\n",
    );
    let out = run(&[suite.path()], &["--expectations", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        has_line(
            &out,
            "0 passed, 0 failed, 0 skipped, 1 known divergence, 1 unexpected pass"
        ),
        "{}",
        show(&out)
    );
    let remove = format!(
        "unexpected_pass bad/fine  listed as a known divergence (no PIN support) but passed: remove it from {}:3",
        file.display()
    );
    assert!(has_line(&out, &remove), "{}", show(&out));
}

#[test]
fn an_entry_matching_no_scenario_of_the_suite_stops_the_run_but_not_a_subset() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/wrong_expect\n    reason: counts tries differently\n  - scenario: bad/renamed\n    reason: gone\n",
    );
    let out = run(&[suite.path()], &["--expectations", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = format!(
        "error: {}:5:5: divergences: \"bad/renamed\" matches no scenario of the suite: fix the id or remove the entry",
        file.display()
    );
    assert!(stderr.lines().any(|l| l == error), "{}", show(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("passed"));

    // One file of the suite: the other entries may cover scenarios not run.
    let one = suite.path().join("bad/wrong_expect.yaml");
    let out = run(&[&one], &["--expectations", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        has_line(&out, "0 passed, 0 failed, 0 skipped, 1 known divergence"),
        "{}",
        show(&out)
    );
}

/// With a PF under test, the SDK-only scenarios of [`suite`] ask it nothing: an entry for one
/// is stale against the whole suite (it could only ever come out not exercised), and with a
/// single file it is left alone and the scenario is `not_exercised`, not a divergence.
#[test]
fn an_entry_for_a_scenario_the_adapter_takes_no_part_in_stops_the_run_but_not_a_subset() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/fine\n    reason: no PIN support\n",
    );
    let sut = format!("pf={} adapter ref-pf", env!("CARGO_BIN_EXE_jpki-sim"));
    let args = ["--sut", &sut, "--expectations", file.to_str().unwrap()];
    let out = run(&[suite.path()], &args);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let error = format!(
        "error: {}:3:5: divergences: \"bad/fine\" matches only scenarios without a step \
         for the PF under test: the adapter takes no part in them, so it cannot diverge there; \
         remove the entry",
        file.display()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l == error), "{}", show(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("passed"));

    let one = suite.path().join("bad/fine.yaml");
    let out = run(&[&one], &args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        has_line(&out, "0 passed, 0 failed, 0 skipped, 1 not exercised"),
        "{}",
        show(&out)
    );
    assert!(
        has_line(
            &out,
            "not_exercised bad/fine  not exercised: the PF under test answered none of \
             its steps"
        ),
        "{}",
        show(&out)
    );
}

#[test]
fn a_broken_expectations_file_is_reported_with_its_position() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/wrong_expect\n    because: typo\n",
    );
    let out = run(&[suite.path()], &["--expectations", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:4:5: ", file.display())),
        "{}",
        show(&out)
    );
    assert!(stderr.contains("unknown field `because`"), "{}", show(&out));
}

#[test]
fn name_sets_the_adapter_column_without_an_expectations_file() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("report.json");
    let fine = suite.path().join("bad/fine.yaml");
    let out = run(
        &[&fine],
        &["--name", "acme 2.3", "--json", json.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["results"][0]["adapter"], "acme 2.3");
}

fn jpki_sim(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn report_merges_runs_of_two_adapters_into_one_matrix() {
    let suite = suite();
    let work = tempfile::tempdir().unwrap();
    let path = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    let plain = run(
        &[suite.path()],
        &["--name", "plain", "--json", &path("plain.json")],
    );
    assert_eq!(plain.status.code(), Some(1), "{}", show(&plain));
    let file = expectations(
        work.path(),
        "adapter: acme\ndivergences:\n  - scenario: bad/wrong_expect\n    reason: counts tries differently\n",
    );
    let acme = run(
        &[suite.path()],
        &[
            "--expectations",
            file.to_str().unwrap(),
            "--json",
            &path("acme.json"),
        ],
    );
    assert_eq!(acme.status.code(), Some(0), "{}", show(&acme));

    let out = jpki_sim(&[
        "report",
        &path("plain.json"),
        &path("acme.json"),
        "--html",
        &path("matrix.html"),
        "--junit",
        &path("junit.xml"),
    ]);
    // The plain run failed a scenario: the merged matrix is not all as expected.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        has_line(&out, "plain: 1 passed, 1 failed, 0 skipped"),
        "{}",
        show(&out)
    );
    assert!(
        has_line(
            &out,
            "acme: 1 passed, 0 failed, 0 skipped, 1 known divergence"
        ),
        "{}",
        show(&out)
    );

    let page = std::fs::read_to_string(path("matrix.html")).unwrap();
    assert!(
        page.contains("<tr><th>scenario</th><th>importance</th><th>plain</th><th>acme</th></tr>"),
        "{page}"
    );
    let start = page
        .find("<code>bad/wrong_expect</code>")
        .expect("a row per scenario");
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    let fail = row.find("<td class=\"fail\">").expect(row);
    let known = row.find("<td class=\"known_divergence\">").expect(row);
    assert!(fail < known, "plain's cell comes first: {row}");
    assert!(row.contains("<dd>counts tries differently"), "{row}");
    // The divergence opens to the exchange that decided it.
    assert!(
        row.contains("00 20 00 80 04 [PIN, 4 bytes]  (VERIFY)"),
        "{row}"
    );

    let xml = std::fs::read_to_string(path("junit.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert!(
        xml.contains("<skipped message=\"known divergence (counts tries differently): step 2 at "),
        "{xml}"
    );

    // One run given twice claims its cells twice.
    let out = jpki_sim(&["report", &path("acme.json"), &path("acme.json")]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("against acme is in both"),
        "{}",
        show(&out)
    );
}
