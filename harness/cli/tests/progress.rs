//! Progress while a suite runs: every finished scenario reaches the observer once, and `jpki-sim
//! run` draws a bar on a terminal's stderr and nothing on a pipe.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use conformance::runner::{run_suite_observed, RunConfig};
use conformance::scenario::{parse, LoadedScenario};

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("progress-keys.sqlite")
}

fn scenario(name: &str, retries_expected: u8) -> LoadedScenario {
    let yaml = format!(
        "description: x\nimportance: low\ncards: [{{id: 'felica:0123456789ABCDEF'}}]\nsteps:\n  - sdk: {{op: pin_status, pin: auth, expect: {{retries_left: {retries_expected}}}}}\n"
    );
    let path = format!("tests/{name}.yaml");
    parse(
        &yaml,
        path.as_ref(),
        format!("tests/{name}").parse().unwrap(),
    )
    .unwrap()
}

/// A suite directory of one passing and one failing scenario.
fn suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("p")).unwrap();
    for (name, retries) in [("passes", 3), ("fails", 1)] {
        std::fs::write(
            dir.path().join(format!("p/{name}.yaml")),
            format!(
                "description: x\nimportance: low\ncards: [{{id: 'felica:0123456789ABCDEF'}}]\nsteps:\n  - sdk: {{op: pin_status, pin: auth, expect: {{retries_left: {retries}}}}}\n"
            ),
        )
        .unwrap();
    }
    dir
}

#[test]
fn the_observer_sees_every_result_once_as_it_finishes() {
    let scenarios = [scenario("a", 3), scenario("b", 1), scenario("c", 3)];
    let config = RunConfig {
        key_cache: Some(key_cache()),
        jobs: 2,
        ..RunConfig::reference()
    };
    let seen = Mutex::new(Vec::new());
    let results = run_suite_observed(&scenarios, &config, &|result| {
        seen.lock()
            .unwrap()
            .push((result.id.to_string(), result.outcome.name()));
    })
    .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("tests/a".to_owned(), "pass"),
            ("tests/b".to_owned(), "fail"),
            ("tests/c".to_owned(), "pass"),
        ]
    );
    // The results themselves still come back in the order given.
    let order: Vec<String> = results.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(order, ["tests/a", "tests/b", "tests/c"]);
}

#[test]
fn a_terminal_gets_a_progress_bar_and_a_pipe_does_not() {
    let suite = suite();
    let command = format!(
        "{} run {} --key-cache {}",
        env!("CARGO_BIN_EXE_jpki-sim"),
        suite.path().display(),
        key_cache().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script(1) from util-linux");
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(terminal.contains("/2 scenarios, "), "{terminal}");
    // The bar is cleared before the results are printed.
    assert!(
        terminal.contains("1 passed, 1 failed, 0 skipped"),
        "{terminal}"
    );

    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("run")
        .arg(suite.path())
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&piped.stdout);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(stdout.contains("1 passed, 1 failed, 0 skipped"), "{stdout}");
    assert!(!stderr.contains("scenarios, "), "{stderr}");
    assert!(!stdout.contains("scenarios, "), "{stdout}");
}
