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

/// Every card's two certificate key pairs (their SubjectPublicKeyInfo DER).
fn key_pairs(world: &World, id: &CardId) -> [Vec<u8>; 2] {
    let card = world.card(id).expect("provisioned");
    let state = card.state();
    let spki = |der: &[u8]| {
        Certificate::from_der(der)
            .unwrap()
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap()
    };
    [
        spki(&state.sign.as_ref().expect("an adult holder").der),
        spki(&state.auth.der),
    ]
}

#[test]
fn a_pool_of_k_gives_k_cards_k_distinct_keys_and_card_k_the_first_again() {
    let pool = 3;
    let pooled = world(Some(pool));
    assert_eq!(pooled.prepare_key_pool().unwrap(), 2 * pool as usize + 4);
    let ids: Vec<CardId> = (0..=pool).map(card).collect();
    for id in &ids {
        pooled.provision(id, None).unwrap();
    }
    let keys: Vec<[Vec<u8>; 2]> = ids.iter().map(|id| key_pairs(&pooled, id)).collect();
    let mut distinct: Vec<&Vec<u8>> = keys[..pool as usize].iter().flatten().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        2 * pool as usize,
        "the first K cards: 2K distinct key pairs, signature and authentication keys apart"
    );
    assert_eq!(keys[pool as usize], keys[0], "card K takes slot 0 again");
    let serials: std::collections::BTreeSet<String> = ids
        .iter()
        .map(|id| auth_key_and_serial(&pooled, id).1)
        .collect();
    assert_eq!(serials.len(), ids.len(), "serials stay per card");
    let certificates: std::collections::BTreeSet<Vec<u8>> = ids
        .iter()
        .map(|id| pooled.card(id).unwrap().state().auth.der.clone())
        .collect();
    assert_eq!(certificates.len(), ids.len(), "certificates stay per card");

    // Another world, another run: the same card gets the same keys and certificate.
    let again = world(Some(pool));
    again.provision(&ids[1], None).unwrap();
    assert_eq!(key_pairs(&again, &ids[1]), keys[1]);
    assert_eq!(
        again.card(&ids[1]).unwrap().state().auth.der,
        pooled.card(&ids[1]).unwrap().state().auth.der
    );
}

#[test]
fn distinct_keys_give_every_card_its_own_and_no_pool() {
    let distinct = world(None);
    assert_eq!(distinct.prepare_key_pool().unwrap(), 0);
    let ids: Vec<CardId> = (10..13).map(card).collect();
    let mut all: Vec<Vec<u8>> = Vec::new();
    for id in &ids {
        distinct.provision(id, None).unwrap();
        all.extend(key_pairs(&distinct, id));
    }
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        2 * ids.len(),
        "one key pair per card and certificate"
    );
    // And none of them is a pool key.
    let pooled = world(Some(16));
    for slot in 10..13 {
        let id = card(slot);
        pooled.provision(&id, None).unwrap();
        for key in key_pairs(&pooled, &id) {
            assert!(!all.contains(&key));
        }
    }
}
