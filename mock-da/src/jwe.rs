//! JWE in compact form (RFC 7516 §7.1), the sign result's envelope: the content key wrapped with
//! RSAES-OAEP to the SP's registered key (RFC 7518 §4.3: `RSA-OAEP-256`, or `RSA-OAEP` when the
//! key's JWK asks for it), the plaintext sealed with AES-GCM (RFC 7518 §5.3: `A256GCM`, or
//! `A128GCM`), the protected header as the additional authenticated data.
//!
//! [`decrypt`] is the SP's half, for tests and for SPs written against the simulator; the
//! provider only encrypts.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, PublicKeyComponents, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::jose::{b64, RsaJwk};

/// The key-management algorithm (`alg`), RFC 7518 §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// `RSA-OAEP-256`: OAEP with SHA-256 and MGF1-SHA-256; the default.
    RsaOaep256,
    /// `RSA-OAEP`: OAEP with SHA-1 and MGF1-SHA-1, for a JWK registered with that `alg`.
    RsaOaep,
}

impl KeyAlgorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaOaep256 => "RSA-OAEP-256",
            KeyAlgorithm::RsaOaep => "RSA-OAEP",
        }
    }

    /// The algorithm named `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<KeyAlgorithm> {
        [KeyAlgorithm::RsaOaep256, KeyAlgorithm::RsaOaep]
            .into_iter()
            .find(|a| a.name() == name)
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            KeyAlgorithm::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
            KeyAlgorithm::RsaOaep => &OAEP_SHA1_MGF1SHA1,
        }
    }
}

/// The content-encryption algorithm (`enc`), RFC 7518 §5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentAlgorithm {
    /// `A256GCM`: the default.
    #[default]
    A256Gcm,
    /// `A128GCM`.
    A128Gcm,
}

impl ContentAlgorithm {
    /// The `enc` header value.
    pub fn name(self) -> &'static str {
        match self {
            ContentAlgorithm::A256Gcm => "A256GCM",
            ContentAlgorithm::A128Gcm => "A128GCM",
        }
    }

    /// The algorithm named `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<ContentAlgorithm> {
        [ContentAlgorithm::A256Gcm, ContentAlgorithm::A128Gcm]
            .into_iter()
            .find(|a| a.name() == name)
    }

    fn aead(self) -> &'static aead::Algorithm {
        match self {
            ContentAlgorithm::A256Gcm => &aead::AES_256_GCM,
            ContentAlgorithm::A128Gcm => &aead::AES_128_GCM,
        }
    }
}

