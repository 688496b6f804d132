//! SELECT FILE `00 A4` (docs/card-protocol.md §1.3, §4.1): APs by DF name (exact, prefix, next occurrence), EFs by
//! FID in the current DF, the MF-level forms and the GlobalPlatform ISD.

use super::{Card, Outcome};
use crate::apdu::Apdu;
use crate::image::{Aid, FileId};
use crate::status::StatusWord;

impl Card {
    pub(super) fn select(&mut self, apdu: &Apdu) -> Outcome {
        match apdu.p1 {
            0x00 => self.select_mf(apdu),
            0x02 => self.select_ef(apdu),
            0x04 => self.select_df_name(apdu),
            // P1=09 (path from the current DF) and the other ISO forms do not work (docs/card-protocol.md §1.3).
            _ => Err(StatusWord::INCORRECT_P1_P2),
        }
    }

    /// `00 A4 00 00`: answered only with an AP selected, and without changing the current DF;
    /// `6A 86` at MF level. Any FID (even `3F 00`) is not found.
    fn select_mf(&mut self, apdu: &Apdu) -> Outcome {
        if !apdu.data.is_empty() {
            return Err(StatusWord::FILE_NOT_FOUND);
        }
        match self.applet {
            Some(_) => Ok(Vec::new()),
            None => Err(StatusWord::INCORRECT_P1_P2),
        }
    }

    /// `00 A4 02 0C 02 <FID>`: makes an EF of the current DF current. Never checks access.
    fn select_ef(&mut self, apdu: &Apdu) -> Outcome {
        if !matches!(apdu.p2, 0x00 | 0x04 | 0x0C) {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let [hi, lo] = apdu.data[..] else {
            return Err(StatusWord::WRONG_LENGTH);
        };
        let fid = FileId(u16::from_be_bytes([hi, lo]));
        if self.file(fid).is_none() {
            return Err(StatusWord::FILE_NOT_FOUND);
        }
        self.ef = Some(fid);
        Ok(Vec::new())
    }

    /// `00 A4 04 P2 Lc <AID or prefix>`: P2 `0C` no data, `00` (also `04`/`08`) a minimal FCI;
    /// low bits `00` first occurrence, `02` next occurrence after the current AP.
    fn select_df_name(&mut self, apdu: &Apdu) -> Outcome {
        let p2 = apdu.p2;
        if p2 & 0xF0 != 0 || !matches!(p2 & 0x03, 0x00 | 0x02) {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let next = p2 & 0x03 == 0x02;
        let with_fci = p2 & 0x0C != 0x0C;
        let name = &apdu.data;
        if name.is_empty() {
            return Err(StatusWord::FILE_NOT_FOUND);
        }
        let target = self.find_df(name, next).ok_or(StatusWord::FILE_NOT_FOUND)?;
        let aid = match target {
            Some(index) => {
                self.applet = Some(index);
                self.ef = None;
                self.security.enter(Some(index));
                self.image.applets[index].aid.0.clone()
            }
            None => {
                // The ISD: back to the power-on state; leaving the AP clears its status.
                self.applet = None;
                self.ef = None;
                self.security.enter(None);
                Aid::GP_ISD.to_vec()
            }
        };
        Ok(if with_fci {
            minimal_fci(&aid)
        } else {
            Vec::new()
        })
    }

    /// Resolves a DF name: `Some(Some(index))` for an applet, `Some(None)` for the ISD.
    fn find_df(&self, name: &[u8], next: bool) -> Option<Option<usize>> {
        let candidates = self.df_names();
        if !next {
            if let Some((target, _)) = candidates.iter().find(|(_, aid)| *aid == name) {
                return Some(*target);
            }
            return candidates
                .iter()
                .find(|(_, aid)| aid.starts_with(name))
                .map(|(target, _)| *target);
        }
        // Next occurrence: the first match after the current DF in on-card order.
        let current = self.applet.and_then(|index| {
            candidates
                .iter()
                .position(|(target, _)| *target == Some(index))
        });
        let start = current.map_or(0, |position| position + 1);
        candidates[start..]
            .iter()
            .find(|(_, aid)| aid.starts_with(name))
            .map(|(target, _)| *target)
    }

    /// DF names in on-card order: the image's applets, then the ISD (unless the image has it).
    fn df_names(&self) -> Vec<(Option<usize>, &[u8])> {
        let mut names: Vec<(Option<usize>, &[u8])> = self
            .image
            .applets
            .iter()
            .enumerate()
            .map(|(index, applet)| (Some(index), applet.aid.0.as_slice()))
            .collect();
        if !names.iter().any(|(_, aid)| *aid == Aid::GP_ISD) {
            names.push((None, Aid::GP_ISD));
        }
        names
    }
}

/// `6F L 84 n <AID>`: the FCI template with only the DF name (the real FCI is UNCONFIRMED,
/// docs/card-protocol.md §12.1).
fn minimal_fci(aid: &[u8]) -> Vec<u8> {
    let mut fci = Vec::with_capacity(aid.len() + 4);
    fci.extend_from_slice(&[0x6F, (aid.len() + 2) as u8, 0x84, aid.len() as u8]);
    fci.extend_from_slice(aid);
    fci
}
