//! Personalisation: a persona, certificates and keys become the files of a card
//! ([`sim_card::CardImage`]), byte for byte as docs/card-protocol.md §3 and §7 describe them.
//!
//! What the simulator cannot reproduce is marked as such: card-verifiable certificates are
//! self-signed by the key they certify under issuer key ids beginning with `9` (J-LIS uses `5`
//! for production and `6` for test cards), and the records a real card has signed by its
//! municipality's key are signed by the AP's own key, which 0004 then certifies. A verifier that
//! follows the card's own chain (0004 → records → challenge) succeeds; one holding J-LIS keys
//! does not, as intended.

mod images;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sim_card::layout::{common, jpki, juki, text, visual};
use sim_card::{Access, Aid, AppletImage, CardImage, FileId, FileImage, KeyImage, PinImage};
use sim_card::{CardKey, KeyRing, SignatureScheme};

use crate::persona::{yyyymmdd, Persona};

/// Size of text AP EF 0002: the basic-4-info TLV plus `FF` filler.
pub const BASIC_INFO_FILE_SIZE: usize = 512;
/// Tries of 照合番号A/B and the birth key. The real counts are UNCONFIRMED (docs/card-protocol.md
/// §6.1); a generous value keeps scenario runs from locking them by accident.
pub const VERIFICATION_CODE_TRIES: u8 = 10;

/// What mock-ca issued for the card, and its keys (PKCS#8 DER of RSA-2048, e = 65537).
#[derive(Clone, PartialEq, Eq)]
pub struct CardCredentials {
    /// 署名用電子証明書 (DER); `None` for holders under 15 at issuance.
    pub sign_cert_der: Option<Vec<u8>>,
    /// The signature CA's certificate (DER), JPKI EF `0002`.
    pub sign_ca_der: Vec<u8>,
    /// 利用者証明用電子証明書 (DER), JPKI EF `000A`.
    pub auth_cert_der: Vec<u8>,
    /// The authentication CA's certificate (DER), JPKI EF `000B`.
    pub auth_ca_der: Vec<u8>,
    /// The signature key (JPKI `001A`, behind the signature password); unusable without a
    /// signature certificate.
    pub sign_key_pkcs8: Vec<u8>,
    /// The authentication key (JPKI `0017`, behind the authentication PIN).
    pub auth_key_pkcs8: Vec<u8>,
    /// 券面事項入力補助AP key (`0013`); signs the integrity record.
    pub text_ap_key_pkcs8: Vec<u8>,
    /// 券面事項確認AP key (`001A`); signs the age record, card face and my-number image.
    pub visual_ap_key_pkcs8: Vec<u8>,
    /// 共通カードAP key (`0019`, INTERNAL AUTHENTICATE).
    pub common_ap_key_pkcs8: Vec<u8>,
    /// 住基AP key. Checked but not written: no key EF of that AP is known (docs/card-protocol.md §3.4).
    pub juki_ap_key_pkcs8: Vec<u8>,
}

impl fmt::Debug for CardCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardCredentials")
            .field("sign_cert_der", &self.sign_cert_der.as_ref().map(Vec::len))
            .field("auth_cert_der", &self.auth_cert_der.len())
            .field("keys", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Why a card could not be personalised.
#[derive(Debug, thiserror::Error)]
pub enum PersonaliseError {
    /// A key of [`CardCredentials`] does not load as an RSA-2048 key pair.
    #[error("{key}: not an RSA-2048 private key in PKCS#8 DER: {source}")]
    KeyRejected {
        /// The [`CardCredentials`] field (`sign_key_pkcs8`).
        key: &'static str,
        /// Why it was refused.
        #[source]
        source: sim_card::KeyError,
    },
    /// The card's `90`/`91` key encoding holds exactly a 256-byte modulus and exponent 65537.
    #[error("{key}: expected RSA-2048 with exponent 65537, got a {modulus_bytes}-byte modulus and exponent {exponent_hex}")]
    UnsupportedKey {
        /// The [`CardCredentials`] field.
        key: &'static str,
        /// The modulus length, in bytes.
        modulus_bytes: usize,
        /// The public exponent, upper-case hex.
        exponent_hex: String,
    },
    /// Signing a record or card-verifiable certificate (sha256WithRSAEncryption), or the card
    /// face's 96-byte DigestInfo padded as given, with an AP key failed.
    #[error("{key}: signing the {what} failed: {source}")]
    Signing {
        /// The [`CardCredentials`] field.
        key: &'static str,
        /// The record being signed.
        what: &'static str,
        /// The signing error.
        #[source]
        source: sim_card::SignError,
    },
    /// Holders 15 or older at issuance have a signature certificate, younger ones none.
    #[error(
        "the holder is {age} at issuance, so the card {expectation}; the credentials disagree"
    )]
    SignCertificateMismatch {
        /// The holder's age at issuance, in completed years.
        age: i32,
        /// What the card should have (`has a signature certificate`).
        expectation: &'static str,
    },
    /// A persona field the card stores in a fixed width does not have it (card serial 15
    /// digits, municipality code 5, security code 4).
    #[error("persona field `{field}`: expected {expected}")]
    PersonaField {
        /// The persona field.
        field: &'static str,
        /// Its format.
        expected: &'static str,
    },
    /// A file's content is longer than the file (a long name or address in text AP EF `0002`,
    /// [`BASIC_INFO_FILE_SIZE`] bytes).
    #[error(
        "{file}: {len} bytes of content exceed the {capacity}-byte file (shorten the name or the address)"
    )]
    FileOverflow {
        /// The file.
        file: &'static str,
        /// The content's length, in bytes.
        len: usize,
        /// The file's size, in bytes.
        capacity: usize,
    },
    /// A TLV value, or an offset into a 券面 file, does not fit the 16 bits its length takes.
    #[error("TLV {tag}: a {len}-byte value exceeds the 65535 bytes its length can express")]
    TlvTooLong {
        /// The tag, hex.
        tag: String,
        /// The value's length, in bytes.
        len: usize,
    },
    /// Encoding an image (name, address, security code, my number) as PNG failed.
    #[error("rendering the {what} image: {source}")]
    Png {
        /// The image.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
}

type Result<T, E = PersonaliseError> = std::result::Result<T, E>;

/// Builds the card image of `persona` with `creds`.
pub fn personalise(persona: &Persona, creds: &CardCredentials) -> Result<CardImage> {
    personalise_with(persona, creds, &KeyRing::new())
}