/// Why a JWE could not be made or opened, or an encryption key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JweError {
    /// The JWK is not a usable RSA encryption key (checked at registration).
    #[error("{0}")]
    BadJwk(&'static str),
    /// Not five base64url parts separated by dots.
    #[error("not a compact JWE (five base64url parts separated by dots)")]
    NotCompact,
    /// A part is not base64url without padding.
    #[error("the {0} is not base64url")]
    Base64(&'static str),
    /// The protected header is not a JSON object.
    #[error("the protected header is not a JSON object")]
    Header,
    /// `alg` or `enc` is not one this module knows.
    #[error("{name} {value:?} is not supported")]
    Algorithm {
        /// `alg` or `enc`.
        name: &'static str,
        /// What the header says.
        value: String,
    },
    /// The wrapped key does not unwrap with this private key, or unwraps to a key of the
    /// wrong length.
    #[error("the content key does not decrypt with this key")]
    KeyUnwrap,
    /// The ciphertext, IV, tag or header was changed, or the content key is not the sender's.
    #[error("the content does not decrypt (authentication tag mismatch)")]
    Content,
    /// The system RNG or the cipher failed: a simulator fault.
    #[error("encryption failed")]
    Encrypt,
}

/// An SP's RSA public key for sign results: its `kid` and `alg` from the registered JWK.
#[derive(Debug)]
pub struct EncryptionKey {
    kid: Option<String>,
    alg: KeyAlgorithm,
    key: OaepPublicEncryptingKey,
}

impl EncryptionKey {
    /// The key of `jwk`: `kty: RSA`, `use` absent or `enc`, `alg` absent (RSA-OAEP-256) or one
    /// of [`KeyAlgorithm`], a modulus of at least 2048 bits.
    pub fn from_jwk(jwk: &RsaJwk) -> Result<EncryptionKey, JweError> {
        if jwk.kty != "RSA" {
            return Err(JweError::BadJwk("kty must be RSA"));
        }
        if jwk.key_use.as_deref().is_some_and(|u| u != "enc") {
            return Err(JweError::BadJwk("use must be enc"));
        }
        let alg = match jwk.alg.as_deref() {
            None => KeyAlgorithm::RsaOaep256,
            Some(name) => KeyAlgorithm::from_name(name)
                .ok_or(JweError::BadJwk("alg must be RSA-OAEP-256 or RSA-OAEP"))?,
        };
        let n = unpadded(&jwk.n).ok_or(JweError::BadJwk("n is not base64url"))?;
        let e = unpadded(&jwk.e).ok_or(JweError::BadJwk("e is not base64url"))?;
        if n.len() < 256 {
            return Err(JweError::BadJwk("the modulus is shorter than 2048 bits"));
        }
        if e.is_empty() {
            return Err(JweError::BadJwk("the exponent is zero"));
        }
        let spki = PublicKeyComponents { n, e }
            .as_der()
            .map_err(|_| JweError::BadJwk("n and e are not an RSA public key"))?;
        let public = PublicEncryptingKey::from_der(spki.as_ref())
            .map_err(|_| JweError::BadJwk("n and e are not an RSA public key"))?;
        let key = OaepPublicEncryptingKey::new(public)
            .map_err(|_| JweError::BadJwk("the key cannot encrypt with OAEP"))?;
        Ok(EncryptionKey {
            kid: jwk.kid.clone(),
            alg,
            key,
        })
    }

    /// The `kid` its JWK gave, written into every JWE header.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `alg` this key is used with.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    /// `plaintext` as a compact JWE to this key, header `{"alg", "enc", "kid"}` (`kid` when
    /// the JWK has one), with a fresh content key and IV.
    pub fn encrypt(&self, enc: ContentAlgorithm, plaintext: &[u8]) -> Result<String, JweError> {
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.name().into());
        header.insert("enc".into(), enc.name().into());
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        let header = b64(Value::Object(header).to_string().as_bytes());

        let aead = enc.aead();
        let mut cek = vec![0; aead.key_len()];
        let mut iv = [0; aead::NONCE_LEN];
        aws_lc_rs::rand::fill(&mut cek).map_err(|_| JweError::Encrypt)?;
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| JweError::Encrypt)?;

        let mut wrapped = vec![0; self.key.ciphertext_size()];
        let wrapped = self
            .key
            .encrypt(self.alg.oaep(), &cek, &mut wrapped, None)
            .map_err(|_| JweError::Encrypt)?;

        let sealing = LessSafeKey::new(UnboundKey::new(aead, &cek).map_err(|_| JweError::Encrypt)?);
        let mut ciphertext = plaintext.to_vec();
        let tag = sealing
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(header.as_bytes()),
                &mut ciphertext,
            )
            .map_err(|_| JweError::Encrypt)?;
        Ok(format!(
            "{header}.{}.{}.{}.{}",
            b64(wrapped),
            b64(&iv),
            b64(&ciphertext),
            b64(tag.as_ref())
        ))
    }
}

/// An opened JWE: its protected header and plaintext.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

/// Opens a compact JWE with the RSA private key `pkcs8` (the SP's side).
pub fn decrypt(token: &str, pkcs8: &[u8]) -> Result<Decrypted, JweError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, wrapped, iv, ciphertext, tag] = parts[..] else {
        return Err(JweError::NotCompact);
    };
    let decode = |text: &str, part: &'static str| unpadded(text).ok_or(JweError::Base64(part));
    let header = match serde_json::from_slice(&decode(header_b64, "protected header")?) {
        Ok(Value::Object(map)) => map,
        _ => return Err(JweError::Header),
    };
    let named = |name: &'static str| header.get(name).and_then(Value::as_str).unwrap_or("");
    let alg = KeyAlgorithm::from_name(named("alg")).ok_or_else(|| JweError::Algorithm {
        name: "alg",
        value: named("alg").to_owned(),
    })?;
    let enc = ContentAlgorithm::from_name(named("enc")).ok_or_else(|| JweError::Algorithm {
        name: "enc",
        value: named("enc").to_owned(),
    })?;
    let wrapped = decode(wrapped, "encrypted key")?;
    let iv = decode(iv, "initialization vector")?;
    let mut sealed = decode(ciphertext, "ciphertext")?;
    sealed.extend_from_slice(&decode(tag, "authentication tag")?);

    let private = PrivateDecryptingKey::from_pkcs8(pkcs8)
        .ok()
        .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
        .ok_or(JweError::KeyUnwrap)?;
    let mut cek = vec![0; private.min_output_size()];
    let cek = private
        .decrypt(alg.oaep(), &wrapped, &mut cek, None)
        .map_err(|_| JweError::KeyUnwrap)?;
    let aead = enc.aead();
    if cek.len() != aead.key_len() {
        return Err(JweError::KeyUnwrap);
    }
    let nonce = Nonce::try_assume_unique_for_key(&iv).map_err(|_| JweError::Content)?;
    let opening = LessSafeKey::new(UnboundKey::new(aead, cek).map_err(|_| JweError::KeyUnwrap)?);
    let plaintext = opening
        .open_in_place(nonce, Aad::from(header_b64.as_bytes()), &mut sealed)
        .map_err(|_| JweError::Content)?
        .to_vec();
    Ok(Decrypted { header, plaintext })
}

