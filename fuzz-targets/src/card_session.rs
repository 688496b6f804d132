//! A session of APDUs against the test card (`sim_card::testing`): whatever a client sends, the
//! card answers with a status word, never more data than Le allows, and no private key of the
//! JPKI AP signs without its PIN verified since the AP was selected.
//!
//! Input: a length byte and that many bytes of APDU, repeated (at most [`MAX_COMMANDS`]); a
//! length byte of `FE` is a power cycle and `FF` a warm reset instead. Building a card parses
//! and checks its five RSA keys, which costs far more than a session, so one card is kept and
//! brought back to the fresh state between inputs: a power cycle clears selection and
//! verification, and PIN counters a session used up are restored with the right PIN (a card
//! whose PIN values changed or that blocked a PIN is rebuilt). Only the GET CHALLENGE generator
//! is not rewound; no answer checked here depends on its bytes.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use sim_card::{testing, Aid, Apdu, Card, PinSnapshot};

/// More commands than any client sequence of docs/card-protocol.md §10 needs.
const MAX_COMMANDS: usize = 32;
const POWER_CYCLE: u8 = 0xFE;
const WARM_RESET: u8 = 0xFF;
const SUCCESS: [u8; 2] = [0x90, 0x00];
const WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
/// Every private-key operation answers one RSA-2048 signature.
const SIGNATURE_LEN: usize = 256;
/// The JPKI AP's PIN-protected keys and the PIN each needs (testing.rs, docs/card-protocol.md
/// §3.1): `0017` by `0018` (利用者証明用), `001A` by `001B` (署名用). No other AP has these
/// FIDs as PINs, and no other AP has a key `0017`.
const AUTH_KEY: u16 = 0x17;
const AUTH_PIN: u16 = 0x18;
const SIGN_KEY: u16 = 0x1A;
const SIGN_PIN: u16 = 0x1B;
/// JPKI `0001`, the signature certificate, is read under the signature password; `0009`
/// never.
const SIGN_CERT: u16 = 0x01;
const NEVER_READ: u16 = 0x09;

/// What the target knows of the card's state, from the commands and answers alone. Where it
/// cannot be sure it assumes what allows more (a PIN maybe verified counts as verified), so a
/// correct card never fails a check.
struct Model {
    /// `Some(true)`: the JPKI AP is current; `Some(false)`: another DF is; `None`: unsure.
    in_jpki: Option<bool>,
    /// The current EF: `Some(None)` none, `Some(Some(fid))` known, `None` unsure.
    ef: Option<Option<u16>>,
    /// JPKI PINs that may be verified and held by the card's security state.
    verified: BTreeSet<u16>,
}

impl Model {
    fn fresh() -> Model {
        Model {
            in_jpki: Some(false),
            ef: Some(None),
            verified: BTreeSet::new(),
        }
    }

    /// The FID a P2 of VERIFY / CHANGE / COMPUTE DIGITAL SIGNATURE names, if known.
    fn referenced(&self, p2: u8) -> Option<u16> {
        match p2 {
            0x80 => self.ef.flatten(),
            0x81..=0x9E => Some((p2 & 0x1F) as u16),
            _ => None,
        }
    }

    /// The JPKI PINs a P2 may name.
    fn pins_named(&self, p2: u8) -> Vec<u16> {
        match self.referenced(p2) {
            Some(fid) if fid == AUTH_PIN || fid == SIGN_PIN => vec![fid],
            Some(_) => Vec::new(),
            None if p2 == 0x80 => vec![AUTH_PIN, SIGN_PIN],
            None => Vec::new(),
        }
    }
}

struct Bench {
    card: Card,
    fresh_pins: PinSnapshot,
}

fn bench() -> &'static Mutex<Bench> {
    static BENCH: OnceLock<Mutex<Bench>> = OnceLock::new();
    BENCH.get_or_init(|| {
        let card = testing::card();
        let fresh_pins = card.pin_snapshot();
        Mutex::new(Bench { card, fresh_pins })
    })
}

