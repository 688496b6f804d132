//! PIN values and retry counters: the card's persistent state (docs/card-protocol.md §6).
//!
//! Counters are per IEF (§6.2). The card keeps them in a [`PinStore`]; the outside world sees a
//! [`PinSnapshot`], which is what a state store persists and what a restarted card is built from.
//! A [`PinObserver`] is told about every change before the card answers, so no change is lost.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::image::{Aid, CardImage, FileId, FileImage};

/// The PIN state of a card: for each PIN IEF, its current value and remaining tries.
///
/// Serialises as a map keyed by `"<AID hex>/<FID hex>"`, e.g. `"D392F000260100000001/0018"`.
/// Entries for PINs the image lacks are ignored when a card is built; PINs without an entry start
/// from the image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PinSnapshot {
    /// Each PIN IEF's state, by applet and FID.
    pub pins: BTreeMap<PinRef, PinState>,
}

/// Which PIN: an applet and one of its IEFs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PinRef {
    /// The applet's AID (DF name).
    pub aid: Aid,
    /// The PIN IEF in that applet, e.g. `0018` for the JPKI auth PIN.
    pub file: FileId,
}

/// One PIN's persistent state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// The current reference value (changed by CHANGE REFERENCE DATA / CHANGE KEY).
    pub value: PinValue,
    /// Consecutive wrong tries still allowed; 0 = blocked.
    pub remaining: u8,
}

/// A PIN value as the ASCII bytes a client sends. `Debug` redacts it; serialises as hex.
#[derive(Clone, PartialEq, Eq)]
pub struct PinValue(pub Vec<u8>);

/// Told synchronously about every change of a counter or PIN value, before the card answers.
pub trait PinObserver: Send {
    /// Persists `snapshot`. An error makes the card undo the change and answer `6F 00`.
    fn pins_changed(&self, snapshot: &PinSnapshot) -> Result<(), PinPersistError>;
}

/// Why a PIN state change could not be persisted.
#[derive(Debug, thiserror::Error)]
pub enum PinPersistError {
    /// An I/O error while writing the PIN state (a file-backed store).
    #[error("writing the PIN state failed")]
    Io(#[from] std::io::Error),
    /// The state store (e.g. the world's database) refused or failed the update.
    #[error("the PIN state store rejected the update")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why text is not a [`PinRef`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinRefError {
    /// No `/`, an AID that is empty or not hex, or a FID that is not 4 hex digits.
    #[error("PIN reference {input:?} is not `<AID hex>/<4-digit FID hex>`")]
    Malformed {
        /// The text as given.
        input: String,
    },
}

impl PinSnapshot {
    /// The state of the PIN IEF `file` in the applet with AID `aid`, if the snapshot has it.
    pub fn get(&self, aid: &[u8], file: FileId) -> Option<&PinState> {
        self.pins.get(&PinRef {
            aid: Aid::new(aid),
            file,
        })
    }

    /// Sets the state of the PIN IEF `file` in the applet with AID `aid`, replacing any entry.
    pub fn insert(&mut self, aid: &[u8], file: FileId, state: PinState) {
        self.pins.insert(
            PinRef {
                aid: Aid::new(aid),
                file,
            },
            state,
        );
    }

    /// The state a freshly personalised card starts in.
    pub fn from_image(image: &CardImage) -> PinSnapshot {
        let mut snapshot = PinSnapshot::default();
        for applet in &image.applets {
            for (file, image) in &applet.files {
                if let FileImage::Pin(pin) = image {
                    let remaining = if pin.blocked { 0 } else { pin.max_tries };
                    snapshot.insert(
                        &applet.aid.0,
                        *file,
                        PinState {
                            value: PinValue(pin.value.clone()),
                            remaining,
                        },
                    );
                }
            }
        }
        snapshot
    }
}

impl PinState {
    /// Whether no tries are left: VERIFY answers `69 84` (docs/card-protocol.md §6.2).
    pub fn is_blocked(&self) -> bool {
        self.remaining == 0
    }
}

impl fmt::Display for PinRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", hex::encode_upper(&self.aid.0), self.file)
    }
}

impl FromStr for PinRef {
    type Err = PinRefError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let malformed = || PinRefError::Malformed {
            input: input.to_owned(),
        };
        let (aid, file) = input.split_once('/').ok_or_else(malformed)?;
        let aid = hex::decode(aid).map_err(|_| malformed())?;
        if aid.is_empty() || file.len() != 4 {
            return Err(malformed());
        }
        let file = u16::from_str_radix(file, 16).map_err(|_| malformed())?;
        Ok(PinRef {
            aid: Aid(aid),
            file: FileId(file),
        })
    }
}