/// [`personalise`] with the keys parsed through `ring`: cards that share keys (a key pool)
/// parse each key once. The image is byte for byte the one [`personalise`] builds.
pub fn personalise_with(
    persona: &Persona,
    creds: &CardCredentials,
    ring: &KeyRing,
) -> Result<CardImage> {
    check_persona(persona)?;
    let has_sign = persona.has_signature_certificate();
    if has_sign != creds.sign_cert_der.is_some() {
        return Err(PersonaliseError::SignCertificateMismatch {
            age: persona.age_at_issuance(),
            expectation: if has_sign {
                "needs a signature certificate"
            } else {
                "must not carry a signature certificate"
            },
        });
    }
    let keys = Keys {
        sign: ApKey::load("sign_key_pkcs8", &creds.sign_key_pkcs8, ring)?,
        auth: ApKey::load("auth_key_pkcs8", &creds.auth_key_pkcs8, ring)?,
        text: ApKey::load("text_ap_key_pkcs8", &creds.text_ap_key_pkcs8, ring)?,
        visual: ApKey::load("visual_ap_key_pkcs8", &creds.visual_ap_key_pkcs8, ring)?,
        common: ApKey::load("common_ap_key_pkcs8", &creds.common_ap_key_pkcs8, ring)?,
    };
    ApKey::load("juki_ap_key_pkcs8", &creds.juki_ap_key_pkcs8, ring)?;

    let key_reference = key_id("9000010", "001");
    // Ascending AID order, which is the order prefix selection walks.
    let applets = vec![
        common_ap(persona, &keys.common, &key_reference)?,
        juki_ap(persona, &key_reference),
        visual_ap(persona, &keys.visual)?,
        text_ap(persona, &keys.text)?,
        jpki_ap(persona, creds, &keys)?,
    ];
    let atr = CardImage::DEFAULT_ATR.to_vec();
    let mf_objects = BTreeMap::from([
        (0x0045, persona.card_serial.as_bytes().to_vec()),
        (0x00F0, persona.municipality_code.as_bytes().to_vec()),
        (0x00F2, yyyymmdd(persona.card_expires_on).into_bytes()),
        (0x5F51, atr[1..].to_vec()),
    ]);
    Ok(CardImage {
        atr,
        applets,
        mf_objects,
    })
}

/// The 160-byte PKCS#11 CK_TOKEN_INFO of JPKI EF 0006 (docs/card-protocol.md §7.1): the label clients
/// check, the other fields as examined on a card, the serial from the card serial.
pub fn jpki_token(card_serial: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(160);
    t.extend_from_slice(&padded(b"JPKIAPICCTOKEN2", 32));
    t.extend_from_slice(b"00000000000000000000000000000001");
    t.extend_from_slice(&padded(b"E16R01NJ", 16));
    t.extend_from_slice(&padded(format!("{card_serial:0>16}").as_bytes(), 16)[..16]);
    for word in [0x0000_040D_u32, 1, 0, 1, 0, 16, 6] {
        t.extend_from_slice(&word.to_be_bytes()); // flags, sessions, PIN lengths
    }
    t.extend_from_slice(&[0xFF; 16]); // memory fields: unavailable
    t.extend_from_slice(b"0301"); // hardware and firmware version
    t.extend_from_slice(&[b'9'; 16]); // utcTime as examined
    t
}

struct Keys {
    sign: ApKey,
    auth: ApKey,
    text: ApKey,
    visual: ApKey,
    common: ApKey,
}

/// A parsed private key with its card encoding `90 03 01 00 01 91 82 01 00 <modulus>`.
struct ApKey {
    name: &'static str,
    pkcs8: Vec<u8>,
    key: Arc<CardKey>,
    public: Vec<u8>,
}

impl ApKey {
    fn load(name: &'static str, pkcs8: &[u8], ring: &KeyRing) -> Result<ApKey> {
        let key = ring
            .key(pkcs8)
            .map_err(|source| PersonaliseError::KeyRejected { key: name, source })?;
        let modulus = key.modulus();
        let exponent = key.public_exponent();
        if modulus.len() != 256 || exponent != [0x01, 0x00, 0x01] {
            return Err(PersonaliseError::UnsupportedKey {
                key: name,
                modulus_bytes: modulus.len(),
                exponent_hex: hex::encode_upper(&exponent),
            });
        }
        let public = [tlv(&[0x90], &exponent)?, tlv(&[0x91], &modulus)?].concat();
        Ok(ApKey {
            name,
            pkcs8: pkcs8.to_vec(),
            key,
            public,
        })
    }

    /// sha256WithRSAEncryption (PKCS#1 v1.5), as every record but the card face uses.
    fn sign(&self, what: &'static str, message: &[u8]) -> Result<Vec<u8>> {
        self.signed(what, SignatureScheme::Pkcs1DigestInfoOfData, message)
    }

    /// PKCS#1 v1.5 type-1 padding over `encoded` as given: the card's own raw signing
    /// operation.
    fn sign_unhashed(&self, what: &'static str, encoded: &[u8]) -> Result<Vec<u8>> {
        self.signed(what, SignatureScheme::Pkcs1Raw, encoded)
    }

    fn signed(&self, what: &'static str, scheme: SignatureScheme, input: &[u8]) -> Result<Vec<u8>> {
        self.key
            .sign(scheme, input)
            .map_err(|source| PersonaliseError::Signing {
                key: self.name,
                what,
                source,
            })
    }
}

