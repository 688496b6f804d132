//! The scenario author's loop: `run` by id and filter, `--list`, `--fail-fast`, Ctrl-C writing
//! the reports of what finished, `check`, `schema`, and mistakes found before a run starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-keys.sqlite")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `jpki-sim ARGS` from the repository root, so the suite root is `scenarios`.
fn jpki_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(args)
        .env("JPKI_SIM_KEY_CACHE", key_cache())
        .env_remove("JPKI_SIM_SCENARIOS")
        .current_dir(repo())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn ids_areas_and_filters_select_scenarios_and_list_shows_them() {
    let out = jpki_sim(&["run", "--list", "revocation/ocsp_loss_window"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with("revocation/ocsp_loss_window "),
        "{listed}"
    );

    let out = jpki_sim(&["run", "--list", "card"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(listed.lines().count() > 5, "{listed}");
    assert!(
        listed.lines().all(|line| line.starts_with("card/")),
        "{listed}"
    );

    let out = jpki_sim(&[
        "run",
        "--list",
        "--filter",
        "*/change_*_pin",
        "--filter",
        "lockout",
    ]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(listed.lines().count() >= 2, "{listed}");
    for line in listed.lines() {
        let id = line.split_whitespace().next().unwrap();
        assert!(
            id.contains("lockout") || (id.contains("/change_") && id.ends_with("_pin")),
            "{id}"
        );
    }
}

#[test]
fn what_cannot_be_found_is_said_before_anything_runs() {
    let out = jpki_sim(&["run", "revocation/ocsp_loss_windo"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out)
            .contains("revocation/ocsp_loss_windo: no such file or directory, and no scenario"),
        "{}",
        text(&out)
    );
    let out = jpki_sim(&["run", "--filter", "no_such_scenario_anywhere"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--filter no_such_scenario_anywhere: no scenario id matches"));
    let out = jpki_sim(&["run", "--jobs", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--jobs"), "{}", text(&out));

    // JPKI_SIM_SCENARIOS naming nothing: what to do instead.
    let out = Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .env("JPKI_SIM_SCENARIOS", "/no/such/suite")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("JPKI_SIM_SCENARIOS=/no/such/suite is not a directory"),
        "{}",
        text(&out)
    );
}

/// Outside a checkout, with no path, the suite built into the binary: written out once to the
/// cache directory, the checkout's files byte for byte, its ids runnable.
#[test]
fn outside_a_checkout_the_built_in_suite_is_used() {
    let elsewhere = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
            .args(args)
            .env_remove("JPKI_SIM_SCENARIOS")
            .env("XDG_CACHE_HOME", cache.path())
            .current_dir(elsewhere.path())
            .output()
            .unwrap()
    };
    let out = command(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("using the suite built into jpki-sim"),
        "{}",
        text(&out)
    );
    let extracted: Vec<_> = std::fs::read_dir(cache.path().join("jpki-sim"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("suite-")
        })
        .collect();
    assert_eq!(extracted.len(), 1, "{extracted:?}");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    for file in ["card/auth_pin_lockout.yaml", "schema.json", "README.md"] {
        assert_eq!(
            std::fs::read(extracted[0].join(file)).unwrap(),
            std::fs::read(repo.join(file)).unwrap(),
            "{file}"
        );
    }
    let out = command(&["run", "card/auth_pin_lockout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed, 0 failed"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_loads_without_running_and_reports_positions() {
    let out = jpki_sim(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("ok: "),
        "{}",
        text(&out)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bad")).unwrap();
    std::fs::write(
        dir.path().join("bad/typo.yaml"),
        "description: x\nimportance: low\ncards: [{id: 'felica:0123456789ABCDEF'}]\nsteps:\n  - sdk: {op: pin_status, pin: auth, expekt: ok}\n",
    )
    .unwrap();
    let out = jpki_sim(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("typo.yaml:5:"), "{}", text(&out));
}

#[test]
fn schema_prints_the_committed_scenario_schema() {
    let out = jpki_sim(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read(repo().join("scenarios/schema.json")).unwrap();
    assert_eq!(out.stdout, committed);
    let out = jpki_sim(&["schema", "adapter"]);
    let committed =
        std::fs::read(repo().join("harness/protocol/schema/adapter-protocol.json")).unwrap();
    assert_eq!(out.stdout, committed);
}

/// A suite of three: `a/fails` first, then two that pass.
fn suite_with_a_failure_first() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    let scenario = |expect: &str| {
        format!(
            "description: x\nimportance: low\ncards: [{{id: 'felica:0123456789ABCDEF'}}]\n\
             steps:\n  - sdk: {{op: pin_status, pin: auth, expect: {{retries_left: {expect}}}}}\n"
        )
    };
    std::fs::write(dir.path().join("a/1_fails.yaml"), scenario("2")).unwrap();
    std::fs::write(dir.path().join("a/2_passes.yaml"), scenario("3")).unwrap();
    std::fs::write(dir.path().join("a/3_passes.yaml"), scenario("3")).unwrap();
    dir
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure_and_reports_go_into_new_directories() {
    let dir = suite_with_a_failure_first();
    let json = dir.path().join("reports/deep/run.json");
    let out = jpki_sim(&[
        "run",
        dir.path().to_str().unwrap(),
        "--jobs",
        "1",
        "--fail-fast",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("0 passed, 1 failed"), "{}", text(&out));
    assert!(
        text(&out).contains("--fail-fast: stopped"),
        "{}",
        text(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 1, "{report}");
    assert!(report["suite"]
        .as_str()
        .unwrap()
        .ends_with("(1 of 3 scenarios reported)"));

    // Without it, all three run.
    let out = jpki_sim(&["run", dir.path().to_str().unwrap(), "--jobs", "1"]);
    assert!(text(&out).contains("2 passed, 1 failed"), "{}", text(&out));
}

#[test]
fn a_report_that_cannot_be_written_stops_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let started = Instant::now();
    let out = jpki_sim(&[
        "run",
        "--junit",
        blocker.join("junit.xml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot make the report directory"),
        "{}",
        text(&out)
    );
    // Refused at once, not after the suite.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn ctrl_c_writes_the_reports_of_what_finished_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let child = Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(["run", "--jobs", "1", "--json", json.to_str().unwrap()])
        .env("JPKI_SIM_KEY_CACHE", key_cache())
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough to finish some scenarios, far from the whole suite (about 25 a second here).
    std::thread::sleep(Duration::from_millis(1500));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        text(&out).contains("interrupted after") && text(&out).contains("the reports cover those"),
        "{}",
        text(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let reported = report["results"].as_array().unwrap().len();
    let suite = report["suite"].as_str().unwrap();
    let total: usize = suite
        .rsplit_once(&format!("({reported} of "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{suite}"));
    assert!(
        reported < total,
        "{reported} of {total}: the interrupt came too late to tell"
    );
}

#[test]
fn a_report_on_stdout_leaves_the_result_lines_to_stderr() {
    let out = jpki_sim(&["run", "card/change_auth_pin", "--json", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pass    card/change_auth_pin"), "{stderr}");
    let out = jpki_sim(&["run", "card/change_auth_pin", "--json", "-", "--junit", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("only one report can go to stdout"));
}

/// Results are printed as they finish; the unexpected ones again at the end, sorted and
/// indented under a count; `--color always` colours the outcome, and a pipe gets none.
#[test]
fn unexpected_results_are_recapped_and_colour_is_asked_for() {
    let mutant = format!(
        "pf={} adapter ref-pf --mutant hold-is-good",
        env!("CARGO_BIN_EXE_jpki-sim")
    );
    let out = jpki_sim(&[
        "run",
        "revocation/suspension_certificate_hold",
        "revocation/ocsp_loss_window",
        "--sut",
        &mutant,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    let recap = lines
        .iter()
        .position(|line| *line == "1 unexpected:")
        .unwrap_or_else(|| panic!("no recap\n{}", text(&out)));
    assert!(
        lines[recap + 1].starts_with("  fail    revocation/suspension_certificate_hold  step "),
        "{}",
        text(&out)
    );
    assert!(lines[..recap]
        .iter()
        .any(|line| line.starts_with("fail    revocation/suspension_certificate_hold")));
    assert!(lines[..recap].contains(&"pass    revocation/ocsp_loss_window"));
    assert!(!stdout.contains('\x1b'), "colour into a pipe\n{stdout}");

    let out = jpki_sim(&["run", "card/auth_pin_lockout", "--color", "always"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("\x1b[32mpass   \x1b[0m card/auth_pin_lockout"),
        "{}",
        text(&out)
    );
}
