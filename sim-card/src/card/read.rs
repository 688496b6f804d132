//! READ BINARY `00 B0` (docs/card-protocol.md §4.2) and READ RECORD `00 B2` (§4.3).

use super::{Card, Outcome};
use crate::apdu::Apdu;
use crate::image::{FileId, FileImage};
use crate::status::StatusWord;

impl Card {
    /// Offset form `00 B0 <15-bit offset> Le` on the current EF, or SFI form
    /// `00 B0 (80|SFI) <offset> Le`, which also makes that EF current. Returns exactly
    /// `min(Ne, size - offset)` bytes; an offset at or past the end is `6B 00`.
    pub(super) fn read_binary(&mut self, apdu: &Apdu) -> Outcome {
        let ne = apdu.le.ne().ok_or(StatusWord::WRONG_LENGTH)?;
        if !apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let (fid, offset) = if apdu.p1 & 0x80 != 0 {
            let sfi = apdu.p1 & 0x1F;
            if apdu.p1 & 0x60 != 0 || sfi == 0 || sfi == 0x1F {
                return Err(StatusWord::INCORRECT_P1_P2);
            }
            let fid = FileId(sfi as u16);
            if self.file(fid).is_none() {
                return Err(StatusWord::FILE_NOT_FOUND);
            }
            self.ef = Some(fid);
            (fid, apdu.p2 as usize)
        } else {
            let fid = self.ef.ok_or(StatusWord::NO_CURRENT_EF)?;
            (fid, u16::from_be_bytes([apdu.p1, apdu.p2]) as usize)
        };
        let applet = self.applet;
        let (data, access) = match self.file(fid) {
            Some(FileImage::Binary { data, read }) => (data, read),
            Some(_) => return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE),
            None => return Err(StatusWord::NO_CURRENT_EF),
        };
        // MF-level files are never binary, so a readable file always belongs to an applet.
        let applet = applet.ok_or(StatusWord::INCOMPATIBLE_FILE_STRUCTURE)?;
        if !self.security.allows(applet, access) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        if offset >= data.len() {
            return Err(StatusWord::OFFSET_OUTSIDE_EF);
        }
        let end = data.len().min(offset + ne);
        let mut out = Vec::with_capacity(end - offset + 2);
        out.extend_from_slice(&data[offset..end]);
        Ok(out)
    }

    /// READ BINARY of a file cut at half its length ([`super::faults::CardFault::TruncatedFile`]):
    /// what the whole file would answer, short of the cut, and `6B 00` at or past it.
    pub(super) fn read_binary_truncated(&mut self, apdu: &Apdu) -> Outcome {
        let mut data = self.read_binary(apdu)?;
        let offset = if apdu.p1 & 0x80 != 0 {
            apdu.p2 as usize
        } else {
            u16::from_be_bytes([apdu.p1, apdu.p2]) as usize
        };
        let len = match self.ef.and_then(|fid| self.file(fid)) {
            Some(FileImage::Binary { data, .. }) => data.len(),
            _ => return Ok(data),
        };
        let cut = len / 2;
        if offset >= cut {
            return Err(StatusWord::OFFSET_OUTSIDE_EF);
        }
        data.truncate(cut - offset);
        Ok(data)
    }

    /// `00 B2 <record> <P2> Le`: P2 `04` = current EF, `(SFI<<3)|04` = by SFI (which becomes
    /// current). Only single-record reads; `05`/`06` (ranges) are `6A 81`.
    pub(super) fn read_record(&mut self, apdu: &Apdu) -> Outcome {
        let ne = apdu.le.ne().ok_or(StatusWord::WRONG_LENGTH)?;
        if !apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        match apdu.p2 & 0x07 {
            0x04 => {}
            0x05 | 0x06 => return Err(StatusWord::FUNCTION_NOT_SUPPORTED),
            _ => return Err(StatusWord::INCORRECT_P1_P2),
        }
        if apdu.p1 == 0 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        let fid = match apdu.p2 >> 3 {
            0 => self.ef.ok_or(StatusWord::NO_CURRENT_EF)?,
            0x1F => return Err(StatusWord::INCORRECT_P1_P2),
            sfi => {
                let fid = FileId(sfi as u16);
                if self.file(fid).is_none() {
                    return Err(StatusWord::FILE_NOT_FOUND);
                }
                self.ef = Some(fid);
                fid
            }
        };
        let (records, access) = match self.file(fid) {
            Some(FileImage::Records { records, read }) => (records, read),
            Some(_) => return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE),
            None => return Err(StatusWord::NO_CURRENT_EF),
        };
        let applet = self.applet.ok_or(StatusWord::INCOMPATIBLE_FILE_STRUCTURE)?;
        if !self.security.allows(applet, access) {
            return Err(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let record = records
            .get(apdu.p1 as usize - 1)
            .ok_or(StatusWord::RECORD_NOT_FOUND)?;
        Ok(record[..record.len().min(ne)].to_vec())
    }
}
