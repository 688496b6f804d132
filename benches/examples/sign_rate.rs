//! Signature APDUs per second on one thread, over a fixed time: the figure `compare.sh` puts next
//! to `openssl speed -seconds 5 rsa2048` (one process, one thread, the same RSA-2048 private-key
//! operation behind a full APDU parse, access check and padding).
//!
//! `cargo run --release -p jpki-sim-benches --example sign_rate -- [SECONDS]` (default 5)
//!
//! It also times aws-lc-rs `RsaKeyPair::sign` (RSA PKCS#1 v1.5 SHA-256) with the same key, to
//! tell the card's own overhead from the library's distance to OpenSSL.
//!
//! Each rate is given per second of wall-clock time and per second of the thread's user CPU time;
//! `openssl speed` divides by user CPU time unless given `-elapsed`, so on a busy machine only the
//! CPU-time figures compare fairly with it. Prints human lines on stderr, and on stdout
//! `sign_apdus_per_second`, `sign_apdus_per_cpu_second`, `aws_lc_rs_signs_per_second` and
//! `aws_lc_rs_signs_per_cpu_second`, each followed by its value.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use jpki_sim_benches::apdu::{self, AUTH_PIN, EF_AUTH_KEY, EF_AUTH_PIN, SHA256_ABC};
use sim_card::testing::{self, TestKey};

/// User CPU time of the calling thread.
fn thread_user_time() -> Duration {
    // SAFETY: getrusage(2) fills the zero-initialised struct we pass it.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(
            libc::getrusage(libc::RUSAGE_THREAD, &mut usage),
            0,
            "getrusage"
        );
        usage
    };
    Duration::from_secs(usage.ru_utime.tv_sec as u64)
        + Duration::from_micros(usage.ru_utime.tv_usec as u64)
}

/// Operations per second of wall-clock time and per second of user CPU time (what `openssl
/// speed` divides by unless given `-elapsed`), and the count.
struct Rate {
    wall: f64,
    cpu: f64,
    count: u64,
}

/// Calls `op` for `limit` of wall-clock time after a 0.5 s warm-up.
fn rate(limit: Duration, mut op: impl FnMut()) -> Rate {
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(500) {
        op();
    }
    // The clock is read every 16 operations.
    let started = Instant::now();
    let cpu_started = thread_user_time();
    let mut count = 0u64;
    let elapsed = loop {
        for _ in 0..16 {
            op();
        }
        count += 16;
        let elapsed = started.elapsed();
        if elapsed >= limit {
            break elapsed;
        }
    };
    let cpu = thread_user_time() - cpu_started;
    Rate {
        wall: count as f64 / elapsed.as_secs_f64(),
        cpu: count as f64 / cpu.as_secs_f64().max(1e-9),
        count,
    }
}

fn main() {
    let seconds: f64 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .unwrap_or_else(|| {
                eprintln!("usage: sign_rate [SECONDS > 0]");
                std::process::exit(2)
            }),
        None => 5.0,
    };
    let mut card = testing::card();
    apdu::expect_ok("SELECT AP", &card.transmit(&apdu::select_jpki_ap()));
    apdu::expect_ok("SELECT 0018", &card.transmit(&apdu::select_ef(EF_AUTH_PIN)));
    apdu::expect_ok("VERIFY", &card.transmit(&apdu::verify(AUTH_PIN)));
    apdu::expect_ok("SELECT 0017", &card.transmit(&apdu::select_ef(EF_AUTH_KEY)));
    let sign = apdu::sign_sha256(&SHA256_ABC);
    let response = card.transmit(&sign);
    assert_eq!(
        apdu::expect_ok("COMPUTE DIGITAL SIGNATURE", &response).len(),
        256
    );

    let limit = Duration::from_secs_f64(seconds);
    let card_rate = rate(limit, || {
        let response = card.transmit(black_box(&sign));
        debug_assert_eq!(apdu::status(&response), 0x9000);
        black_box(response);
    });
    eprintln!(
        "{} signature APDUs (80 2A 00 80, RSA-2048, SHA-256 DigestInfo) in {seconds} s: \
         {:.1}/s wall clock, {:.1}/s of user CPU",
        card_rate.count, card_rate.wall, card_rate.cpu
    );

    let key = RsaKeyPair::from_pkcs8(testing::key_pkcs8(TestKey::JpkiAuth)).expect("test key");
    let rng = SystemRandom::new();
    let mut signature = vec![0u8; key.public_modulus_len()];
    let library_rate = rate(limit, || {
        key.sign(&RSA_PKCS1_SHA256, &rng, black_box(b"abc"), &mut signature)
            .expect("sign");
        black_box(&signature);
    });
    eprintln!(
        "{} aws-lc-rs RsaKeyPair::sign (RSA_PKCS1_SHA256, same key) in {seconds} s: \
         {:.1}/s wall clock, {:.1}/s of user CPU",
        library_rate.count, library_rate.wall, library_rate.cpu
    );
    println!("sign_apdus_per_second {:.1}", card_rate.wall);
    println!("sign_apdus_per_cpu_second {:.1}", card_rate.cpu);
    println!("aws_lc_rs_signs_per_second {:.1}", library_rate.wall);
    println!("aws_lc_rs_signs_per_cpu_second {:.1}", library_rate.cpu);
}
