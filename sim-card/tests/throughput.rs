//! Signature throughput of the card, to compare with `openssl speed rsa2048` (the target is at
//! least 90% of OpenSSL's sign/s on the same core). Run with
//! `cargo test -p sim-card --release --test throughput -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use sim_card::testing;

#[test]
#[ignore = "measurement, not a check; run on a quiet machine"]
fn signature_apdus_per_second() {
    let mut card = testing::card();
    let hex = |s: &str| hex::decode(s.replace(' ', "")).unwrap();
    card.transmit(&hex("00 A4 04 0C 0A D392F000260100000001"));
    card.transmit(&hex("00 A4 02 0C 02 0018"));
    card.transmit(&hex("00 20 00 80 04 31323334"));
    card.transmit(&hex("00 A4 02 0C 02 0017"));
    let mut sign = hex("80 2A 00 80 33 3031300D060960864801650304020105000420");
    sign.extend_from_slice(&[0x42; 32]);
    sign.push(0x00);
    assert_eq!(card.transmit(&sign).len(), 258);
    let started = Instant::now();
    let mut count = 0u32;
    while started.elapsed() < Duration::from_secs(5) {
        let response = card.transmit(&sign);
        assert_eq!(response[256..], [0x90, 0x00]);
        count += 1;
    }
    let per_second = count as f64 / started.elapsed().as_secs_f64();
    println!("COMPUTE DIGITAL SIGNATURE: {per_second:.0} APDUs/s");
}
