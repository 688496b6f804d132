//! The card operating system: power and reset, CLA checks and command dispatch (docs/card-protocol.md §1, §4).
//!
//! One [`Card`] is one card in a reader. It interprets a shared [`CardImage`] and keeps the
//! volatile state (selection, verified PINs, challenge RNG) and the persistent PIN state. Each
//! command lives in a module named after it; handlers return `Result<data, StatusWord>` so every
//! protocol outcome is a value.

mod challenge;
mod data;
pub mod faults;
mod pins;
mod read;
mod security;
mod select;
mod sign;
mod verify;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::apdu::Apdu;
use crate::image::{AppletImage, CardImage, FileId, FileImage};
use crate::key::{CardKey, KeyError, KeyRing};
use crate::status::StatusWord;

pub use pins::{
    PinObserver, PinPersistError, PinRef, PinRefError, PinSnapshot, PinState, PinValue,
};

use challenge::Rng;
use faults::{ArmedFault, CardFault, CardFaultError};
use pins::PinStore;
use security::SecurityState;

/// Test knobs of a card. Defaults mirror the real card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardConfig {
    /// Keep verified PINs across a warm reset (`SCARD_RESET_CARD`), as the real card does
    /// (docs/card-protocol.md §1.4). Power-off always clears them. Default `true`.
    pub keep_verified_across_reset: bool,
    /// Seed of the GET CHALLENGE generator, so runs are reproducible. Default `0x4A504B49`.
    pub rng_seed: u64,
}

/// Why a card could not be built from an image.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// A key EF of the image holds no usable private key (see [`KeyError`]).
    #[error("key EF {file} of applet {applet}: {source}")]
    Key {
        /// The applet's label in the image, e.g. `JPKI-AP`.
        applet: String,
        /// The key EF, e.g. `0017`.
        file: FileId,
        /// Why the key was refused.
        #[source]
        source: KeyError,
    },
}

/// A virtual My Number Card.
pub struct Card {
    image: Arc<CardImage>,
    config: CardConfig,
    /// Private keys parsed once at construction, by (applet index, key EF).
    keys: BTreeMap<(usize, FileId), Arc<CardKey>>,
    pins: PinStore,
    observer: Option<Box<dyn PinObserver>>,
    powered: bool,
    /// The current DF: an applet index, or `None` at MF level (after power-on / ISD select).
    applet: Option<usize>,
    /// The current EF in the current DF.
    ef: Option<FileId>,
    security: SecurityState,
    rng: Rng,
    /// Armed faults, matched in the order they were armed (see [`faults`]).
    faults: Vec<ArmedFault>,
}

/// A handler's result: response data (sent with `90 00`) or the status word to answer with.
type Outcome = Result<Vec<u8>, StatusWord>;

impl Card {
    /// Builds a powered card from an image and a PIN state (use `PinSnapshot::default()` for a
    /// freshly personalised card). Parses every private key once, here.
    pub fn new(image: Arc<CardImage>, pins: PinSnapshot) -> Result<Card, CardError> {
        Card::with_config(image, pins, CardConfig::default())
    }

    /// Like [`Card::new`], with test knobs other than the defaults.
    pub fn with_config(
        image: Arc<CardImage>,
        pins: PinSnapshot,
        config: CardConfig,
    ) -> Result<Card, CardError> {
        Card::build(image, pins, config, |pkcs8| {
            CardKey::from_pkcs8(pkcs8).map(Arc::new)
        })
    }

    /// Like [`Card::new`], taking the private keys from `ring`: cards that hold the same keys
    /// share one parsed copy of each (see [`KeyRing`]). The card answers exactly as one built
    /// by [`Card::new`].
    pub fn with_key_ring(
        image: Arc<CardImage>,
        pins: PinSnapshot,
        ring: &KeyRing,
    ) -> Result<Card, CardError> {
        Card::build(image, pins, CardConfig::default(), |pkcs8| ring.key(pkcs8))
    }

    fn build(
        image: Arc<CardImage>,
        pins: PinSnapshot,
        config: CardConfig,
        parse: impl Fn(&[u8]) -> Result<Arc<CardKey>, KeyError>,
    ) -> Result<Card, CardError> {
        let mut keys = BTreeMap::new();
        for (index, applet) in image.applets.iter().enumerate() {
            for (file, file_image) in &applet.files {
                if let FileImage::Key(key) = file_image {
                    let parsed = parse(&key.pkcs8).map_err(|source| CardError::Key {
                        applet: applet.label.clone(),
                        file: *file,
                        source,
                    })?;
                    keys.insert((index, *file), parsed);
                }
            }
        }
        let pins = PinStore::new(&image, &pins);
        Ok(Card {
            image,
            rng: Rng::new(config.rng_seed),
            config,
            keys,
            pins,
            observer: None,
            powered: true,
            applet: None,
            ef: None,
            security: SecurityState::default(),
            faults: Vec::new(),
        })
    }

