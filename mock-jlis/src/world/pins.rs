//! PIN persistence: a card OS starts from its generation's stored PIN counters and writes every
//! change back before the card answers, so a wrong PIN counted is never forgotten.

use std::sync::Arc;

use sim_card::{Card, CardId, CardImage, PinObserver, PinPersistError, PinSnapshot};

use super::WorldError;
use crate::store::Store;

/// A card OS for `image` with the PIN state of `generation` from `store`, persisting changes.
pub(super) fn card_os(
    store: &Arc<Store>,
    card: &CardId,
    generation: u32,
    image: Arc<CardImage>,
) -> Result<Card, WorldError> {
    let key = card.to_string();
    let pins = match store.pin_state(&key, generation)? {
        Some(json) => {
            serde_json::from_str::<PinSnapshot>(&json).map_err(|e| WorldError::CorruptState {
                card: key.clone(),
                what: format!("PIN state: {e}"),
            })?
        }
        None => PinSnapshot::default(),
    };
    let mut card_os = Card::new(image, pins)?;
    card_os.set_pin_observer(Box::new(StorePinObserver {
        store: store.clone(),
        card: key,
        generation,
    }));
    Ok(card_os)
}

struct StorePinObserver {
    store: Arc<Store>,
    card: String,
    generation: u32,
}

impl PinObserver for StorePinObserver {
    fn pins_changed(&self, snapshot: &PinSnapshot) -> Result<(), PinPersistError> {
        let json =
            serde_json::to_string(snapshot).map_err(|err| PinPersistError::Store(Box::new(err)))?;
        self.store
            .put_pin_state(&self.card, self.generation, &json)
            .map_err(|err| PinPersistError::Store(Box::new(err)))
    }
}
