//! `jpki-sim load` end to end: short runs against the in-process reference PF and SDK and
//! against adapter processes, every operation counted and checked, results merged, and bad
//! flags, bad files and bad adapters refused with exit codes 1 and 2 as documented.

use std::path::{Path, PathBuf};
use std::process::Output;

use load_mode::merge;

const BIN: &str = env!("CARGO_BIN_EXE_jpki-sim");

/// Keys are deterministic: every test shares one cache and derives each card's keys once.
fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("load-keys.sqlite")
}

fn jpki_sim_load(args: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .arg("load")
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .unwrap()
}

fn output(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The command line of the bundled reference as an adapter process.
fn adapter(which: &str) -> String {
    format!("'{BIN}' adapter {which}")
}

/// Runs a short load writing JSON (and HTML) into `dir`; returns the report read back through
/// the checks `--merge` applies (version, histogram, counts that add up).
fn short_run(dir: &Path, name: &str, args: &[&str]) -> (Output, Option<load_mode::LoadReport>) {
    let json = dir.join(format!("{name}.json"));
    let html = dir.join(format!("{name}.html"));
    let mut all: Vec<&str> = args.to_vec();
    let (json_arg, html_arg) = (json.to_str().unwrap(), html.to_str().unwrap());
    all.extend(["--warmup", "0s", "--json", json_arg, "--html", html_arg]);
    let out = jpki_sim_load(&all);
    let report = merge::read(&json).ok();
    (out, report)
}

#[test]
fn status_against_the_reference_pf_counts_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = short_run(
        dir.path(),
        "status",
        &[
            "--op",
            "status",
            "--cards",
            "3",
            "--concurrency",
            "2",
            "--ops",
            "200",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let report = report.expect("the JSON reads back");
    assert_eq!(report.attempted, 200);
    assert_eq!(report.ops, 200);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.generators.len(), 1);
    assert_eq!(report.generators[0].sut, "ref-pf");
    assert!(report.latency_us.p50 > 0 && report.latency_us.p50 <= report.latency_us.max);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "status of sign certificates via ocsp against ref-pf: 3 cards (keys from a pool of 16), 2 workers"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("200 completed, 200 correct, 0 errors"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.path().join("status.html")).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "latency and throughput plots"
    );
    // The JSON is the documented document, not only something this build reads back.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("status.json")).unwrap())
            .unwrap();
    for field in [
        "version",
        "workload",
        "started_at",
        "duration_s",
        "attempted",
        "ops",
        "errors",
        "ops_per_second",
        "latency_us",
        "histogram",
        "throughput",
        "generators",
    ] {
        assert!(json.get(field).is_some(), "no {field} in {json}");
    }
    assert_eq!(json["version"], 1);
    assert_eq!(json["workload"]["op"], "status");
}