impl Bench {
    /// Brings the card back to a fresh card's state (see the module docs).
    fn refresh(&mut self) {
        self.card.power_off();
        let now = self.card.pin_snapshot();
        if now != self.fresh_pins {
            for (pin, fresh) in &self.fresh_pins.pins {
                let Some(state) = now.pins.get(pin) else {
                    continue;
                };
                if state == fresh || state.value != fresh.value || state.is_blocked() {
                    continue;
                }
                // The right PIN resets its counter.
                self.card.transmit(&select(&pin.aid.0));
                let verify = Apdu::new(0x00, 0x20, 0x00, 0x80 | pin.file.0 as u8)
                    .with_data(fresh.value.0.clone());
                self.card.transmit(&verify.encode());
            }
            if self.card.pin_snapshot() != self.fresh_pins {
                self.card = testing::card();
            }
        }
        self.card.power_off();
        self.card.power_on();
    }
}

fn select(aid: &[u8]) -> Vec<u8> {
    Apdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid).encode()
}

/// One input.
pub fn run(bytes: &[u8]) {
    let mut bench = bench().lock().unwrap_or_else(|e| e.into_inner());
    bench.refresh();
    let mut model = Model::fresh();
    let mut rest = bytes;
    for _ in 0..MAX_COMMANDS {
        let Some((&len, tail)) = rest.split_first() else {
            break;
        };
        match len {
            POWER_CYCLE => {
                bench.card.power_off();
                model = Model::fresh();
                rest = tail;
                continue;
            }
            WARM_RESET => {
                // Selection is cleared; verification is kept (CardConfig default, §1.4).
                bench.card.reset();
                model.in_jpki = Some(false);
                model.ef = Some(None);
                rest = tail;
                continue;
            }
            _ => {}
        }
        let (command, tail) = tail.split_at((len as usize).min(tail.len()));
        rest = tail;
        let response = bench.card.transmit(command);
        check(&mut model, command, &response);
    }
}

