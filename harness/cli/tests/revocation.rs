//! The revocation world checked by OpenSSL, as a PF would meet it: OCSP (POST and GET) on the
//! 15-minute cadence, daily CRLs, life events through the admin API, and a crash in the middle
//! of a stream of events.

mod support;

use std::time::Duration;

use support::{http, run, run_ok, write, Up};

const CARD: &str = "felica:0123456789ABCDEF";

fn json(url: &str, method: &str, body: &str) -> serde_json::Value {
    let (status, got) = http(method, url, body.as_bytes());
    assert_eq!(
        status,
        200,
        "{method} {url}: {}",
        String::from_utf8_lossy(&got)
    );
    serde_json::from_slice(&got).unwrap()
}

fn now(up: &Up) -> time::OffsetDateTime {
    let clock = json(&format!("{}/admin/v1/clock", up.url), "GET", "");
    time::OffsetDateTime::parse(
        clock["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

/// Moves the simulated clock to 03:01 UTC (12:01 JST) of the next day: one minute into an OCSP
/// window, and half a day from the daily CRL issue at 00:00 JST, so a test knows which window
/// and which day's CRL it is in whatever the host's time of day.
fn align_to_window(up: &Up) {
    let t = now(up);
    let at = (t.to_offset(time::UtcOffset::UTC).date() + time::Duration::days(1))
        .with_hms(3, 1, 0)
        .unwrap()
        .assume_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json(
        &format!("{}/admin/v1/clock", up.url),
        "POST",
        &format!(r#"{{"set":"{at}"}}"#),
    );
}

fn advance(up: &Up, by: &str) {
    json(
        &format!("{}/admin/v1/clock", up.url),
        "POST",
        &format!(r#"{{"advance":"{by}"}}"#),
    );
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn fetch(&self, up: &Up, url_path: &str, name: &str) -> String {
        let (status, body) = http("GET", &format!("{}{url_path}", up.url), b"");
        assert_eq!(status, 200, "{url_path}");
        write(self.dir.path(), name, &body)
    }
}

/// `jpki-sim up --no-vpcd` with CARD and `extra` flags; both CA certificates are fetched to
/// `{sign,auth}-ca.pem` and the card's certificates written to `{sign,auth}.pem`.
fn start_with_card(extra: &[&str]) -> (Up, Files, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("keys.sqlite");
    let mut args = vec![
        "--no-vpcd",
        "--card",
        CARD,
        "--key-cache",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let up = Up::start(&args);
    let files = Files { dir };
    files.fetch(&up, "/ca/sign.pem", "sign-ca.pem");
    files.fetch(&up, "/ca/auth.pem", "auth-ca.pem");
    let view = json(&format!("{}/admin/v1/cards/{CARD}", up.url), "GET", "");
    for kind in ["sign", "auth"] {
        let pem = view["certificates"][kind]["pem"].as_str().unwrap();
        write(files.dir.path(), &format!("{kind}.pem"), pem.as_bytes());
    }
    (up, files, view)
}

/// `openssl ocsp` against the live responder; returns its combined output.
fn ocsp(files: &Files, up: &Up, hierarchy: &str, cert: &str, extra: &[&str]) -> String {
    let ca = files.path(&format!("{hierarchy}-ca.pem"));
    let url = format!("{}/ocsp", up.url);
    // The simulated clock may run ahead of the host's; allow for it when checking times.
    let mut args = vec![
        "ocsp",
        "-issuer",
        &ca,
        "-cert",
        cert,
        "-url",
        &url,
        "-CAfile",
        &ca,
        "-validity_period",
        "172800",
    ];
    args.extend_from_slice(extra);
    let out = run("openssl", &args, Duration::from_secs(30));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn address_change_shows_in_ocsp_after_the_next_window_and_in_the_next_daily_crl() {
    let (up, files, view) = start_with_card(&[]);
    let sign = files.path("sign.pem");
    let auth = files.path("auth.pem");
    align_to_window(&up);

    let before = ocsp(&files, &up, "sign", &sign, &[]);
    assert!(before.contains("Response verify OK"), "{before}");
    assert!(before.contains(&format!("{sign}: good")), "{before}");

    let outcome = json(
        &format!("{}/admin/v1/events", up.url),
        "POST",
        &format!(r#"{{"card":"{CARD}","kind":"address_change"}}"#),
    );
    assert_eq!(outcome["revoked"][0]["reason"], "affiliation_changed");

    // Same 15-minute window: the responder's data predates the revocation.
    let same_window = ocsp(&files, &up, "sign", &sign, &[]);
    assert!(
        same_window.contains(&format!("{sign}: good")),
        "{same_window}"
    );

    advance(&up, "15m");
    let revoked = ocsp(&files, &up, "sign", &sign, &[]);
    assert!(revoked.contains("Response verify OK"), "{revoked}");
    assert!(revoked.contains(&format!("{sign}: revoked")), "{revoked}");
    assert!(revoked.contains("Reason: affiliationChanged"), "{revoked}");
    // The authentication certificate is untouched by a move.
    let auth_status = ocsp(&files, &up, "auth", &auth, &[]);
    assert!(
        auth_status.contains(&format!("{auth}: good")),
        "{auth_status}"
    );
    // Without a nonce the answer comes from the cache; with one it is signed for the request.
    let no_nonce = ocsp(&files, &up, "sign", &sign, &["-no_nonce"]);
    assert!(no_nonce.contains(&format!("{sign}: revoked")), "{no_nonce}");

    // The daily CRL: verify it, then check the certificate against it at the simulated time.
    let at = now(&up).unix_timestamp().to_string();
    let crl = files.fetch(&up, "/crl/sign.crl", "sign-today.crl");
    let checked = run_ok(
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &crl,
            "-CAfile",
            &files.path("sign-ca.pem"),
            "-noout",
        ],
    );
    assert!(checked.contains("verify OK"), "{checked}");
    // `openssl verify -crl_check` of the signature certificate against a fetched DER CRL.
    let crl_check = |crl: &str, at: &str| {
        let crl_pem = format!("{crl}.pem");
        run_ok(
            "openssl",
            &["crl", "-inform", "DER", "-in", crl, "-out", &crl_pem],
        );
        let verdict = run(
            "openssl",
            &[
                "verify",
                "-attime",
                at,
                "-crl_check",
                "-CAfile",
                &files.path("sign-ca.pem"),
                "-CRLfile",
                &crl_pem,
                &sign,
            ],
            Duration::from_secs(30),
        );
        (verdict, crl_pem)
    };
    let (today, _) = crl_check(&crl, &at);
    assert!(
        today.status.success(),
        "not on today's CRL yet: {}",
        String::from_utf8_lossy(&today.stderr)
    );

    advance(&up, "1d");
    let at = now(&up).unix_timestamp().to_string();
    let crl = files.fetch(&up, "/crl/sign.crl", "sign-tomorrow.crl");
    let (tomorrow, crl_pem) = crl_check(&crl, &at);
    let text = String::from_utf8_lossy(&tomorrow.stdout).into_owned()
        + &String::from_utf8_lossy(&tomorrow.stderr);
    assert!(
        !tomorrow.status.success() && text.contains("certificate revoked"),
        "{text}"
    );
    let listing = run_ok("openssl", &["crl", "-in", &crl_pem, "-noout", "-text"]);
    assert!(listing.contains("Affiliation Changed"), "{listing}");

    // The municipality partition of the old address lists it too, and verifies.
    let code = view["persona"]["municipality_code"].as_str().unwrap();
    let partition = files.fetch(&up, &format!("/crl/sign/{code}.crl"), "partition.crl");
    let checked = run_ok(
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &partition,
            "-CAfile",
            &files.path("sign-ca.pem"),
            "-noout",
            "-text",
        ],
    );
    assert!(
        checked.contains("verify OK") && checked.contains("Affiliation Changed"),
        "{checked}"
    );
    up.stop();
}

#[test]
fn ocsp_get_unknown_serials_other_issuers_and_garbage() {
    let (up, files, _) = start_with_card(&["--ocsp-signer", "ca"]);
    let auth = files.path("auth.pem");

    // RFC 5019 GET, signed by the CA itself.
    let get = ocsp(
        &files,
        &up,
        "auth",
        &auth,
        &["-no_nonce", "-header", "Host=localhost"],
    );
    assert!(
        get.contains("Response verify OK") && get.contains(": good"),
        "{get}"
    );

    // A serial the CA never issued.
    let ca = files.path("auth-ca.pem");
    let url = format!("{}/ocsp", up.url);
    let out = run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            &ca,
            "-serial",
            "0x77",
            "-url",
            &url,
            "-CAfile",
            &ca,
            "-no_nonce",
            "-validity_period",
            "172800",
        ],
        Duration::from_secs(30),
    );
    let unknown =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        unknown.contains("Response verify OK") && unknown.contains("0x77: unknown"),
        "{unknown}"
    );

    // Asking the sign hierarchy about an auth certificate: the responder is not authoritative.
    let request = files.path("req.der");
    run_ok(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            &files.path("sign-ca.pem"),
            "-cert",
            &auth,
            "-no_nonce",
            "-reqout",
            &request,
        ],
    );
    let (status, body) = http("POST", &url, &std::fs::read(&request).unwrap());
    assert_eq!(status, 200);
    let response = write(files.dir.path(), "resp.der", &body);
    let text = run(
        "openssl",
        &["ocsp", "-respin", &response, "-resp_text", "-noverify"],
        Duration::from_secs(30),
    );
    let text =
        String::from_utf8_lossy(&text.stdout).into_owned() + &String::from_utf8_lossy(&text.stderr);
    assert!(text.contains("unauthorized"), "{text}");

    let (status, body) = http("POST", &url, b"not an OCSP request");
    assert_eq!(status, 200);
    let response = write(files.dir.path(), "malformed.der", &body);
    let text = run(
        "openssl",
        &["ocsp", "-respin", &response, "-resp_text", "-noverify"],
        Duration::from_secs(30),
    );
    let text =
        String::from_utf8_lossy(&text.stdout).into_owned() + &String::from_utf8_lossy(&text.stderr);
    assert!(
        text.contains("malformedrequest") || text.contains("malformedRequest"),
        "{text}"
    );
    up.stop();
}

#[test]
fn acknowledged_events_survive_a_kill_in_the_middle_of_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cards: Vec<String> = (0..6).map(|i| format!("typea:04A1B2{i:02X}")).collect();
    let mut args: Vec<&str> = vec!["--no-vpcd", "--state", state.to_str().unwrap()];
    for card in &cards {
        args.extend(["--card", card.as_str()]);
    }
    let mut up = Up::start(&args);
    // Slow and idle clients hold connections while the events stream and the server dies.
    support::unfriendly::raise_open_file_limit();
    let addr = support::unfriendly::addr_of(&up.url);
    let slow = support::unfriendly::SlowClients::open(addr, 200, Duration::from_millis(300));
    let idle = support::unfriendly::IdleClients::open(addr, 500);
    assert_eq!(idle.answered(), 500);
    // Fire events from another thread and kill the server while they are in flight.
    let url = up.url.clone();
    let stream_cards = cards.clone();
    let (acked, first_ack) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for (i, card) in stream_cards.iter().cycle().take(60).enumerate() {
            let kind = if i < 6 {
                "address_change"
            } else {
                "name_change"
            };
            let body = format!(r#"{{"card":"{card}","kind":"{kind}"}}"#);
            match std::panic::catch_unwind(|| {
                http("POST", &format!("{url}/admin/v1/events"), body.as_bytes())
            }) {
                Ok((200, got)) => {
                    let outcome: serde_json::Value = serde_json::from_slice(&got).unwrap();
                    acknowledged.push((
                        card.clone(),
                        outcome["issued"][0]["serial"].as_str().unwrap().to_owned(),
                    ));
                    let _ = acked.send(());
                }
                _ => break,
            }
        }
        acknowledged
    });
    // Killed while the stream goes on: after the first acknowledgement (a re-issue derives a
    // new key, which takes longer on a busy machine) and a little more.
    first_ack
        .recv_timeout(Duration::from_secs(60))
        .expect("no event was acknowledged within 60 s");
    std::thread::sleep(Duration::from_millis(300));
    up.kill();
    let acknowledged = sender.join().unwrap();
    drop((slow, idle));
    assert!(
        !acknowledged.is_empty(),
        "no event was acknowledged before the kill"
    );

    let up = Up::start(&["--no-vpcd", "--state", state.to_str().unwrap()]);
    for card in &cards {
        let view = json(&format!("{}/admin/v1/cards/{card}", up.url), "GET", "");
        let history = view["history"].as_array().unwrap();
        // Consistent: exactly one current, good signature certificate, all older ones revoked
        // and linked to their successor.
        let signs: Vec<_> = history
            .iter()
            .filter(|h| h["hierarchy"] == "sign")
            .collect();
        let good: Vec<_> = signs.iter().filter(|h| h["status"] == "good").collect();
        assert_eq!(good.len(), 1, "{card}: {history:?}");
        assert_eq!(good[0]["serial"], view["certificates"]["sign"]["serial"]);
        for old in signs.iter().filter(|h| h["status"] != "good") {
            assert_eq!(old["revocation"]["reason"], "affiliation_changed");
            assert!(old["superseded_by"].is_string());
        }
        // Every acknowledged re-issue is there.
        for (acked_card, serial) in acknowledged.iter().filter(|(c, _)| c == card) {
            assert!(
                signs.iter().any(|h| h["serial"].as_str() == Some(serial)),
                "{acked_card}: acknowledged certificate {serial} lost after the crash"
            );
        }
    }
    up.stop();
}

