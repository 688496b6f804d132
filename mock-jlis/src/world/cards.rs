//! The provisioned cards: each one's current state and its running card OS, which transports
//! share. Life events swap both in place, so an attached reader sees the new files at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use mock_ca::{Hierarchy, IssuedCertificate, Serial};
use serde::{Deserialize, Serialize};
use sim_card::transport::SharedCard;
use sim_card::{Card, CardId, CardImage, KeyRing, PinSnapshot};
use time::{OffsetDateTime, Time};

use super::pins;
use super::WorldError;
use crate::persona::Persona;
use crate::registry::CertRecord;
use crate::store::Store;

/// A card's standing in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Life {
    /// In use: every life event applies.
    Active,
    /// After a `death` event; nothing more applies.
    Deceased,
    /// After an `emigration` event; nothing more applies.
    Emigrated,
    /// After a `loss` event; only a `reissue` applies.
    Lost,
    /// After a `suspension` event; only a `reissue` applies.
    Suspended,
}

impl Life {
    /// The snake_case name the admin API and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            Life::Active => "active",
            Life::Deceased => "deceased",
            Life::Emigrated => "emigrated",
            Life::Lost => "lost",
            Life::Suspended => "suspended",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Life> {
        [
            Life::Active,
            Life::Deceased,
            Life::Emigrated,
            Life::Lost,
            Life::Suspended,
        ]
        .into_iter()
        .find(|l| l.as_str() == text)
    }
}

impl std::fmt::Display for Life {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A card: its current state and its running card OS (shared with transports).
pub struct ProvisionedCard {
    /// The canonical card id.
    pub id: CardId,
    state: RwLock<CardState>,
    card: Arc<Mutex<Card>>,
}

/// What a card currently is. Replaced as a whole by life events.
#[derive(Debug, Clone)]
pub struct CardState {
    /// The holder's persona now: derived, overridden, then changed by life events.
    pub persona: Persona,
    /// The signature certificate on the card; `None` for holders under 15 at issuance.
    pub sign: Option<IssuedCertificate>,
    /// The authentication certificate on the card.
    pub auth: IssuedCertificate,
    /// How many basic-4-info changes re-issued the signature certificate in this generation
    /// (0 = the one issued with the card); part of its serial's derivation.
    pub sign_revision: u32,
    /// Whether the card is active, or why not.
    pub life: Life,
    pub(crate) overrides: Option<String>,
}

impl CardState {
    /// Registry records (with DER) of the card's current certificates.
    pub(crate) fn records(&self, card: &CardId) -> Vec<(CertRecord, Vec<u8>)> {
        let mut records = vec![(
            self.record(card, Hierarchy::Auth, &self.auth, 0),
            self.auth.der.clone(),
        )];
        if let Some(sign) = &self.sign {
            records.push((
                self.record(card, Hierarchy::Sign, sign, self.sign_revision),
                sign.der.clone(),
            ));
        }
        records
    }

    fn record(
        &self,
        card: &CardId,
        hierarchy: Hierarchy,
        c: &IssuedCertificate,
        revision: u32,
    ) -> CertRecord {
        CertRecord {
            serial: c.serial.clone(),
            hierarchy,
            card: card.clone(),
            generation: self.persona.generation,
            revision,
            municipality_code: self.persona.municipality_code.clone(),
            prefecture_romaji: self.persona.prefecture_romaji.clone(),
            municipality_romaji: self.persona.municipality_romaji.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            revocation: None,
            superseded_by: None,
        }
    }
}

impl ProvisionedCard {
    /// One APDU exchange with the card (the HTTP bridge and in-process clients).
    pub fn transmit(&self, command: &[u8]) -> Vec<u8> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transmit(command)
    }

