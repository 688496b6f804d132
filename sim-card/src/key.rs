//! The card's RSA-2048 private keys and the signature schemes of COMPUTE DIGITAL SIGNATURE
//! (docs/card-protocol.md §4.6) and INTERNAL AUTHENTICATE (§4.7).
//!
//! A [`CardKey`] is parsed once from the PKCS#8 in a [`crate::KeyImage`] when the card is built, and
//! signs with AWS-LC's raw RSA primitives: the card pads the caller's bytes itself (EMSA-PKCS1-v1_5
//! type 1, `00 01 FF.. 00 || T`), so no per-call parsing or hashing of a DigestInfo is needed.
//! These are simulator test keys; `Debug` still redacts them.

use std::collections::HashMap;
use std::fmt;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use aws_lc_sys as ffi;
use sha2::{Digest, Sha256};

/// Size of every signature the card produces (RSA-2048).
pub const SIGNATURE_LEN: usize = 256;

/// Largest T for PKCS#1 v1.5 type 1 with a 2048-bit modulus (256 - 11 bytes of padding).
pub const MAX_PKCS1_INPUT: usize = SIGNATURE_LEN - 11;

/// DER prefix of a SHA-256 DigestInfo ([`crate::layout::digest_info::SHA256`]).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = crate::layout::digest_info::SHA256;

/// The signature scheme (方式種別) selected by P1 of COMPUTE DIGITAL SIGNATURE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureScheme {
    /// P1 `00`: PKCS#1 v1.5 type 1 over the data as supplied (normally a DigestInfo), 1..=245 B.
    Pkcs1Raw,
    /// P1 `01`: the card SHA-256s the data and pads the bare 32-byte hash (no DigestInfo).
    Pkcs1BareSha256,
    /// P1 `02`: data is a 32-byte SHA-256 hash; the card wraps it in a DigestInfo.
    Pkcs1DigestInfoOfHash,
    /// P1 `03`: the card SHA-256s the data and wraps it in a DigestInfo (sha256WithRSA).
    Pkcs1DigestInfoOfData,
    /// P1 `04`: data is a 32-byte SHA-256 hash; RSASSA-PSS (MGF1-SHA-256, 32-byte salt).
    PssOfHash,
    /// P1 `05`: the card SHA-256s the data; RSASSA-PSS.
    PssOfData,
}

impl SignatureScheme {
    /// The scheme for a P1 value, `None` for anything but `00`–`05` (the card answers `6A 86`).
    pub fn from_p1(p1: u8) -> Option<SignatureScheme> {
        Some(match p1 {
            0x00 => SignatureScheme::Pkcs1Raw,
            0x01 => SignatureScheme::Pkcs1BareSha256,
            0x02 => SignatureScheme::Pkcs1DigestInfoOfHash,
            0x03 => SignatureScheme::Pkcs1DigestInfoOfData,
            0x04 => SignatureScheme::PssOfHash,
            0x05 => SignatureScheme::PssOfData,
            _ => return None,
        })
    }

    /// The P1 byte that selects this scheme (`00`–`05`).
    pub fn p1(self) -> u8 {
        match self {
            SignatureScheme::Pkcs1Raw => 0x00,
            SignatureScheme::Pkcs1BareSha256 => 0x01,
            SignatureScheme::Pkcs1DigestInfoOfHash => 0x02,
            SignatureScheme::Pkcs1DigestInfoOfData => 0x03,
            SignatureScheme::PssOfHash => 0x04,
            SignatureScheme::PssOfData => 0x05,
        }
    }
}

/// Why a PKCS#8 document cannot become a card key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The DER is not a PKCS#8 private key, or bytes follow it.
    #[error("not a PKCS#8 private key (or trailing bytes after it)")]
    NotPkcs8,
    /// A PKCS#8 key of another algorithm (EC, Ed25519, ...).
    #[error("PKCS#8 key is not RSA")]
    NotRsa,
    /// An RSA key of another size: the card's signatures are always 256 bytes.
    #[error("RSA key has {bits} bits; the card holds RSA-2048 keys")]
    WrongSize {
        /// The modulus size in bits.
        bits: u32,
    },
    /// AWS-LC's `RSA_check_key` refused the key (its components do not match).
    #[error("RSA key fails the consistency check")]
    Inconsistent,
}

