//! Test vectors for the derivation documentation: the same table must come out on every install.

mod common;

use std::fmt::Write;

use mock_ca::{CaKeyRole, Hierarchy, KeyRole, KeySeed, MunicipalityCode, Serial, SubjectId};
use sha2::{Digest, Sha256};

#[test]
fn derivation_vectors_are_stable() {
    let mut table = String::new();
    let card = common::CARD;
    writeln!(table, "card {card}, generation 1").unwrap();
    for role in [
        KeyRole::Sign,
        KeyRole::Auth,
        KeyRole::TextAp,
        KeyRole::VisualAp,
        KeyRole::CommonAp,
        KeyRole::JukiAp,
    ] {
        let seed = KeySeed::for_card(card, 1, role).unwrap();
        let key = seed.derive_key().unwrap();
        writeln!(
            table,
            "  key {:<10} seed {}  sha256(spki) {}",
            role.tag(),
            hex::encode(seed.as_bytes()),
            hex::encode(Sha256::digest(key.spki_der()))
        )
        .unwrap();
    }
    let code = MunicipalityCode::parse("13113").unwrap();
    for hierarchy in Hierarchy::ALL {
        writeln!(
            table,
            "  {} serial {}  subject CN {}",
            hierarchy.tag(),
            Serial::for_card(card, 1, hierarchy).unwrap(),
            SubjectId::derive(card, 1, hierarchy, code)
                .unwrap()
                .as_str()
        )
        .unwrap();
    }
    writeln!(table, "CA generation 1").unwrap();
    for role in [
        CaKeyRole::SignCa,
        CaKeyRole::AuthCa,
        CaKeyRole::OcspResponder,
    ] {
        let seed = KeySeed::for_authority(1, role);
        let key = seed.derive_key().unwrap();
        writeln!(
            table,
            "  key {:<14} seed {}  sha256(spki) {}",
            role.tag(),
            hex::encode(seed.as_bytes()),
            hex::encode(Sha256::digest(key.spki_der()))
        )
        .unwrap();
    }
    for hierarchy in Hierarchy::ALL {
        let ca = common::mock_ca().authority(hierarchy);
        writeln!(
            table,
            "  {} root serial {}  sha256(cert) {}",
            hierarchy.tag(),
            ca.serial(),
            hex::encode(Sha256::digest(ca.certificate_der()))
        )
        .unwrap();
    }
    insta::assert_snapshot!(table);
}

#[test]
fn authorities_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mock_ca::CertificateAuthority>();
    assert_send_sync::<mock_ca::MockCa>();
}
