//! GET CHALLENGE `00 84` (docs/card-protocol.md §4.8) and the card's deterministic random-number generator.

use super::{Card, Outcome};
use crate::apdu::{Apdu, Le};
use crate::status::StatusWord;

impl Card {
    /// `00 84 00 00 Le`: exactly Ne random bytes for a short Le (1..=256); an extended Le is
    /// `69 85`. Works at MF level and inside any AP.
    pub(super) fn get_challenge(&mut self, apdu: &Apdu) -> Outcome {
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return Err(StatusWord::INCORRECT_P1_P2);
        }
        if !apdu.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let len = match apdu.le {
            Le::Absent => return Err(StatusWord::WRONG_LENGTH),
            Le::Extended(_) => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
            Le::Short(n) => n as usize,
        };
        let mut out = vec![0u8; len];
        self.rng.fill(&mut out);
        Ok(out)
    }
}

/// SplitMix64: small, fast and reproducible from one seed. Challenges are test data, not
/// secrets, so a cryptographic generator is not needed.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_be_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        let (mut a, mut b, mut c) = (Rng::new(1), Rng::new(1), Rng::new(2));
        let (mut x, mut y, mut z) = ([0u8; 13], [0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