    /// Arms a card fault (see [`sim_card::card::faults`]) for the next `count` commands it
    /// applies to (`None`: until cleared). A life event that re-personalises the card drops it.
    pub fn arm_fault(
        &self,
        fault: sim_card::card::faults::CardFault,
        count: Option<u32>,
    ) -> Result<(), sim_card::card::faults::CardFaultError> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .arm_fault(fault, count)
    }

    /// Disarms the card's faults.
    pub fn clear_faults(&self) {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear_faults();
    }

    /// The card for transports (vpcd) that share it with the bridge. Life events swap the card
    /// OS inside this slot, so an attached transport keeps working.
    pub fn shared(&self) -> SharedCard {
        self.card.clone()
    }

    /// The card's files as personalised now (life events rewrite them): what an SDK reading
    /// the card must get back.
    pub fn image(&self) -> Arc<sim_card::CardImage> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .image()
            .clone()
    }

    /// A copy of the card's current state.
    pub fn state(&self) -> CardState {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn replace_state(&self, state: CardState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// The current PIN state of the running card OS.
    pub fn pin_snapshot(&self) -> PinSnapshot {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pin_snapshot()
    }
}

/// Every provisioned card by id, and the store their PIN counters persist to.
pub(crate) struct Cards {
    by_id: RwLock<BTreeMap<CardId, Arc<ProvisionedCard>>>,
    store: Arc<Store>,
    /// Parsed keys the card OSes share (a key pool), or each card OS parses its own.
    key_ring: Option<Arc<KeyRing>>,
}

impl Cards {
    pub(crate) fn new(store: Arc<Store>, key_ring: Option<Arc<KeyRing>>) -> Self {
        Cards {
            by_id: RwLock::new(BTreeMap::new()),
            store,
            key_ring,
        }
    }

    pub(crate) fn get(&self, card: &CardId) -> Option<Arc<ProvisionedCard>> {
        self.by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(card)
            .cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<ProvisionedCard>> {
        self.by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Makes `state` and `image` the card's current ones: a new card OS (PINs of this generation
    /// from the store) swapped into the shared slot transports hold. Refuses a state that would
    /// give one of the card's certificates other bytes under the same serial: certificates never
    /// change, life events issue new ones.
    pub(crate) fn install(
        &self,
        card: &CardId,
        state: CardState,
        image: CardImage,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        let card_os = pins::card_os(
            &self.store,
            card,
            state.persona.generation,
            Arc::new(image),
            self.key_ring.as_deref(),
        )?;
        let mut cards = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = cards.get(card) {
            let current = existing.state.read().unwrap_or_else(|e| e.into_inner());
            if let Some((hierarchy, serial)) = rewritten_certificate(&current, &state) {
                return Err(WorldError::CorruptState {
                    card: card.to_string(),
                    what: format!(
                        "the {} certificate {serial} would change under its serial",
                        hierarchy.tag()
                    ),
                });
            }
            drop(current);
            *existing.card.lock().unwrap_or_else(|e| e.into_inner()) = card_os;
            *existing.state.write().unwrap_or_else(|e| e.into_inner()) = state;
            return Ok(existing.clone());
        }
        let provisioned = Arc::new(ProvisionedCard {
            id: card.clone(),
            state: RwLock::new(state),
            card: Arc::new(Mutex::new(card_os)),
        });
        cards.insert(card.clone(), provisioned.clone());
        Ok(provisioned)
    }
}

/// A certificate `next` holds with the serial but not the bytes of one `current` holds.
fn rewritten_certificate(current: &CardState, next: &CardState) -> Option<(Hierarchy, Serial)> {
    let rewritten = |held: &IssuedCertificate, new: &IssuedCertificate| {
        held.serial == new.serial && held.der != new.der
    };
    if rewritten(&current.auth, &next.auth) {
        return Some((Hierarchy::Auth, next.auth.serial.clone()));
    }
    match (&current.sign, &next.sign) {
        (Some(held), Some(new)) if rewritten(held, new) => {
            Some((Hierarchy::Sign, new.serial.clone()))
        }
        _ => None,
    }
}

/// Cards are issued at 10:00 JST (01:00Z) on their issue day.
pub(crate) fn card_issue_instant(persona: &Persona) -> OffsetDateTime {
    OffsetDateTime::new_utc(
        persona.card_issued_on,
        Time::from_hms(1, 0, 0).expect("valid time"),
    )
}