/// 公的個人認証AP (docs/card-protocol.md §3.1).
fn jpki_ap(persona: &Persona, creds: &CardCredentials, keys: &Keys) -> Result<AppletImage> {
    let has_sign = creds.sign_cert_der.is_some();
    let sign_password = pin(&persona.pins.sign_password, 5, !has_sign);
    let sign_key_use = if has_sign {
        pins(&[jpki::SIGN_PASSWORD])
    } else {
        Access::Never
    };
    let files = vec![
        (
            jpki::SIGN_CERT,
            binary(
                creds.sign_cert_der.clone().unwrap_or_default(),
                pins(&[jpki::SIGN_PASSWORD]),
            ),
        ),
        (
            jpki::SIGN_CA_CERT,
            binary(creds.sign_ca_der.clone(), Access::Free),
        ),
        (jpki::UNKNOWN_05, FileImage::Opaque),
        (
            jpki::TOKEN_INFO,
            binary(jpki_token(&persona.card_serial), Access::Free),
        ),
        (
            jpki::CERTIFICATE_AVAILABILITY,
            binary(certificate_availability(has_sign).to_vec(), Access::Free),
        ),
        (jpki::UNKNOWN_09, binary(vec![0xFF; 16], Access::Never)),
        (
            jpki::AUTH_CERT,
            binary(creds.auth_cert_der.clone(), Access::Free),
        ),
        (
            jpki::AUTH_CA_CERT,
            binary(creds.auth_ca_der.clone(), Access::Free),
        ),
        (jpki::UNKNOWN_10, FileImage::Opaque),
        (jpki::TERMINAL_CA_KEY, FileImage::Opaque),
        (
            jpki::AUTH_KEY,
            key_file(&keys.auth, pins(&[jpki::AUTH_PIN]), false),
        ),
        (jpki::AUTH_PIN, pin(&persona.pins.auth_pin, 3, false)),
        (jpki::UNKNOWN_19, FileImage::Opaque),
        (jpki::SIGN_KEY, key_file(&keys.sign, sign_key_use, false)),
        (jpki::SIGN_PASSWORD, sign_password),
        (jpki::UNKNOWN_1C, FileImage::Opaque),
        (jpki::UNKNOWN_1E, FileImage::Opaque),
    ];
    Ok(applet(Aid::JPKI, "JPKI-AP", files))
}

/// JPKI EF 0008: `8F` per present certificate (signature, authentication), then `00`.
pub fn certificate_availability(has_signature_certificate: bool) -> [u8; 3] {
    [
        if has_signature_certificate {
            0x8F
        } else {
            0x00
        },
        0x8F,
        0x00,
    ]
}

/// 券面事項入力補助AP (docs/card-protocol.md §3.2).
fn text_ap(persona: &Persona, key: &ApKey) -> Result<AppletImage> {
    let my_number = my_number_file(persona);
    let (basic_info, digested) = basic_info_file(persona)?;
    let integrity = integrity_record(&my_number, &basic_info[digested], key)?;
    let holder = key_id(&format!("9{}3", persona.municipality_code), "001");
    let cvc = card_verifiable_certificate(&key_id("9000033", "001"), &holder, key)?;

    let mut ap_info_hash = Sha256::digest(&key.public).to_vec();
    ap_info_hash.resize(128, 0xFF);
    let ap_info = tlv(
        &[0xFF, 0x40],
        &[
            tlv(&[0xDF, 0x41], &[0x01, 0x03, 0x0E, 0x01])?,
            tlv(&[0xDF, 0x42], &key_id("9000034", "001"))?,
            tlv(&[0xDF, 0x43], &ap_info_hash)?,
        ]
        .concat(),
    )?;
    let public_key_record = {
        let inner = tlv(&[0xDF, 0x51], &key.public)?;
        let signature = key.sign("text AP public-key record", &inner)?;
        tlv(
            &[0xFF, 0x50],
            &[inner, tlv(&[0xDF, 0x52], &signature)?].concat(),
        )?
    };
    let any = || pins(&[text::PIN, text::PIN_A, text::PIN_B]);
    let files = vec![
        (
            text::MY_NUMBER,
            binary(my_number, pins(&[text::PIN, text::PIN_A])),
        ),
        (
            text::BASIC_INFO,
            binary(basic_info, pins(&[text::PIN, text::PIN_B])),
        ),
        (text::INTEGRITY, binary(integrity, any())),
        (text::CVC, binary(cvc, Access::Free)),
        (text::AP_INFO, binary(fill(ap_info, 256), Access::Free)),
        (
            text::SESSION_KEY_PUBLIC,
            binary(tlv(&[0xA1], &key.public)?, any()),
        ),
        (text::SIGNED_PUBLIC_KEY, binary(public_key_record, any())),
        (text::UNKNOWN_08, binary(vec![0xFF; 16], any())),
        (text::UNKNOWN_10, FileImage::Opaque),
        (text::PIN, pin(&persona.pins.text_pin, 3, false)),
        (text::BLOCKED_12, pin("0000", 3, true)),
        (text::AP_KEY, key_file(key, Access::Free, false)),
        (
            text::PIN_A,
            pin(&persona.pins.pin_a, VERIFICATION_CODE_TRIES, false),
        ),
        (
            text::PIN_B,
            pin(&persona.pins.pin_b, VERIFICATION_CODE_TRIES, false),
        ),
        (text::UNKNOWN_1C, FileImage::Opaque),
        (text::UNKNOWN_1E, FileImage::Opaque),
    ];
    Ok(applet(Aid::TEXT, "券面事項入力補助AP", files))
}

/// Text AP EF 0001: `FF 10 0C` + 12 ASCII digits + `FF FF` (docs/card-protocol.md §7.3).
pub fn my_number_file(persona: &Persona) -> Vec<u8> {
    [
        &[0xFF, 0x10, 0x0C][..],
        persona.my_number.reveal().as_bytes(),
        &[0xFF, 0xFF],
    ]
    .concat()
}

/// Text AP EF 0002 (docs/card-protocol.md §7.4) and the range the integrity record digests: from the
/// DF22 tag to the end of the `FF 20` value (the rest is filler).
pub fn basic_info_file(persona: &Persona) -> Result<(Vec<u8>, std::ops::Range<usize>)> {
    let fields = [
        tlv(&[0xDF, 0x22], persona.name.as_bytes())?,
        tlv(&[0xDF, 0x23], persona.address.as_bytes())?,
        tlv(&[0xDF, 0x24], yyyymmdd(persona.birth_date).as_bytes())?,
        tlv(&[0xDF, 0x25], &[persona.sex.code() as u8])?,
    ];
    let (record, offsets) = with_offset_table(&[0xFF, 0x20], &fields)?;
    let len = record.len();
    if len > BASIC_INFO_FILE_SIZE {
        return Err(PersonaliseError::FileOverflow {
            file: "text AP EF 0002 (basic 4 info)",
            len,
            capacity: BASIC_INFO_FILE_SIZE,
        });
    }
    Ok((fill(record, BASIC_INFO_FILE_SIZE), offsets[0]..len))
}

/// Text AP EF 0003, 336 bytes (docs/card-protocol.md §7.5): digests of EF 0001 and of the basic-4-info
/// fields, signed by the AP key.
fn integrity_record(my_number: &[u8], basic_info_fields: &[u8], key: &ApKey) -> Result<Vec<u8>> {
    let inner = [
        tlv(&[0xDF, 0x31], &Sha256::digest(my_number))?,
        tlv(&[0xDF, 0x32], &Sha256::digest(basic_info_fields))?,
    ]
    .concat();
    let signature = key.sign("integrity record", &inner)?;
    tlv(
        &[0xFF, 0x30],
        &[inner, tlv(&[0xDF, 0x33], &signature)?].concat(),
    )
}