/// Checks one exchange against what must hold, and updates the model.
fn check(model: &mut Model, command: &[u8], response: &[u8]) {
    assert!(
        response.len() >= 2,
        "a response without a status word: {command:02X?} -> {response:02X?}"
    );
    let (data, sw) = response.split_at(response.len() - 2);
    let ok = sw == SUCCESS;
    assert!(
        ok || data.is_empty(),
        "an error that carries data: {command:02X?} -> {response:02X?}"
    );
    let Ok(apdu) = Apdu::parse(command) else {
        assert_eq!(sw, WRONG_LENGTH, "a malformed APDU: {command:02X?}");
        return;
    };
    let ne = apdu.le.ne().unwrap_or(0);
    let proprietary = apdu.cla & 0x80 != 0;
    macro_rules! fail {
        ($what:expr) => {
            panic!(
                "{}: {command:02X?} -> {response:02X?} (JPKI current: {:?}, EF: {:?}, verified: {:?})",
                $what, model.in_jpki, model.ef, model.verified
            )
        };
    }
    match (proprietary, apdu.ins) {
        // SELECT by DF name: with P2 asking for it, the minimal FCI of the DF selected (its size
        // is the FCI's, whatever Le says: docs/card.md).
        (false, 0xA4) if apdu.p1 == 0x04 => {
            if !ok {
                return;
            }
            let jpki_prefix = Aid::JPKI.starts_with(&apdu.data);
            let next = apdu.p2 & 0x03 == 0x02;
            let now = if !data.is_empty() {
                let [0x6F, len, 0x84, aid_len, aid @ ..] = data else {
                    fail!("not a minimal FCI");
                };
                if *len as usize != aid.len() + 2 || *aid_len as usize != aid.len() {
                    fail!("FCI lengths that do not add up");
                }
                if !aid.starts_with(&apdu.data) {
                    fail!("a DF selected whose name does not start with the one asked for");
                }
                Some(aid == Aid::JPKI)
            } else if !jpki_prefix {
                Some(false)
            } else if !next {
                // The first DF whose name starts so is the JPKI AP, the first in on-card order;
                // no other AID is a leading part of it.
                Some(true)
            } else {
                None
            };
            if now == Some(false) {
                // Leaving the AP (or the ISD) drops its verifications.
                model.verified.clear();
            }
            model.in_jpki = now;
            model.ef = Some(None);
        }
        (false, 0xA4) => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
            if ok && apdu.p1 == 0x02 && apdu.data.len() == 2 {
                model.ef = Some(Some(u16::from_be_bytes([apdu.data[0], apdu.data[1]])));
            }
        }
        // READ BINARY: the SFI form makes that EF current.
        (false, 0xB0) => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
            let fid = if apdu.p1 & 0x80 != 0 {
                let sfi = (apdu.p1 & 0x1F) as u16;
                model.ef = if ok { Some(Some(sfi)) } else { None };
                Some(sfi)
            } else {
                model.ef.flatten()
            };
            if ok && model.in_jpki == Some(true) {
                if fid == Some(NEVER_READ) {
                    fail!("a file no one may read was read");
                }
                if fid == Some(SIGN_CERT) && !model.verified.contains(&SIGN_PIN) {
                    fail!("the signature certificate was read without the signature password");
                }
            }
        }
        (false, 0xB2) => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
            let sfi = apdu.p2 >> 3;
            if apdu.p2 & 0x07 == 0x04 && sfi != 0 && sfi != 0x1F {
                model.ef = if ok { Some(Some(sfi as u16)) } else { None };
            }
        }
        (false, 0x84) => {
            if data.len() > ne || (ok && data.len() != ne) {
                fail!("a challenge of another length than Le asks for");
            }
        }
        (false, 0x20) => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
            if apdu.data.is_empty() {
                return;
            }
            let pins = model.pins_named(apdu.p2);
            if ok {
                if pins.len() == 1 && model.referenced(apdu.p2).is_some() {
                    // Only the JPKI AP has these PINs.
                    model.in_jpki = Some(true);
                }
                model.verified.extend(pins);
            } else if sw[0] == 0x63 && (sw[1] & 0xF0) == 0xC0 && pins.len() == 1 {
                // A wrong value of a PIN of this AP revokes its verification.
                model.verified.remove(&pins[0]);
            }
        }
        // CHANGE REFERENCE DATA and CHANGE KEY need the PIN verified in this session.
        (false, 0x24) | (true, 0x32) => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
            let pins = model.pins_named(apdu.p2);
            if ok && !pins.is_empty() && !pins.iter().any(|pin| model.verified.contains(pin)) {
                fail!("a PIN changed without being verified");
            }
        }
        // COMPUTE DIGITAL SIGNATURE: one signature, and a JPKI key only behind its PIN.
        (true, 0x2A) => {
            if !ok {
                return;
            }
            if data.len() != SIGNATURE_LEN {
                fail!("a signature that is not 256 bytes");
            }
            let key = match apdu.p2 {
                0x00 => None,
                p2 => model.referenced(p2),
            };
            let needs = match key {
                // Only the JPKI AP has a key 0017.
                Some(AUTH_KEY) => Some(vec![AUTH_PIN]),
                Some(SIGN_KEY) if model.in_jpki == Some(true) => Some(vec![SIGN_PIN]),
                // In the JPKI AP every key is behind a PIN (and there is no default key).
                _ if model.in_jpki == Some(true) => Some(vec![AUTH_PIN, SIGN_PIN]),
                _ => None,
            };
            if let Some(pins) = needs {
                if !pins.iter().any(|pin| model.verified.contains(pin)) {
                    fail!("a JPKI key signed without its PIN verified");
                }
            }
        }
        // INTERNAL AUTHENTICATE: one signature, and never by a JPKI key.
        (false, 0x88) => {
            if !ok {
                return;
            }
            if data.len() != SIGNATURE_LEN {
                fail!("a signature that is not 256 bytes");
            }
            if model.in_jpki == Some(true) || model.referenced(apdu.p2) == Some(AUTH_KEY) {
                fail!("a JPKI key answered INTERNAL AUTHENTICATE");
            }
        }
        _ => {
            if data.len() > ne {
                fail!("more data than Le allows");
            }
        }
    }
}
