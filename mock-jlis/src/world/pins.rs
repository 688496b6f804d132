//! PIN persistence: a card OS starts from its generation's stored PIN counters and writes every
//! change back before the card answers, so a wrong PIN counted is never forgotten.

use std::sync::Arc;

use sim_card::layout::{common, jpki, juki, text};
use sim_card::{Aid, Card, CardId, CardImage, KeyRing, PinObserver, PinPersistError, PinSnapshot};

use super::WorldError;
use crate::persona::Pins;
use crate::store::Store;

/// A card OS for `image` with the PIN state of `generation` from `store`, persisting changes;
/// its keys from `key_ring` when cards share keys.
pub(super) fn card_os(
    store: &Arc<Store>,
    card: &CardId,
    generation: u32,
    image: Arc<CardImage>,
    key_ring: Option<&KeyRing>,
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
    let mut card_os = match key_ring {
        Some(ring) => Card::with_key_ring(image, pins, ring)?,
        None => Card::new(image, pins)?,
    };
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

/// The holder's PINs as the card holds them now: the persona's, with each one the holder has
/// changed on the card (CHANGE REFERENCE DATA through a reader or the bridge) in its place, so
/// that a view never hands a test a PIN the card no longer takes. 照合番号A/B and the birth-date
/// key are printed on the card and never change.
pub(super) fn current_pins(derived: &Pins, snapshot: &PinSnapshot) -> Pins {
    let mut pins = derived.clone();
    for (pin, state) in &snapshot.pins {
        let is = |aid: &[u8], file| pin.aid == Aid::new(aid) && pin.file == file;
        let field = if is(Aid::JPKI, jpki::SIGN_PASSWORD) {
            &mut pins.sign_password
        } else if is(Aid::JPKI, jpki::AUTH_PIN) {
            &mut pins.auth_pin
        } else if is(Aid::TEXT, text::PIN) {
            &mut pins.text_pin
        } else if is(Aid::JUKI, juki::PIN) {
            &mut pins.juki_pin
        } else if is(Aid::COMMON, common::PIN) {
            &mut pins.common_pin
        } else {
            continue;
        };
        // A value the card took came through CHANGE REFERENCE DATA, which takes ASCII only.
        *field = String::from_utf8_lossy(&state.value.0).into_owned();
    }
    pins
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_card::{PinRef, PinState, PinValue};

    fn derived() -> Pins {
        crate::persona::Persona::derive(&"felica:0123456789ABCDEF".parse().unwrap(), 1).pins
    }

    #[test]
    fn a_pin_changed_on_the_card_replaces_the_derived_one_and_no_other() {
        let before = derived();
        let mut snapshot = PinSnapshot::default();
        for (aid, file, value) in [
            (Aid::JPKI, jpki::AUTH_PIN, "9876"),
            (Aid::JPKI, jpki::SIGN_PASSWORD, "NEWPASS1"),
            (Aid::TEXT, text::PIN, "5555"),
        ] {
            snapshot.pins.insert(
                PinRef {
                    aid: Aid::new(aid),
                    file,
                },
                PinState {
                    value: PinValue(value.as_bytes().to_vec()),
                    remaining: 3,
                },
            );
        }
        let now = current_pins(&before, &snapshot);
        assert_eq!(now.auth_pin, "9876");
        assert_eq!(now.sign_password, "NEWPASS1");
        assert_eq!(now.text_pin, "5555");
        assert_eq!(now.juki_pin, before.juki_pin);
        assert_eq!(now.common_pin, before.common_pin);
        assert_eq!(now.pin_a, before.pin_a);
        // Counters alone (a wrong try) leave the value as derived.
        assert_eq!(
            current_pins(&before, &PinSnapshot::default()).auth_pin,
            before.auth_pin
        );
    }
}
