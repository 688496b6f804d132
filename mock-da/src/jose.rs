//! The little of JOSE the provider needs: RS256 JWS in compact form (RFC 7515, RFC 7518 §3.3),
//! RSA public keys as JWKs (RFC 7517, RFC 7518 §6.3) and JWT claim sets (RFC 7519).
//!
//! Only RS256 exists here: it is what the provider signs ID tokens with, and the only algorithm it
//! accepts in a client assertion, so `alg: none` or an HMAC algorithm is refused by name rather
//! than by a check that could be forgotten.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The one JWS algorithm of this provider.
pub const RS256: &str = "RS256";

/// Why a JWS or a JWK was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    /// Not three base64url parts separated by dots.
    #[error("not a compact JWS (three base64url parts separated by dots)")]
    NotCompact,
    /// A part is not base64url without padding.
    #[error("the {part} is not base64url")]
    Base64 {
        /// `header`, `payload` or `signature`.
        part: &'static str,
    },
    /// The header or payload is not a JSON object.
    #[error("the {part} is not a JSON object")]
    Json {
        /// `header` or `payload`.
        part: &'static str,
    },
    /// The header names another algorithm than RS256 (`none` included).
    #[error("alg {0:?} is not accepted: RS256 only")]
    Algorithm(String),
    /// No key of the set has the header's `kid`, or the set has no RSA signing key.
    #[error("no key in the client's JWKS matches (kid {0:?})")]
    NoKey(Option<String>),
    /// The signature does not verify with any candidate key.
    #[error("the signature does not verify")]
    BadSignature,
    /// A JWK is not a usable RSA public key.
    #[error("JWK {index}: {what}")]
    BadJwk {
        /// Its position in the set.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// Signing failed (a simulator fault).
    #[error("signing failed")]
    Sign,
}

/// Base64url without padding, as every JOSE part is encoded.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str, part: &'static str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| JoseError::Base64 { part })
}

/// An RSA public key as a JWK: what `/certs` publishes and a client registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsaJwk {
    /// Always `RSA`.
    pub kty: String,
    /// The key id a JWS header names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `sig` when given; a key marked `enc` is not used to verify (it is the sign API's
    /// encryption key).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// `RS256` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The modulus, base64url big-endian.
    pub n: String,
    /// The public exponent, base64url big-endian.
    pub e: String,
}

/// A JWK Set (RFC 7517 §5): `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys; members this provider cannot use are refused at registration.
    pub keys: Vec<RsaJwk>,
}

/// A verification key taken from a JWK: its id and its components without leading zeros.
#[derive(Debug, Clone)]
struct PublicKey {
    kid: Option<String>,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Jwks {
    /// Checks that every key but those marked `use: enc` is an RSA signing key of at least
    /// 2048 bits usable with RS256 (RFC 7518 §3.3), and that there is one, so a bad set is
    /// refused when registered rather than at login.
    pub fn validate(&self) -> Result<(), JoseError> {
        if self.keys.is_empty() {
            return Err(JoseError::BadJwk {
                index: 0,
                what: "the set has no keys".into(),
            });
        }
        if self.public_keys()?.is_empty() {
            return Err(JoseError::BadJwk {
                index: 0,
                what: "the set has no signing key (use sig, or no use)".into(),
            });
        }
        Ok(())
    }

    /// The first key marked `use: enc`, if any: where an SP that keeps one JWKS puts the key
    /// its sign results are encrypted to.
    pub fn encryption_key(&self) -> Option<&RsaJwk> {
        self.keys
            .iter()
            .find(|k| k.key_use.as_deref() == Some("enc"))
    }

    fn public_keys(&self) -> Result<Vec<PublicKey>, JoseError> {
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, jwk)| jwk.key_use.as_deref() != Some("enc"))
            .map(|(index, jwk)| {
                let bad = |what: &str| JoseError::BadJwk {
                    index,
                    what: what.into(),
                };
                if jwk.kty != "RSA" {
                    return Err(bad("kty must be RSA"));
                }
                if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
                    return Err(bad("use must be sig (or enc for an encryption key)"));
                }
                if jwk.alg.as_deref().is_some_and(|a| a != RS256) {
                    return Err(bad("alg must be RS256"));
                }
                let n =
                    strip_zeros(unb64(&jwk.n, "header").map_err(|_| bad("n is not base64url"))?);
                let e =
                    strip_zeros(unb64(&jwk.e, "header").map_err(|_| bad("e is not base64url"))?);
                if n.len() < 256 {
                    return Err(bad("the modulus is shorter than 2048 bits"));
                }
                if e.is_empty() {
                    return Err(bad("the exponent is zero"));
                }
                Ok(PublicKey {
                    kid: jwk.kid.clone(),
                    n,
                    e,
                })
            })
            .collect()
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// A verified JWS: its header and payload as JSON objects.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// Splits a compact JWS and parses its header and payload, without checking the signature:
/// the client assertion's `iss` says whose keys to check it with.
pub fn peek(token: &str) -> Result<Verified, JoseError> {
    let (header, payload, _, _) = split(token)?;
    Ok(Verified {
        header: json_object(&header, "header")?,
        claims: json_object(&payload, "payload")?,
    })
}

type Parts = (Vec<u8>, Vec<u8>, Vec<u8>, usize);

/// Header, payload, signature bytes and the length of the signing input.
fn split(token: &str) -> Result<Parts, JoseError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::NotCompact);
    };
    Ok((
        unb64(h, "header")?,
        unb64(p, "payload")?,
        unb64(s, "signature")?,
        h.len() + 1 + p.len(),
    ))
}

fn json_object(bytes: &[u8], part: &'static str) -> Result<Map<String, Value>, JoseError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JoseError::Json { part }),
    }
}