    /// Exchanges one APDU. The response is the data followed by the status word, so it is always
    /// at least 2 bytes. A card that is not powered is powered on first (cold start).
    ///
    /// The one exception is an armed [`CardFault::Pulled`]: the card leaves the field and the
    /// answer is empty, which a transport reports as a card removed.
    pub fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        if !self.powered {
            tracing::debug!("APDU to an unpowered card: powering on");
            self.power_on();
        }
        let (name, outcome) = match Apdu::parse(command) {
            Ok(apdu) => match self.fault_for(&apdu) {
                Some(fault) => match self.misbehave(fault, &apdu) {
                    Some(outcome) => (apdu.command_name(), outcome),
                    None => return Vec::new(),
                },
                None => (apdu.command_name(), self.dispatch(&apdu)),
            },
            Err(error) => {
                tracing::debug!(%error, "malformed APDU");
                ("MALFORMED", Err(error.status()))
            }
        };
        let response = match outcome {
            Ok(mut data) => {
                data.extend_from_slice(&StatusWord::SUCCESS.to_bytes());
                data
            }
            Err(sw) => sw.to_bytes().to_vec(),
        };
        tracing::trace!(
            command = name,
            len = response.len() - 2,
            sw = %StatusWord::from_response(&response).unwrap_or(StatusWord::NO_PRECISE_DIAGNOSIS),
            "APDU"
        );
        response
    }

    /// Arms `fault` for the next `count` commands it applies to (`None`: until cleared).
    pub fn arm_fault(
        &mut self,
        fault: CardFault,
        count: Option<u32>,
    ) -> Result<(), CardFaultError> {
        self.faults.push(ArmedFault::new(fault, count)?);
        Ok(())
    }

    /// Disarms every card fault.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The first armed fault that applies to `apdu`, one firing of it used up.
    fn fault_for(&mut self, apdu: &Apdu) -> Option<CardFault> {
        let index = self
            .faults
            .iter()
            .position(|armed| armed.applies_to(apdu))?;
        let armed = &mut self.faults[index];
        let fault = armed.fault;
        if armed.spend() {
            self.faults.remove(index);
        }
        Some(fault)
    }

    /// The faulty answer to `apdu`; `None` when the card left the field and answers nothing.
    fn misbehave(&mut self, fault: CardFault, apdu: &Apdu) -> Option<Outcome> {
        tracing::debug!(?fault, command = apdu.command_name(), "card fault");
        Some(match fault {
            CardFault::WrongLe => match self.dispatch(apdu) {
                Ok(data) => Err(StatusWord::from_bytes(0x6C, data.len() as u8)),
                Err(status) => Err(status),
            },
            CardFault::NoDiagnosis { .. } => Err(StatusWord::NO_PRECISE_DIAGNOSIS),
            CardFault::Slow { millis } => {
                std::thread::sleep(std::time::Duration::from_millis(millis));
                self.dispatch(apdu)
            }
            CardFault::Pulled { .. } => {
                self.power_off();
                return None;
            }
            CardFault::TruncatedFile => self.read_binary_truncated(apdu),
        })
    }

    /// The answer to reset.
    pub fn atr(&self) -> &[u8] {
        &self.image.atr
    }

    /// Whether the card is powered; the next APDU to an unpowered card powers it on first.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Cold start: nothing selected, nothing verified.
    pub fn power_on(&mut self) {
        self.powered = true;
        self.clear_volatile(true);
    }

    /// Power loss: clears verified PINs and the selection (docs/card-protocol.md §1.4). PIN counters persist.
    pub fn power_off(&mut self) {
        self.powered = false;
        self.clear_volatile(true);
    }

    /// Warm reset: clears the selection; keeps verified PINs unless
    /// [`CardConfig::keep_verified_across_reset`] is off.
    pub fn reset(&mut self) {
        self.powered = true;
        self.clear_volatile(!self.config.keep_verified_across_reset);
    }

    /// The persistent PIN state (values and remaining tries).
    pub fn pin_snapshot(&self) -> PinSnapshot {
        self.pins.snapshot(&self.image)
    }

    /// Installs the observer told about every PIN change before the card answers.
    pub fn set_pin_observer(&mut self, observer: Box<dyn PinObserver>) {
        self.observer = Some(observer);
    }

    /// The test knobs the card was built with.
    pub fn config(&self) -> &CardConfig {
        &self.config
    }

    /// The image the card interprets, shared with other cards built from it.
    pub fn image(&self) -> &Arc<CardImage> {
        &self.image
    }

    // Helpers shared by the command modules.

    fn dispatch(&mut self, apdu: &Apdu) -> Outcome {
        let class = classify(apdu.cla)?;
        if class.secure_messaging {
            return Err(match apdu.ins {
                0xB0 | 0x20 => StatusWord::SECURE_MESSAGING_ERROR,
                _ => StatusWord::SECURE_MESSAGING_NOT_SUPPORTED,
            });
        }
        match (class.proprietary, apdu.ins) {
            (false, 0xA4) => self.select(apdu),
            (false, 0xB0) => self.read_binary(apdu),
            (false, 0xB2) => self.read_record(apdu),
            (false, 0x20) => self.verify(apdu),
            (false, 0x24) => self.change_reference_data(apdu),
            (true, 0x32) => self.change_key(apdu),
            (true, 0x2A) => self.compute_digital_signature(apdu),
            (false, 0x88) => self.internal_authenticate(apdu),
            (false, 0x84) => self.get_challenge(apdu),
            (false, 0xCA) => self.get_data(apdu),
            (true, 0xAE) => self.set_session_key(apdu),
            // SET PUBLIC IC KEY: every P1/P2 tried on a card answered 6A 86 (docs/card-protocol.md §4.11).
            (true, 0xA2) => Err(StatusWord::INCORRECT_P1_P2),
            // The iPhone token's last-command indicator; a physical card answers 67 00.
            (true, 0xFC) => Err(StatusWord::WRONG_LENGTH),
            // A known instruction in the wrong class.
            (true, 0xA4 | 0xB0 | 0xB2 | 0x20 | 0x24 | 0x88 | 0x84 | 0xCA)
            | (false, 0x2A | 0x32 | 0xAE | 0xA2 | 0xFC) => Err(StatusWord::CLA_NOT_SUPPORTED),
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn clear_volatile(&mut self, clear_security: bool) {
        self.applet = None;
        self.ef = None;
        if clear_security {
            self.security.clear();
        }
    }

    fn current_applet(&self) -> Option<&AppletImage> {
        self.applet.and_then(|index| self.image.applets.get(index))
    }

    /// The EF a `P2` of VERIFY / CHANGE / COMPUTE DIGITAL SIGNATURE / INTERNAL AUTHENTICATE
    /// names: `80` = the current EF, `80|SFI` = the EF with that short id.
    fn referenced_file(&self, p2: u8) -> Result<FileId, StatusWord> {
        match p2 {
            0x80 => self.ef.ok_or(StatusWord::NO_CURRENT_EF),
            0x81..=0x9E => Ok(FileId((p2 & 0x1F) as u16)),
            _ => Err(StatusWord::INCORRECT_P1_P2),
        }
    }

    /// A file of the current DF (the MF when no AP is selected).
    fn file(&self, file: FileId) -> Option<&FileImage> {
        match self.current_applet() {
            Some(applet) => applet.files.get(&file),
            None => mf_file(file),
        }
    }

    /// Persists a PIN-state change made since `before`; if the observer refuses, undoes it and
    /// answers `6F 00` (the command then had no effect).
    fn commit_pins(&mut self, before: PinStore) -> Result<(), StatusWord> {
        if self.pins.same_as(&before) {
            return Ok(());
        }
        if let Some(observer) = &self.observer {
            let snapshot = self.pins.snapshot(&self.image);
            if let Err(error) = observer.pins_changed(&snapshot) {
                tracing::error!(%error, "PIN state not persisted; command undone");
                self.pins = before;
                return Err(StatusWord::NO_PRECISE_DIAGNOSIS);
            }
        }
        Ok(())
    }
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            keep_verified_across_reset: true,
            rng_seed: 0x4A50_4B49,
        }
    }
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("powered", &self.powered)
            .field("applet", &self.current_applet().map(|a| &a.label))
            .field("ef", &self.ef)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What CLA says beyond the instruction.
struct Class {
    proprietary: bool,
    secure_messaging: bool,
}

/// Checks CLA (docs/card-protocol.md §1.3): only channel 0; `04`/`08`/`0C` secure messaging; no chaining.
fn classify(cla: u8) -> Result<Class, StatusWord> {
    match cla {
        0x00..=0x0F | 0x80..=0x8F => {
            if cla & 0x03 != 0 {
                return Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED);
            }
            Ok(Class {
                proprietary: cla & 0x80 != 0,
                secure_messaging: cla & 0x0C != 0,
            })
        }
        // Further interindustry classes address channels 4..19.
        0x40..=0x7F => Err(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED),
        _ => Err(StatusWord::CLA_NOT_SUPPORTED),
    }
}

/// The MF holds one selectable internal EF, `001E` (docs/card-protocol.md §3.6); nothing else is visible there.
fn mf_file(file: FileId) -> Option<&'static FileImage> {
    static MF_IEF: FileImage = FileImage::Opaque;
    (file == FileId(0x001E)).then_some(&MF_IEF)
}

#[cfg(test)]
mod tests;
