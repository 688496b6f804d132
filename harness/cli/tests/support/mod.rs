//! Test support: a `jpki-sim up` process, PC/SC availability, running real client tools.

#![allow(dead_code)]

pub mod unfriendly;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Whether PC/SC tests must run (CI) or may skip when pcscd + vpcd are absent.
pub fn pcsc_required() -> bool {
    std::env::var_os("JPKI_SIM_REQUIRE_PCSC").is_some_and(|v| !v.is_empty() && v != "0")
}

/// True when a vpcd listener for "Virtual PCD 00 00" (port 35963 = 0x8C7B) is up. Read from
/// /proc, never by connecting: vpcd would take a probe connection for a card.
pub fn vpcd_listening() -> bool {
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|t| t.contains(":8C7B 00000000:0000 0A"))
}

/// Waits until reader `Virtual PCD 00 00` shows a card (`true`) or none (`false`). A card whose
/// process just stopped stays listed until pcscd's next presence poll (every 400 ms), so a test
/// that restarts the card waits for "no card" first, or it would talk to the one going away.
pub fn wait_for_reader_state(present: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = run("opensc-tool", &["-l"], Duration::from_secs(10));
        let listed = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.ends_with("Virtual PCD 00 00"))
            .map(|l| l.split_whitespace().nth(1) == Some("Yes"));
        if listed == Some(present) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "reader Virtual PCD 00 00 never showed {}",
            if present { "a card" } else { "no card" }
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Exclusive use of the vpcd readers while a PC/SC test runs: a lock within this process and,
/// across processes, the per-reader lock files `jpki-sim run --pcsc` leases readers with
/// (`conformance::runner::readers::lock_path`), so that another test run, a benchmark or a
/// conformance run never puts a card in a reader a test uses.
pub struct ReaderLease {
    _files: Vec<std::fs::File>,
    _guard: MutexGuard<'static, ()>,
}

/// The vpcd ports of the four readers `scripts/pcscd.sh` configures.
pub const VPCD_PORTS: [u16; 4] = [35963, 35964, 35965, 35966];

/// Whether the PC/SC tests can run: `false` (with a message) to skip when pcscd with vpcd is
/// not running, a failure instead when JPKI_SIM_REQUIRE_PCSC is set.
pub fn pcsc_available(test: &str) -> bool {
    if vpcd_listening() {
        return true;
    }
    assert!(
        !pcsc_required(),
        "{test}: JPKI_SIM_REQUIRE_PCSC is set but no vpcd listener is up (run scripts/pcscd.sh start)"
    );
    eprintln!("{test}: skipped: pcscd with vpcd is not running (scripts/pcscd.sh start)");
    false
}

/// Returns a lease serialising PC/SC tests (they share the readers), or `None` to skip.
pub fn pcsc_session(test: &str) -> Option<ReaderLease> {
    static READER: Mutex<()> = Mutex::new(());
    if !pcsc_available(test) {
        return None;
    }
    let guard = READER.lock().unwrap_or_else(|e| e.into_inner());
    // Blocking, in port order; `jpki-sim run --pcsc` never waits while it holds one, so no two
    // holders wait on each other.
    let files = VPCD_PORTS
        .iter()
        .map(|&port| {
            conformance::runner::readers::lock_reader(port).unwrap_or_else(|e| {
                panic!(
                    "cannot lock {}: {e}",
                    conformance::runner::readers::lock_path(port).display()
                )
            })
        })
        .collect();
    // The previous holder's card may still be listed until pcscd's next poll.
    wait_for_reader_state(false);
    Some(ReaderLease {
        _files: files,
        _guard: guard,
    })
}

/// A `jpki-sim up` child process; SIGTERM and wait on drop.
pub struct Up {
    child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<String>>,
}

