//! The HTTP APDU bridge of `jpki-sim up`, from another process, as a mobile test build uses it.

mod support;

use support::{http, http_with, Up};

const CARD: &str = "typea:04A1B2C3";

/// `jpki-sim up --no-vpcd --card CARD` with its key cache in `dir`, and `extra` flags.
fn up_with_card(dir: &tempfile::TempDir, extra: &[&str]) -> Up {
    support::up_with_card(dir.path(), CARD, extra)
}

#[test]
fn bridge_answers_apdus_and_keeps_pin_state_with_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with_card(&dir, &[]);
    let apdu = |hex_apdu: &str| {
        let (status, body) = http(
            "POST",
            &format!("{}/cards/{CARD}/apdu", up.url),
            &hex::decode(hex_apdu).unwrap(),
        );
        assert_eq!(status, 200);
        hex::encode_upper(body)
    };
    // select the JPKI AP, then the auth PIN EF, then ask for its retries
    assert_eq!(apdu("00A4040C0AD392F000260100000001"), "9000");
    assert_eq!(apdu("00A4020C020018"), "9000");
    assert_eq!(apdu("00200080"), "63C3");
    // one wrong PIN costs one try
    assert_eq!(apdu("002000800430303030"), "63C2");
    assert_eq!(apdu("00200080"), "63C2");
    // a PIN the holder changes on the card is the one the card view shows from then on
    let view = || {
        let (status, body) = http("GET", &format!("{}/admin/v1/cards/{CARD}", up.url), b"");
        assert_eq!(status, 200);
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()
    };
    let pin = view()["persona"]["pins"]["auth_pin"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_pin = if pin == "9876" { "6789" } else { "9876" };
    assert_eq!(apdu(&format!("0020008004{}", hex::encode(&pin))), "9000");
    assert_eq!(apdu(&format!("0024018004{}", hex::encode(new_pin))), "9000");
    assert_eq!(view()["persona"]["pins"]["auth_pin"], new_pin);
    // an unknown AID is not found
    assert_eq!(apdu("00A4040C0AA0000000030000000000"), "6A82");
    // a malformed APDU gets a status word, not an HTTP error
    assert_eq!(apdu("00B0"), "6700");

    let (status, body) = http(
        "POST",
        &format!("{}/cards/typea:0000/apdu", up.url),
        b"\x00\xA4\x04\x0C",
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("invalid_card_id"));
    let (status, body) = http(
        "POST",
        &format!("{}/cards/typea:01020304/apdu", up.url),
        b"\x00\xA4\x04\x0C",
    );
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("card_not_found"));
    let (status, _) = http("POST", &format!("{}/cards/{CARD}/apdu", up.url), b"");
    assert_eq!(status, 400);
    up.stop();
}

#[test]
fn bad_card_id_on_the_command_line_names_what_was_expected() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(["up", "--no-vpcd", "--card", "felica:12345"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("felica expects 16 hex digits, got 5"),
        "{stderr}"
    );
}

fn jpki_sim(args: &[&str], cache: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(args)
        .arg("--key-cache")
        .arg(cache)
        .output()
        .unwrap()
}

#[test]
fn persona_prints_the_derived_identity_and_json_matches_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("keys.sqlite");
    let text = jpki_sim(&["persona", CARD], &cache);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = String::from_utf8(text.stdout).unwrap();
    let json = jpki_sim(&["persona", CARD, "--json"], &cache);
    let view: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    for field in ["name", "name_kana", "address", "my_number", "security_code"] {
        let value = view["persona"][field].as_str().unwrap();
        assert!(
            text.contains(value),
            "text output lacks {field} {value}:\n{text}"
        );
    }
    for kind in ["sign", "auth"] {
        assert!(text.contains(view["certificates"][kind]["serial"].as_str().unwrap()));
    }
    assert!(text.contains("ABC123") && text.contains("1234"));
    // Each line is named as the JSON view names its value, and shows that value.
    let mut named = 0;
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (label, rest) = line.split_at(16);
        let label = label.trim();
        let value = rest.split("  ").next().unwrap();
        let persona = &view["persona"];
        if let Some(expected) = persona.get(label).or_else(|| persona["pins"].get(label)) {
            if let Some(expected) = expected.as_str() {
                assert_eq!(value, expected, "{line}");
                named += 1;
            }
        }
    }
    assert!(named >= 15, "{named} lines named as the JSON view:\n{text}");
    // A renewal is a new generation: same person, new certificates.
    let renewed = jpki_sim(&["persona", CARD, "--json", "--generation", "2"], &cache);
    let renewed: serde_json::Value = serde_json::from_slice(&renewed.stdout).unwrap();
    assert_eq!(
        renewed["persona"]["my_number"],
        view["persona"]["my_number"]
    );
    assert_ne!(
        renewed["certificates"]["auth"]["serial"],
        view["certificates"]["auth"]["serial"]
    );
}

