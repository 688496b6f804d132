//! What an SDK operation comes back with: the status word that decided it and the data.

use sim_card::StatusWord;

/// What an SDK operation came back with: the status word of the APDU that decided it and, on
/// success, the data read or computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkOutcome {
    /// The status word of the APDU that decided the operation.
    pub status: StatusWord,
    /// What the operation read or computed, on success.
    pub data: Option<SdkData>,
}

/// Data an operation returns on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkData {
    /// A certificate, DER.
    Certificate(Vec<u8>),
    /// Tries a PIN has left (`63Cx` to a VERIFY without data).
    RetriesLeft(u8),
    /// A PKCS#1 v1.5 signature.
    Signature(Vec<u8>),
    /// The basic 4 info of the text AP.
    BasicInfo(CardBasicInfo),
    /// The 12-digit my number (個人番号).
    MyNumber(String),
    /// The visual AP's card-face file, as read.
    CardFace(Vec<u8>),
    /// The card holds no such certificate or key (JPKI EF `0008` says so: a holder under 15
    /// at issuance has no signature certificate). It comes with the status word of the
    /// refusal that made the SDK look; the holder is told the certificate is missing, not that
    /// a password is blocked.
    NoCertificate,
}

impl SdkOutcome {
    /// An outcome that carries only a status word (a refusal, or success without data).
    pub fn status(status: StatusWord) -> SdkOutcome {
        SdkOutcome { status, data: None }
    }

    /// A success (`9000`) with its data.
    pub fn with_data(data: SdkData) -> SdkOutcome {
        SdkOutcome {
            status: StatusWord::SUCCESS,
            data: Some(data),
        }
    }
}

/// The basic 4 info as the text AP holds them: UTF-8 text, birth date `YYYYMMDD`, sex as the
/// JIS X 0303 digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardBasicInfo {
    /// The name.
    pub name: String,
    /// The address.
    pub address: String,
    /// The birth date, `YYYYMMDD`.
    pub birth_date: String,
    /// Sex as the JIS X 0303 digit.
    pub sex: String,
}
