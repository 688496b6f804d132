//! Third-party SDKs under test through the real PC/SC stack: `jpki-sim run --pcsc` over the
//! whole suite with OpenSC's tools (`harness/adapters/opensc.py`) and jpki-cli
//! (`harness/adapters/jpki_cli.py`) playing the SDK, each judged by its expectations file. The
//! run must be as expected, every listed divergence must show up as one, exactly the
//! scenarios needing SDK features the adapter lacks are skipped, and exactly those without an
//! `sdk` step (the reference PF plays them all) are not exercised; an adapter that broke,
//! skipped silently or stopped diverging changes those and fails the test.
//!
//! The readers are leased by the `jpki-sim run` child itself (the same per-reader locks the
//! other PC/SC tests take), so this test holds none. Skips without pcscd unless
//! JPKI_SIM_REQUIRE_PCSC is set (CI sets it).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use conformance::runner::Expectations;
use conformance::scenario::{load_suite, LoadedScenario};
use vocab::Role;

/// One run at a time: every scenario with SDK steps needs the first reader, so two runs at once
/// would only wait for each other.
static READERS: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One bundled SDK adapter, as the test runs it.
struct Adapter {
    /// The script under `harness/adapters/`.
    script: &'static str,
    /// Its expectations file under `harness/adapters/expectations/`.
    expectations: &'static str,
    /// What its hello must claim: a change here is a change of the adapter.
    features: &'static [&'static str],
}

const OPENSC: Adapter = Adapter {
    script: "opensc.py",
    expectations: "opensc.yaml",
    features: &["card_removal", "pcsc", "sign_key"],
};

const JPKI_CLI: Adapter = Adapter {
    script: "jpki_cli.py",
    expectations: "jpki-cli.yaml",
    features: &["card_removal", "pcsc", "sign_key", "text_ap"],
};

impl Adapter {
    fn script(&self) -> PathBuf {
        root().join("harness/adapters").join(self.script)
    }

    fn expectations(&self) -> PathBuf {
        root()
            .join("harness/adapters/expectations")
            .join(self.expectations)
    }

    /// The features the adapter's hello claims (it needs no reader to say hello).
    fn hello_features(&self, envs: &[(&str, &Path)]) -> BTreeSet<String> {
        let mut child = Command::new("python3")
            .arg(self.script())
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let hello = serde_json::json!({
            "type": "hello", "version": 1, "role": "sdk",
            "environment": {
                "base_url": "http://127.0.0.1:9", "ca_url": "", "crl_url": "", "ocsp_url": "",
                "jlis_url": "", "sign_ca_pem": "", "auth_ca_pem": "",
                "cards": [{"index": 0, "id": "felica:0123456789ABCDEF",
                           "bridge": "http://127.0.0.1:9/cards/0/apdu",
                           "reader": "Virtual PCD 00 00"}]
            }
        });
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{hello}").unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        writeln!(stdin, r#"{{"type":"bye"}}"#).unwrap();
        drop(stdin);
        assert!(child.wait().unwrap().success(), "{}: {line}", self.script);
        let answer: serde_json::Value = serde_json::from_str(&line).expect(&line);
        assert_eq!(answer["type"], "hello", "{answer}");
        answer["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    }

    /// Runs the suite against the adapter in the PC/SC readers and checks every outcome.
    fn passes_the_suite_but_for_its_known_divergences(&self, envs: &[(&str, &Path)]) {
        let features = self.hello_features(envs);
        assert_eq!(
            features,
            self.features.iter().map(|f| f.to_string()).collect(),
            "{} claims other features",
            self.script
        );
        let suite = load_suite(&root().join("scenarios")).expect("the suite loads");
        let expectations = Expectations::load(&self.expectations()).unwrap();
        // Scenarios needing an SDK feature the adapter lacks are skipped; PF steps stay with the
        // reference PF, which has every PF feature. Scenarios without an SDK step ask the
        // adapter nothing: not exercised, never a pass.
        let expected = support::ExpectedRun::of(&suite, Role::Sdk, &features, &expectations);
        let in_readers = ids(suite.iter().filter(|s| {
            s.scenario
                .steps
                .iter()
                .any(|step| matches!(step, conformance::scenario::model::Step::Sdk(_)))
        }));

        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut command = Command::new(env!("CARGO_BIN_EXE_jpki-sim"));
        command
            .current_dir(root())
            .envs(envs.iter().copied())
            .args(["run", "scenarios", "--pcsc", "--sut"])
            .arg(format!("sdk=python3 {}", self.script().display()))
            .arg("--expectations")
            .arg(self.expectations())
            .arg("--json")
            .arg(&json)
            .arg("--key-cache")
            .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("third-party-keys.sqlite"));
        let (results, _) = expected.check(command, &json);
        // Each divergence happened with the cards in PC/SC readers, not over the bridge.
        for result in results
            .iter()
            .filter(|r| r["outcome"] == "known_divergence")
        {
            let id = result["id"].as_str().unwrap();
            if !in_readers.contains(id) {
                continue;
            }
            let trace = result["trace"].as_array().unwrap();
            assert!(
                trace.iter().any(|e| e["kind"] == "world"
                    && e["action"]
                        .as_str()
                        .is_some_and(|a| a.starts_with("card 0 in reader \"Virtual PCD"))),
                "{id}: no card went into a reader: {trace:?}"
            );
        }
        assert!(results
            .iter()
            .all(|r| r["adapter"] == expectations.adapter.as_str()));
    }
}

fn ids<'a>(scenarios: impl Iterator<Item = &'a LoadedScenario>) -> BTreeSet<String> {
    scenarios.map(|s| s.id.to_string()).collect()
}

/// Whether `program` runs at all; a skip (or, when PC/SC is required, a failure) otherwise.
fn installed(test: &str, program: &str, args: &[&str]) -> bool {
    let runs = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !runs {
        assert!(
            !support::pcsc_required(),
            "{test}: JPKI_SIM_REQUIRE_PCSC is set but {program} is not installed"
        );
        eprintln!("{test}: skipped: {program} is not installed");
    }
    runs
}

#[test]
fn opensc_in_pcsc_readers_diverges_only_where_its_expectations_say() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    let test = "opensc";
    if !support::pcsc_available(test)
        || !installed(test, "python3", &["--version"])
        || !installed(test, "pkcs15-tool", &["--version"])
        || !installed(test, "pkcs11-tool", &["--help"])
    {
        return;
    }
    OPENSC.passes_the_suite_but_for_its_known_divergences(&[]);
}

#[test]
fn jpki_cli_in_pcsc_readers_diverges_only_where_its_expectations_say() {
    let _readers = READERS.lock().unwrap_or_else(|e| e.into_inner());
    let test = "jpki-cli";
    if !support::pcsc_available(test) || !installed(test, "python3", &["--version"]) {
        return;
    }
    let Some(cli) = support::jpki_cli() else {
        assert!(
            !support::pcsc_required(),
            "{test}: JPKI_SIM_REQUIRE_PCSC is set but jpki-cli is not installed (JPKI_CLI)"
        );
        eprintln!("{test}: skipped: jpki-cli is not installed (set JPKI_CLI)");
        return;
    };
    JPKI_CLI.passes_the_suite_but_for_its_known_divergences(&[("JPKI_CLI", &cli)]);
}