#[test]
fn a_bad_persona_file_is_reported_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("persona.yaml");
    std::fs::write(&file, "name: 試験　太郎\nmy_number: \"123456789012\"\n").unwrap();
    let out = jpki_sim(
        &["persona", CARD, "--persona", file.to_str().unwrap()],
        &dir.path().join("keys.sqlite"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2:", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("my_number"), "{stderr}");
}

/// With an admin token, the routes that change the world or act for a holder need it — the
/// admin API, the APDU bridge, consents — and what the CA publishes stays open.
#[test]
fn the_admin_token_guards_the_bridge_and_consents_too() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with_card(&dir, &["--admin-token", "s3cret"]);
    for (method, path, body) in [
        (
            "POST",
            format!("/cards/{CARD}/apdu"),
            b"\x00\x84\x00\x00\x08".to_vec(),
        ),
        ("POST", "/jlis/v1/consents".to_owned(), b"{}".to_vec()),
        ("GET", format!("/admin/v1/cards/{CARD}"), vec![]),
    ] {
        let (status, body) = http(method, &format!("{}{path}", up.url), &body);
        assert_eq!(
            status,
            401,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(String::from_utf8_lossy(&body).contains("unauthorized"));
    }
    let (status, _) = http("GET", &format!("{}/crl/sign.crl", up.url), b"");
    assert_eq!(status, 200);
    up.stop();

    // The token from a file (its first line), which neither `ps` nor the environment shows.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "f1le-s3cret\n").unwrap();
    let up = up_with_card(&dir, &["--admin-token-file", token_file.to_str().unwrap()]);
    let view = format!("{}/admin/v1/cards/{CARD}", up.url);
    assert_eq!(http("GET", &view, b"").0, 401);
    let bearer = [("Authorization", "Bearer f1le-s3cret")];
    assert_eq!(http_with("GET", &view, &bearer, b"").0, 200);
    up.stop();

    // An empty token protects nothing: refused at start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--no-vpcd",
            "--admin-token",
            "",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token is empty"));
}

/// What a web page could make a browser send to the loopback server is refused — a rebinding
/// page's Host, another site's Origin, a cross-site text or form POST — and nothing happens;
/// the same write from a tool goes through.
#[test]
fn requests_a_web_page_could_send_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with_card(&dir, &[]);
    let death = format!(r#"{{"card":"{CARD}","kind":"death"}}"#);
    let events = format!("{}/admin/v1/events", up.url);
    let port = up.url.rsplit(':').next().unwrap().to_owned();
    let rebound = format!("rebind.example:{port}");
    for (headers, status, code) in [
        (vec![("Host", rebound.as_str())], 421, "misdirected_host"),
        (
            vec![
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/json"),
            ],
            403,
            "cross_origin",
        ),
        (
            vec![("Content-Type", "text/plain;charset=UTF-8")],
            415,
            "unsupported_media_type",
        ),
        (
            vec![("Content-Type", "application/x-www-form-urlencoded")],
            415,
            "unsupported_media_type",
        ),
    ] {
        let (got, body) = http_with("POST", &events, &headers, death.as_bytes());
        let text = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{headers:?}: {text}");
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["error"], code, "{text}");
    }
    // A rebinding page cannot read a card's view (its PINs) either.
    let view = format!("{}/admin/v1/cards/{CARD}", up.url);
    let (got, _) = http_with("GET", &view, &[("Host", rebound.as_str())], b"");
    assert_eq!(got, 421);
    let (got, body) = http("GET", &view, b"");
    assert_eq!(got, 200);
    let card: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        card["life"], "active",
        "a refused request changed the world"
    );
    // A tool: its own Host, JSON, no Origin.
    let (got, body) = http_with(
        "POST",
        &events,
        &[("Content-Type", "application/json")],
        death.as_bytes(),
    );
    assert_eq!(got, 200, "{}", String::from_utf8_lossy(&body));
    up.stop();
}