/// 券面事項確認AP (docs/card-protocol.md §3.3).
fn visual_ap(persona: &Persona, key: &ApKey) -> Result<AppletImage> {
    let birth = yyyymmdd(persona.birth_date);
    let age_record = {
        let inner = [
            tlv(&[0xDF, 0x11], birth.as_bytes())?,
            tlv(&[0xDF, 0x12], &key.public)?,
        ]
        .concat();
        let signature = key.sign("age record", &inner)?;
        tlv(
            &[0xFF, 0x10],
            &[inner, tlv(&[0xDF, 0x13], &signature)?].concat(),
        )?
    };
    let card_face = card_face_file(persona, key)?;
    let basic_info = {
        let clear = [
            tlv(&[0xDF, 0x31], &[0x06, 0x03, 0x0E, 0x01])?,
            tlv(&[0xDF, 0x32], &key_id("9000024", "001"))?,
            tlv(&[0xDF, 0x33], &[0x01])?,
            tlv(&[0xDF, 0x34], persona.municipality_code.as_bytes())?,
        ]
        .concat();
        // DF35's meaning is unknown (16-byte key id + 256 opaque bytes); a signature gives it
        // the right shape.
        let opaque = key.sign("visual AP basic info", &clear)?;
        let df35 = [key_id("9000025", "001").to_vec(), opaque].concat();
        tlv(&[0xFF, 0x30], &[clear, tlv(&[0xDF, 0x35], &df35)?].concat())?
    };
    let holder = key_id(&format!("9{}2", persona.municipality_code), "001");
    let cvc = card_verifiable_certificate(&key_id("9000023", "001"), &holder, key)?;
    let my_number_image = {
        let png = images::digits_png(images::MY_NUMBER_SIZE, persona.my_number.reveal()).map_err(
            |source| PersonaliseError::Png {
                what: "my number",
                source,
            },
        )?;
        let inner = [tlv(&[0xDF, 0x41], &png)?, tlv(&[0xDF, 0x42], &key.public)?].concat();
        let signature = key.sign("my-number image", &inner)?;
        tlv(
            &[0xFF, 0x40],
            &[inner, tlv(&[0xDF, 0x43], &signature)?].concat(),
        )?
    };
    let a_or_b = || pins(&[visual::PIN_A, visual::PIN_B]);
    let files = vec![
        (
            visual::AGE_RECORD,
            binary(age_record, pins(&[visual::BIRTH_DATE_PIN])),
        ),
        (visual::CARD_FACE, binary(card_face, a_or_b())),
        (visual::AP_INFO, binary(basic_info, Access::Free)),
        (visual::CVC, binary(cvc, Access::Free)),
        (
            visual::MY_NUMBER_IMAGE,
            binary(my_number_image, pins(&[visual::PIN_A])),
        ),
        (visual::UNKNOWN_06, binary(vec![0xFF; 16], a_or_b())),
        (
            visual::BIRTH_DATE_PIN,
            pin(&persona.pins.birth_pin, VERIFICATION_CODE_TRIES, false),
        ),
        (
            visual::PIN_B,
            pin(&persona.pins.pin_b, VERIFICATION_CODE_TRIES, false),
        ),
        (
            visual::PIN_A,
            pin(&persona.pins.pin_a, VERIFICATION_CODE_TRIES, false),
        ),
        (visual::CARD_KEY, key_file(key, Access::Free, false)),
        (visual::UNKNOWN_1C, FileImage::Opaque),
        (visual::UNKNOWN_1E, FileImage::Opaque),
    ];
    Ok(applet(Aid::VISUAL, "券面事項確認AP", files))
}

/// Visual AP EF 0002, the card face (docs/card-protocol.md §7.8). DF28 signs DigestInfo(sha256, 96
/// bytes) whose digest is SHA-256(DF22..DF24) ‖ SHA-256(DF25..DF26) ‖ SHA-256(DF27); DF29 and
/// DF2A follow the signature uncovered.
fn card_face_file(persona: &Persona, key: &ApKey) -> Result<Vec<u8>> {
    let png = |what, size, text: &str, digits_only: bool| {
        if digits_only {
            images::digits_png(size, text)
        } else {
            images::text_png(size, text)
        }
        .map_err(|source| PersonaliseError::Png { what, source })
    };
    let mut fields = vec![
        tlv(&[0xDF, 0x22], yyyymmdd(persona.birth_date).as_bytes())?,
        tlv(&[0xDF, 0x23], &[persona.sex.code() as u8])?,
        tlv(&[0xDF, 0x24], &key.public)?,
        tlv(
            &[0xDF, 0x25],
            &png("name", images::NAME_SIZE, &persona.name, false)?,
        )?,
        tlv(
            &[0xDF, 0x26],
            &png("address", images::ADDRESS_SIZE, &persona.address, false)?,
        )?,
        tlv(&[0xDF, 0x27], &images::jp2_placeholder(images::PHOTO_SIZE))?,
    ];
    let groups = [
        fields[..3].concat(),
        fields[3..5].concat(),
        fields[5].clone(),
    ];
    let signature = key.sign_unhashed("card face", &card_face_digest_info(&groups))?;
    let security_code = png(
        "security code",
        images::SECURITY_CODE_SIZE,
        &persona.security_code,
        true,
    )?;
    fields.push(tlv(&[0xDF, 0x28], &signature)?);
    fields.push(tlv(
        &[0xDF, 0x29],
        yyyymmdd(persona.card_expires_on).as_bytes(),
    )?);
    fields.push(tlv(&[0xDF, 0x2A], &security_code)?);
    Ok(with_offset_table(&[0xFF, 0x20], &fields)?.0)
}

/// DER DigestInfo { sha256, OCTET STRING (96) } over the three card-face groups.
pub fn card_face_digest_info(groups: &[Vec<u8>; 3]) -> Vec<u8> {
    let mut out = vec![
        0x30, 0x71, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x60,
    ];
    for group in groups {
        out.extend_from_slice(&Sha256::digest(group));
    }
    out
}

