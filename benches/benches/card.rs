//! APDU dispatch on an in-process card (`sim_card::testing::card()`), one APDU per iteration:
//! criterion reports APDUs/s. No transport: this is the card OS and the RSA signature alone.
//!
//! `cargo bench -p jpki-sim-benches --bench card`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jpki_sim_benches::apdu::{self, AUTH_PIN, EF_AUTH_CERT, EF_AUTH_KEY, EF_AUTH_PIN, SHA256_ABC};
use sim_card::{testing, Card};

/// A test card with the JPKI AP selected.
fn card_in_jpki_ap() -> Card {
    let mut card = testing::card();
    apdu::expect_ok("SELECT AP", &card.transmit(&apdu::select_jpki_ap()));
    card
}

fn apdus(c: &mut Criterion) {
    let mut group = c.benchmark_group("card");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // Re-selecting the selected AP keeps its state (docs/card.md): the same work every time.
    let mut card = card_in_jpki_ap();
    let select_ap = apdu::select_jpki_ap();
    group.bench_function("select_ap", |b| {
        b.iter(|| black_box(card.transmit(black_box(&select_ap))))
    });

    let select_cert = apdu::select_ef(EF_AUTH_CERT);
    group.bench_function("select_ef", |b| {
        b.iter(|| black_box(card.transmit(black_box(&select_cert))))
    });

    apdu::expect_ok("SELECT 000A", &card.transmit(&select_cert));
    let read = apdu::read_binary(0, 256);
    let response = card.transmit(&read);
    assert_eq!(apdu::expect_ok("READ BINARY", &response).len(), 256);
    group.bench_function("read_binary_256", |b| {
        b.iter(|| black_box(card.transmit(black_box(&read))))
    });

    apdu::expect_ok("SELECT 0018", &card.transmit(&apdu::select_ef(EF_AUTH_PIN)));
    apdu::expect_ok("VERIFY", &card.transmit(&apdu::verify(AUTH_PIN)));
    apdu::expect_ok("SELECT 0017", &card.transmit(&apdu::select_ef(EF_AUTH_KEY)));
    let sign = apdu::sign_sha256(&SHA256_ABC);
    let response = card.transmit(&sign);
    assert_eq!(
        apdu::expect_ok("COMPUTE DIGITAL SIGNATURE", &response).len(),
        256
    );
    group.bench_function("sign_sha256_digest_info", |b| {
        b.iter(|| black_box(card.transmit(black_box(&sign))))
    });

    group.finish();
}

criterion_group!(benches, apdus);
criterion_main!(benches);
