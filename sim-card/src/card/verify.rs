//! VERIFY `00 20` (docs/card-protocol.md §4.4, §6), CHANGE REFERENCE DATA `00 24 01` and CHANGE KEY `80 32 00`
//! (§4.5).

use super::pins::VerifyOutcome;
use super::{Card, Outcome};
use crate::apdu::Apdu;
use crate::image::{Aid, FileId, FileImage};
use crate::layout::{common, jpki, juki, text};
use crate::status::StatusWord;

/// Shortest and longest new value CHANGE accepts for a reference value without a known format
/// (4 covers the digit PINs, 16 the sign password).
const NEW_PIN_LEN: std::ops::RangeInclusive<usize> = 4..=16;

/// What a new reference value must look like: the formats the card's holders are told to use
/// (docs/card.md, "Changing a PIN").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewValueFormat {
    /// 署名用パスワード: 6 to 16 of `A-Z` and `0-9`.
    SignPassword,
    /// The 4-digit PINs: JPKI authentication, text AP, 住基AP, 共通AP.
    FourDigits,
    /// Anything else: [`NEW_PIN_LEN`] bytes.
    Unknown,
}

impl NewValueFormat {
    fn of(aid: &[u8], fid: FileId) -> NewValueFormat {
        if aid == Aid::JPKI && fid == jpki::SIGN_PASSWORD {
            NewValueFormat::SignPassword
        } else if (aid == Aid::JPKI && fid == jpki::AUTH_PIN)
            || (aid == Aid::TEXT && fid == text::PIN)
            || (aid == Aid::JUKI && fid == juki::PIN)
            || (aid == Aid::COMMON && fid == common::PIN)
        {
            NewValueFormat::FourDigits
        } else {
            NewValueFormat::Unknown
        }
    }

    fn accepts(self, value: &[u8]) -> bool {
        match self {
            NewValueFormat::SignPassword => {
                (6..=16).contains(&value.len())
                    && value
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
            NewValueFormat::FourDigits => value.len() == 4 && value.iter().all(u8::is_ascii_digit),
            NewValueFormat::Unknown => NEW_PIN_LEN.contains(&value.len()),
        }
    }
}

impl Card {
    /// `00 20 00 P2 [Lc PIN]`. Empty data is a retry query: always `63 Cx`, even when the PIN is
    /// already verified (OpenSC and myna need SW1 = 63, docs/card-protocol.md §6.3). A wrong PIN (of any length)
    /// costs a try; a blocked PIN answers `69 84`.
    pub(super) fn verify(&mut self, apdu: &Apdu) -> Outcome {
        if apdu.p1 != 0x00 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let (applet, fid) = self.referenced_pin(apdu.p2)?;
        let remaining = self
            .pins
            .get(applet, fid)
            .map(|entry| entry.remaining)
            .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
        if apdu.data.is_empty() {
            return Err(StatusWord::retries_left(remaining));
        }
        let before = self.pins.clone();
        match self.pins.verify(applet, fid, &apdu.data) {
            Some(VerifyOutcome::Correct) => {
                self.commit_pins(before)?;
                self.security.grant(applet, fid);
                Ok(Vec::new())
            }
            Some(VerifyOutcome::Wrong(left)) => {
                self.commit_pins(before)?;
                self.security.revoke(applet, fid);
                Err(StatusWord::retries_left(left))
            }
            Some(VerifyOutcome::Blocked) => Err(StatusWord::REFERENCED_IEF_LOCKED),
            None => Err(StatusWord::NO_PRECISE_DIAGNOSIS),
        }
    }

    /// `00 24 01 P2 Lc <new PIN>`: only the new value, after a successful VERIFY of the PIN in
    /// this session (otherwise `69 82`, docs/card-protocol.md §4.5 recommendation).
    pub(super) fn change_reference_data(&mut self, apdu: &Apdu) -> Outcome {
        if apdu.p1 != 0x01 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        self.change_pin(apdu)
    }

    /// `80 32 00 P2 Lc <new PIN>`: JICSAP CHANGE KEY, used for the `001C` PINs; same rules.
    pub(super) fn change_key(&mut self, apdu: &Apdu) -> Outcome {
        if apdu.p1 != 0x00 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        self.change_pin(apdu)
    }

    // Helpers.

    fn change_pin(&mut self, apdu: &Apdu) -> Outcome {
        let (applet, fid) = self.referenced_pin(apdu.p2)?;
        let blocked = self
            .pins
            .get(applet, fid)
            .map(|entry| entry.remaining == 0)
            .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
        if blocked {
            return Err(StatusWord::REFERENCED_IEF_LOCKED);
        }
        if !self.security.is_verified(applet, fid) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        if apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let aid = &self.image.applets[applet].aid.0;
        if !NewValueFormat::of(aid, fid).accepts(&apdu.data) {
            // The old value stays, and no try is spent: the holder mistyped the new one.
            return Err(StatusWord::INCORRECT_DATA);
        }
        let before = self.pins.clone();
        self.pins.change(applet, fid, &apdu.data);
        self.commit_pins(before)?;
        Ok(Vec::new())
    }

    /// The PIN IEF a P2 names, in the current AP.
    fn referenced_pin(&self, p2: u8) -> Result<(usize, FileId), StatusWord> {
        let fid = self.referenced_file(p2)?;
        match self.file(fid) {
            Some(FileImage::Pin(_)) => {}
            Some(_) => return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE),
            None if p2 == 0x80 => return Err(StatusWord::NO_CURRENT_EF),
            None => return Err(StatusWord::FILE_NOT_FOUND),
        }
        let applet = self.applet.ok_or(StatusWord::INCOMPATIBLE_FILE_STRUCTURE)?;
        Ok((applet, fid))
    }
}
