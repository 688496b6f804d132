//! The conformance runner: loading the suite, and one scenario end to end.
//!
//! - `scenario/load_suite`: `load_suite("scenarios/")`, every YAML file read, parsed with
//!   positions, checked (ids, cards, steps), as `jpki-sim run` does before running anything.
//! - `scenario/run_auth_key_enrolment`: `run_suite` of `enrolment/auth_key_enrolment` with the
//!   reference SDK and PF: a fresh world (its server on a loopback port, the card provisioned from
//!   a warm key cache), the card signing through the reference SDK, the PF enrolling (signature,
//!   chain, OCSP) then checking OCSP and CRL status and resolving the J-LIS user over HTTP, and
//!   the world torn down. The key cache is filled by one untimed run first.
//!
//! `cargo bench -p jpki-sim-benches --bench scenario`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use conformance::runner::{run_suite, Outcome, RunConfig};
use conformance::scenario::{load_file, load_suite};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

/// The representative scenario: SDK signature, PF enrolment, OCSP, CRL and linkage.
const SCENARIO: &str = "enrolment/auth_key_enrolment";

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scenario(c: &mut Criterion) {
    let root = suite_dir();
    // Criterion's defaults, or the command line's --warm-up-time and --measurement-time.
    let mut group = c.benchmark_group("scenario");

    let count = load_suite(&root)
        .unwrap_or_else(|errors| panic!("scenario: the suite does not load: {errors:?}"))
        .len();
    eprintln!("scenario: {count} scenarios under {}", root.display());
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("load_suite", |b| {
        b.iter(|| load_suite(black_box(&root)).map(|suite| suite.len()))
    });

    let loaded = load_file(&root.join(format!("{SCENARIO}.yaml")), &root)
        .unwrap_or_else(|err| panic!("scenario: {SCENARIO}: {err}"));
    let one = std::slice::from_ref(&loaded);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-scenario-keys.sqlite");
    let mut config = RunConfig::reference();
    config.key_cache = Some(cache);
    config.jobs = 1;
    let run = || {
        let results = run_suite(one, &config).unwrap_or_else(|err| panic!("scenario: {err}"));
        assert_eq!(
            results[0].outcome,
            Outcome::Pass,
            "scenario: {SCENARIO}: {}",
            results[0].summary()
        );
    };
    run(); // fills the key cache
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat);
    group.bench_function("run_auth_key_enrolment", |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, scenario);
criterion_main!(benches);
