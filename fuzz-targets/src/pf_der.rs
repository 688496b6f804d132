//! The DER the reference PF takes from outside — a certificate presented for enrolment, the
//! certificates presented with it, a CRL and an OCSP response it fetched — through the PF's own
//! checks (`ReferencePf::judge_*`), correct and with each mutant: refused or believed, never a
//! panic.
//!
//! Input: a selector byte (bits 0–1: enrolled certificate / presented intermediate / CRL / OCSP
//! response; bit 2: signature or authentication hierarchy; bits 3–7: which of the fixture
//! cards), a mutant byte (an index into `Mutant::ALL`, else the correct PF), two bytes of
//! minutes (signed) from the fixtures' time, then the DER. The fixtures (`fixtures/pf/`) are a
//! served world's CA certificates and three cards' certificates; the seeds are that world's
//! certificates, CRLs and OCSP responses (one card in good standing, one lost, one suspended),
//! asked with the nonce [`NONCE`].

use std::sync::OnceLock;

use reference::{Mutant, ReferencePf};
use time::{Duration, OffsetDateTime};
use vocab::{EnrolRequest, HashAlgorithm, KeyKind, PfEnvironment};

/// The nonce of the seeds' OCSP requests.
const NONCE: &[u8] = b"jpki-sim-fuzzing";
/// When the seeds were fetched (the world clock, a day after the revocations).
const FIXTURE_TIME: i64 = 1_796_328_000; // 2026-12-03T20:00:00Z

/// `(sign, auth)` certificates of the fixture cards.
const CARDS: [(&[u8], &[u8]); 3] = [
    (
        include_bytes!("../fixtures/pf/ee-main-sign.der"),
        include_bytes!("../fixtures/pf/ee-main-auth.der"),
    ),
    (
        include_bytes!("../fixtures/pf/ee-aa-sign.der"),
        include_bytes!("../fixtures/pf/ee-aa-auth.der"),
    ),
    (
        include_bytes!("../fixtures/pf/ee-bb-sign.der"),
        include_bytes!("../fixtures/pf/ee-bb-auth.der"),
    ),
];

/// The correct PF, then one per mutant, in `Mutant::ALL` order.
fn platforms() -> &'static [ReferencePf] {
    static PLATFORMS: OnceLock<Vec<ReferencePf>> = OnceLock::new();
    PLATFORMS.get_or_init(|| {
        let env = PfEnvironment {
            // Never asked: the judge functions do not talk to a server.
            base_url: "http://127.0.0.1:9".to_owned(),
            sign_ca_pem: include_str!("../fixtures/pf/ca-sign.pem").to_owned(),
            auth_ca_pem: include_str!("../fixtures/pf/ca-auth.pem").to_owned(),
            admin_token: None,
        };
        std::iter::once(None)
            .chain(Mutant::ALL.into_iter().map(Some))
            .map(|mutant| ReferencePf::with_mutant(env.clone(), mutant))
            .collect()
    })
}

/// One input.
pub fn run(bytes: &[u8]) {
    let [selector, mutant, hi, lo, der @ ..] = bytes else {
        return;
    };
    let platforms = platforms();
    let pf = platforms
        .get(*mutant as usize + 1)
        .filter(|_| (*mutant as usize) < Mutant::ALL.len())
        .unwrap_or(&platforms[0]);
    let key = if selector & 0x04 == 0 {
        KeyKind::Sign
    } else {
        KeyKind::Auth
    };
    let (sign, auth) = CARDS[(selector >> 3) as usize % CARDS.len()];
    let enrolled = match key {
        KeyKind::Sign => sign,
        KeyKind::Auth => auth,
    };
    let minutes = i16::from_be_bytes([*hi, *lo]);
    let now = OffsetDateTime::from_unix_timestamp(FIXTURE_TIME).expect("a valid instant")
        + Duration::minutes(minutes.into());
    let enrol = |certificate: &[u8], intermediates: Vec<Vec<u8>>| EnrolRequest {
        name: "fuzzed".to_owned(),
        key,
        certificate: certificate.to_vec(),
        intermediates,
        data: b"fuzzed".to_vec(),
        signature: vec![0; 256],
        hash: HashAlgorithm::Sha256,
    };
    match selector & 0x03 {
        0 => {
            let _ = pf.judge_enrolment(&enrol(der, Vec::new()), now);
        }
        1 => {
            let _ = pf.judge_enrolment(&enrol(enrolled, vec![der.to_vec()]), now);
        }
        2 => {
            let _ = pf.judge_crl(key, enrolled, der, now);
        }
        _ => {
            let _ = pf.judge_ocsp(key, enrolled, NONCE, der, now);
        }
    }
}