/// 共通カードAP (docs/card-protocol.md §3.5).
fn common_ap(persona: &Persona, key: &ApKey, key_reference: &[u8; 16]) -> Result<AppletImage> {
    let files = vec![
        (
            common::CARD_RECORD,
            FileImage::Records {
                records: vec![common_record(persona)],
                read: Access::Free,
            },
        ),
        (
            common::KEY_REFERENCE,
            FileImage::Records {
                records: vec![key_reference.to_vec()],
                read: Access::Free,
            },
        ),
        (
            common::KEY,
            FileImage::Key(KeyImage {
                pkcs8: key.pkcs8.clone(),
                sign: Access::Never,
                internal_authenticate: true,
            }),
        ),
        (common::PIN, pin(&persona.pins.common_pin, 3, false)),
    ];
    Ok(applet(Aid::COMMON, "共通カードAP", files))
}

/// 共通カードAP record 1: `01 1C` + serial (15) + municipality code (5) + expiry `YYYYMMDD`.
pub fn common_record(persona: &Persona) -> Vec<u8> {
    let text = format!(
        "{}{}{}",
        persona.card_serial,
        persona.municipality_code,
        yyyymmdd(persona.card_expires_on)
    );
    [&[0x01, text.len() as u8][..], text.as_bytes()].concat()
}

/// 住基AP (docs/card-protocol.md §3.4).
fn juki_ap(persona: &Persona, key_reference: &[u8; 16]) -> AppletImage {
    let files = vec![
        (
            juki::KEY_REFERENCE,
            FileImage::Records {
                records: vec![key_reference.to_vec()],
                read: Access::Free,
            },
        ),
        (juki::PIN, pin(&persona.pins.juki_pin, 3, false)),
    ];
    applet(Aid::JUKI, "住基AP", files)
}

/// `7F 21` card-verifiable certificate, 568 bytes (docs/card-protocol.md §7.6), self-signed.
fn card_verifiable_certificate(
    issuer: &[u8; 16],
    holder: &[u8; 16],
    key: &ApKey,
) -> Result<Vec<u8>> {
    let body = [&issuer[..], &holder[..], &key.public].concat();
    let signature = key.sign("card-verifiable certificate", &body)?;
    tlv(
        &[0x7F, 0x21],
        &[tlv(&[0x5F, 0x4E], &body)?, tlv(&[0x5F, 0x37], &signature)?].concat(),
    )
}

/// A 16-byte key id: 7 ASCII digits, `08 05`, 3 ASCII digits, 4 zero bytes.
fn key_id(number: &str, group: &str) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..7].copy_from_slice(&padded(number.as_bytes(), 7)[..7]);
    id[7..9].copy_from_slice(&[0x08, 0x05]);
    id[9..12].copy_from_slice(&padded(group.as_bytes(), 3)[..3]);
    id
}

/// `outer { DF21 <u16 absolute offsets of each field>, fields... }`, and the offsets.
fn with_offset_table(outer: &[u8], fields: &[Vec<u8>]) -> Result<(Vec<u8>, Vec<usize>)> {
    let table_len = 3 + 2 * fields.len();
    let body_len = table_len + fields.iter().map(Vec::len).sum::<usize>();
    let header_len = outer.len() + length_bytes(body_len).len();
    let mut offsets = Vec::with_capacity(fields.len());
    let mut table = Vec::with_capacity(2 * fields.len());
    let mut at = header_len + table_len;
    for field in fields {
        let offset = u16::try_from(at).map_err(|_| PersonaliseError::TlvTooLong {
            tag: hex::encode_upper(outer),
            len: body_len,
        })?;
        table.extend_from_slice(&offset.to_be_bytes());
        offsets.push(at);
        at += field.len();
    }
    let mut body = tlv(&[0xDF, 0x21], &table)?;
    for field in fields {
        body.extend_from_slice(field);
    }
    Ok((tlv(outer, &body)?, offsets))
}

/// BER-TLV as the 券面 files write it: the tag as given, short length below 0x80, else
/// `82 hh ll` (the card never uses `81`).
fn tlv(tag: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    if value.len() > 0xFFFF {
        return Err(PersonaliseError::TlvTooLong {
            tag: hex::encode_upper(tag),
            len: value.len(),
        });
    }
    Ok([tag, &length_bytes(value.len()), value].concat())
}

fn length_bytes(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        vec![0x82, (len >> 8) as u8, len as u8]
    }
}

fn fill(mut data: Vec<u8>, size: usize) -> Vec<u8> {
    if data.len() < size {
        data.resize(size, 0xFF);
    }
    data
}

fn padded(text: &[u8], len: usize) -> Vec<u8> {
    let mut out = text.to_vec();
    if out.len() < len {
        out.resize(len, b' ');
    }
    out
}

fn check_persona(persona: &Persona) -> Result<()> {
    let digits =
        |value: &str, len: usize| value.len() == len && value.bytes().all(|b| b.is_ascii_digit());
    for (field, value, len, expected) in [
        ("card_serial", &persona.card_serial, 15, "15 digits"),
        (
            "municipality_code",
            &persona.municipality_code,
            5,
            "5 digits",
        ),
        ("security_code", &persona.security_code, 4, "4 digits"),
    ] {
        if !digits(value, len) {
            return Err(PersonaliseError::PersonaField { field, expected });
        }
    }
    Ok(())
}

fn applet(aid: &[u8], label: &str, files: Vec<(FileId, FileImage)>) -> AppletImage {
    AppletImage {
        aid: Aid::new(aid),
        label: label.to_owned(),
        files: files.into_iter().collect(),
    }
}

fn binary(data: Vec<u8>, read: Access) -> FileImage {
    FileImage::Binary { data, read }
}

fn pins(ids: &[FileId]) -> Access {
    Access::AnyOf(ids.to_vec())
}

fn pin(value: &str, max_tries: u8, blocked: bool) -> FileImage {
    FileImage::Pin(PinImage {
        value: value.as_bytes().to_vec(),
        max_tries,
        blocked,
    })
}

