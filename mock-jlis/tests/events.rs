//! Life events end to end in the library: registry, store and the card itself.

use mock_ca::crl::RevocationReason;
use mock_ca::Hierarchy;
use mock_jlis::clock::ClockMode;
use mock_jlis::events::{EventKind, EventRequest};
use mock_jlis::registry::CertStatus;
use mock_jlis::store::Store;
use mock_jlis::world::{Life, ProvisionedCard, World, WorldConfig, WorldError};
use sim_card::CardId;
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-01 03:00 UTC);

/// Keys are deterministic, so every test shares one cache and derives each key once.
fn shared_cache() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("events-keys.sqlite")
}

fn world_in(store: Store, _cache: &std::path::Path) -> World {
    let cache = shared_cache();
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.clock = Some(ClockMode::Frozen { at: NOW });
    World::open(config, store, Some(Store::open_key_cache(&cache).unwrap())).unwrap()
}

fn event(card: &CardId, kind: EventKind) -> EventRequest {
    EventRequest {
        card: card.clone(),
        kind,
        persona: None,
        reason: None,
    }
}

fn apdu(card: &ProvisionedCard, hex_apdu: &str) -> Vec<u8> {
    card.transmit(&hex::decode(hex_apdu.replace(' ', "")).unwrap())
}

/// Reads the basic-4-info file through APDUs and returns the address (DF23).
fn address_on_card(card: &ProvisionedCard) -> String {
    assert_eq!(
        apdu(card, "00 A4 04 0C 0A D3921000310001010408"),
        [0x90, 0x00]
    );
    assert_eq!(apdu(card, "00 A4 02 0C 02 0011"), [0x90, 0x00]);
    assert_eq!(apdu(card, "00 20 00 80 04 31323334"), [0x90, 0x00]);
    assert_eq!(apdu(card, "00 A4 02 0C 02 0002"), [0x90, 0x00]);
    let file = apdu(card, "00 B0 00 00 00");
    let body = &file[..file.len() - 2];
    let start = body
        .windows(2)
        .position(|w| w == [0xDF, 0x23])
        .expect("DF23 in the file");
    let len = body[start + 2] as usize;
    String::from_utf8(body[start + 3..start + 3 + len].to_vec()).unwrap()
}

/// Reads the signature certificate (after the signature password) and returns its DER.
fn sign_certificate_on_card(card: &ProvisionedCard) -> Vec<u8> {
    assert_eq!(
        apdu(card, "00 A4 04 0C 0A D392F000260100000001"),
        [0x90, 0x00]
    );
    assert_eq!(apdu(card, "00 A4 02 0C 02 001B"), [0x90, 0x00]);
    assert_eq!(apdu(card, "00 20 00 80 06 414243313233"), [0x90, 0x00]);
    assert_eq!(apdu(card, "00 A4 02 0C 02 0001"), [0x90, 0x00]);
    let head = apdu(card, "00 B0 00 00 04");
    let size = (usize::from(head[2]) << 8 | usize::from(head[3])) + 4;
    let mut der = Vec::new();
    while der.len() < size {
        let offset = der.len();
        let chunk = (size - offset).min(256);
        let command = format!(
            "00 B0 {:02X} {:02X} {:02X}",
            offset >> 8,
            offset & 0xFF,
            chunk & 0xFF
        );
        let response = apdu(card, &command);
        assert_eq!(response[response.len() - 2..], [0x90, 0x00]);
        der.extend_from_slice(&response[..response.len() - 2]);
    }
    der
}

#[test]
fn address_change_revokes_only_the_signature_certificate_and_rewrites_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "felica:0123456789ABCDEF".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let before = card.state();
    let old_address = address_on_card(&card);
    assert_eq!(old_address, before.persona.address);

    let outcome = world
        .apply_event(&event(&id, EventKind::AddressChange))
        .unwrap();
    assert_eq!(outcome.revoked.len(), 1);
    assert_eq!(outcome.revoked[0].hierarchy, "sign");
    assert_eq!(
        outcome.revoked[0].reason,
        RevocationReason::AffiliationChanged
    );
    assert_eq!(outcome.issued.len(), 1);

    let after = card.state();
    assert_ne!(after.persona.address, before.persona.address);
    let old_sign = before.sign.unwrap();
    let new_sign = after.sign.clone().unwrap();
    assert_ne!(old_sign.serial, new_sign.serial);
    assert_eq!(new_sign.not_before, NOW);
    assert_eq!(after.auth.serial, before.auth.serial);
    assert!(matches!(
        world.certificate_status(Hierarchy::Sign, &old_sign.serial, NOW),
        Some(CertStatus::Revoked {
            reason: RevocationReason::AffiliationChanged,
            ..
        })
    ));
    assert_eq!(
        world.certificate_status(Hierarchy::Sign, &new_sign.serial, NOW),
        Some(CertStatus::Good)
    );
    assert_eq!(
        world.certificate_status(Hierarchy::Auth, &after.auth.serial, NOW),
        Some(CertStatus::Good)
    );
    assert_eq!(
        world
            .certificate(Hierarchy::Sign, &old_sign.serial)
            .unwrap()
            .superseded_by,
        Some(new_sign.serial.clone())
    );
    // The card itself now carries the new address and the new certificate.
    assert_eq!(address_on_card(&card), after.persona.address);
    assert_eq!(sign_certificate_on_card(&card), new_sign.der);
}

