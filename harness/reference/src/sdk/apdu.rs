//! The command APDUs the SDK sends, as docs/card.md lists them, and the AIDs and EF ids of the
//! JPKI, text and visual APs (card-protocol.md §3).

use sim_card::image::Aid;

/// `00 A4 04 0C`: SELECT an AP by DF name, no FCI.
pub fn select_ap(aid: &[u8]) -> Vec<u8> {
    with_data([0x00, 0xA4, 0x04, 0x0C], aid)
}

/// `00 A4 02 0C`: SELECT an EF of the current AP by its 2-byte id.
pub fn select_ef(fid: u16) -> Vec<u8> {
    with_data([0x00, 0xA4, 0x02, 0x0C], &fid.to_be_bytes())
}

/// `00 20 00 80`: VERIFY the current PIN EF with `value`.
pub fn verify(value: &[u8]) -> Vec<u8> {
    with_data([0x00, 0x20, 0x00, 0x80], value)
}

/// `00 20 00 80` without data: how many tries are left (always `63Cx`).
pub fn verify_status() -> Vec<u8> {
    vec![0x00, 0x20, 0x00, 0x80]
}

/// `00 24 01 80`: CHANGE REFERENCE DATA of the current PIN EF to `new` (after a VERIFY).
pub fn change_reference_data(new: &[u8]) -> Vec<u8> {
    with_data([0x00, 0x24, 0x01, 0x80], new)
}

/// `00 B0`: READ BINARY of `len` bytes (1..=256; 256 is sent as `00`) at `offset`.
pub fn read_binary(offset: u16, len: usize) -> Vec<u8> {
    let [hi, lo] = offset.to_be_bytes();
    vec![0x00, 0xB0, hi & 0x7F, lo, (len & 0xFF) as u8]
}

/// `80 2A 00 80`: COMPUTE DIGITAL SIGNATURE with the current key EF over `input` (a
/// DigestInfo), PKCS#1 v1.5 padding done by the card; `Le 00`.
pub fn compute_digital_signature(input: &[u8]) -> Vec<u8> {
    let mut apdu = with_data([0x80, 0x2A, 0x00, 0x80], input);
    apdu.push(0x00);
    apdu
}

/// JPKI AP (公的個人認証AP).
pub const JPKI_AP: &[u8] = Aid::JPKI;
/// Text AP (券面事項入力補助AP).
pub const TEXT_AP: &[u8] = Aid::TEXT;
/// Visual AP (券面事項確認AP).
pub const VISUAL_AP: &[u8] = Aid::VISUAL;

/// JPKI EF ids.
pub mod jpki {
    pub const SIGN_CERT: u16 = 0x0001;
    pub const SIGN_CA_CERT: u16 = 0x0002;
    pub const AUTH_CERT: u16 = 0x000A;
    pub const AUTH_CA_CERT: u16 = 0x000B;
    pub const AUTH_KEY: u16 = 0x0017;
    pub const AUTH_PIN: u16 = 0x0018;
    pub const SIGN_KEY: u16 = 0x001A;
    pub const SIGN_PASSWORD: u16 = 0x001B;
}

/// Text AP EF ids.
pub mod text {
    pub const MY_NUMBER: u16 = 0x0001;
    pub const BASIC_INFO: u16 = 0x0002;
    pub const PIN: u16 = 0x0011;
    pub const PIN_A: u16 = 0x0014;
    pub const PIN_B: u16 = 0x0015;
}

/// Visual AP EF ids.
pub mod visual {
    pub const CARD_FACE: u16 = 0x0002;
    pub const PIN_B: u16 = 0x0012;
    pub const PIN_A: u16 = 0x0013;
}

fn with_data(header: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut apdu = header.to_vec();
    apdu.push(data.len() as u8);
    apdu.extend_from_slice(data);
    apdu
}