/// Verifies an RS256 compact JWS with a key of `jwks`: the one its `kid` names, or, without a
/// `kid`, any of them (RFC 7517 §4.5 lets a set of one key go unnamed).
pub fn verify(token: &str, jwks: &Jwks) -> Result<Verified, JoseError> {
    let (header, payload, signature, signed_len) = split(token)?;
    let header = json_object(&header, "header")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != RS256 {
        return Err(JoseError::Algorithm(alg.to_owned()));
    }
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let keys = jwks.public_keys()?;
    let candidates: Vec<&PublicKey> = keys
        .iter()
        .filter(|k| kid.is_none() || k.kid == kid)
        .collect();
    if candidates.is_empty() {
        return Err(JoseError::NoKey(kid));
    }
    let signed = &token.as_bytes()[..signed_len];
    let verifies = candidates.iter().any(|key| {
        RsaPublicKeyComponents {
            n: key.n.as_slice(),
            e: key.e.as_slice(),
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, &signature)
        .is_ok()
    });
    if !verifies {
        return Err(JoseError::BadSignature);
    }
    Ok(Verified {
        header,
        claims: json_object(&payload, "payload")?,
    })
}

/// An RS256 signing key with its id: the provider's ID-token key, or a test client's.
pub struct Signer {
    kid: String,
    key: RsaKeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish()
    }
}

impl Signer {
    /// A signer over a PKCS#8 RSA key; `None` when the document is not one.
    pub fn from_pkcs8(kid: impl Into<String>, pkcs8: &[u8]) -> Option<Signer> {
        Some(Signer {
            kid: kid.into(),
            key: RsaKeyPair::from_pkcs8(pkcs8).ok()?,
        })
    }

    /// The key id written into every header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK with `kid`, `use: sig` and `alg: RS256`.
    pub fn jwk(&self) -> RsaJwk {
        let public = self.key.public_key();
        RsaJwk {
            kty: "RSA".into(),
            kid: Some(self.kid.clone()),
            key_use: Some("sig".into()),
            alg: Some(RS256.into()),
            n: b64(public.modulus().big_endian_without_leading_zero()),
            e: b64(public.exponent().big_endian_without_leading_zero()),
        }
    }

    /// Signs `claims` as a compact JWS with `{"alg": "RS256", "typ": "JWT", "kid": ...}`.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, JoseError> {
        let header = serde_json::json!({"alg": RS256, "typ": "JWT", "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// Signs `claims` under `header` as given (tests forge headers with it).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, JoseError> {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| JoseError::Sign)?;
        Ok(format!("{input}.{}", b64(&signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(kid: &str, seed: u8) -> Signer {
        let key = mock_ca::KeySeed::from_bytes([seed; 32])
            .derive_key()
            .unwrap();
        Signer::from_pkcs8(kid, key.pkcs8_der()).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_with_its_jwk_and_no_other() {
        let a = signer("a", 1);
        let b = signer("b", 2);
        let token = a.sign_jwt(&serde_json::json!({"sub": "x"})).unwrap();
        let set = Jwks {
            keys: vec![a.jwk()],
        };
        set.validate().unwrap();
        assert_eq!(verify(&token, &set).unwrap().claims["sub"], "x");
        // The kid names a key the set lacks.
        let other = Jwks {
            keys: vec![b.jwk()],
        };
        assert_eq!(
            verify(&token, &other).unwrap_err(),
            JoseError::NoKey(Some("a".into()))
        );
        // The right kid on the wrong key.
        let mut wrong = b.jwk();
        wrong.kid = Some("a".into());
        assert_eq!(
            verify(&token, &Jwks { keys: vec![wrong] }).unwrap_err(),
            JoseError::BadSignature
        );
        // A changed payload breaks the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(br#"{"sub":"y"}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &set).unwrap_err(),
            JoseError::BadSignature
        );
    }

    #[test]
    fn only_rs256_is_accepted() {
        let a = signer("a", 1);
        let set = Jwks {
            keys: vec![a.jwk()],
        };
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"x"}"#));
        assert_eq!(
            verify(&none, &set).unwrap_err(),
            JoseError::Algorithm("none".into())
        );
        let hs = a
            .sign_with_header(&serde_json::json!({"alg": "HS256"}), &serde_json::json!({}))
            .unwrap();
        assert_eq!(
            verify(&hs, &set).unwrap_err(),
            JoseError::Algorithm("HS256".into())
        );
        assert_eq!(verify("a.b", &set).unwrap_err(), JoseError::NotCompact);
        assert_eq!(verify("a.b.c.d", &set).unwrap_err(), JoseError::NotCompact);
    }

    #[test]
    fn unusable_keys_are_refused_at_validation() {
        let good = signer("a", 1).jwk();
        let mut ec = good.clone();
        ec.kty = "EC".into();
        let mut enc = good.clone();
        enc.key_use = Some("wrap".into());
        let mut short = good.clone();
        short.n = b64(&[0xC5; 128]);
        for (jwk, what) in [(ec, "kty"), (enc, "use"), (short, "2048")] {
            let err = Jwks { keys: vec![jwk] }.validate().unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        assert!(Jwks::default().validate().is_err());
        // An encryption key is set aside: alone, the set has no signing key.
        let mut enc = good.clone();
        enc.key_use = Some("enc".into());
        let only = Jwks {
            keys: vec![enc.clone()],
        };
        assert!(only.validate().unwrap_err().to_string().contains("signing"));
        let both = Jwks {
            keys: vec![enc.clone(), good],
        };
        both.validate().unwrap();
        assert_eq!(both.encryption_key(), Some(&enc));
    }
}