fn key_file(key: &ApKey, sign: Access, internal_authenticate: bool) -> FileImage {
    FileImage::Key(KeyImage {
        pkcs8: key.pkcs8.clone(),
        sign,
        internal_authenticate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
    use std::sync::OnceLock;

    /// Access by the literal file ids the public sources give, independent of the layout names.
    fn pins(ids: &[u16]) -> Access {
        Access::AnyOf(ids.iter().map(|&id| FileId(id)).collect())
    }

    /// Three RSA-2048 keys from fixed seeds, derived once per test binary (~120 ms each).
    fn test_keys() -> &'static [Vec<u8>; 3] {
        static KEYS: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
        KEYS.get_or_init(|| {
            [1u8, 2, 3].map(|b| {
                mock_ca::derive_rsa_key(&[b; 32])
                    .expect("test key")
                    .pkcs8_der()
                    .to_vec()
            })
        })
    }

    fn creds(with_sign_cert: bool) -> CardCredentials {
        let [k1, k2, k3] = test_keys().clone();
        CardCredentials {
            sign_cert_der: with_sign_cert.then(|| b"0\x82sign-cert".to_vec()),
            sign_ca_der: b"sign-ca".to_vec(),
            auth_cert_der: b"auth-cert".to_vec(),
            auth_ca_der: b"auth-ca".to_vec(),
            sign_key_pkcs8: k3.clone(),
            auth_key_pkcs8: k3.clone(),
            text_ap_key_pkcs8: k1,
            visual_ap_key_pkcs8: k2,
            common_ap_key_pkcs8: k3.clone(),
            juki_ap_key_pkcs8: k3,
        }
    }

    fn persona() -> Persona {
        Persona::derive(&"felica:0123456789ABCDEF".parse().unwrap(), 1)
    }

    fn image() -> &'static CardImage {
        static IMAGE: OnceLock<CardImage> = OnceLock::new();
        IMAGE.get_or_init(|| personalise(&persona(), &creds(true)).unwrap())
    }

    fn file<'a>(image: &'a CardImage, aid: &[u8], id: u16) -> &'a FileImage {
        &image.applet(aid).unwrap().files[&FileId(id)]
    }

    fn data<'a>(image: &'a CardImage, aid: &[u8], id: u16) -> &'a [u8] {
        match file(image, aid, id) {
            FileImage::Binary { data, .. } => data,
            other => panic!("{id:04X} is not binary: {other:?}"),
        }
    }

    fn read_access(image: &CardImage, aid: &[u8], id: u16) -> Access {
        match file(image, aid, id) {
            FileImage::Binary { read, .. } | FileImage::Records { read, .. } => read.clone(),
            other => panic!("{id:04X} is not readable: {other:?}"),
        }
    }

    /// (tag, offset of the tag, value) of each TLV in `data`, stopping at `FF` filler.
    fn tlvs(data: &[u8]) -> Vec<(Vec<u8>, usize, &[u8])> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() && !(data[at] == 0xFF && data.get(at + 1) == Some(&0xFF)) {
            let tag_len = if data[at] & 0x1F == 0x1F { 2 } else { 1 };
            let tag = data[at..at + tag_len].to_vec();
            let (len, len_len) = match data[at + tag_len] {
                0x82 => (
                    usize::from(u16::from_be_bytes([
                        data[at + tag_len + 1],
                        data[at + tag_len + 2],
                    ])),
                    3,
                ),
                l => (usize::from(l), 1),
            };
            let start = at + tag_len + len_len;
            out.push((tag, at, &data[start..start + len]));
            at = start + len;
        }
        out
    }

    /// The single outer TLV's value, and its header length.
    fn outer(data: &[u8], tag: [u8; 2]) -> (&[u8], usize) {
        let all = tlvs(data);
        assert_eq!(all[0].0, tag);
        let value = all[0].2;
        let header = value.as_ptr() as usize - data.as_ptr() as usize;
        (value, header)
    }

    fn value_of<'a>(fields: &[(Vec<u8>, usize, &'a [u8])], tag: [u8; 2]) -> &'a [u8] {
        fields.iter().find(|f| f.0 == tag).unwrap().2
    }

    /// The `90`/`91` key as aws-lc-rs components.
    fn public(card_key: &[u8]) -> RsaPublicKeyComponents<Vec<u8>> {
        let parts = tlvs(card_key);
        assert_eq!(
            (parts[0].0.as_slice(), parts[1].0.as_slice()),
            (&[0x90][..], &[0x91][..])
        );
        RsaPublicKeyComponents {
            e: parts[0].2.to_vec(),
            n: parts[1].2.to_vec(),
        }
    }

    fn verify(key: &RsaPublicKeyComponents<Vec<u8>>, message: &[u8], signature: &[u8]) {
        key.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
            .expect("signature verifies");
    }

    /// Offsets in the DF21 table, relative to the file start.
    fn offset_table(value: &[u8]) -> Vec<usize> {
        let fields = tlvs(value);
        assert_eq!(fields[0].0, [0xDF, 0x21]);
        fields[0]
            .2
            .chunks(2)
            .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
            .collect()
    }

    #[test]
    fn token_is_160_bytes_with_the_label_first() {
        let token = data(image(), Aid::JPKI, 0x0006);
        assert_eq!(token.len(), 160);
        assert_eq!(&token[..32], b"JPKIAPICCTOKEN2                 ");
        assert_eq!(&token[96..100], &[0x00, 0x00, 0x04, 0x0D]);
        assert_eq!(&token[116..124], &[0, 0, 0, 16, 0, 0, 0, 6]);
        assert_eq!(
            &token[80..96],
            format!("0{}", persona().card_serial).as_bytes()
        );
    }

    #[test]
    fn jpki_files_have_the_spec_access_rules() {
        let img = image();
        assert_eq!(read_access(img, Aid::JPKI, 0x0001), pins(&[0x001B]));
        for id in [0x0002, 0x0006, 0x0008, 0x000A, 0x000B] {
            assert_eq!(read_access(img, Aid::JPKI, id), Access::Free, "{id:04X}");
        }
        assert_eq!(data(img, Aid::JPKI, 0x0008), &[0x8F, 0x8F, 0x00]);
        let FileImage::Key(auth) = file(img, Aid::JPKI, 0x0017) else {
            panic!()
        };
        assert_eq!(auth.sign, pins(&[0x0018]));
        let FileImage::Key(sign) = file(img, Aid::JPKI, 0x001A) else {
            panic!()
        };
        assert_eq!(sign.sign, pins(&[0x001B]));
        let FileImage::Pin(pw) = file(img, Aid::JPKI, 0x001B) else {
            panic!()
        };
        assert_eq!(
            (pw.value.as_slice(), pw.max_tries, pw.blocked),
            (&b"ABC123"[..], 5, false)
        );
        let FileImage::Pin(auth_pin) = file(img, Aid::JPKI, 0x0018) else {
            panic!()
        };
        assert_eq!(
            (auth_pin.value.as_slice(), auth_pin.max_tries),
            (&b"1234"[..], 3)
        );
    }

    #[test]
    fn under_15_card_has_no_signature_certificate() {
        let young = persona()
            .with_overrides(
                &crate::PersonaOverrides::from_yaml_str(
                    "birth_date: 2012-05-05\ncard_issued_on: 2024-01-10\n",
                    "t",
                )
                .unwrap(),
            )
            .unwrap();
        let img = personalise(&young, &creds(false)).unwrap();
        assert_eq!(data(&img, Aid::JPKI, 0x0008), &[0x00, 0x8F, 0x00]);
        let FileImage::Key(sign) = file(&img, Aid::JPKI, 0x001A) else {
            panic!()
        };
        assert_eq!(sign.sign, Access::Never);
        let err = personalise(&young, &creds(true)).unwrap_err();
        assert!(
            matches!(
                err,
                PersonaliseError::SignCertificateMismatch { age: 11, .. }
            ),
            "{err}"
        );
        let err = personalise(&persona(), &creds(false)).unwrap_err();
        assert!(
            err.to_string().contains("needs a signature certificate"),
            "{err}"
        );
    }

    #[test]
    fn my_number_file_is_17_bytes() {
        let p = persona();
        let f = data(image(), Aid::TEXT, 0x0001);
        assert_eq!(f.len(), 17);
        assert_eq!(&f[..3], &[0xFF, 0x10, 0x0C]);
        assert_eq!(&f[3..15], p.my_number.reveal().as_bytes());
        assert_eq!(&f[15..], &[0xFF, 0xFF]);
        assert_eq!(
            read_access(image(), Aid::TEXT, 0x0001),
            pins(&[0x0011, 0x0014])
        );
    }

    #[test]
    fn basic_info_offset_table_points_exactly_at_df22_to_df25() {
        let p = persona();
        let f = data(image(), Aid::TEXT, 0x0002);
        assert_eq!(f.len(), BASIC_INFO_FILE_SIZE);
        let (value, header) = outer(f, [0xFF, 0x20]);
        let offsets = offset_table(value);
        let fields = tlvs(value);
        let tags: Vec<_> = fields[1..].iter().map(|f| f.0.clone()).collect();
        assert_eq!(
            tags,
            [[0xDF, 0x22], [0xDF, 0x23], [0xDF, 0x24], [0xDF, 0x25]]
        );
        for (offset, field) in offsets.iter().zip(&fields[1..]) {
            assert_eq!(*offset, header + field.1, "offset of {:02X?}", field.0);
            assert_eq!(&f[*offset..*offset + 2], field.0.as_slice());
        }
        assert_eq!(value_of(&fields, [0xDF, 0x22]), p.name.as_bytes());
        assert_eq!(value_of(&fields, [0xDF, 0x23]), p.address.as_bytes());
        assert_eq!(
            value_of(&fields, [0xDF, 0x24]),
            yyyymmdd(p.birth_date).as_bytes()
        );
        assert_eq!(value_of(&fields, [0xDF, 0x25]), &[p.sex.code() as u8]);
        assert!(f[header + value.len()..].iter().all(|&b| b == 0xFF));
        assert_eq!(
            read_access(image(), Aid::TEXT, 0x0002),
            pins(&[0x0011, 0x0015])
        );
    }

    #[test]
    fn integrity_record_verifies_with_the_text_ap_key() {
        let img = image();
        let record = data(img, Aid::TEXT, 0x0003);
        assert_eq!(record.len(), 336);
        assert_eq!(&record[..5], &[0xFF, 0x30, 0x82, 0x01, 0x4B]);
        let (value, _) = outer(record, [0xFF, 0x30]);
        let fields = tlvs(value);
        let my_number = data(img, Aid::TEXT, 0x0001);
        assert_eq!(
            value_of(&fields, [0xDF, 0x31]),
            Sha256::digest(my_number).as_slice()
        );
        let basic = data(img, Aid::TEXT, 0x0002);
        let (basic_value, header) = outer(basic, [0xFF, 0x20]);
        let first = offset_table(basic_value)[0];
        let covered = &basic[first..header + basic_value.len()];
        assert_eq!(
            value_of(&fields, [0xDF, 0x32]),
            Sha256::digest(covered).as_slice()
        );
        let text_key = ApKey::load("t", &creds(true).text_ap_key_pkcs8, &KeyRing::new()).unwrap();
        verify(
            &public(&text_key.public),
            &value[..70],
            value_of(&fields, [0xDF, 0x33]),
        );
        assert_eq!(
            read_access(img, Aid::TEXT, 0x0003),
            pins(&[0x0011, 0x0014, 0x0015])
        );
    }

    #[test]
    fn card_verifiable_certificates_are_568_bytes_and_self_consistent() {
        for (aid, issuer) in [(Aid::TEXT, b"9000033"), (Aid::VISUAL, b"9000023")] {
            let cvc = data(image(), aid, 0x0004);
            assert_eq!(cvc.len(), 568);
            assert_eq!(&cvc[..5], &[0x7F, 0x21, 0x82, 0x02, 0x33]);
            assert_eq!(&cvc[5..10], &[0x5F, 0x4E, 0x82, 0x01, 0x29]);
            let body = &cvc[10..307];
            assert_eq!(&cvc[307..312], &[0x5F, 0x37, 0x82, 0x01, 0x00]);
            assert_eq!(&body[..7], issuer);
            assert_eq!(&body[7..9], &[0x08, 0x05]);
            assert_eq!(body[16], b'9', "holder key ids mark the simulator too");
            verify(&public(&body[32..]), body, &cvc[312..]);
        }
    }

    #[test]
    fn text_ap_basic_info_is_ff40_in_256_bytes() {
        let f = data(image(), Aid::TEXT, 0x0005);
        assert_eq!(f.len(), 256);
        assert_eq!(&f[..5], &[0xFF, 0x40, 0x82, 0x00, 0x9F]);
        let (value, _) = outer(f, [0xFF, 0x40]);
        let fields = tlvs(value);
        assert_eq!(value_of(&fields, [0xDF, 0x41]), &[0x01, 0x03, 0x0E, 0x01]);
        assert_eq!(value_of(&fields, [0xDF, 0x42]).len(), 16);
        assert_eq!(read_access(image(), Aid::TEXT, 0x0005), Access::Free);
        let FileImage::Pin(blocked) = file(image(), Aid::TEXT, 0x0012) else {
            panic!()
        };
        assert!(blocked.blocked);
        let FileImage::Key(ap_key) = file(image(), Aid::TEXT, 0x0013) else {
            panic!()
        };
        assert_eq!(ap_key.sign, Access::Free);
    }

    #[test]
    fn card_face_offsets_images_and_signature() {
        let p = persona();
        let img = image();
        let f = data(img, Aid::VISUAL, 0x0002);
        let (value, header) = outer(f, [0xFF, 0x20]);
        let offsets = offset_table(value);
        let fields = tlvs(value);
        assert_eq!(offsets.len(), 9);
        for (i, (offset, field)) in offsets.iter().zip(&fields[1..]).enumerate() {
            assert_eq!(field.0, [0xDF, 0x22 + i as u8]);
            assert_eq!(*offset, header + field.1);
        }
        assert_eq!(
            value_of(&fields, [0xDF, 0x22]),
            yyyymmdd(p.birth_date).as_bytes()
        );
        assert_eq!(
            value_of(&fields, [0xDF, 0x29]),
            yyyymmdd(p.card_expires_on).as_bytes()
        );
        for tag in [0x25, 0x26, 0x2A] {
            assert!(value_of(&fields, [0xDF, tag]).starts_with(b"\x89PNG\r\n\x1a\n"));
        }
        assert!(value_of(&fields, [0xDF, 0x27]).starts_with(&[
            0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A
        ]));

        // DF28 = PKCS#1 v1.5 over DigestInfo(sha256, H(DF22..DF24) ‖ H(DF25..DF26) ‖ H(DF27)),
        // checked with the key certified in EF 0004.
        let span = |from: usize, to: usize| &f[offsets[from]..offsets[to]];
        let mut digest = Vec::new();
        for group in [span(0, 3), span(3, 5), span(5, 6)] {
            digest.extend_from_slice(&Sha256::digest(group));
        }
        let mut digest_info = hex::decode("3071300d060960864801650304020105000460").unwrap();
        digest_info.extend_from_slice(&digest);
        let cvc = data(img, Aid::VISUAL, 0x0004);
        let certified = public(&cvc[42..307]);
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&certified.n),
            rsa::BigUint::from_bytes_be(&certified.e),
        )
        .unwrap();
        key.verify(
            rsa::Pkcs1v15Sign::new_unprefixed(),
            &digest_info,
            value_of(&fields, [0xDF, 0x28]),
        )
        .expect("card-face signature verifies");
        assert_eq!(
            read_access(img, Aid::VISUAL, 0x0002),
            pins(&[0x0013, 0x0012])
        );
    }

    #[test]
    fn age_record_and_my_number_image_verify() {
        let img = image();
        let cvc = data(img, Aid::VISUAL, 0x0004);
        let certified = public(&cvc[42..307]);
        let age = data(img, Aid::VISUAL, 0x0001);
        assert_eq!(age.len(), 547);
        assert_eq!(&age[..5], &[0xFF, 0x10, 0x82, 0x02, 0x1E]);
        let (value, _) = outer(age, [0xFF, 0x10]);
        verify(&certified, &value[..281], &value[286..]);
        assert_eq!(read_access(img, Aid::VISUAL, 0x0001), pins(&[0x0011]));

        let image_file = data(img, Aid::VISUAL, 0x0005);
        let (value, _) = outer(image_file, [0xFF, 0x40]);
        let fields = tlvs(value);
        let signature_at = fields[2].1;
        verify(&certified, &value[..signature_at], fields[2].2);
        assert_eq!(read_access(img, Aid::VISUAL, 0x0005), pins(&[0x0013]));
        let FileImage::Pin(birth) = file(img, Aid::VISUAL, 0x0011) else {
            panic!()
        };
        assert_eq!(birth.value, persona().pins.birth_pin.as_bytes());
    }

    #[test]
    fn visual_basic_info_carries_the_municipality_code() {
        let f = data(image(), Aid::VISUAL, 0x0003);
        let (value, _) = outer(f, [0xFF, 0x30]);
        let fields = tlvs(value);
        assert_eq!(value_of(&fields, [0xDF, 0x31]), &[0x06, 0x03, 0x0E, 0x01]);
        assert_eq!(
            value_of(&fields, [0xDF, 0x34]),
            persona().municipality_code.as_bytes()
        );
        assert_eq!(value_of(&fields, [0xDF, 0x35]).len(), 272);
    }

    #[test]
    fn common_ap_record_and_mf_objects() {
        let p = persona();
        let img = image();
        let FileImage::Records { records, read } = file(img, Aid::COMMON, 0x0001) else {
            panic!()
        };
        assert_eq!(*read, Access::Free);
        let expected = format!(
            "{}{}{}",
            p.card_serial,
            p.municipality_code,
            yyyymmdd(p.card_expires_on)
        );
        assert_eq!(records[0][..2], [0x01, 0x1C]);
        assert_eq!(&records[0][2..], expected.as_bytes());
        let FileImage::Key(key) = file(img, Aid::COMMON, 0x0019) else {
            panic!()
        };
        assert!(key.internal_authenticate);
        assert_eq!(
            file(img, Aid::JUKI, 0x0002).clone_records(),
            file(img, Aid::COMMON, 0x0002).clone_records()
        );
        assert_eq!(img.atr, CardImage::DEFAULT_ATR);
        assert_eq!(img.mf_objects[&0x5F51], &CardImage::DEFAULT_ATR[1..]);
        assert_eq!(img.mf_objects[&0x00F0], p.municipality_code.as_bytes());
        assert_eq!(
            img.mf_objects[&0x00F2],
            yyyymmdd(p.card_expires_on).as_bytes()
        );
        assert_eq!(img.mf_objects[&0x0045], p.card_serial.as_bytes());
        let aids: Vec<_> = img.applets.iter().map(|a| a.aid.0.clone()).collect();
        let mut sorted = aids.clone();
        sorted.sort();
        assert_eq!(aids, sorted);
    }

    #[test]
    fn bad_keys_are_named() {
        let mut c = creds(true);
        c.visual_ap_key_pkcs8 = b"not a key".to_vec();
        let err = personalise(&persona(), &c).unwrap_err();
        assert!(err.to_string().starts_with("visual_ap_key_pkcs8:"), "{err}");
    }

    #[test]
    fn an_overlong_address_is_refused_not_truncated() {
        let mut p = persona();
        p.address = "東".repeat(200);
        p.address_substitute_flags = "0".repeat(200);
        let err = personalise(&p, &creds(true)).unwrap_err();
        assert!(
            matches!(err, PersonaliseError::FileOverflow { capacity: 512, .. }),
            "{err}"
        );
    }

    trait CloneRecords {
        fn clone_records(&self) -> Vec<Vec<u8>>;
    }

    impl CloneRecords for FileImage {
        fn clone_records(&self) -> Vec<Vec<u8>> {
            match self {
                FileImage::Records { records, .. } => records.clone(),
                _ => Vec::new(),
            }
        }
    }
}