fn arm(up: &Up, rule: &str) {
    json(&format!("{}/admin/v1/faults", up.url), "POST", rule);
}

#[test]
fn injected_ocsp_and_crl_faults_are_what_openssl_rejects() {
    let (up, files, _) = start_with_card(&[]);
    let auth = files.path("auth.pem");
    let ca = files.path("auth-ca.pem");
    let url = format!("{}/ocsp", up.url);
    // The clock follows the host here, so OpenSSL's own time checks apply unchanged.
    let strict = |extra: &[&str]| {
        let mut args = vec![
            "ocsp", "-issuer", &ca, "-cert", &auth, "-url", &url, "-CAfile", &ca,
        ];
        args.extend_from_slice(extra);
        let out = run("openssl", &args, Duration::from_secs(30));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let fine = strict(&[]);
    assert!(
        fine.contains("Response verify OK") && fine.contains(": good"),
        "{fine}"
    );

    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"try_later"},"count":1}"#,
    );
    let busy = strict(&[]);
    assert!(
        busy.contains("trylater") || busy.contains("tryLater"),
        "{busy}"
    );

    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"wrong_key"},"count":1}"#,
    );
    let forged = strict(&[]);
    assert!(
        !forged.contains("Response verify OK"),
        "a forged response verified:\n{forged}"
    );
    assert!(
        forged.to_lowercase().contains("verify") && forged.to_lowercase().contains("fail"),
        "{forged}"
    );

    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"stale_this_update"},"count":1}"#,
    );
    let stale = strict(&[]);
    assert!(
        stale.contains("Status times invalid") || stale.contains("status expired"),
        "{stale}"
    );

    // `openssl ocsp` sends a nonce by default: a foreign one fails its check, a missing one is
    // reported (OpenSSL only warns, as RFC 8954 lets a client accept nonce-less answers).
    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"foreign_nonce"},"count":1}"#,
    );
    let foreign = strict(&[]);
    assert!(foreign.contains("Nonce Verify error"), "{foreign}");
    assert!(!foreign.contains(": good"), "{foreign}");
    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"no_nonce"},"count":1}"#,
    );
    let missing = strict(&[]);
    assert!(missing.contains("no nonce in response"), "{missing}");
    assert!(missing.contains("Response verify OK"), "{missing}");
    let echoed = strict(&[]);
    assert!(
        !echoed.contains("nonce") && echoed.contains(": good"),
        "{echoed}"
    );

    arm(
        &up,
        r#"{"endpoint":"ocsp","fault":{"kind":"unavailable"},"count":1}"#,
    );
    let down = strict(&[]);
    assert!(!down.contains(": good"), "{down}");
    let recovered = strict(&[]);
    assert!(
        recovered.contains(": good"),
        "faults must disarm after their count:\n{recovered}"
    );

    // A CRL past its nextUpdate is refused by OpenSSL's CRL check.
    arm(
        &up,
        r#"{"endpoint":"crl","fault":{"kind":"expired_crl"},"count":1}"#,
    );
    let crl = files.fetch(&up, "/crl/auth.crl", "expired.crl");
    let crl_pem = files.path("expired.pem");
    run_ok(
        "openssl",
        &["crl", "-inform", "DER", "-in", &crl, "-out", &crl_pem],
    );
    let out = run(
        "openssl",
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            &ca,
            "-CRLfile",
            &crl_pem,
            &auth,
        ],
        Duration::from_secs(30),
    );
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("CRL has expired"),
        "{text}"
    );
    let current = files.fetch(&up, "/crl/auth.crl", "current.crl");
    let current_pem = files.path("current.pem");
    run_ok(
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            &current,
            "-out",
            &current_pem,
        ],
    );
    run_ok(
        "openssl",
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            &ca,
            "-CRLfile",
            &current_pem,
            &auth,
        ],
    );
    up.stop();
}
