//! End to end through the real PC/SC stack: `jpki-sim up` attaches a card to vpcd inside pcscd,
//! and unmodified OpenSC, jpki-cli and OpenSSL use it. Skips without pcscd unless
//! JPKI_SIM_REQUIRE_PCSC is set (CI sets it).

mod support;

use std::time::Duration;

use support::{http, jpki_cli, pcsc_session, run, run_in_pty, run_ok, write, Up};

const CARD: &str = "felica:0123456789ABCDEF";
const PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

fn card_view(up: &Up) -> serde_json::Value {
    let (status, body) = http("GET", &format!("{}/admin/v1/cards/{CARD}", up.url), b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn opensc_lists_reads_and_signs_with_both_keys_and_openssl_verifies() {
    let Some(_reader) = pcsc_session("opensc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Up::start(&["--card", CARD, "--state", state.to_str().unwrap()]);
    up.wait_for_reader();
    let view = card_view(&up);

    // Without the signature PIN, OpenSC lists the authentication certificate and both CAs.
    let listing = run_ok("pkcs15-tool", &["--list-certificates"]);
    assert!(
        listing.contains("User Authentication Certificate"),
        "{listing}"
    );
    let auth_serial = view["certificates"]["auth"]["serial"].as_str().unwrap();
    assert!(
        listing.contains(auth_serial),
        "auth serial {auth_serial} not listed:\n{listing}"
    );

    let auth_pem = write(dir.path(), "auth.pem", b"");
    run_ok(
        "pkcs15-tool",
        &["--read-certificate", "01", "-o", &auth_pem],
    );
    let read_back = std::fs::read_to_string(&auth_pem).unwrap();
    assert_eq!(
        read_back.trim(),
        view["certificates"]["auth"]["pem"].as_str().unwrap().trim(),
        "the certificate OpenSC read differs from the one the world issued"
    );

    // The signature certificate needs the signature password.
    let sign_pem = write(dir.path(), "sign.pem", b"");
    run_ok(
        "pkcs15-tool",
        &[
            "--read-certificate",
            "02",
            "--verify-pin",
            "--auth-id",
            "02",
            "--pin",
            "ABC123",
            "-o",
            &sign_pem,
        ],
    );
    let sign_listing = std::fs::read_to_string(&sign_pem).unwrap();
    assert_eq!(
        sign_listing.trim(),
        view["certificates"]["sign"]["pem"].as_str().unwrap().trim()
    );

    // Chains verify against the CA certificates the server publishes.
    for (name, cert) in [("auth", &auth_pem), ("sign", &sign_pem)] {
        let (status, ca) = http("GET", &format!("{}/ca/{name}.pem", up.url), b"");
        assert_eq!(status, 200);
        let ca_path = write(dir.path(), &format!("{name}-ca.pem"), &ca);
        let verdict = run_ok("openssl", &["verify", "-CAfile", &ca_path, cert]);
        assert!(verdict.contains(": OK"), "{verdict}");
    }

    // Sign with each key through PKCS#11 and verify with OpenSSL.
    let message = write(
        dir.path(),
        "message.txt",
        b"jpki-sim end-to-end signature\n",
    );
    for (slot, pin, id, cert) in [
        ("0", "1234", "01", &auth_pem),
        ("1", "ABC123", "02", &sign_pem),
    ] {
        let signature = dir.path().join(format!("sig-{id}.bin"));
        let signature = signature.to_str().unwrap();
        run_ok(
            "pkcs11-tool",
            &[
                "--module",
                PKCS11,
                "--slot-index",
                slot,
                "--login",
                "--pin",
                pin,
                "--sign",
                "-m",
                "SHA256-RSA-PKCS",
                "--id",
                id,
                "-i",
                &message,
                "-o",
                signature,
            ],
        );
        assert_eq!(std::fs::metadata(signature).unwrap().len(), 256);
        let public_key = dir.path().join(format!("pub-{id}.pem"));
        let public_key = public_key.to_str().unwrap();
        run_ok(
            "openssl",
            &["x509", "-in", cert, "-pubkey", "-noout", "-out", public_key],
        );
        let verdict = run_ok(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                public_key,
                "-signature",
                signature,
                &message,
            ],
        );
        assert!(verdict.contains("Verified OK"), "{verdict}");
    }
    up.stop();
}

#[test]
fn three_wrong_auth_pins_block_it_and_the_block_survives_a_restart() {
    let Some(_reader) = pcsc_session("pin-lockout") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Up::start(&["--card", CARD, "--state", state.to_str().unwrap()]);
    up.wait_for_reader();

    let tries = |expected: &str| {
        let pins = run_ok("pkcs15-tool", &["--list-pins"]);
        let auth = pins.split("PIN [Digital Signature PIN]").next().unwrap();
        assert!(
            auth.contains(&format!("Tries left     : {expected}")),
            "expected {expected} tries:\n{pins}"
        );
    };
    tries("3");
    for remaining in ["2", "1", "0"] {
        let out = run(
            "pkcs15-tool",
            &["--verify-pin", "--auth-id", "01", "--pin", "0000"],
            Duration::from_secs(30),
        );
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("PIN code or key incorrect"), "{text}");
        tries(remaining);
    }
    // Blocked: even the right PIN is refused now.
    let out = run(
        "pkcs15-tool",
        &["--verify-pin", "--auth-id", "01", "--pin", "1234"],
        Duration::from_secs(30),
    );
    assert!(!out.status.success() || String::from_utf8_lossy(&out.stderr).contains("not usable"));
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Reference data not usable") || text.contains("blocked"),
        "{text}"
    );

    // A restart of the card process restores the counters from the state store.
    up.stop();
    support::wait_for_reader_state(false);
    let up = Up::start(&["--card", CARD, "--state", state.to_str().unwrap()]);
    up.wait_for_reader();
    tries("0");
    // The signature password's counter was untouched.
    let pins = run_ok("pkcs15-tool", &["--list-pins"]);
    let sign = pins.split("PIN [Digital Signature PIN]").nth(1).unwrap();
    assert!(sign.contains("Tries left     : 5"), "{pins}");
    up.stop();
}