/// Why a signature was not produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The input length does not fit the scheme (card answers `69 85`).
    #[error("{len}-byte input does not fit signature scheme {scheme:?}")]
    InputLength {
        /// The scheme P1 selected.
        scheme: SignatureScheme,
        /// The input's length in bytes.
        len: usize,
    },
    /// AWS-LC reported a failure of the private-key operation (card answers `6F 00`).
    #[error("the RSA private-key operation failed")]
    Backend,
}

/// Parsed card keys shared by many cards, by their PKCS#8 document: when thousands of cards
/// hold the same few keys (a load run's key pool), each key is parsed and checked once and its
/// RSA object's lazily built caches (Montgomery contexts, blinding) are paid for once, instead of
/// per card. Parsing a key with its consistency check costs more than a signature with it.
///
/// A ring keeps every key it has parsed for as long as it lives.
#[derive(Default)]
pub struct KeyRing {
    keys: Mutex<HashMap<Vec<u8>, Arc<CardKey>>>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// The parsed key of `pkcs8`: the one parsed before, or parsed now ([`CardKey::from_pkcs8`])
    /// and kept.
    pub fn key(&self, pkcs8: &[u8]) -> Result<Arc<CardKey>, KeyError> {
        if let Some(key) = self.lock().get(pkcs8) {
            return Ok(key.clone());
        }
        // Parsed outside the lock: two threads meeting a new key parse it twice, and one wins.
        let key = Arc::new(CardKey::from_pkcs8(pkcs8)?);
        Ok(self.lock().entry(pkcs8.to_vec()).or_insert(key).clone())
    }

    /// How many distinct keys the ring holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Arc<CardKey>>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The keys stay out of logs.
impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.len())
            .finish()
    }
}

/// An RSA-2048 private key held by the card, ready to sign.
pub struct CardKey {
    rsa: NonNull<ffi::RSA>,
}

// SAFETY: the `RSA` object is owned exclusively by this value (one reference taken in
// `from_pkcs8`, released in `Drop`) and never mutated through the Rust API. AWS-LC documents RSA
// private-key operations on a shared `RSA` as thread-safe: its lazily built caches (Montgomery
// contexts, blinding) are protected by the object's internal lock.
unsafe impl Send for CardKey {}
unsafe impl Sync for CardKey {}

impl CardKey {
    /// Parses a PKCS#8 RSA-2048 private key. Done once per card, not per APDU.
    pub fn from_pkcs8(der: &[u8]) -> Result<CardKey, KeyError> {
        // SAFETY: the CBS borrows `der` only for the duration of the parse; every pointer returned
        // by AWS-LC is checked for null and freed (or owned by the returned value) on every path.
        unsafe {
            let mut cbs = std::mem::MaybeUninit::<ffi::CBS>::uninit();
            ffi::CBS_init(cbs.as_mut_ptr(), der.as_ptr(), der.len());
            let mut cbs = cbs.assume_init();
            let pkey = ffi::EVP_parse_private_key(&mut cbs);
            if pkey.is_null() {
                ffi::ERR_clear_error();
                return Err(KeyError::NotPkcs8);
            }
            if cbs.len != 0 {
                ffi::EVP_PKEY_free(pkey);
                return Err(KeyError::NotPkcs8);
            }
            if ffi::EVP_PKEY_id(pkey) != ffi::EVP_PKEY_RSA {
                ffi::EVP_PKEY_free(pkey);
                return Err(KeyError::NotRsa);
            }
            let rsa = ffi::EVP_PKEY_get1_RSA(pkey);
            ffi::EVP_PKEY_free(pkey);
            let Some(rsa) = NonNull::new(rsa) else {
                ffi::ERR_clear_error();
                return Err(KeyError::NotRsa);
            };
            let key = CardKey { rsa };
            let bits = ffi::RSA_bits(key.rsa.as_ptr());
            if bits != 2048 {
                return Err(KeyError::WrongSize { bits });
            }
            if ffi::RSA_check_key(key.rsa.as_ptr()) != 1 {
                ffi::ERR_clear_error();
                return Err(KeyError::Inconsistent);
            }
            Ok(key)
        }
    }

