//! The adapter protocol end to end: `jpki-sim run --sut` driving `jpki-sim adapter` processes
//! (and broken ones) over JSON lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("adapter-keys.sqlite")
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

/// The `N passed, F failed, S skipped` line.
fn tally(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find(|line| line.contains(" passed, "))
        .unwrap_or_default()
        .to_owned()
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `jpki-sim adapter KIND` given `input` on stdin, to its exit.
fn stdio_adapter(kind: &str, input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(jpki_sim())
        .args(["adapter", kind])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// [`stdio_adapter`] that must exit 0, and the JSON lines it wrote.
fn stdio_conversation(kind: &str, input: &str) -> (Output, Vec<serde_json::Value>) {
    let out = stdio_adapter(kind, input);
    assert!(out.status.success(), "{}", show(&out));
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (out, lines)
}

/// The summary line of the whole suite against a PF under test that passes every scenario it
/// takes part in: the scenarios with `pf` steps pass, the others (SDK steps only, played by the
/// reference SDK) are not exercised.
fn pf_under_test_tally() -> String {
    let scenarios = conformance::scenario::load_suite(&suite()).expect("the suite loads");
    let with_pf = scenarios
        .iter()
        .filter(|s| {
            s.scenario
                .steps
                .iter()
                .any(|step| matches!(step, conformance::scenario::model::Step::Pf(_)))
        })
        .count();
    let without = scenarios.len() - with_pf;
    assert!(with_pf > 0 && without > 0);
    format!("{with_pf} passed, 0 failed, 0 skipped, {without} not exercised")
}

#[test]
fn the_reference_pf_through_the_protocol_passes_like_the_in_process_one() {
    let suite = [suite()];
    let in_process = run(&suite, &[]);
    assert_eq!(in_process.status.code(), Some(0), "{}", show(&in_process));
    let sut = format!("pf={} adapter ref-pf", jpki_sim());
    let remote = run(&suite, &["--sut", &sut]);
    assert_eq!(remote.status.code(), Some(0), "{}", show(&remote));
    // Every scenario it takes part in passes; it is credited with no other.
    assert_eq!(tally(&remote), pf_under_test_tally(), "{}", show(&remote));
}

#[test]
fn a_mutant_behind_the_protocol_fails_the_suite() {
    let sut = format!(
        "pf={} adapter ref-pf --mutant ignores-revocation",
        jpki_sim()
    );
    let out = run(&area("revocation"), &["--sut", &sut]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#"got {"outcome":"good"}"#),
        "{}",
        show(&out)
    );
}

#[test]
fn the_reference_sdk_through_the_protocol_passes_the_card_scenarios() {
    let sut = format!("sdk={} adapter ref-sdk", jpki_sim());
    let out = run(&area("card"), &["--sut", &sut]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let in_process = run(&area("card"), &[]);
    // Every card scenario has SDK steps: all are exercised, as in process.
    assert_eq!(tally(&out), tally(&in_process));
    // Card removal reaches the adapter through the bridge: nothing is skipped.
    assert!(
        tally(&out).contains(" 0 failed, 0 skipped"),
        "{}",
        show(&out)
    );
}

#[test]
fn an_adapter_writing_garbage_fails_its_scenarios_with_its_stderr_and_the_run_goes_on() {
    let out = run(
        &area("card"),
        &[
            "--sut",
            "sdk=echo 'this is not json'; echo 'adapter: cannot open reader' >&2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed = stdout.lines().filter(|l| l.starts_with("fail")).count();
    let total = area("card").len();
    assert_eq!(failed, total, "{}", show(&out));
    assert!(stdout.contains("malformed line"), "{}", show(&out));
    assert!(
        stdout.contains("adapter: cannot open reader"),
        "{}",
        show(&out)
    );
}

#[test]
fn an_adapter_that_dies_mid_scenario_fails_at_that_step_with_its_stderr() {
    // Answers hello, then dies on the first request.
    let script = r#"pf=read hello; echo '{"type":"hello","version":1,"name":"brittle","features":["ocsp","crl","latest_info","linkage","faults"]}'; read request; echo 'segfault in verify' >&2; exit 139"#;
    let out = run(
        &[suite().join("enrolment/auth_key_enrolment.yaml")],
        &["--sut", script],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("platform error"), "{}", show(&out));
    assert!(stdout.contains("segfault in verify"), "{}", show(&out));
    assert!(stdout.contains("exit status: 139"), "{}", show(&out));
}

#[test]
fn an_adapter_lacking_a_feature_skips_the_scenarios_needing_it() {
    let script = r#"pf=read hello; echo '{"type":"hello","version":1,"name":"no-status","features":[]}'; read bye"#;
    let out = run(
        &[suite().join("revocation/reason_override.yaml")],
        &["--sut", script],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        tally(&out).contains("0 passed, 0 failed, 1 skipped"),
        "{}",
        show(&out)
    );
}

#[test]
fn the_reference_adapter_answers_hello_and_requests_on_stdin() {
    let input = [
        HELLO_PF,
        r#"{"type":"request","id":1,"op":"resolve_user","enrolment":"nobody"}"#,
        r#"{"type":"bye"}"#,
    ]
    .join("\n");
    let (out, lines) = stdio_conversation("ref-pf", &input);
    assert_eq!(lines.len(), 2, "{}", show(&out));
    assert_eq!(lines[0]["type"], "hello");
    assert!(lines[0]["features"]
        .as_array()
        .unwrap()
        .contains(&"ocsp".into()));
    assert_eq!(lines[1]["type"], "response");
    assert_eq!(lines[1]["id"], 1);
    assert_eq!(lines[1]["error"]["code"], "unknown_enrolment");
}

#[test]
fn the_reference_adapter_exits_non_zero_on_a_malformed_line() {
    let out = stdio_adapter("ref-sdk", "{nope\n");
    assert!(!out.status.success(), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
}

/// A `jpki-sim adapter ... --listen 127.0.0.1:0` process; SIGKILL and wait on drop.
struct HttpAdapter {
    child: std::process::Child,
    url: String,
}

impl HttpAdapter {
    fn start(args: &[&str]) -> HttpAdapter {
        use std::io::BufRead;
        let mut child = Command::new(jpki_sim())
            .arg("adapter")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("jpki-sim adapter starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let url = line
            .strip_prefix("jpki-sim: ready at ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no ready line: {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        HttpAdapter { child, url }
    }

    fn sut(&self, role: &str) -> String {
        format!("{role}={}", self.url)
    }
}

impl Drop for HttpAdapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_reference_pf_over_http_passes_like_the_in_process_one() {
    let suite = [suite()];
    let adapter = HttpAdapter::start(&["ref-pf"]);
    // Two workers drive the one adapter at once, each scenario in its own session.
    let remote = run(&suite, &["--sut", &adapter.sut("pf")]);
    assert_eq!(remote.status.code(), Some(0), "{}", show(&remote));
    assert_eq!(tally(&remote), pf_under_test_tally(), "{}", show(&remote));
}

#[test]
fn the_reference_sdk_over_http_passes_the_card_scenarios() {
    let adapter = HttpAdapter::start(&["ref-sdk"]);
    let out = run(&area("card"), &["--sut", &adapter.sut("sdk")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        tally(&out).contains(" 0 failed, 0 skipped"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_mutant_over_http_fails_the_suite() {
    let adapter = HttpAdapter::start(&["ref-pf", "--mutant", "ignores-nonce"]);
    let out = run(&area("faults"), &["--sut", &adapter.sut("pf")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<_> = stdout.lines().filter(|l| l.starts_with("fail")).collect();
    assert!(
        failed
            .iter()
            .any(|l| l.contains("faults/ocsp_foreign_nonce_rejected")
                && l.contains(r#"got {"outcome":"good"}"#)),
        "{}",
        show(&out)
    );
}

#[test]
fn an_unreachable_http_adapter_fails_its_scenarios_and_the_run_goes_on() {
    // Bind a port, then free it: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let files = area("enrolment");
    let out = run(&files, &["--sut", &format!("pf={url}")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<_> = stdout.lines().filter(|l| l.starts_with("fail")).collect();
    assert_eq!(failed.len(), files.len(), "{}", show(&out));
    for line in failed {
        assert!(
            line.contains(&format!("cannot reach it at {url}/hello")),
            "{line}"
        );
    }
    assert!(
        tally(&out).starts_with(&format!("0 passed, {} failed", files.len())),
        "{}",
        show(&out)
    );
}

/// POSTs `body` to the adapter: the status and the JSON answer.
fn post(url: &str, session: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(session) = session {
        request = request.header("Session-Id", session);
    }
    let mut answer = request.send(body).unwrap();
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// As [`post`], `None` when the request could not be sent or its answer not read.
/// POSTs a JSON string of `len` bytes to `url` (`http://HOST:PORT/PATH`) over a raw socket:
/// the body is written by a thread of its own, which may fail once the server has answered
/// and closed, while this thread reads the answer's status and JSON body.
fn post_oversized(url: &str, len: usize) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let body = format!("\"{}\"", "a".repeat(len));
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(body.as_bytes());
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            // A reset after the answer arrived ends it as well as a close.
            Err(_) if !answer.is_empty() => break,
            Err(err) => panic!("no answer to a {len}-byte hello: {err}"),
        }
        if let Some(end) = find(&answer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|length| answer.len() >= end + 4 + length) {
                break;
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    let end = find(&answer, b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let json = serde_json::from_slice(&answer[end + 4..]).unwrap_or_else(|err| {
        panic!(
            "{head}: {err}: {:?}",
            String::from_utf8_lossy(&answer[end + 4..])
        )
    });
    (status, json)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

const HELLO_PF: &str = r#"{"type":"hello","version":1,"role":"pf","environment":{"base_url":"http://127.0.0.1:9","ca_url":"","crl_url":"","ocsp_url":"","jlis_url":"","sign_ca_pem":"","auth_ca_pem":"","cards":[]}}"#;

#[test]
fn the_http_adapter_answers_bad_bodies_with_400_and_a_json_error() {
    let adapter = HttpAdapter::start(&["ref-pf"]);
    let hello = format!("{}/hello", adapter.url);
    let request = format!("{}/request", adapter.url);
    let (status, body) = post(&hello, None, r#"{"type":"hello","version":1}"#);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "malformed_message");
    assert!(body["message"].as_str().unwrap().contains("role"), "{body}");
    let (status, body) = post(&request, Some("no-such-session"), r#"{"type":"bye"}"#);
    assert_eq!((status, &body["error"]), (404, &"unknown_session".into()));
    let (status, body) = post(&hello, None, "\u{1F4A5}{");
    assert_eq!((status, &body["error"]), (400, &"malformed_message".into()));
    // The adapter answers before it has read the whole body: the body goes out on its own
    // thread while this one reads the answer, so a connection closed mid-write loses nothing.
    let too_large = post_oversized(&hello, 3 << 20);
    assert_eq!(
        (too_large.0, &too_large.1["error"]),
        (413, &"unreadable_body".into())
    );
    // The adapter is still up and serves a proper session.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent.post(&hello).send(HELLO_PF).unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let session = answer.headers()["Session-Id"].to_str().unwrap().to_owned();
    let (status, body) = post(&request, Some(&session), "{nope");
    assert_eq!((status, &body["error"]), (400, &"malformed_message".into()));
    let (status, body) = post(
        &request,
        Some(&session),
        r#"{"type":"request","id":3,"op":"teleport"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error"]["code"], "unsupported");
}

#[test]
fn an_unknown_op_or_one_of_the_other_role_is_unsupported_not_a_crash() {
    let input = [
        HELLO_PF,
        r#"{"type":"request","id":1,"op":"teleport","to":"mars"}"#,
        r#"{"type":"request","id":2,"op":"pin_status","card":{"index":0,"id":"x","bridge":"http://127.0.0.1:9"},"pin":"auth"}"#,
        r#"{"type":"request","id":3,"op":"check_status","via":"ocsp"}"#,
        r#"{"type":"bye"}"#,
    ]
    .join("\n");
    let (out, lines) = stdio_conversation("ref-pf", &input);
    assert_eq!(lines.len(), 4, "{}", show(&out));
    let error = |index: usize| (&lines[index]["id"], &lines[index]["error"]["code"]);
    assert_eq!(error(1), (&1.into(), &"unsupported".into()));
    assert!(lines[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("teleport"));
    assert_eq!(error(2), (&2.into(), &"unsupported".into()));
    assert_eq!(error(3), (&3.into(), &"bad_request".into()));
    assert!(lines[3]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("enrolment"));
}
