//! Private-key commands: COMPUTE DIGITAL SIGNATURE `80 2A` (docs/card-protocol.md §4.6), INTERNAL AUTHENTICATE
//! `00 88` (§4.7), and the SET SESSION KEY `80 AE` refusals (§4.11).

use super::{Card, Outcome};
use crate::apdu::Apdu;
use crate::image::{Access, Aid, FileId, FileImage, KeyImage};
use crate::key::{SignError, SignatureScheme, SIGNATURE_LEN};
use crate::status::StatusWord;

impl Card {
    /// `80 2A P1 P2 Lc <data> 00`: P1 = scheme `00`–`05`; P2 `80` = current key EF, `80|SFI` =
    /// that key, `00` = the AP's default key (券面 APs). Answers the 256-byte signature.
    pub(super) fn compute_digital_signature(&mut self, apdu: &Apdu) -> Outcome {
        let scheme = SignatureScheme::from_p1(apdu.p1).ok_or(StatusWord::INCORRECT_P1_P2)?;
        let fid = match apdu.p2 {
            0x00 => self
                .current_applet()
                .and_then(|applet| applet.default_signing_key())
                .ok_or(StatusWord::INCORRECT_P1_P2)?,
            p2 => self.referenced_file(p2)?,
        };
        let (applet, key_image) = self.referenced_key(fid, apdu.p2)?;
        if !self.security.allows(applet, &key_image.sign) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        if apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let key = self
            .keys
            .get(&(applet, fid))
            .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
        let mut out = Vec::with_capacity(SIGNATURE_LEN + 2);
        key.sign_into(scheme, &apdu.data, &mut out)
            .map_err(sign_error_status)?;
        Ok(out)
    }

    /// `00 88 00 P2 Lc <challenge> 00`: sha256WithRSA over the challenge with a key marked for
    /// internal authentication (共通カードAP `0019`, no credential). PIN-protected keys answer
    /// `69 82`, the 券面 keys (which sign through `80 2A`) `69 85`.
    pub(super) fn internal_authenticate(&mut self, apdu: &Apdu) -> Outcome {
        if apdu.p1 != 0x00 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let fid = self.referenced_file(apdu.p2)?;
        let (applet, key_image) = self.referenced_key(fid, apdu.p2)?;
        if !key_image.internal_authenticate {
            return Err(match key_image.sign {
                Access::Free => StatusWord::CONDITIONS_NOT_SATISFIED,
                _ => StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            });
        }
        if apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let key = self
            .keys
            .get(&(applet, fid))
            .ok_or(StatusWord::NO_PRECISE_DIAGNOSIS)?;
        let mut out = Vec::with_capacity(SIGNATURE_LEN + 2);
        key.internal_authenticate_into(&apdu.data, &mut out)
            .map_err(sign_error_status)?;
        Ok(out)
    }

    /// `80 AE`: the text AP's secure-messaging session key. The simulator offers no secure
    /// messaging, so it answers what each AP answers to an unusable cryptogram (docs/card-protocol.md §4.11).
    pub(super) fn set_session_key(&mut self, _apdu: &Apdu) -> Outcome {
        let Some(applet) = self.current_applet() else {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let aid = applet.aid.0.as_slice();
        Err(if aid == Aid::TEXT {
            StatusWord::INCORRECT_DATA
        } else if aid == Aid::COMMON || aid == Aid::VISUAL {
            StatusWord::SECURITY_ENVIRONMENT_FAULTY
        } else {
            StatusWord::SECURITY_STATUS_NOT_SATISFIED
        })
    }

    // Helpers.

    /// The key IEF `fid` of the current AP (`p2` tells whether it was named by the current EF).
    fn referenced_key(&self, fid: FileId, p2: u8) -> Result<(usize, &KeyImage), StatusWord> {
        let key = match self.file(fid) {
            Some(FileImage::Key(key)) => key,
            Some(_) => return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE),
            None if p2 == 0x80 => return Err(StatusWord::NO_CURRENT_EF),
            None => return Err(StatusWord::FILE_NOT_FOUND),
        };
        let applet = self.applet.ok_or(StatusWord::INCOMPATIBLE_FILE_STRUCTURE)?;
        Ok((applet, key))
    }
}

fn sign_error_status(error: SignError) -> StatusWord {
    match error {
        SignError::InputLength { .. } => StatusWord::CONDITIONS_NOT_SATISFIED,
        SignError::Backend => StatusWord::NO_PRECISE_DIAGNOSIS,
    }
}