#[test]
fn death_revokes_both_and_the_card_takes_no_further_events() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "typea:04A1B2C3".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let outcome = world.apply_event(&event(&id, EventKind::Death)).unwrap();
    assert_eq!(outcome.life, Life::Deceased);
    let reasons: Vec<_> = outcome
        .revoked
        .iter()
        .map(|r| (r.hierarchy, r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("sign", RevocationReason::CessationOfOperation),
            ("auth", RevocationReason::CessationOfOperation)
        ]
    );
    let state = card.state();
    assert!(matches!(
        world.certificate_status(Hierarchy::Auth, &state.auth.serial, NOW),
        Some(CertStatus::Revoked { .. })
    ));
    let err = world
        .apply_event(&event(&id, EventKind::AddressChange))
        .unwrap_err();
    assert!(
        matches!(
            err,
            WorldError::NotActive {
                life: Life::Deceased,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn loss_revokes_with_key_compromise_and_reissue_links_to_a_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "typea:04A1B2C3D4E5F6".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let first = card.state();
    let loss = world.apply_event(&event(&id, EventKind::Loss)).unwrap();
    assert!(loss
        .revoked
        .iter()
        .all(|r| r.reason == RevocationReason::KeyCompromise));
    assert_eq!(loss.revoked.len(), 2);
    let reissue = world.apply_event(&event(&id, EventKind::Reissue)).unwrap();
    assert_eq!(reissue.issued.len(), 2);
    assert!(
        reissue.revoked.is_empty(),
        "already revoked certificates keep their first reason"
    );
    let second = card.state();
    assert_eq!(second.persona.generation, 2);
    assert_eq!(second.persona.my_number, first.persona.my_number);
    assert_eq!(second.persona.card_issued_on, NOW.date());
    let old_auth = world
        .certificate(Hierarchy::Auth, &first.auth.serial)
        .unwrap();
    assert_eq!(old_auth.superseded_by, Some(second.auth.serial.clone()));
    assert_eq!(
        old_auth.revocation.unwrap().reason,
        RevocationReason::KeyCompromise
    );
}

#[test]
fn renewal_supersedes_and_resets_pins_while_keeping_the_person() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "felica:00112233445566AA".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let first = card.state();
    // One wrong auth PIN on the old card.
    apdu(&card, "00 A4 04 0C 0A D392F000260100000001");
    apdu(&card, "00 A4 02 0C 02 0018");
    assert_eq!(apdu(&card, "00 20 00 80 04 30303030"), [0x63, 0xC2]);
    let renewal = world.apply_event(&event(&id, EventKind::Renewal)).unwrap();
    assert_eq!(renewal.revoked.len(), 2);
    assert!(renewal
        .revoked
        .iter()
        .all(|r| r.reason == RevocationReason::Superseded));
    let second = card.state();
    assert_eq!(second.persona.name, first.persona.name);
    assert_ne!(second.auth.serial, first.auth.serial);
    // The new card has fresh counters.
    apdu(&card, "00 A4 04 0C 0A D392F000260100000001");
    apdu(&card, "00 A4 02 0C 02 0018");
    assert_eq!(apdu(&card, "00 20 00 80"), [0x63, 0xC3]);
}

#[test]
fn events_and_the_clock_survive_reopening_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("keys.sqlite");
    let state = dir.path().join("state");
    let id: CardId = "felica:0123456789ABCDEF".parse().unwrap();
    let (new_serial, new_address) = {
        let world = world_in(Store::open_dir(&state).unwrap(), &cache);
        world.provision(&id, None).unwrap();
        world
            .apply_event(&event(&id, EventKind::AddressChange))
            .unwrap();
        world
            .set_clock(
                world
                    .clock()
                    .advanced(std::time::Duration::from_secs(3_600))
                    .unwrap(),
            )
            .unwrap();
        let s = world.card(&id).unwrap().state();
        (s.sign.unwrap().serial, s.persona.address)
    };
    let world = world_in(Store::open_dir(&state).unwrap(), &cache);
    assert_eq!(world.now(), NOW + time::Duration::hours(1));
    let card = world.card(&id).expect("the card is restored");
    let restored = card.state();
    assert_eq!(restored.sign.as_ref().unwrap().serial, new_serial);
    assert_eq!(restored.persona.address, new_address);
    assert_eq!(address_on_card(&card), new_address);
    assert_eq!(sign_certificate_on_card(&card), restored.sign.unwrap().der);
    let history = world.view(&card).history;
    assert_eq!(history.len(), 3);
    assert_eq!(history.iter().filter(|h| h.status == "revoked").count(), 1);
}

