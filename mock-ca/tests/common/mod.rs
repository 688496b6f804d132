//! The fixed world of the integration tests: one generation-1 CA pair and one holder.

#![allow(dead_code)] // each test crate uses a different subset

use std::sync::OnceLock;

use mock_ca::{
    Hierarchy, Holder, IssuanceRequest, IssuedCertificate, KeyMaterial, KeyRole, KeySeed, MockCa,
    MunicipalityCode, Serial, Sex, SubjectId, SubstituteFlags,
};
use time::macros::{date, datetime};

pub const CARD: &str = "felica:0123456789ABCDEF";
pub const BASE_URL: &str = "http://127.0.0.1:8700";

pub fn mock_ca() -> &'static MockCa {
    static CA: OnceLock<MockCa> = OnceLock::new();
    CA.get_or_init(|| MockCa::new(1, BASE_URL).expect("generation-1 CAs"))
}

pub fn card_key(role: KeyRole) -> KeyMaterial {
    KeySeed::for_card(CARD, 1, role)
        .and_then(|seed| seed.derive_key())
        .expect("card key")
}

pub fn holder() -> Holder {
    let code = MunicipalityCode::parse("13113").unwrap();
    let name = "黒桐　幹也";
    let address = "東京都渋谷区神南１－２－３";
    Holder {
        name: name.into(),
        name_substitute_flags: SubstituteFlags::none_for(name),
        address: address.into(),
        address_substitute_flags: SubstituteFlags::parse("0000010000000").unwrap(),
        birth_date: date!(1980 - 02 - 17),
        sex: Sex::Male,
        prefecture_romaji: "Tokyo-to".into(),
        municipality_romaji: "Shibuya-ku".into(),
        municipality_code: code,
        auth_cn: SubjectId::derive(CARD, 1, Hierarchy::Auth, code).unwrap(),
        sign_cn: SubjectId::derive(CARD, 1, Hierarchy::Sign, code).unwrap(),
    }
}

pub fn request(hierarchy: Hierarchy) -> IssuanceRequest {
    let role = match hierarchy {
        Hierarchy::Sign => KeyRole::Sign,
        Hierarchy::Auth => KeyRole::Auth,
    };
    IssuanceRequest {
        holder: holder(),
        serial: Serial::for_card(CARD, 1, hierarchy).unwrap(),
        issued_at: datetime!(2024-04-01 01:23:45 UTC),
        not_after: None,
        card_expires_on: None,
        subject_public_key: card_key(role).spki_der().to_vec(),
    }
}

pub fn issue(hierarchy: Hierarchy) -> IssuedCertificate {
    mock_ca()
        .authority(hierarchy)
        .issue(&request(hierarchy))
        .expect("issue")
}
