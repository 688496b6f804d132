//! Load worlds draw card keys from a pool: the keys repeat across cards, nothing else does, and
//! cards provision in parallel.

use std::num::NonZeroU32;
use std::sync::Arc;

use mock_jlis::clock::ClockMode;
use mock_jlis::events::{EventKind, EventRequest};
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use sim_card::CardId;
use time::macros::datetime;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

fn world(pool: Option<u32>) -> World {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pool-keys.sqlite");
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.clock = Some(ClockMode::Frozen {
        at: datetime!(2026-11-01 03:00 UTC),
    });
    config.key_pool = pool.and_then(NonZeroU32::new);
    World::open(
        config,
        Store::in_memory().unwrap(),
        Some(Store::open_key_cache(&cache).unwrap()),
    )
    .unwrap()
}

fn card(index: u32) -> CardId {
    format!("felica:504F4F4C{index:08X}").parse().unwrap()
}

/// The authentication certificate's subject public key and serial.
fn auth_key_and_serial(world: &World, id: &CardId) -> (Vec<u8>, String) {
    let card = world.card(id).expect("provisioned");
    let der = card.state().auth.der.clone();
    let certificate = Certificate::from_der(&der).unwrap();
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    (spki, certificate.tbs_certificate.serial_number.to_string())
}

#[test]
fn pooled_cards_share_key_pairs_but_not_certificates_and_provision_in_parallel() {
    let pooled = Arc::new(world(Some(1)));
    // Four threads provisioning eight cards at once, two of them the same card.
    let ids: Vec<CardId> = (0..8).map(card).collect();
    std::thread::scope(|scope| {
        for chunk in [&ids[..3], &ids[3..6], &ids[6..], &ids[..1]] {
            let pooled = pooled.clone();
            scope.spawn(move || {
                for id in chunk {
                    pooled.provision(id, None).unwrap();
                }
            });
        }
    });
    assert_eq!(pooled.cards().len(), 8);
    let first = auth_key_and_serial(&pooled, &ids[0]);
    for id in &ids[1..] {
        let other = auth_key_and_serial(&pooled, id);
        assert_eq!(
            other.0, first.0,
            "a pool of one gives every card its key pair"
        );
        assert_ne!(other.1, first.1, "serials stay per card");
    }
    // A re-issue after an address change still gets a working certificate for the card's key.
    let outcome = pooled
        .apply_event(&EventRequest {
            card: ids[0].clone(),
            kind: EventKind::AddressChange,
            persona: None,
            reason: None,
        })
        .unwrap();
    assert!(!outcome.issued.is_empty());

    let distinct = world(None);
    distinct.provision(&ids[0], None).unwrap();
    distinct.provision(&ids[1], None).unwrap();
    assert_ne!(
        auth_key_and_serial(&distinct, &ids[0]).0,
        auth_key_and_serial(&distinct, &ids[1]).0,
        "without a pool every card has its own keys"
    );
}
