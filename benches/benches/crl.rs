//! CRL encoding and signing in process: `mock_ca::crl::build_crl` of the authentication CA's full
//! list with 10k and 100k revoked entries (criterion reports entries/s). The 1M-entry list, and
//! the comparison with `openssl ca -gencrl`, are in the `crl_scale` example and
//! `benches/compare-revocation.sh`.
//!
//! `cargo bench -p jpki-sim-benches --bench crl`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jpki_sim_benches::revocation::{full_crl_request, revoked_entries};
use mock_ca::crl::build_crl;
use mock_ca::{CertificateAuthority, Hierarchy};

fn crl(c: &mut Criterion) {
    // Derives the CA key from its seed: set-up, not timed.
    let ca = CertificateAuthority::new(Hierarchy::Auth, 1, "http://127.0.0.1:8700")
        .expect("authentication CA");
    let request = full_crl_request();

    let mut group = c.benchmark_group("crl");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [10_000u32, 100_000] {
        let entries = revoked_entries(n);
        let der = build_crl(&ca, &request, &entries).expect("CRL");
        // 8-byte serials, UTCTime, reasonCode: 35 bytes per entry.
        assert!(der.len() > 35 * n as usize, "{} bytes", der.len());
        group.throughput(Throughput::Elements(n.into()));
        group.bench_with_input(BenchmarkId::new("build", n), &entries, |b, entries| {
            b.iter(|| black_box(build_crl(&ca, &request, black_box(entries)).expect("CRL")))
        });
    }
    group.finish();
}

criterion_group!(benches, crl);
criterion_main!(benches);