    /// Signs `input` with `scheme` and appends the 256-byte signature to `out` (so the caller can
    /// append the status word without another allocation).
    pub fn sign_into(
        &self,
        scheme: SignatureScheme,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SignError> {
        let wrong_length = || SignError::InputLength {
            scheme,
            len: input.len(),
        };
        match scheme {
            SignatureScheme::Pkcs1Raw => {
                if input.is_empty() || input.len() > MAX_PKCS1_INPUT {
                    return Err(wrong_length());
                }
                self.pkcs1_type1(input, out)
            }
            SignatureScheme::Pkcs1BareSha256 => self.pkcs1_type1(&Sha256::digest(input), out),
            SignatureScheme::Pkcs1DigestInfoOfHash => {
                let hash: &[u8; 32] = input.try_into().map_err(|_| wrong_length())?;
                self.pkcs1_type1(&digest_info_sha256(hash), out)
            }
            SignatureScheme::Pkcs1DigestInfoOfData => {
                self.pkcs1_type1(&digest_info_sha256(&Sha256::digest(input).into()), out)
            }
            SignatureScheme::PssOfHash => {
                let hash: &[u8; 32] = input.try_into().map_err(|_| wrong_length())?;
                self.pss_sha256(hash, out)
            }
            SignatureScheme::PssOfData => self.pss_sha256(&Sha256::digest(input).into(), out),
        }
    }

    /// Convenience form of [`CardKey::sign_into`] returning the signature.
    pub fn sign(&self, scheme: SignatureScheme, input: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut out = Vec::with_capacity(SIGNATURE_LEN + 2);
        self.sign_into(scheme, input, &mut out)?;
        Ok(out)
    }

    /// INTERNAL AUTHENTICATE: sha256WithRSAEncryption (PKCS#1 v1.5) over the challenge.
    pub fn internal_authenticate_into(
        &self,
        challenge: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SignError> {
        self.sign_into(SignatureScheme::Pkcs1DigestInfoOfData, challenge, out)
    }

    /// The modulus, big-endian, 256 bytes.
    pub fn modulus(&self) -> Vec<u8> {
        // SAFETY: `self.rsa` is a valid RSA object; `RSA_get0_n` returns a borrowed BIGNUM that
        // lives as long as it; the output buffer has exactly the requested length.
        unsafe {
            let n = ffi::RSA_get0_n(self.rsa.as_ptr());
            let mut out = vec![0u8; SIGNATURE_LEN];
            if n.is_null() || ffi::BN_bn2bin_padded(out.as_mut_ptr(), out.len(), n) != 1 {
                ffi::ERR_clear_error();
                out.clear();
            }
            out
        }
    }

    /// The public exponent, big-endian without leading zeros (`01 00 01` for 65537).
    pub fn public_exponent(&self) -> Vec<u8> {
        // SAFETY: `self.rsa` is a valid RSA object; `RSA_get0_e` returns a borrowed BIGNUM that
        // lives as long as it; the buffer has the length `BN_num_bytes` reports, which is what
        // `BN_bn2bin` writes.
        unsafe {
            let e = ffi::RSA_get0_e(self.rsa.as_ptr());
            if e.is_null() {
                return Vec::new();
            }
            let mut out = vec![0u8; ffi::BN_num_bytes(e) as usize];
            let written = ffi::BN_bn2bin(e, out.as_mut_ptr());
            out.truncate(written);
            out
        }
    }

    // Helpers.

    /// `RSA_private( 00 01 FF..FF 00 || t )`, appended to `out`.
    fn pkcs1_type1(&self, t: &[u8], out: &mut Vec<u8>) -> Result<(), SignError> {
        out.reserve(SIGNATURE_LEN);
        let start = out.len();
        let mut written = 0usize;
        // SAFETY: `out` has at least SIGNATURE_LEN spare bytes from `start`; AWS-LC writes at most
        // `max_out` bytes and reports how many; `set_len` covers only those initialised bytes.
        let ok = unsafe {
            ffi::RSA_sign_raw(
                self.rsa.as_ptr(),
                &mut written,
                out.as_mut_ptr().add(start),
                SIGNATURE_LEN,
                t.as_ptr(),
                t.len(),
                ffi::RSA_PKCS1_PADDING,
            )
        };
        self.finish(ok, start, written, out)
    }

    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a salt as long as the hash.
    fn pss_sha256(&self, hash: &[u8; 32], out: &mut Vec<u8>) -> Result<(), SignError> {
        out.reserve(SIGNATURE_LEN);
        let start = out.len();
        let mut written = 0usize;
        // SAFETY: as in `pkcs1_type1`; `EVP_sha256` returns a static digest description.
        let ok = unsafe {
            ffi::RSA_sign_pss_mgf1(
                self.rsa.as_ptr(),
                &mut written,
                out.as_mut_ptr().add(start),
                SIGNATURE_LEN,
                hash.as_ptr(),
                hash.len(),
                ffi::EVP_sha256(),
                ffi::EVP_sha256(),
                ffi::RSA_PSS_SALTLEN_DIGEST,
            )
        };
        self.finish(ok, start, written, out)
    }

    fn finish(
        &self,
        ok: std::os::raw::c_int,
        start: usize,
        written: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), SignError> {
        if ok != 1 || written != SIGNATURE_LEN {
            // SAFETY: clearing the thread's error queue has no preconditions.
            unsafe { ffi::ERR_clear_error() };
            return Err(SignError::Backend);
        }
        // SAFETY: AWS-LC initialised exactly `written` (= SIGNATURE_LEN) bytes after `start`,
        // within the capacity reserved above.
        unsafe { out.set_len(start + written) };
        Ok(())
    }
}

impl Drop for CardKey {
    fn drop(&mut self) {
        // SAFETY: this value owns one reference to the RSA object.
        unsafe { ffi::RSA_free(self.rsa.as_ptr()) }
    }
}

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKey(RSA-2048 <redacted>)")
    }
}

