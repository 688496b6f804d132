//! Full PC/SC round trips: this process → libpcsclite → pcscd → vpcd → TCP → `jpki-sim up`.
//!
//! - `pcsc/transaction`: what a JPKI authentication client does per login: SCardConnect,
//!   SELECT the JPKI AP, SELECT `000A`, READ BINARY the whole authentication certificate in
//!   256-byte chunks, SELECT `0018` + VERIFY `1234`, SELECT `0017`, COMPUTE DIGITAL SIGNATURE over
//!   a SHA-256 DigestInfo, SCardDisconnect (leave card).
//! - `pcsc/connect_disconnect`: SCardConnect + SCardDisconnect (leave card) alone, the fixed cost
//!   of a transaction.
//! - `pcsc/select_ap_round_trip`: one SELECT of the JPKI AP on a connected card.
//!
//! Needs pcscd with vpcd listening on 35963 ("Virtual PCD 00 00"; `scripts/pcscd.sh start`) and a
//! built `jpki-sim` (`cargo build --release -p jpki-sim`). Without a vpcd listener, or with another
//! card already attached to that reader, it prints why and measures nothing.
//!
//! `cargo bench -p jpki-sim-benches --bench pcsc`

use std::ffi::{CStr, CString};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jpki_sim_benches::apdu::{self, AUTH_PIN, EF_AUTH_CERT, EF_AUTH_KEY, EF_AUTH_PIN, SHA256_ABC};
use jpki_sim_benches::up::{self, Up, VPCD_PORT, VPCD_READER};
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode, MAX_BUFFER_SIZE};

const CARD: &str = "felica:0123456789ABCDEF";

/// One APDU; panics unless the card answers `90 00`. Returns the response data length.
fn send(card: &pcsc::Card, what: &str, command: &[u8], buf: &mut [u8]) -> usize {
    let response = card
        .transmit(command, buf)
        .unwrap_or_else(|e| panic!("{what}: SCardTransmit failed: {e}"));
    apdu::expect_ok(what, response).len()
}

/// What one transaction read and signed, for the sanity check before measuring.
struct Outcome {
    certificate_len: usize,
    read_binaries: usize,
    signature_len: usize,
}

fn transaction(ctx: &Context, reader: &CStr, buf: &mut [u8]) -> Outcome {
    let card = ctx
        .connect(reader, ShareMode::Shared, Protocols::ANY)
        .unwrap_or_else(|e| panic!("SCardConnect: {e}"));
    send(&card, "SELECT AP", &apdu::select_jpki_ap(), buf);
    send(&card, "SELECT 000A", &apdu::select_ef(EF_AUTH_CERT), buf);

    // The first chunk carries the DER header, which gives the certificate's length.
    let response = card
        .transmit(&apdu::read_binary(0, 256), buf)
        .unwrap_or_else(|e| panic!("READ BINARY: SCardTransmit failed: {e}"));
    let first = apdu::expect_ok("READ BINARY", response);
    let certificate_len = apdu::der_length(first).expect("a DER certificate in 000A");
    let mut offset = first.len();
    let mut read_binaries = 1;
    while offset < certificate_len {
        let len = (certificate_len - offset).min(256);
        let offset16 = u16::try_from(offset).expect("certificate under 32 KiB");
        let got = send(&card, "READ BINARY", &apdu::read_binary(offset16, len), buf);
        assert_eq!(got, len, "short READ BINARY at offset {offset}");
        offset += got;
        read_binaries += 1;
    }

    send(&card, "SELECT 0018", &apdu::select_ef(EF_AUTH_PIN), buf);
    send(&card, "VERIFY", &apdu::verify(AUTH_PIN), buf);
    send(&card, "SELECT 0017", &apdu::select_ef(EF_AUTH_KEY), buf);
    let signature_len = send(
        &card,
        "COMPUTE DIGITAL SIGNATURE",
        &apdu::sign_sha256(&SHA256_ABC),
        buf,
    );
    card.disconnect(Disposition::LeaveCard)
        .unwrap_or_else(|(_, e)| panic!("SCardDisconnect: {e}"));
    Outcome {
        certificate_len,
        read_binaries,
        signature_len,
    }
}

/// Waits until the reader has our card (pcscd polls vpcd readers every 400 ms).
fn wait_for_card(ctx: &Context, reader: &CStr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ctx.connect(reader, ShareMode::Shared, Protocols::ANY) {
            Ok(card) => {
                let _ = card.disconnect(Disposition::LeaveCard);
                return Ok(());
            }
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "no card in {VPCD_READER} 20 s after jpki-sim was ready (last error: {e})"
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn pcsc_round_trips(c: &mut Criterion) {
    if !up::vpcd_listening(VPCD_PORT) {
        eprintln!(
            "pcsc: skipped: no vpcd listener on port {VPCD_PORT} (start pcscd with scripts/pcscd.sh start)"
        );
        return;
    }
    if up::vpcd_in_use(VPCD_PORT) {
        eprintln!(
            "pcsc: skipped: another virtual card is attached to {VPCD_READER} (port {VPCD_PORT}); \
             stop it and re-run"
        );
        return;
    }
    let binary = up::locate_binary().unwrap_or_else(|e| panic!("pcsc: {e}"));
    let server = Up::start(&binary, CARD, VPCD_PORT).unwrap_or_else(|e| panic!("pcsc: {e}"));
    let ctx = Context::establish(Scope::User)
        .unwrap_or_else(|e| panic!("pcsc: SCardEstablishContext: {e}"));
    let reader = CString::new(VPCD_READER).expect("no NUL in the reader name");
    wait_for_card(&ctx, &reader).unwrap_or_else(|e| panic!("pcsc: {e}"));

    let mut buf = [0u8; MAX_BUFFER_SIZE];
    let outcome = transaction(&ctx, &reader, &mut buf);
    assert_eq!(outcome.signature_len, 256, "an RSA-2048 signature");
    eprintln!(
        "pcsc: {} via {} ({}): one transaction = {} APDUs ({}-byte certificate in {} READ BINARYs)",
        CARD,
        VPCD_READER,
        binary.display(),
        outcome.read_binaries + 6,
        outcome.certificate_len,
        outcome.read_binaries,
    );

    let mut group = c.benchmark_group("pcsc");
    group
        .throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("transaction", |b| {
        b.iter(|| black_box(transaction(&ctx, &reader, &mut buf)))
    });

    group.bench_function("connect_disconnect", |b| {
        b.iter(|| {
            ctx.connect(&reader, ShareMode::Shared, Protocols::ANY)
                .unwrap_or_else(|e| panic!("SCardConnect: {e}"))
                .disconnect(Disposition::LeaveCard)
                .unwrap_or_else(|(_, e)| panic!("SCardDisconnect: {e}"))
        })
    });

    let card = ctx
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .unwrap_or_else(|e| panic!("pcsc: SCardConnect: {e}"));
    let select_ap = apdu::select_jpki_ap();
    group.bench_function("select_ap_round_trip", |b| {
        b.iter(|| black_box(send(&card, "SELECT AP", &select_ap, &mut buf)))
    });
    group.finish();

    card.disconnect(Disposition::LeaveCard)
        .unwrap_or_else(|(_, e)| panic!("pcsc: SCardDisconnect: {e}"));
    drop(server);
}

criterion_group!(benches, pcsc_round_trips);
criterion_main!(benches);
