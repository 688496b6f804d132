//! A complete test card for this crate's tests and for other crates' tests (cargo feature
//! `testing`): all five APs with well-formed placeholder files, the default PINs and RSA-2048 test
//! keys.
//!
//! The keys are generated deterministically (RustCrypto `rsa` with a seeded ChaCha20 RNG) the first
//! time they are needed and cached for the life of the process. They are test keys for this
//! simulator only. File contents are placeholders shaped like the real files (docs/card-protocol.md §3, §7): right
//! tags, lengths and sizes, synthetic values.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs8::EncodePrivateKey;

use crate::card::{Card, CardConfig, PinSnapshot};
use crate::image::{Access, Aid, AppletImage, CardImage, FileId, FileImage, KeyImage, PinImage};

/// 利用者証明用暗証番号 (JPKI `0018`), 3 tries.
pub const AUTH_PIN: &[u8] = b"1234";
/// 署名用パスワード (JPKI `001B`), 5 tries.
pub const SIGN_PASSWORD: &[u8] = b"ABC123";
/// 券面事項入力補助用暗証番号 (text AP `0011`), 3 tries.
pub const TEXT_PIN: &[u8] = b"1234";
/// 個人番号 of the test persona (valid check digit); also 照合番号A.
pub const MY_NUMBER: &[u8] = b"123456789018";
/// 照合番号A (text `0014`, visual `0013`).
pub const PIN_A: &[u8] = MY_NUMBER;
/// 照合番号B: era DOB `550217` + expiry year `2035` + security code `2285` (docs/card-protocol.md §6.1).
pub const PIN_B: &[u8] = b"55021720352285";
/// 生年月日 key (visual `0011`): Japanese-era `YYMMDD`.
pub const BIRTH_PIN: &[u8] = b"550217";
/// 住基AP and 共通カードAP PINs (`001C`).
pub const CARD_PIN: &[u8] = b"1234";
/// Tries allowed for 照合番号A/B and the birth key (UNCONFIRMED on the real card, docs/card-protocol.md §12.4).
pub const VERIFICATION_NUMBER_TRIES: u8 = 10;

/// The test card's RSA keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestKey {
    /// JPKI `0017` 利用者証明用秘密鍵.
    JpkiAuth,
    /// JPKI `001A` 署名用秘密鍵.
    JpkiSign,
    /// Text AP `0013`.
    Text,
    /// Visual AP `001A`.
    Visual,
    /// 共通カードAP `0019` (INTERNAL AUTHENTICATE).
    Common,
}

impl TestKey {
    /// Every test key, in the order their seeds are numbered.
    pub const ALL: [TestKey; 5] = [
        TestKey::JpkiAuth,
        TestKey::JpkiSign,
        TestKey::Text,
        TestKey::Visual,
        TestKey::Common,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// PKCS#8 DER of a test key (generated once per process).
pub fn key_pkcs8(key: TestKey) -> &'static [u8] {
    static KEYS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        // Generate the five keys on parallel threads: keygen dominates test start-up.
        std::thread::scope(|scope| {
            let handles: Vec<_> = TestKey::ALL
                .iter()
                .map(|key| scope.spawn(move || generate_key(0x4A50_4B49_0000 + key.index() as u64)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("test key generation thread"))
                .collect()
        })
    });
    &keys[key.index()]
}

/// The test card image, built once per process.
pub fn card_image() -> Arc<CardImage> {
    static IMAGE: OnceLock<Arc<CardImage>> = OnceLock::new();
    IMAGE.get_or_init(|| Arc::new(build_image())).clone()
}

/// A powered, fresh test card with the default PINs and configuration.
pub fn card() -> Card {
    Card::new(card_image(), PinSnapshot::default()).expect("the test image is valid")
}

/// A fresh test card with a custom configuration.
pub fn card_with(config: CardConfig, pins: PinSnapshot) -> Card {
    Card::with_config(card_image(), pins, config).expect("the test image is valid")
}