#[test]
fn jpki_cli_reads_both_certificates_reports_retries_and_signs() {
    let Some(_reader) = pcsc_session("jpki-cli") else {
        return;
    };
    let Some(cli) = jpki_cli() else {
        assert!(
            !support::pcsc_required(),
            "JPKI_SIM_REQUIRE_PCSC is set but jpki-cli is not installed"
        );
        eprintln!("jpki-cli not installed: skipped");
        return;
    };
    let cli = cli.to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let up = Up::start(&["--card", CARD, "--state", state.to_str().unwrap()]);
    up.wait_for_reader();
    let view = card_view(&up);
    let d = dir.path().to_str().unwrap();
    let timeout = Duration::from_secs(30);

    // jpki-cli sends every APDU twice and exits 0 on errors: check its outputs, not its status.
    let auth_der = format!("{d}/auth.der");
    run_in_pty(
        &format!("{cli} crypto --auth read-certificate > {auth_der}"),
        &[],
        timeout,
    );
    let auth_pem = run_ok("openssl", &["x509", "-inform", "DER", "-in", &auth_der]);
    assert_eq!(
        auth_pem.trim(),
        view["certificates"]["auth"]["pem"].as_str().unwrap().trim()
    );

    let ca_der = format!("{d}/auth-ca.der");
    run_in_pty(
        &format!("{cli} crypto --auth --ca read-certificate > {ca_der}"),
        &[],
        timeout,
    );
    let (_, published_ca) = http("GET", &format!("{}/ca/auth.der", up.url), b"");
    assert_eq!(std::fs::read(&ca_der).unwrap(), published_ca);

    // The signature certificate: jpki-cli asks for the password first.
    let sign_der = format!("{d}/sign.der");
    run_in_pty(
        &format!("{cli} crypto read-certificate > {sign_der}"),
        &[("pin_hint", b"ABC123\r")],
        timeout,
    );
    let sign_pem = run_ok("openssl", &["x509", "-inform", "DER", "-in", &sign_der]);
    assert_eq!(
        sign_pem.trim(),
        view["certificates"]["sign"]["pem"].as_str().unwrap().trim()
    );

    let stat = run_in_pty(&format!("{cli} crypto --auth stat"), &[], timeout);
    assert_eq!(stat.trim(), "3", "auth retries: {stat:?}");
    let stat = run_in_pty(&format!("{cli} crypto stat"), &[], timeout);
    assert_eq!(stat.trim(), "5", "sign retries: {stat:?}");

    // Sign: the document is typed on the terminal up to EOF (^D), then the PIN.
    let signature = format!("{d}/doc.sig");
    run_in_pty(
        &format!("{cli} crypto --auth sign {signature}"),
        &[
            ("", b"jpki-sim document\n"),
            ("", b"\x04"),
            ("pin_hint", b"1234\r"),
        ],
        timeout,
    );
    let document = write(dir.path(), "doc.txt", b"jpki-sim document\n");
    let public_key = format!("{d}/auth.pub");
    run_ok(
        "openssl",
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            &auth_der,
            "-pubkey",
            "-noout",
            "-out",
            &public_key,
        ],
    );
    // jpki-cli signs a SHA-1 DigestInfo.
    let verdict = run_ok(
        "openssl",
        &[
            "dgst",
            "-sha1",
            "-verify",
            &public_key,
            "-signature",
            &signature,
            &document,
        ],
    );
    assert!(verdict.contains("Verified OK"), "{verdict}");
    up.stop();
}

#[test]
fn several_cards_sit_in_several_readers_each_with_its_own_certificate() {
    let Some(_reader) = pcsc_session("several-cards") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cards = [
        "felica:0123456789ABCDEF",
        "typea:04A1B2C3",
        "typea:04A1B2C3D4E5F6",
    ];
    let up = Up::start(&[
        "--card",
        cards[0],
        "--card",
        cards[1],
        "--card",
        cards[2],
        "--state",
        state.to_str().unwrap(),
    ]);
    up.wait_for_reader();
    // Card i is on vpcd port 35963+i: readers "Virtual PCD 00 00", "Virtual PCD 00 01" and, through
    // the copied driver of the second reader stanza, "Virtual PCD B 00 00".
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let readers = run_ok("opensc-tool", &["-l"]);
        let present = readers.lines().filter(|l| l.contains("Yes")).count();
        if present >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every card appeared:\n{readers}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (reader, card) in cards.iter().enumerate() {
        let (status, body) = http("GET", &format!("{}/admin/v1/cards/{card}", up.url), b"");
        assert_eq!(status, 200);
        let view: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let serial = view["certificates"]["auth"]["serial"]
            .as_str()
            .unwrap()
            .to_owned();
        let listing = run_ok(
            "pkcs15-tool",
            &["--reader", &reader.to_string(), "--list-certificates"],
        );
        assert!(
            listing.contains(&serial),
            "reader {reader} should hold {card} ({serial}):\n{listing}"
        );
    }
    up.stop();
}