#[test]
fn expiry_comes_from_the_clock_alone() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "felica:0123456789ABCDEF".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let auth = card.state().auth;
    world
        .set_clock(ClockMode::Frozen { at: auth.not_after })
        .unwrap();
    assert_eq!(world.view(&card).certificates.auth.status, "good");
    world
        .set_clock(ClockMode::Frozen {
            at: auth.not_after + time::Duration::seconds(1),
        })
        .unwrap();
    assert_eq!(world.view(&card).certificates.auth.status, "expired");
}

/// Provisioning a provisioned card never issues anything: the persona it was provisioned with
/// (however spelt, after a restart too) gets the card as it is, another persona or generation is
/// `PersonaConflict`, and after a renewal only a request without overrides is answered.
#[test]
fn provisioning_again_never_reissues_and_refuses_another_persona() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("keys.sqlite");
    let state = dir.path().join("state");
    let id: CardId = "typea:04A1B2C3D4E5F6".parse().unwrap();
    let yaml = "name: 試験　花子\npins: {auth_pin: \"4321\"}\n";
    let first = {
        let world = world_in(Store::open_dir(&state).unwrap(), &cache);
        world.provision(&id, Some(yaml)).unwrap().state()
    };
    let world = world_in(Store::open_dir(&state).unwrap(), &cache);
    let json = r#"{"pins":{"auth_pin":"4321"},"name":"試験　花子"}"#;
    for same in [Some(yaml), Some(json), None] {
        let again = world.provision(&id, same).unwrap().state();
        assert_eq!(again.auth.der, first.auth.der, "{same:?}");
        assert_eq!(
            again.sign.as_ref().unwrap().der,
            first.sign.as_ref().unwrap().der
        );
        assert_eq!(again.persona, first.persona);
    }
    for other in ["name: 別人　太郎\npins: {auth_pin: \"4321\"}\n", "{}"] {
        let Err(err) = world.provision(&id, Some(other)) else {
            panic!("{other:?} was accepted");
        };
        assert!(
            matches!(&err, WorldError::PersonaConflict { card, .. } if card == &id),
            "{err}"
        );
        assert!(err.to_string().contains("POST /admin/v1/events"), "{err}");
    }
    assert!(matches!(
        world.provision_generation(&id, 2, None),
        Err(WorldError::PersonaConflict { .. })
    ));
    assert!(matches!(
        world.provision(&id, Some("nmae: x\n")),
        Err(WorldError::Persona(_))
    ));
    let unchanged = world.card(&id).unwrap().state();
    assert_eq!(unchanged.auth.der, first.auth.der);
    assert_eq!(unchanged.persona, first.persona);

    world.apply_event(&event(&id, EventKind::Renewal)).unwrap();
    let renewed = world.card(&id).unwrap().state();
    assert_eq!(
        world.provision(&id, None).unwrap().state().auth,
        renewed.auth
    );
    let Err(err) = world.provision(&id, Some(yaml)) else {
        panic!("overrides were accepted after a renewal");
    };
    assert!(
        matches!(&err, WorldError::PersonaConflict { .. }) && err.to_string().contains("renewed"),
        "{err}"
    );
}

#[test]
fn a_basic_info_change_that_would_make_the_holder_a_child_is_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let world = world_in(Store::in_memory().unwrap(), &dir.path().join("keys.sqlite"));
    let id: CardId = "felica:0123456789ABCDEF".parse().unwrap();
    let card = world.provision(&id, None).unwrap();
    let before = card.state();
    // Born after the card was issued less 15 years: no signature certificate to re-issue.
    let request = EventRequest {
        persona: Some(serde_json::json!({ "birth_date": "2020-01-01" })),
        ..event(&id, EventKind::BirthDateCorrection)
    };
    let refused = world.apply_event(&request).unwrap_err();
    assert!(
        matches!(refused, WorldError::NoSignatureCertificate { .. }),
        "{refused}"
    );
    let after = card.state();
    assert_eq!(after.persona, before.persona);
    assert_eq!(after.life, Life::Active);
}