/// Base64url without padding, strictly (RFC 7515 §2), as every JOSE part and JWK integer is.
fn unpadded(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Signer;

    fn key_pair(seed: u8) -> (RsaJwk, Vec<u8>) {
        let key = mock_ca::KeySeed::from_bytes([seed; 32])
            .derive_key()
            .unwrap();
        let mut jwk = Signer::from_pkcs8("enc-1", key.pkcs8_der()).unwrap().jwk();
        jwk.key_use = Some("enc".into());
        jwk.alg = None;
        (jwk, key.pkcs8_der().to_vec())
    }

    #[test]
    fn a_jwe_opens_with_its_private_key_and_names_its_algorithms() {
        let (jwk, pkcs8) = key_pair(21);
        let key = EncryptionKey::from_jwk(&jwk).unwrap();
        for enc in [ContentAlgorithm::A256Gcm, ContentAlgorithm::A128Gcm] {
            let token = key.encrypt(enc, br#"{"x":1}"#).unwrap();
            assert_eq!(token.split('.').count(), 5);
            let opened = decrypt(&token, &pkcs8).unwrap();
            assert_eq!(opened.plaintext, br#"{"x":1}"#);
            assert_eq!(opened.header["alg"], "RSA-OAEP-256");
            assert_eq!(opened.header["enc"], enc.name());
            assert_eq!(opened.header["kid"], "enc-1");
        }
        let mut sha1 = jwk.clone();
        sha1.alg = Some("RSA-OAEP".into());
        let token = EncryptionKey::from_jwk(&sha1)
            .unwrap()
            .encrypt(ContentAlgorithm::A256Gcm, b"x")
            .unwrap();
        let opened = decrypt(&token, &pkcs8).unwrap();
        assert_eq!(opened.header["alg"], "RSA-OAEP");
    }

    #[test]
    fn each_content_key_and_iv_is_fresh() {
        let (jwk, _) = key_pair(21);
        let key = EncryptionKey::from_jwk(&jwk).unwrap();
        let a = key.encrypt(ContentAlgorithm::A256Gcm, b"same").unwrap();
        let b = key.encrypt(ContentAlgorithm::A256Gcm, b"same").unwrap();
        let parts = |t: &str| t.split('.').map(str::to_owned).collect::<Vec<_>>();
        let (a, b) = (parts(&a), parts(&b));
        assert_eq!(a[0], b[0], "the same header");
        assert_ne!(a[1], b[1], "another wrapped key");
        assert_ne!(a[2], b[2], "another IV");
    }

    #[test]
    fn a_changed_part_or_another_key_does_not_open() {
        let (jwk, pkcs8) = key_pair(21);
        let (_, other) = key_pair(22);
        let token = EncryptionKey::from_jwk(&jwk)
            .unwrap()
            .encrypt(ContentAlgorithm::A256Gcm, b"secret")
            .unwrap();
        assert_eq!(decrypt(&token, &other).unwrap_err(), JweError::KeyUnwrap);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // The header is the AAD: another `kid` breaks the tag.
        parts[0] = b64(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"x"}"#);
        assert_eq!(
            decrypt(&parts.join("."), &pkcs8).unwrap_err(),
            JweError::Content
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[3] = b64(b"SECRET");
        assert_eq!(
            decrypt(&parts.join("."), &pkcs8).unwrap_err(),
            JweError::Content
        );
        parts[0] = b64(br#"{"alg":"dir","enc":"A256GCM"}"#);
        assert!(matches!(
            decrypt(&parts.join("."), &pkcs8).unwrap_err(),
            JweError::Algorithm { name: "alg", .. }
        ));
        assert_eq!(decrypt("a.b.c", &pkcs8).unwrap_err(), JweError::NotCompact);
    }

    #[test]
    fn unusable_encryption_keys_are_refused() {
        let (good, _) = key_pair(21);
        let mut ec = good.clone();
        ec.kty = "EC".into();
        let mut sig = good.clone();
        sig.key_use = Some("sig".into());
        let mut rs256 = good.clone();
        rs256.alg = Some("RS256".into());
        let mut short = good.clone();
        short.n = b64(&[0xC5; 128]);
        let mut padded = good.clone();
        padded.n.push('=');
        for (jwk, says) in [
            (ec, "kty"),
            (sig, "use"),
            (rs256, "alg"),
            (short, "2048"),
            (padded, "base64url"),
        ] {
            let err = EncryptionKey::from_jwk(&jwk).unwrap_err();
            assert!(err.to_string().contains(says), "{says}: {err}");
        }
    }
}