/// File contents of the test image that tests compare against.
pub mod files {
    /// JPKI `0001`: 署名用電子証明書, 1742 bytes (`30 82 06 CA`, as in the spec's trace).
    pub fn sign_cert() -> Vec<u8> {
        super::der_like(0x06CA, 0x01)
    }
    /// JPKI `000A`: 利用者証明用電子証明書, 1586 bytes (`30 82 06 2E`).
    pub fn auth_cert() -> Vec<u8> {
        super::der_like(0x062E, 0x0A)
    }
    /// JPKI `0002`: the signature CA certificate, 1024 bytes (the same size as `000B`).
    pub fn sign_ca_cert() -> Vec<u8> {
        super::der_like(0x03FC, 0x02)
    }
    /// JPKI `000B`: the authentication CA certificate, 1024 bytes.
    pub fn auth_ca_cert() -> Vec<u8> {
        super::der_like(0x03FC, 0x0B)
    }
    /// JPKI `0006`: 160-byte token info starting `JPKIAPICCTOKEN2` + spaces (docs/card-protocol.md §7.1).
    pub fn token() -> Vec<u8> {
        let mut token = Vec::with_capacity(160);
        token.extend_from_slice(&pad(b"JPKIAPICCTOKEN2", 32, b' '));
        token.extend_from_slice(b"00000000000000000000000000000001");
        token.extend_from_slice(&pad(b"E16R01NJ", 16, b' '));
        token.extend_from_slice(b"0000000020500003");
        token.extend_from_slice(&[0x00, 0x00, 0x04, 0x0D]);
        for value in [1u32, 0, 1, 0, 16, 6] {
            token.extend_from_slice(&value.to_be_bytes());
        }
        token.extend_from_slice(&[0xFF; 16]);
        token.extend_from_slice(b"0301");
        token.extend_from_slice(&[b'9'; 16]);
        token
    }
    /// Text AP `0001`: `FF 10 0C` + 12 digits + `FF FF` (17 bytes).
    pub fn my_number() -> Vec<u8> {
        let mut file = vec![0xFF, 0x10, 0x0C];
        file.extend_from_slice(super::MY_NUMBER);
        file.extend_from_slice(&[0xFF, 0xFF]);
        file
    }
    /// Text AP `0002`: 基本4情報 `FF 20 ..` with the DF21 offset table (docs/card-protocol.md §7.4), FF-padded to 256.
    pub fn basic_four() -> Vec<u8> {
        let fields: [(u8, &[u8]); 4] = [
            (0x22, "黒桐\u{3000}幹也".as_bytes()),
            (0x23, "東京都清瀬市観布子南１２－７－２０２".as_bytes()),
            (0x24, b"19800217"),
            (0x25, b"1"),
        ];
        let mut body = Vec::new();
        let mut offsets = Vec::new();
        // Header `FF 20 L` (3) + `DF 21 08` + 8 offset bytes (11).
        let mut position = 3 + 11;
        for (tag, value) in fields {
            offsets.extend_from_slice(&(position as u16).to_be_bytes());
            body.extend_from_slice(&[0xDF, tag, value.len() as u8]);
            body.extend_from_slice(value);
            position += 3 + value.len();
        }
        let mut file = vec![0xFF, 0x20, (11 + body.len()) as u8, 0xDF, 0x21, 0x08];
        file.extend_from_slice(&offsets);
        file.extend_from_slice(&body);
        file.resize(256, 0xFF);
        file
    }
    /// Text AP `0005`: AP basic info `FF 40 82 00 9F ..`, FF-padded to 256 bytes (docs/card-protocol.md §7.7).
    pub fn text_basic_info() -> Vec<u8> {
        let mut file = vec![0xFF, 0x40, 0x82, 0x00, 0x9F];
        file.extend_from_slice(&[0xDF, 0x41, 0x04, 0x01, 0x03, 0x0E, 0x01]);
        file.extend_from_slice(&[0xDF, 0x42, 0x10]);
        file.extend_from_slice(&super::key_id(b"6000034"));
        file.extend_from_slice(&[0xDF, 0x43, 0x82, 0x00, 0x80]);
        file.extend_from_slice(&[0x5A; 32]);
        file.extend_from_slice(&[0xFF; 96]);
        file.resize(256, 0xFF);
        file
    }
    /// 共通カードAP `0001` record 1: `01 1C` + serial(15) + municipality(5) + expiry(8).
    pub fn common_record() -> Vec<u8> {
        let mut record = vec![0x01, 0x1C];
        record.extend_from_slice(b"400000012719843");
        record.extend_from_slice(b"13221");
        record.extend_from_slice(b"20350217");
        record
    }

    fn pad(text: &[u8], len: usize, fill: u8) -> Vec<u8> {
        let mut out = text.to_vec();
        out.resize(len, fill);
        out
    }
}

// Helpers.

fn generate_key(seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA-2048 test key generation");
    key.to_pkcs8_der()
        .expect("PKCS#8 encoding of a test key")
        .as_bytes()
        .to_vec()
}

/// `30 82 hh ll` followed by `len` deterministic filler bytes: shaped like a DER certificate.
fn der_like(len: u16, salt: u8) -> Vec<u8> {
    let mut out = vec![0x30, 0x82];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&filler(len as usize, salt));
    out
}

