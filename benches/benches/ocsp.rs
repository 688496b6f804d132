//! The OCSP responder in process, one request per iteration (criterion reports responses/s):
//!
//! * `ocsp/cache_hit`: `OcspCache::respond` to a parsed single-CertID request without a nonce,
//!   answered from the cache (what every request after the first of a 15-minute window costs);
//! * `ocsp/cache_hit_from_der`: the same with `OcspRequest::from_der` of the POST body first;
//! * `ocsp/nonce_signed_from_der`: a request with a nonce, parsed, then answered through the same
//!   `OcspCache::respond`, which signs it (RSA-2048, the delegated responder key) every time.
//!
//! The responder is the delegated one `jpki-sim up` uses by default (its certificate is sent in
//! every response). No HTTP: `benches/compare-revocation.sh` drives `POST /ocsp` with wrk.
//!
//! `cargo bench -p jpki-sim-benches --bench ocsp`

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jpki_sim_benches::revocation::{ocsp_request_der, ocsp_successful};
use mock_ca::ocsp::{
    CertStatus, OcspCache, OcspRequest, OcspResponder, OcspWindow, ResponderCertificate,
    ResponderSigner, REFRESH_PERIOD,
};
use mock_ca::{CaKeyRole, CertificateAuthority, Hierarchy, KeySeed, Serial};
use time::macros::datetime;

const CARD: &str = "felica:0123456789ABCDEF";

fn good(_: &Serial) -> CertStatus {
    CertStatus::Good
}

fn ocsp(c: &mut Criterion) {
    // Set-up, not timed: two key derivations and a certificate.
    let ca = CertificateAuthority::new(Hierarchy::Auth, 1, "http://127.0.0.1:8700")
        .expect("authentication CA");
    let key = KeySeed::for_authority(1, CaKeyRole::OcspResponder)
        .derive_key()
        .expect("responder key");
    let certificate = ResponderCertificate::issue(
        &ca,
        &key,
        datetime!(2024-07-01 00:00 UTC),
        datetime!(2025-07-01 00:00 UTC),
    )
    .expect("responder certificate");
    let responder = OcspResponder::new(&ca, ResponderSigner::Delegated { certificate, key })
        .expect("responder");
    let window =
        OcspWindow::containing(datetime!(2025-01-01 00:07:12 UTC), REFRESH_PERIOD).expect("window");

    let name_hash = digest(&SHA1_FOR_LEGACY_USE_ONLY, &ca.name_der());
    let serial = Serial::for_card(CARD, 1, Hierarchy::Auth).expect("card serial");
    let plain_der = ocsp_request_der(name_hash.as_ref(), ca.key_identifier(), &serial, None);
    let nonce_der = ocsp_request_der(
        name_hash.as_ref(),
        ca.key_identifier(),
        &serial,
        Some(&[0x5A; 16]),
    );
    let plain = OcspRequest::from_der(&plain_der).expect("request");
    assert!(responder.is_authoritative_for(&plain), "CertID of the CA");

    let cache = OcspCache::default();
    let first = cache.respond(&responder, &plain, &good, window);
    assert!(ocsp_successful(&first), "successful response");
    assert_eq!(cache.len(), 1, "the answer is cached");

    let mut group = c.benchmark_group("ocsp");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("cache_hit", |b| {
        b.iter(|| black_box(cache.respond(&responder, black_box(&plain), &good, window)))
    });

    group.bench_function("cache_hit_from_der", |b| {
        b.iter(|| {
            let request = OcspRequest::from_der(black_box(&plain_der)).expect("request");
            black_box(cache.respond(&responder, &request, &good, window))
        })
    });

    let signed = cache.respond(
        &responder,
        &OcspRequest::from_der(&nonce_der).expect("request"),
        &good,
        window,
    );
    assert!(ocsp_successful(&signed), "successful response");
    assert_eq!(cache.len(), 1, "answers to nonces are not cached");
    group.bench_function("nonce_signed_from_der", |b| {
        b.iter(|| {
            let request = OcspRequest::from_der(black_box(&nonce_der)).expect("request");
            black_box(cache.respond(&responder, &request, &good, window))
        })
    });

    group.finish();
}

criterion_group!(benches, ocsp);
criterion_main!(benches);
