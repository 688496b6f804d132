//! Writes the generation-1 authentication CA as OpenSSL files, so that `openssl ca -gencrl` and
//! `openssl ocsp -index` sign as the very CA `jpki-sim up` serves (same name, same key):
//!
//! `cargo run --release -p jpki-sim-benches --example ca_key -- DIR [BASE_URL]`
//!
//! writes `DIR/ca.pem` (the CA certificate; its CRL distribution point names BASE_URL, default
//! `http://127.0.0.1:8700`, which changes neither the name nor the key) and `DIR/ca.key.der`
//! (the private key, PKCS#8 DER; `openssl pkey -inform DER` turns it into PEM). The key is
//! derived from its seed (`KeySeed::for_authority`), as the simulator derives it.

use std::path::PathBuf;

use mock_ca::{CaKeyRole, CertificateAuthority, Hierarchy, KeySeed};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: ca_key DIR [BASE_URL]")?);
    let base_url = args
        .next()
        .map(|url| url.into_string().map_err(|_| "BASE_URL is not UTF-8"))
        .transpose()?
        .unwrap_or_else(|| "http://127.0.0.1:8700".to_owned());
    let key = KeySeed::for_authority(1, CaKeyRole::AuthCa).derive_key()?;
    let ca = CertificateAuthority::from_key(Hierarchy::Auth, 1, &base_url, &key)?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("ca.pem"), ca.certificate_pem())?;
    std::fs::write(dir.join("ca.key.der"), key.pkcs8_der())?;
    eprintln!("wrote {0}/ca.pem and {0}/ca.key.der", dir.display());
    Ok(())
}