/// A tagged object `tag.. 82 hh ll` + filler, padded with `FF` to `file_len`.
fn tagged(tag: &[u8], value_len: u16, file_len: usize, salt: u8) -> Vec<u8> {
    let mut out = tag.to_vec();
    out.push(0x82);
    out.extend_from_slice(&value_len.to_be_bytes());
    out.extend_from_slice(&filler(value_len as usize, salt));
    out.resize(file_len.max(out.len()), 0xFF);
    out
}

fn filler(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(salt as u32 * 7) as u8)
        .collect()
}

/// A 16-byte 証明者鍵ID: 7 ASCII digits, `08 05`, 3 ASCII digits, 4 padding bytes (docs/card-protocol.md §7.6).
fn key_id(digits: &[u8; 7]) -> Vec<u8> {
    let mut id = digits.to_vec();
    id.extend_from_slice(&[0x08, 0x05]);
    id.extend_from_slice(b"001");
    id.extend_from_slice(&[0x00; 4]);
    id
}

fn binary(data: Vec<u8>, read: Access) -> FileImage {
    FileImage::Binary { data, read }
}

fn pin(value: &[u8], max_tries: u8) -> FileImage {
    FileImage::Pin(PinImage {
        value: value.to_vec(),
        max_tries,
        blocked: false,
    })
}

fn key(key: TestKey, sign: Access, internal_authenticate: bool) -> FileImage {
    FileImage::Key(KeyImage {
        pkcs8: key_pkcs8(key).to_vec(),
        sign,
        internal_authenticate,
    })
}

fn any_of(fids: &[u16]) -> Access {
    Access::AnyOf(fids.iter().map(|f| FileId(*f)).collect())
}

fn applet(aid: &[u8], label: &str, files: Vec<(u16, FileImage)>) -> AppletImage {
    AppletImage {
        aid: Aid::new(aid),
        label: label.to_owned(),
        files: files.into_iter().map(|(f, i)| (FileId(f), i)).collect(),
    }
}