fn digest_info_sha256(hash: &[u8; 32]) -> [u8; 51] {
    let mut t = [0u8; 51];
    t[..19].copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    t[19..].copy_from_slice(hash);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use rsa::{pss, signature::Verifier, Pkcs1v15Sign, RsaPublicKey};

    fn public(key: &[u8]) -> RsaPublicKey {
        use rsa::pkcs8::DecodePrivateKey;
        rsa::RsaPrivateKey::from_pkcs8_der(key)
            .unwrap()
            .to_public_key()
    }

    #[test]
    fn a_key_ring_parses_each_key_once_and_cards_from_it_sign_alike() {
        let ring = KeyRing::new();
        let sign = testing::key_pkcs8(testing::TestKey::JpkiSign);
        let first = ring.key(sign).unwrap();
        assert!(Arc::ptr_eq(&first, &ring.key(sign).unwrap()));
        assert!(!Arc::ptr_eq(
            &first,
            &ring
                .key(testing::key_pkcs8(testing::TestKey::JpkiAuth))
                .unwrap()
        ));
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.key(b"not a key").err(), Some(KeyError::NotPkcs8));
        assert_eq!(ring.len(), 2, "a refused document is not kept");
        assert_eq!(format!("{ring:?}"), "KeyRing { keys: 2 }");
        assert_eq!(first.public_exponent(), [0x01, 0x00, 0x01]);

        // Two cards over one ring answer a signature APDU exactly as a card of its own keys.
        let image = testing::card_image();
        let ring = KeyRing::new();
        let mut plain = crate::Card::new(image.clone(), Default::default()).unwrap();
        let mut shared: Vec<_> = (0..2)
            .map(|_| crate::Card::with_key_ring(image.clone(), Default::default(), &ring).unwrap())
            .collect();
        assert_eq!(
            ring.len(),
            image
                .applets
                .iter()
                .map(|a| a
                    .files
                    .values()
                    .filter(|f| matches!(f, crate::FileImage::Key(_)))
                    .count())
                .sum::<usize>()
        );
        let script: [&[u8]; 4] = [
            &[
                0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
                0x01,
            ],
            &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18],
            &[0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'],
            &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17],
        ];
        let mut sign = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
        sign.extend(digest_info_sha256(&Sha256::digest(b"abc").into()));
        sign.push(0x00);
        for command in script.iter().copied().chain([sign.as_slice()]) {
            let expected = plain.transmit(command);
            assert_eq!(&expected[expected.len() - 2..], [0x90, 0x00]);
            for card in &mut shared {
                assert_eq!(card.transmit(command), expected);
            }
        }
    }

    #[test]
    fn every_scheme_verifies_with_the_public_key() {
        let der = testing::key_pkcs8(testing::TestKey::JpkiSign);
        let key = CardKey::from_pkcs8(der).unwrap();
        let public = public(der);
        let message = b"document to be signed".as_slice();
        let hash: [u8; 32] = Sha256::digest(message).into();
        let digest_info = digest_info_sha256(&hash);

        let raw = key.sign(SignatureScheme::Pkcs1Raw, &digest_info).unwrap();
        public
            .verify(Pkcs1v15Sign::new_unprefixed(), &digest_info, &raw)
            .unwrap();
        let bare = key.sign(SignatureScheme::Pkcs1BareSha256, message).unwrap();
        public
            .verify(Pkcs1v15Sign::new_unprefixed(), &hash, &bare)
            .unwrap();
        for (scheme, input) in [
            (SignatureScheme::Pkcs1DigestInfoOfHash, hash.as_slice()),
            (SignatureScheme::Pkcs1DigestInfoOfData, message),
        ] {
            let sig = key.sign(scheme, input).unwrap();
            assert_eq!(sig, raw, "{scheme:?} equals P1=00 over the DigestInfo");
        }
        for (scheme, input) in [
            (SignatureScheme::PssOfHash, hash.as_slice()),
            (SignatureScheme::PssOfData, message),
        ] {
            let sig = key.sign(scheme, input).unwrap();
            assert_eq!(sig.len(), SIGNATURE_LEN);
            public
                .verify(pss::Pss::new::<Sha256>(), &hash, &sig)
                .unwrap();
            let verifying = pss::VerifyingKey::<Sha256>::new(public.clone());
            let signature = pss::Signature::try_from(sig.as_slice()).unwrap();
            verifying.verify(message, &signature).unwrap();
        }
    }

    #[test]
    fn rejects_inputs_that_do_not_fit_the_scheme() {
        let key = CardKey::from_pkcs8(testing::key_pkcs8(testing::TestKey::JpkiAuth)).unwrap();
        for (scheme, len) in [
            (SignatureScheme::Pkcs1Raw, 0),
            (SignatureScheme::Pkcs1Raw, MAX_PKCS1_INPUT + 1),
            (SignatureScheme::Pkcs1DigestInfoOfHash, 31),
            (SignatureScheme::PssOfHash, 33),
        ] {
            assert_eq!(
                key.sign(scheme, &vec![0xAB; len]),
                Err(SignError::InputLength { scheme, len })
            );
        }
        assert!(key
            .sign(SignatureScheme::Pkcs1Raw, &[0xAB; MAX_PKCS1_INPUT])
            .is_ok());
    }

    #[test]
    fn rejects_non_keys_and_redacts_debug() {
        assert_eq!(
            CardKey::from_pkcs8(b"not a key").unwrap_err(),
            KeyError::NotPkcs8
        );
        let mut der = testing::key_pkcs8(testing::TestKey::JpkiAuth).to_vec();
        der.push(0);
        assert_eq!(CardKey::from_pkcs8(&der).unwrap_err(), KeyError::NotPkcs8);
        let key = CardKey::from_pkcs8(testing::key_pkcs8(testing::TestKey::JpkiAuth)).unwrap();
        assert_eq!(format!("{key:?}"), "CardKey(RSA-2048 <redacted>)");
        assert_eq!(key.modulus().len(), SIGNATURE_LEN);
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<CardKey>();
    }
}
