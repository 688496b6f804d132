//! Builds full CRLs of the authentication CA with 10k, 100k and 1M revoked entries (or the sizes
//! given) and prints what each step took: the figure `compare-revocation.sh` puts next to
//! `openssl ca -gencrl` over an `index.txt` with the same entries (`jpki_sim_benches::revocation`
//! says which). Run one size per process to read its peak memory from `/usr/bin/time -v`.
//!
//! `cargo run --release -p jpki-sim-benches --example crl_scale -- [--key CA_KEY.der] [--out FILE] [N...]`
//!
//! * `--key`: the CA key as PKCS#8 DER (what the `ca_key` example writes); without it the key is
//!   derived from its seed, which costs a deterministic RSA key generation;
//! * `--out`: build the PEM form (`build_crl_pem`) and write it to FILE, as `openssl ca -gencrl
//!   -out crl.pem` does; without it the DER is built (`build_crl`) and dropped.
//!
//! Prints one line per size on stdout:
//! `crl entries=N key_seconds=… ca_seconds=… entries_seconds=… build_seconds=… write_seconds=…
//! bytes=…` (`key_seconds` reads or derives the CA key, `ca_seconds` builds the
//! `CertificateAuthority` from it, `entries_seconds` fills the `Vec<RevokedEntry>`,
//! `build_seconds` encodes and signs).

use std::path::PathBuf;
use std::time::Instant;

use jpki_sim_benches::revocation::{full_crl_request, revoked_entries};
use mock_ca::crl::{build_crl, build_crl_pem};
use mock_ca::{CaKeyRole, CertificateAuthority, Hierarchy, KeyMaterial, KeySeed};

const DEFAULT_SIZES: [u32; 3] = [10_000, 100_000, 1_000_000];
const BASE_URL: &str = "http://127.0.0.1:8700";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut key_file = None;
    let mut out = None;
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--key" => key_file = Some(PathBuf::from(args.next().ok_or("--key needs a file")?)),
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a file")?)),
            n => sizes.push(
                n.replace(['_', ','], "")
                    .parse::<u32>()
                    .map_err(|_| format!("not an entry count: {n}"))?,
            ),
        }
    }
    if sizes.is_empty() {
        sizes.extend(DEFAULT_SIZES);
    }

    let started = Instant::now();
    let key = match &key_file {
        Some(path) => KeyMaterial::from_pkcs8_der(&std::fs::read(path)?)?,
        None => KeySeed::for_authority(1, CaKeyRole::AuthCa).derive_key()?,
    };
    let key_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let ca = CertificateAuthority::from_key(Hierarchy::Auth, 1, BASE_URL, &key)?;
    let ca_seconds = started.elapsed().as_secs_f64();
    let request = full_crl_request();

    for n in sizes {
        let started = Instant::now();
        let entries = revoked_entries(n);
        let entries_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let (bytes, build_seconds, write_seconds) = match &out {
            Some(path) => {
                let pem = build_crl_pem(&ca, &request, &entries)?;
                let build_seconds = started.elapsed().as_secs_f64();
                let started = Instant::now();
                std::fs::write(path, &pem)?;
                (pem.len(), build_seconds, started.elapsed().as_secs_f64())
            }
            None => {
                let der = build_crl(&ca, &request, &entries)?;
                (der.len(), started.elapsed().as_secs_f64(), 0.0)
            }
        };
        drop(entries);
        println!(
            "crl entries={n} key_seconds={key_seconds:.4} ca_seconds={ca_seconds:.4} \
             entries_seconds={entries_seconds:.4} \
             build_seconds={build_seconds:.4} write_seconds={write_seconds:.4} bytes={bytes}"
        );
    }
    Ok(())
}