fn build_image() -> CardImage {
    let jpki = applet(
        Aid::JPKI,
        "JPKI-AP",
        vec![
            (0x0001, binary(files::sign_cert(), any_of(&[0x001B]))),
            (0x0002, binary(files::sign_ca_cert(), Access::Free)),
            (0x0006, binary(files::token(), Access::Free)),
            (0x0008, binary(vec![0x8F, 0x8F, 0x00], Access::Free)),
            (0x0009, binary(filler(32, 0x09), Access::Never)),
            (0x000A, binary(files::auth_cert(), Access::Free)),
            (0x000B, binary(files::auth_ca_cert(), Access::Free)),
            (0x0010, FileImage::Opaque),
            (0x0016, FileImage::Opaque),
            (0x0017, key(TestKey::JpkiAuth, any_of(&[0x0018]), false)),
            (0x0018, pin(AUTH_PIN, 3)),
            (0x001A, key(TestKey::JpkiSign, any_of(&[0x001B]), false)),
            (0x001B, pin(SIGN_PASSWORD, 5)),
        ],
    );
    let blocked = PinImage {
        value: b"0000".to_vec(),
        max_tries: 3,
        blocked: true,
    };
    let text = applet(
        Aid::TEXT,
        "券面事項入力補助AP",
        vec![
            (
                0x0001,
                binary(files::my_number(), any_of(&[0x0011, 0x0014])),
            ),
            (
                0x0002,
                binary(files::basic_four(), any_of(&[0x0011, 0x0015])),
            ),
            (
                0x0003,
                binary(
                    tagged(&[0xFF, 0x30], 0x014B, 336, 0x03),
                    any_of(&[0x0011, 0x0014, 0x0015]),
                ),
            ),
            (
                0x0004,
                binary(tagged(&[0x7F, 0x21], 0x0233, 568, 0x04), Access::Free),
            ),
            (0x0005, binary(files::text_basic_info(), Access::Free)),
            (
                0x0006,
                binary(
                    tagged(&[0xA1], 0x010E, 0, 0x06),
                    any_of(&[0x0011, 0x0014, 0x0015]),
                ),
            ),
            (
                0x0007,
                binary(
                    tagged(&[0xFF, 0x50], 0x0212, 0, 0x07),
                    any_of(&[0x0011, 0x0014, 0x0015]),
                ),
            ),
            (0x0008, binary(vec![0xFF; 16], Access::Free)),
            (0x0011, pin(TEXT_PIN, 3)),
            (0x0012, FileImage::Pin(blocked)),
            (0x0013, key(TestKey::Text, Access::Free, false)),
            (0x0014, pin(PIN_A, VERIFICATION_NUMBER_TRIES)),
            (0x0015, pin(PIN_B, VERIFICATION_NUMBER_TRIES)),
        ],
    );
    let visual = applet(
        Aid::VISUAL,
        "券面事項確認AP",
        vec![
            (
                0x0001,
                binary(tagged(&[0xFF, 0x10], 0x021E, 0, 0x11), any_of(&[0x0011])),
            ),
            (
                0x0002,
                binary(
                    tagged(&[0xFF, 0x20], 0x0BB3, 0, 0x12),
                    any_of(&[0x0012, 0x0013]),
                ),
            ),
            (
                0x0003,
                binary(tagged(&[0xFF, 0x30], 0x0143, 0, 0x13), Access::Free),
            ),
            (
                0x0004,
                binary(tagged(&[0x7F, 0x21], 0x0233, 568, 0x14), Access::Free),
            ),
            (
                0x0005,
                binary(tagged(&[0xFF, 0x40], 0x0320, 0, 0x15), any_of(&[0x0013])),
            ),
            (0x0006, binary(vec![0xFF; 16], any_of(&[0x0012, 0x0013]))),
            (0x0011, pin(BIRTH_PIN, VERIFICATION_NUMBER_TRIES)),
            (0x0012, pin(PIN_B, VERIFICATION_NUMBER_TRIES)),
            (0x0013, pin(PIN_A, VERIFICATION_NUMBER_TRIES)),
            (0x001A, key(TestKey::Visual, Access::Free, false)),
        ],
    );
    let key_reference = filler(16, 0x20);
    let juki = applet(
        Aid::JUKI,
        "住基AP",
        vec![
            (
                0x0002,
                FileImage::Records {
                    records: vec![key_reference.clone()],
                    read: Access::Free,
                },
            ),
            (0x001C, pin(CARD_PIN, 3)),
        ],
    );
    let common = applet(
        Aid::COMMON,
        "共通カードAP",
        vec![
            (
                0x0001,
                FileImage::Records {
                    records: vec![files::common_record()],
                    read: Access::Free,
                },
            ),
            (
                0x0002,
                FileImage::Records {
                    records: vec![key_reference],
                    read: Access::Free,
                },
            ),
            (0x0019, key(TestKey::Common, Access::Never, true)),
            (0x001C, pin(CARD_PIN, 3)),
        ],
    );
    let mut mf_objects = BTreeMap::new();
    mf_objects.insert(0x0042, filler(16, 0x42));
    mf_objects.insert(0x0045, b"400000012719843".to_vec());
    mf_objects.insert(
        0x0066,
        vec![
            0x66, 0x0C, 0x73, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01, 0x01,
        ],
    );
    mf_objects.insert(0x00F0, b"13221".to_vec());
    mf_objects.insert(0x00F2, b"20350217".to_vec());
    mf_objects.insert(0x00F7, key_id(b"6000023"));
    mf_objects.insert(
        0x00F8,
        tagged(&[0x5F, 0x4E], 0x0129, 0, 0xF8)
            .into_iter()
            .chain(tagged(&[0x5F, 0x37], 0x0100, 0, 0xF9))
            .collect(),
    );
    mf_objects.insert(0x5F51, CardImage::DEFAULT_ATR[1..].to_vec());
    CardImage {
        atr: CardImage::DEFAULT_ATR.to_vec(),
        applets: vec![jpki, text, visual, juki, common],
        mf_objects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_have_the_documented_shapes() {
        assert_eq!(files::sign_cert().len(), 1742);
        assert_eq!(files::auth_cert().len(), 1586);
        assert_eq!(files::token().len(), 160);
        assert!(files::token().starts_with(b"JPKIAPICCTOKEN2                 0"));
        assert_eq!(files::my_number().len(), 17);
        assert_eq!(files::text_basic_info().len(), 256);
        assert_eq!(files::common_record().len(), 30);
        let basic = files::basic_four();
        // The offset table points at the DF22..DF25 tags.
        for (i, tag) in [0x22u8, 0x23, 0x24, 0x25].into_iter().enumerate() {
            let offset = u16::from_be_bytes([basic[6 + 2 * i], basic[7 + 2 * i]]) as usize;
            assert_eq!(&basic[offset..offset + 2], &[0xDF, tag]);
        }
    }

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let a = key_pkcs8(TestKey::JpkiAuth);
        assert_eq!(a, generate_key(0x4A50_4B49_0000).as_slice());
        assert_ne!(a, key_pkcs8(TestKey::JpkiSign));
    }
}
