//! What is written onto a card at personalisation: applets, their files, PINs and keys.
//!
//! A [`CardImage`] is plain data. The card OS (`crate::card`) interprets it and keeps the volatile
//! and persistent security state (selected files, verified PINs, retry counters) separately, so one
//! image can back many card sessions and a persisted PIN state can be laid over a fresh image.
//! AIDs and file ids follow `docs/card.md` (from the public client sources cited there).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An application identifier (DF name), as sent in SELECT by DF name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Aid(pub Vec<u8>);

impl Aid {
    /// `D3 92 F0 00 26 01 00 00 00 01`: 公的個人認証AP (JPKI-AP).
    pub const JPKI: &'static [u8] = &[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
    /// `D3 92 10 00 31 00 01 01 04 08`: 券面事項入力補助AP (input-assist / text AP).
    pub const TEXT: &'static [u8] = &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
    /// `D3 92 10 00 31 00 01 01 04 02`: 券面事項確認AP (card-face / visual AP).
    pub const VISUAL: &'static [u8] = &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
    /// `D3 92 10 00 31 00 01 01 04 01`: 住基AP (resident-registry AP).
    pub const JUKI: &'static [u8] = &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01];
    /// `D3 92 10 00 31 00 01 01 01 00`: 共通カードAP (common card AP).
    pub const COMMON: &'static [u8] = &[0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00];
    /// `A0 00 00 01 51 00 00`: GlobalPlatform issuer security domain; selecting it returns to the
    /// power-on (MF-level) state.
    pub const GP_ISD: &'static [u8] = &[0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00];

    /// An AID from its bytes, e.g. `Aid::new(Aid::JPKI)`.
    pub fn new(bytes: &[u8]) -> Self {
        Aid(bytes.to_vec())
    }
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({})", hex::encode_upper(&self.0))
    }
}

/// A 2-byte elementary file id. All EFs on this card are `0001`–`001E`, so each also has a short
/// EF identifier (its low 5 bits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileId(pub u16);

impl FileId {
    /// The short EF identifier used by the SFI forms of READ BINARY, READ RECORD, VERIFY and
    /// COMPUTE DIGITAL SIGNATURE.
    pub fn sfi(self) -> u8 {
        (self.0 & 0x1F) as u8
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({:04X})", self.0)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// Everything personalised onto one card.
#[derive(Clone, Debug)]
pub struct CardImage {
    /// Answer to reset presented to the reader (default `3B E0 00 FF 81 31 FE 45 14`).
    pub atr: Vec<u8>,
    /// Applets in their on-card order (the order prefix selection walks).
    pub applets: Vec<AppletImage>,
    /// GET DATA objects answered at MF level, keyed by the 2-byte tag (P1 P2).
    pub mf_objects: BTreeMap<u16, Vec<u8>>,
}

impl CardImage {
    /// The ATR of the contact interface that OpenSC's `jpki` driver matches exactly.
    pub const DEFAULT_ATR: &'static [u8] = &[0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];

    /// The applet whose AID is exactly `aid` (no prefix match), if the card holds it.
    pub fn applet(&self, aid: &[u8]) -> Option<&AppletImage> {
        self.applets.iter().find(|a| a.aid.0 == aid)
    }
}

/// One application DF and its files.
#[derive(Clone, Debug)]
pub struct AppletImage {
    /// The DF name SELECT names it by (one of the [`Aid`] constants on a personalised card).
    pub aid: Aid,
    /// Human-readable name for traces (e.g. `JPKI-AP`).
    pub label: String,
    /// The applet's EFs and IEFs, by FID.
    pub files: BTreeMap<FileId, FileImage>,
}

impl AppletImage {
    /// The key `80 2A P1 00` (P2 = `00`) signs with: the AP's only key usable with no credential
    /// and not reserved for INTERNAL AUTHENTICATE (券面 APs: text `0013`, visual `001A`; spec
    /// §3.2, §3.3). `None` when there is no such key or more than one.
    pub fn default_signing_key(&self) -> Option<FileId> {
        let mut keys = self.files.iter().filter_map(|(fid, file)| match file {
            FileImage::Key(key) if key.sign == Access::Free && !key.internal_authenticate => {
                Some(*fid)
            }
            _ => None,
        });
        let first = keys.next()?;
        keys.next().is_none().then_some(first)
    }
}

/// One elementary file.
#[derive(Clone, Debug)]
pub enum FileImage {
    /// A transparent EF read with READ BINARY.
    Binary {
        /// The file's bytes, filler included (e.g. the 17 bytes of text AP EF 0001).
        data: Vec<u8>,
        /// Who may read it; otherwise READ answers `69 82`.
        read: Access,
    },
    /// A record EF (simple-TLV records) read with READ RECORD; record 1 is `records[0]`.
    Records {
        /// Each record's bytes, a simple-TLV object (docs/card-protocol.md §4.3).
        records: Vec<Vec<u8>>,
        /// Who may read it; otherwise READ RECORD answers `69 82`.
        read: Access,
    },
    /// A PIN (verification data) internal EF.
    Pin(PinImage),
    /// A private-key internal EF.
    Key(KeyImage),
    /// An internal EF of unknown purpose: selectable, never readable (`69 81`).
    Opaque,
}

/// Who may read a file or use a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing needs to be presented.
    Free,
    /// A successful VERIFY of any of these PIN EFs (in the same applet) opens it.
    AnyOf(Vec<FileId>),
    /// Never, whatever is presented.
    Never,
}

/// A PIN or verification number as personalised.
#[derive(Clone, PartialEq, Eq)]
pub struct PinImage {
    /// The reference value, as the ASCII bytes a client sends in VERIFY.
    pub value: Vec<u8>,
    /// Consecutive wrong tries allowed before the PIN blocks (3 or 5 on this card).
    pub max_tries: u8,
    /// Blocked from the start (e.g. key reference `0012` of the text AP on every examined card).
    pub blocked: bool,
}

impl fmt::Debug for PinImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinImage")
            .field("value", &"<redacted>")
            .field("max_tries", &self.max_tries)
            .field("blocked", &self.blocked)
            .finish()
    }
}

/// An RSA private key as personalised.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyImage {
    /// PKCS#8 (RFC 5208) DER of an RSA-2048 private key.
    pub pkcs8: Vec<u8>,
    /// Which PIN must be verified before COMPUTE DIGITAL SIGNATURE may use it.
    pub sign: Access,
    /// Whether INTERNAL AUTHENTICATE may use it (共通カードAP key `0019`, no credential).
    pub internal_authenticate: bool,
}

impl fmt::Debug for KeyImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyImage")
            .field("pkcs8", &"<redacted>")
            .field("sign", &self.sign)
            .field("internal_authenticate", &self.internal_authenticate)
            .finish()
    }
}