impl Serialize for PinRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PinRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for PinValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinValue(<{} bytes redacted>)", self.0.len())
    }
}

impl Serialize for PinValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode_upper(&self.0))
    }
}

impl<'de> Deserialize<'de> for PinValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(&text)
            .map(PinValue)
            .map_err(serde::de::Error::custom)
    }
}

/// The card's working copy of the PIN state, indexed by applet position for cheap lookups.
#[derive(Clone, Debug)]
pub(crate) struct PinStore {
    entries: BTreeMap<(usize, FileId), PinEntry>,
}

#[derive(Clone, Debug)]
pub(crate) struct PinEntry {
    pub(crate) value: PinValue,
    pub(crate) remaining: u8,
    pub(crate) max_tries: u8,
}

/// What a VERIFY did to a PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifyOutcome {
    Correct,
    /// Wrong; this many tries remain (0 = now blocked).
    Wrong(u8),
    Blocked,
}

impl PinStore {
    /// The image's PINs, overlaid with `snapshot` (tries clamped to the image's maximum).
    pub(crate) fn new(image: &CardImage, snapshot: &PinSnapshot) -> PinStore {
        let mut entries = BTreeMap::new();
        for (index, applet) in image.applets.iter().enumerate() {
            for (file, file_image) in &applet.files {
                let FileImage::Pin(pin) = file_image else {
                    continue;
                };
                let mut entry = PinEntry {
                    value: PinValue(pin.value.clone()),
                    remaining: if pin.blocked { 0 } else { pin.max_tries },
                    max_tries: pin.max_tries,
                };
                if let Some(saved) = snapshot.get(&applet.aid.0, *file) {
                    entry.value = saved.value.clone();
                    entry.remaining = saved.remaining.min(pin.max_tries);
                }
                entries.insert((index, *file), entry);
            }
        }
        PinStore { entries }
    }

    pub(crate) fn get(&self, applet: usize, file: FileId) -> Option<&PinEntry> {
        self.entries.get(&(applet, file))
    }

    /// Checks `candidate` and updates the counter.
    pub(crate) fn verify(
        &mut self,
        applet: usize,
        file: FileId,
        candidate: &[u8],
    ) -> Option<VerifyOutcome> {
        let entry = self.entries.get_mut(&(applet, file))?;
        if entry.remaining == 0 {
            return Some(VerifyOutcome::Blocked);
        }
        if equal_in_constant_time(&entry.value.0, candidate) {
            entry.remaining = entry.max_tries;
            Some(VerifyOutcome::Correct)
        } else {
            entry.remaining -= 1;
            Some(VerifyOutcome::Wrong(entry.remaining))
        }
    }

    /// Sets a new value and resets the counter.
    pub(crate) fn change(&mut self, applet: usize, file: FileId, value: &[u8]) {
        if let Some(entry) = self.entries.get_mut(&(applet, file)) {
            entry.value = PinValue(value.to_vec());
            entry.remaining = entry.max_tries;
        }
    }

    pub(crate) fn snapshot(&self, image: &CardImage) -> PinSnapshot {
        let mut snapshot = PinSnapshot::default();
        for ((applet, file), entry) in &self.entries {
            if let Some(applet) = image.applets.get(*applet) {
                snapshot.insert(
                    &applet.aid.0,
                    *file,
                    PinState {
                        value: entry.value.clone(),
                        remaining: entry.remaining,
                    },
                );
            }
        }
        snapshot
    }

    /// Whether two stores hold the same values and counters (to skip no-op notifications).
    pub(crate) fn same_as(&self, other: &PinStore) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((ka, a), (kb, b))| {
                    ka == kb && a.remaining == b.remaining && a.value == b.value
                })
    }
}

fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn snapshot_serialises_with_readable_keys_and_round_trips() {
        let snapshot = PinSnapshot::from_image(&testing::card_image());
        let json = serde_json::to_string(&snapshot).unwrap();
        assert!(
            json.contains("\"D392F000260100000001/0018\":{\"value\":\"31323334\",\"remaining\":3}"),
            "{json}"
        );
        let back: PinSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snapshot);
        let blocked = back.get(Aid::TEXT, FileId(0x0012)).unwrap();
        assert!(blocked.is_blocked());
    }

    #[test]
    fn pin_values_redact_in_debug() {
        let snapshot = PinSnapshot::from_image(&testing::card_image());
        let text = format!("{snapshot:?}");
        assert!(!text.contains("49, 50, 51, 52"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }

    #[test]
    fn malformed_pin_refs_are_rejected() {
        for text in ["", "D392", "D392/18", "ZZ/0018", "/0018"] {
            assert!(text.parse::<PinRef>().is_err(), "{text}");
        }
    }
}
