//! The command APDUs the SDK sends, as docs/card.md lists them, encoded by [`sim_card::Apdu`].
//! Which file holds what is [`sim_card::layout`]'s, the AIDs are [`Aid`]'s.

use sim_card::apdu::{Apdu, Le};
use sim_card::image::{Aid, FileId};

/// `00 A4 04 0C`: SELECT an AP by DF name, no FCI.
pub fn select_ap(aid: &[u8]) -> Vec<u8> {
    Apdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid).encode()
}

/// `00 A4 02 0C`: SELECT an EF of the current AP by its 2-byte id.
pub fn select_ef(fid: FileId) -> Vec<u8> {
    Apdu::new(0x00, 0xA4, 0x02, 0x0C)
        .with_data(fid.0.to_be_bytes())
        .encode()
}

/// `00 20 00 80`: VERIFY the current PIN EF with `value`.
pub fn verify(value: &[u8]) -> Vec<u8> {
    Apdu::new(0x00, 0x20, 0x00, 0x80).with_data(value).encode()
}

/// `00 20 00 80` without data: how many tries are left (always `63Cx`).
pub fn verify_status() -> Vec<u8> {
    Apdu::new(0x00, 0x20, 0x00, 0x80).encode()
}

/// `00 24 01 80`: CHANGE REFERENCE DATA of the current PIN EF to `new` (after a VERIFY).
pub fn change_reference_data(new: &[u8]) -> Vec<u8> {
    Apdu::new(0x00, 0x24, 0x01, 0x80).with_data(new).encode()
}

/// `00 B0`: READ BINARY of `len` bytes (1..=256; 256 is sent as `00`) at `offset` (15 bits: the
/// top bit of P1 would select by short file id).
pub fn read_binary(offset: u16, len: usize) -> Vec<u8> {
    let [hi, lo] = offset.to_be_bytes();
    let ne = len.clamp(1, 256) as u16;
    Apdu::new(0x00, 0xB0, hi & 0x7F, lo)
        .with_le(Le::Short(ne))
        .encode()
}

/// `80 2A 00 80`: COMPUTE DIGITAL SIGNATURE with the current key EF over `input` (a
/// DigestInfo), PKCS#1 v1.5 padding done by the card; `Le 00`.
pub fn compute_digital_signature(input: &[u8]) -> Vec<u8> {
    Apdu::new(0x80, 0x2A, 0x00, 0x80)
        .with_data(input)
        .with_le(Le::Short(256))
        .encode()
}

/// `command` again with a short Le of `le` (`00` = 256), as a `6C xx` asks; `None` when it is
/// not a short APDU that has an Le.
pub fn with_short_le(command: &[u8], le: u8) -> Option<Vec<u8>> {
    let mut apdu = Apdu::parse(command).ok()?;
    if apdu.extended || apdu.le == Le::Absent {
        return None;
    }
    apdu.le = Le::Short(if le == 0 { 256 } else { u16::from(le) });
    Some(apdu.encode())
}

/// JPKI AP (公的個人認証AP).
pub const JPKI_AP: &[u8] = Aid::JPKI;
/// Text AP (券面事項入力補助AP).
pub const TEXT_AP: &[u8] = Aid::TEXT;
/// Visual AP (券面事項確認AP).
pub const VISUAL_AP: &[u8] = Aid::VISUAL;

#[cfg(test)]
mod tests {
    use super::*;
    use sim_card::layout::jpki;

    /// The bytes the SDK sends are those docs/card.md lists (and the card's transcripts use).
    #[test]
    fn commands_encode_as_documented() {
        assert_eq!(
            hex::encode_upper(select_ef(jpki::AUTH_CERT)),
            "00A4020C02000A"
        );
        assert_eq!(hex::encode_upper(verify(b"1234")), "002000800431323334");
        assert_eq!(hex::encode_upper(verify_status()), "00200080");
        assert_eq!(hex::encode_upper(read_binary(0x0104, 256)), "00B0010400");
        assert_eq!(hex::encode_upper(read_binary(0, 4)), "00B0000004");
        assert_eq!(
            hex::encode_upper(compute_digital_signature(&[0xAB; 3])),
            "802A008003ABABAB00"
        );
        assert_eq!(
            hex::encode_upper(select_ap(JPKI_AP)),
            "00A4040C0AD392F000260100000001"
        );
    }

    #[test]
    fn a_6c_resend_changes_only_the_le() {
        let again = with_short_le(&read_binary(0x0600, 256), 0x32).unwrap();
        assert_eq!(hex::encode_upper(again), "00B0060032");
        let again = with_short_le(&read_binary(0, 5), 0).unwrap();
        assert_eq!(hex::encode_upper(again), "00B0000000");
        assert_eq!(with_short_le(&select_ef(jpki::AUTH_CERT), 4), None);
    }
}