/// A second server on a state directory in use is refused, naming the first; once the first
/// has stopped, the directory is free again.
#[test]
fn a_second_server_on_one_state_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap();
    let up = Up::start(&["--no-vpcd", "--state", state_arg]);
    let second = || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
            .args([
                "up",
                "--listen",
                "127.0.0.1:0",
                "--no-vpcd",
                "--state",
                state_arg,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("a second server on {state_arg} kept running");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    };
    let out = second();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("is in use by another jpki-sim server (pid "),
        "{stderr}"
    );
    up.stop();
    let again = Up::start(&["--no-vpcd", "--state", state_arg]);
    again.stop();
}

/// `persona --state` shows the saved card as it is and writes nothing: a lost card stays lost.
#[test]
fn persona_with_state_reads_the_saved_card_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Up::start(&[
        "--no-vpcd",
        "--card",
        CARD,
        "--state",
        state.to_str().unwrap(),
    ]);
    let (status, body) = http(
        "POST",
        &format!("{}/admin/v1/events", up.url),
        format!(r#"{{"card":"{CARD}","kind":"loss"}}"#).as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    up.stop();

    let persona = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
            .args([
                "persona",
                CARD,
                "--json",
                "--state",
                state.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = persona();
    assert_ne!(first["life"], "active", "{first}");
    assert_ne!(first["certificates"]["auth"]["status"], "good", "{first}");
    // Reading twice, and then serving the world again, finds the card as the event left it.
    assert_eq!(persona(), first);
    let up = Up::start(&["--no-vpcd", "--state", state.to_str().unwrap()]);
    let (status, body) = http("GET", &format!("{}/admin/v1/cards/{CARD}", up.url), b"");
    assert_eq!(status, 200);
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served["life"], first["life"]);
    assert_eq!(
        served["certificates"]["auth"]["status"],
        first["certificates"]["auth"]["status"]
    );
    up.stop();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args([
            "persona",
            "typea:01020304",
            "--state",
            state.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not provisioned in"));
}

#[test]
fn a_restarted_server_counts_and_lists_the_cards_its_state_brought_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap();
    let up = Up::start(&["--no-vpcd", "--state", state_arg, "--card", CARD]);
    up.stop();
    let again = Up::start(&["--no-vpcd", "--state", state_arg]);
    let listed = format!("  {CARD}: not attached");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let out = loop {
        let out = again.stdout.lock().unwrap().clone();
        if out.contains(&listed) || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(out.contains("(1 card)"), "{out}");
    assert!(out.contains(&listed), "{out}");
    again.stop();
}

#[test]
fn listening_on_every_interface_needs_the_url_clients_reach_it_by() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args([
            "up",
            "--listen",
            "0.0.0.0:0",
            "--no-vpcd",
            "--admin-token",
            "t0ken",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("give it with --base-url http://HOST:"),
        "{stderr}"
    );
}

#[test]
fn a_taken_port_is_reported_before_any_card_is_provisioned() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .args(["up", "--listen", &addr, "--no-vpcd", "--card", CARD])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(!stderr.contains("provisioning"), "{stderr}");
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_definition() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        for command in ["up", "run", "check", "schema", "load", "fail-fast"] {
            assert!(
                script.contains(command),
                "{shell} completions lack {command}"
            );
        }
    }
    assert!(run(&["man"]).contains(".TH jpki-sim 1"));
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--out", dir.path().to_str().unwrap()]);
    let page = std::fs::read_to_string(dir.path().join("jpki-sim-run.1")).unwrap();
    assert!(page.contains(r"\-\-fail\-fast"), "{page}");
    assert!(dir.path().join("jpki-sim-up.1").is_file());
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jpki-sim"))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8(out.stdout).unwrap();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8(out.stdout).unwrap().trim().to_owned());
    let commit = head.as_deref().unwrap_or("unknown");
    assert_eq!(
        version.trim(),
        format!("jpki-sim {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}