#[test]
fn status_through_a_pf_adapter_process_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let sut = format!("pf={}", adapter("ref-pf"));
    let (out, report) = short_run(
        dir.path(),
        "adapter",
        &[
            "--op",
            "status",
            "--sut",
            &sut,
            "--cards",
            "3",
            "--concurrency",
            "2",
            "--ops",
            "200",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let report = report.expect("the JSON reads back");
    assert_eq!((report.attempted, report.ops), (200, 200));
    assert_eq!(report.generators[0].sut, sut);
}

#[test]
fn status_through_an_http_adapter_session_per_worker() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(BIN)
        .args(["adapter", "ref-pf", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("jpki-sim: ready at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ready line: {line:?}"))
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let sut = format!("pf={url}");
    let (out, report) = short_run(
        dir.path(),
        "http",
        &[
            "--op",
            "status",
            "--sut",
            &sut,
            "--cards",
            "3",
            "--concurrency",
            "2",
            "--ops",
            "100",
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let report = report.expect("the JSON reads back");
    assert_eq!((report.attempted, report.ops), (100, 100));
}

#[test]
fn enrol_and_latest_info_are_checked_answers() {
    let dir = tempfile::tempdir().unwrap();
    for op in ["enrol", "latest-info"] {
        let (out, report) = short_run(
            dir.path(),
            op,
            &[
                "--op",
                op,
                "--cards",
                "2",
                "--concurrency",
                "2",
                "--ops",
                "40",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{op}: {}", output(&out));
        let report = report.expect("the JSON reads back");
        assert_eq!((report.attempted, report.ops), (40, 40), "{op}");
    }
}

#[test]
fn signatures_through_the_reference_sdk_and_an_sdk_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let sut = format!("sdk={}", adapter("ref-sdk"));
    for (name, sut) in [("ref-sdk", "ref-sdk"), ("sdk-adapter", sut.as_str())] {
        let (out, report) = short_run(
            dir.path(),
            name,
            &[
                "--op",
                "sign",
                "--sut",
                sut,
                "--cards",
                "2",
                "--concurrency",
                "2",
                "--ops",
                "30",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {}", output(&out));
        let report = report.expect("the JSON reads back");
        assert_eq!((report.attempted, report.ops), (30, 30), "{name}");
    }
}

#[test]
fn results_of_two_generators_merge() {
    let dir = tempfile::tempdir().unwrap();
    let sut = format!("pf={}", adapter("ref-pf"));
    let (a, first) = short_run(
        dir.path(),
        "a",
        &[
            "--op",
            "status",
            "--cards",
            "2",
            "--concurrency",
            "1",
            "--ops",
            "60",
        ],
    );
    let (b, second) = short_run(
        dir.path(),
        "b",
        &[
            "--op",
            "status",
            "--sut",
            &sut,
            "--cards",
            "2",
            "--concurrency",
            "2",
            "--ops",
            "40",
        ],
    );
    assert_eq!(a.status.code(), Some(0), "{}", output(&a));
    assert_eq!(b.status.code(), Some(0), "{}", output(&b));
    let (first, second) = (first.unwrap(), second.unwrap());
    let merged_json = dir.path().join("merged.json");
    let merged_html = dir.path().join("merged.html");
    let out = std::process::Command::new(BIN)
        .args(["load", "--merge"])
        .arg(dir.path().join("a.json"))
        .arg(dir.path().join("b.json"))
        .arg("--json")
        .arg(&merged_json)
        .arg("--html")
        .arg(&merged_html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
    let merged = merge::read(&merged_json).unwrap();
    assert_eq!(merged.ops, 100);
    assert_eq!(merged.attempted, 100);
    assert_eq!(merged.generators.len(), 2);
    assert_eq!(merged.generators[1].sut, sut);
    assert_eq!(merged.duration_s, first.duration_s.max(second.duration_s));
    let histogram = merged.stats().unwrap().histogram;
    assert_eq!(
        histogram.max(),
        first
            .stats()
            .unwrap()
            .histogram
            .max()
            .max(second.stats().unwrap().histogram.max())
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("merged from 2 generators"), "{stdout}");
    let html = std::fs::read_to_string(merged_html).unwrap();
    assert_eq!(html.matches("<code>ref-pf</code>").count(), 1, "{html}");

    // The same file twice is one generator counted twice: refused, naming the file.
    let out = std::process::Command::new(BIN)
        .args(["load", "--merge"])
        .arg(dir.path().join("a.json"))
        .arg(dir.path().join("a.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("each generator's result must be given once"),
        "{}",
        output(&out)
    );
}

#[test]
fn a_pf_answering_nonsense_fast_does_not_look_fast() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts every enrolment and says every certificate is revoked.
    let script = dir.path().join("revoked.py");
    std::fs::write(
        &script,
        r#"import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "hello":
        answer = {"type": "hello", "version": 1, "name": "nonsense", "features": ["ocsp"]}
    elif message["type"] == "bye":
        break
    elif message["op"] == "enrol":
        answer = {"type": "response", "id": message["id"], "result": {"outcome": "accepted"}}
    else:
        answer = {"type": "response", "id": message["id"], "result": {"outcome": "revoked", "reason": "key_compromise"}}
    print(json.dumps(answer), flush=True)
"#,
    )
    .unwrap();
    let sut = format!("pf=python3 '{}'", script.display());
    let (out, report) = short_run(
        dir.path(),
        "nonsense",
        &[
            "--op",
            "status",
            "--sut",
            &sut,
            "--cards",
            "2",
            "--concurrency",
            "1",
            "--ops",
            "50",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let report = report.expect("the JSON reads back");
    assert_eq!(report.ops, 0);
    assert_eq!(report.ops_per_second, 0.0);
    assert_eq!(report.errors.get("unexpected:revoked"), Some(&50));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("100.00 % of operations failed"),
        "{}",
        output(&out)
    );
    // Within an explicit error budget the run passes.
    let (out, _) = short_run(
        dir.path(),
        "budget",
        &[
            "--op",
            "status",
            "--sut",
            &sut,
            "--cards",
            "1",
            "--concurrency",
            "1",
            "--ops",
            "5",
            "--max-error-rate",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", output(&out));
}

#[test]
fn an_adapter_that_does_not_start_is_the_sut_failing() {
    let out = jpki_sim_load(&[
        "--op",
        "status",
        "--sut",
        "pf=exit 3",
        "--cards",
        "1",
        "--ops",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", output(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not start"), "{err}");
    // It may exit before or after `hello` is written: either way it broke.
    assert!(err.contains("the adapter broke"), "{err}");
}

#[test]
fn bad_flags_are_usage_errors_that_say_what_is_expected() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--op", "frobnicate"],
            "enrol, status, latest-info or sign",
        ),
        (&["--op", "status", "--sut", "verifier"], "pf=COMMAND"),
        (
            &["--op", "status", "--duration", "10s", "--ops", "5"],
            "cannot be used with",
        ),
        (&["--op", "status", "--duration", "ten"], "not a duration"),
        (
            &["--op", "status", "--max-error-rate", "5%"],
            "fraction from 0 to 1",
        ),
        (&["--cards", "3"], "--op"),
    ];
    for (args, expected) in cases {
        let out = jpki_sim_load(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // A combination that parses but cannot run is refused before anything starts.
    let out = jpki_sim_load(&["--op", "sign", "--sut", "ref-pf", "--ops", "5"]);
    assert_eq!(out.status.code(), Some(2), "{}", output(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--op sign is an SDK operation, but --sut ref-pf plays the PF"),
        "{}",
        output(&out)
    );
}

#[test]
fn bad_result_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"version\": 1, \"ops\": ").unwrap();
    let newer = dir.path().join("newer.json");
    std::fs::write(&newer, "{\"version\": 7}").unwrap();
    let missing = dir.path().join("missing.json");
    for (path, expected) in [
        (&garbage, "is not a load result"),
        (&newer, "is a load result of version 7"),
        (&missing, "cannot read"),
    ] {
        let out = std::process::Command::new(BIN)
            .args(["load", "--merge"])
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(expected), "{err}");
    }
}
