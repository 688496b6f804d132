//! GET DATA `00 CA` (docs/card-protocol.md §3.6): the card-level data objects, answered at MF level.

use super::{Card, Outcome};
use crate::apdu::Apdu;
use crate::status::StatusWord;

/// Objects longer than this refuse a short Le (`67 00`); clients retry with an extended Le.
const SHORT_RESPONSE_MAX: usize = 256;

impl Card {
    /// `00 CA <tag> Le`: the object from [`crate::CardImage::mf_objects`]; absent, or asked for
    /// with an AP selected, is `6A 88`.
    pub(super) fn get_data(&mut self, apdu: &Apdu) -> Outcome {
        let ne = apdu.le.ne().ok_or(StatusWord::WRONG_LENGTH)?;
        if !apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        if self.applet.is_some() {
            return Err(StatusWord::REFERENCED_DATA_NOT_FOUND);
        }
        let tag = u16::from_be_bytes([apdu.p1, apdu.p2]);
        let object = self
            .image
            .mf_objects
            .get(&tag)
            .ok_or(StatusWord::REFERENCED_DATA_NOT_FOUND)?;
        if object.len() > SHORT_RESPONSE_MAX && !apdu.le.is_extended() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        Ok(object[..object.len().min(ne)].to_vec())
    }
}