impl Up {
    /// Starts `jpki-sim up` on a free port with `args` and waits for its ready line.
    pub fn start(args: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
            .args(["up", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start jpki-sim up");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                log2.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(rest) = line.strip_prefix("jpki-sim: ready at ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("jpki-sim up printed no ready line within 120 s");
        Up {
            child,
            url,
            stdout: log,
        }
    }

    /// Waits until the first vpcd reader reports a card (pcscd polls every 400 ms).
    pub fn wait_for_reader(&self) {
        wait_for_reader_state(true);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: a crash, no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        // SIGTERM through kill(1): the tests need no unsafe code for it.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// `jpki-sim up --no-vpcd --card CARD` with its key cache in `dir`, and `extra` flags.
pub fn up_with_card(dir: &Path, card: &str, extra: &[&str]) -> Up {
    let cache = dir.join("keys.sqlite");
    let mut args = vec![
        "--no-vpcd",
        "--card",
        card,
        "--key-cache",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Up::start(&args)
}

/// Runs a command with a timeout, capturing output.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} {args:?} timed out after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// Runs a command and asserts success; returns stdout + stderr as text.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args, Duration::from_secs(60));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Path of the jpki-cli binary: $JPKI_CLI, else `jpki-cli` on PATH.
pub fn jpki_cli() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("JPKI_CLI").map(PathBuf::from) {
        if path.exists() {
            return Some(path);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("jpki-cli"))
            .find(|p| p.exists())
    })
}

/// Drives an interactive program through a pseudo-terminal (util-linux `script`): jpki-cli reads
/// the document from its terminal until EOF and then prompts for the PIN, and it loops forever
/// without a TTY. `steps` are (text to wait for in the output, bytes to type); the run is killed
/// after `timeout`, and its output is capped at 1 MiB.
pub fn run_in_pty(command_line: &str, steps: &[(&str, &[u8])], timeout: Duration) -> String {
    let mut child = Command::new("script")
        .args(["-qec", command_line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script(1) from util-linux");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let output2 = output.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut out = output2.lock().unwrap();
            if out.len() < 1 << 20 {
                out.extend_from_slice(&buf[..n]);
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let text = |output: &Arc<Mutex<Vec<u8>>>| {
        String::from_utf8_lossy(&output.lock().unwrap()).into_owned()
    };
    for (wait_for, input) in steps {
        while !text(&output).contains(wait_for) {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!(
                    "{command_line}: never printed {wait_for:?}; output:\n{}",
                    text(&output)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(input).unwrap();
        stdin.flush().unwrap();
    }
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let _ = reader.join();
    text(&output)
}

/// A minimal HTTP/1.1 client for the server's own endpoints (loopback only).
pub fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    http_with(
        method,
        url,
        &[("Content-Type", "application/octet-stream")],
        body,
    )
}

/// [`http`] with these headers (`Host` among them replaces the URL's).
pub fn http_with(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Writes `bytes` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// What a bundled adapter's whole-suite run must show, derived from the suite, the role the
/// adapter plays, the features it claims and its expectations file, so no count is written by
/// hand: the listed divergences, the scenarios skipped for lack of a feature, and those without
/// a step of the adapter's role (not exercised, never a pass).
pub struct ExpectedRun {
    /// How many scenarios the suite has.
    pub total: usize,
    /// The scenarios the expectations file lists.
    pub listed: std::collections::BTreeSet<String>,
    /// The scenarios needing a feature of the role the adapter lacks.
    pub skipped: std::collections::BTreeSet<String>,
    /// The scenarios with no step of the adapter's role.
    pub not_exercised: std::collections::BTreeSet<String>,
}

impl ExpectedRun {
    /// Derives the expected run (see the type).
    pub fn of(
        suite: &[conformance::scenario::LoadedScenario],
        role: vocab::Role,
        features: &std::collections::BTreeSet<String>,
        expectations: &conformance::runner::Expectations,
    ) -> ExpectedRun {
        use conformance::scenario::model::Step;
        let ids = |keep: &dyn Fn(&conformance::scenario::LoadedScenario) -> bool| {
            suite
                .iter()
                .filter(|s| keep(s))
                .map(|s| s.id.to_string())
                .collect::<std::collections::BTreeSet<String>>()
        };
        let listed = ids(&|s| expectations.divergence(&s.id).is_some());
        assert_eq!(listed.len(), expectations.divergences.len());
        let skipped = ids(&|s| {
            s.scenario
                .features
                .iter()
                .any(|f| f.role() == role && !features.contains(f.name()))
        });
        assert!(listed.is_disjoint(&skipped), "a listed scenario is skipped");
        let not_exercised = ids(&|s| {
            !skipped.contains(&s.id.to_string())
                && !s.scenario.steps.iter().any(|step| match role {
                    vocab::Role::Pf => matches!(step, Step::Pf(_)),
                    vocab::Role::Sdk => matches!(step, Step::Sdk(_)),
                })
        });
        assert!(
            listed.is_disjoint(&not_exercised),
            "a listed scenario has no step of the adapter's role"
        );
        ExpectedRun {
            total: suite.len(),
            listed,
            skipped,
            not_exercised,
        }
    }

    /// Runs `command` (a `jpki-sim run` writing its JSON report to `json`) and checks that it
    /// exits 0 with the expected summary line and that every outcome in the report is the
    /// expected one. Returns the report's results and the output, for further checks.
    pub fn check(&self, mut command: Command, json: &Path) -> (Vec<serde_json::Value>, String) {
        let out = command.output().unwrap();
        let shown = format!(
            "{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{shown}");
        let passed = self.total - self.skipped.len() - self.not_exercised.len() - self.listed.len();
        let summary = format!(
            "{passed} passed, 0 failed, {} skipped, {} not exercised, {} known divergences",
            self.skipped.len(),
            self.not_exercised.len(),
            self.listed.len()
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == summary),
            "expected `{summary}`:\n{shown}"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let results = report["results"].as_array().unwrap().clone();
        let with = |outcome: &str| -> std::collections::BTreeSet<String> {
            results
                .iter()
                .filter(|r| r["outcome"] == outcome)
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(with("known_divergence"), self.listed, "{shown}");
        assert_eq!(with("skipped"), self.skipped, "{shown}");
        assert_eq!(with("not_exercised"), self.not_exercised, "{shown}");
        assert_eq!(with("pass").len(), passed, "{shown}");
        (results, shown)
    }
}

/// A finished command, for a failure message: its status, stdout and stderr.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a test needing a tool can run: `found`, or else a skip said on stderr — a failure
/// instead when JPKI_SIM_REQUIRE_PCSC says everything must run (CI).
pub fn tool_available(found: bool, what: &str) -> bool {
    if !found {
        assert!(
            !pcsc_required(),
            "JPKI_SIM_REQUIRE_PCSC is set but {what} is missing (scripts/setup-debian.sh installs it)"
        );
        eprintln!("skipped: no {what}");
    }
    found
}

/// A server started from `command` that prints a ready line naming its `http://` URL (as
/// `jpki-sim adapter ... --listen` and the adapter templates do); killed when dropped.
pub struct Listening {
    child: Child,
    /// The URL from the ready line.
    pub url: String,
}

impl Listening {
    /// Starts `command` with stdout piped and waits for its ready line.
    pub fn start(command: &mut Command) -> Listening {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut ready)
            .expect("a ready line");
        let url = ready
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the ready line {ready:?}"))
            .to_owned();
        Listening { child, url }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
