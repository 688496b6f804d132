//! `jpki-sim run --listen`: scenario worlds and APDU bridges served on another address, reached
//! by the advertised host, behind the admin token that adapters are given in `hello`.

use std::path::{Path, PathBuf};
use std::process::Output;

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-listen-keys.sqlite")
}

fn jpki_sim() -> &'static str {
    env!("CARGO_BIN_EXE_jpki-sim")
}

/// `jpki-sim run ARGS` in the repository's suite, with the shared key cache.
fn run(args: &[&str]) -> Output {
    let cache = key_cache();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut all = vec!["run", "--key-cache", cache.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut command = std::process::Command::new(jpki_sim());
    command
        .args(&all)
        .env("JPKI_SIM_SCENARIOS", &suite)
        .env_remove("JPKI_SIM_ADMIN_TOKEN");
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.wait_with_output().unwrap()
}

/// [`run`] on every interface, advertised as loopback, behind a token.
fn run_exposed(args: &[&str]) -> Output {
    let mut all = vec![
        "--listen",
        "0.0.0.0",
        "--advertise",
        "127.0.0.1",
        "--admin-token",
        "s3cret-run-token",
    ];
    all.extend_from_slice(args);
    run(&all)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn off_loopback_needs_a_token_and_every_interface_a_host_before_anything_runs() {
    let cases: [(&[&str], &str); 4] = [
        (&["--listen", "0.0.0.0"], "needs an admin token"),
        (
            &["--listen", "0.0.0.0", "--admin-token", "t0ken"],
            "needs --advertise HOST",
        ),
        (
            &[
                "--listen",
                "0.0.0.0",
                "--advertise",
                "127.0.0.1",
                "--admin-token",
                " ",
            ],
            "the admin token is empty",
        ),
        (
            &[
                "--listen",
                "0.0.0.0",
                "--advertise",
                "a b",
                "--admin-token",
                "t",
            ],
            "is not a host name",
        ),
    ];
    for (args, message) in cases {
        let mut args = args.to_vec();
        args.push("card/auth_pin_lockout");
        let out = run(&args);
        let text = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(message), "{args:?}: {text}");
        assert!(!text.contains("pass "), "{args:?} ran scenarios: {text}");
    }
}

#[test]
fn adapters_reach_worlds_and_bridges_served_on_every_interface_with_the_token() {
    let sdk = format!("sdk={} adapter ref-sdk", jpki_sim());
    let pf = format!("pf={} adapter ref-pf", jpki_sim());
    let out = run_exposed(&[
        "--sut",
        &sdk,
        "--sut",
        &pf,
        "card/auth_pin_lockout",
        "revocation/reason_override",
    ]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
}

/// An SDK adapter that forgets the token `hello` gave it is refused by the bridge: the bridge
/// off loopback is not open to whoever reaches the port.
#[test]
fn a_bridge_off_loopback_refuses_an_sdk_without_the_token() {
    // python3 is part of every machine the suite runs on (the bundled adapters need it).
    let python = "python3";
    let dir = tempfile::tempdir().unwrap();
    let forgetful = dir.path().join("forgetful.py");
    std::fs::write(
        &forgetful,
        "import json, subprocess, sys\n\
         child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, text=True)\n\
         for line in sys.stdin:\n\
         \x20   message = json.loads(line)\n\
         \x20   if message.get('type') == 'hello':\n\
         \x20       message['environment'].pop('admin_token', None)\n\
         \x20   child.stdin.write(json.dumps(message) + '\\n')\n\
         \x20   child.stdin.flush()\n\
         child.stdin.close()\n\
         sys.exit(child.wait())\n",
    )
    .unwrap();
    let sdk = format!(
        "sdk={python} {} {} adapter ref-sdk",
        forgetful.display(),
        jpki_sim()
    );
    let out = run_exposed(&["--sut", &sdk, "card/auth_pin_lockout"]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("401"), "{text}");
}
