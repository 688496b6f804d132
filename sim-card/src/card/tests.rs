//! Behaviour tests of the card OS, named after what a transcript would show.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{pss, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use super::*;
use crate::image::Aid;
use crate::key::SHA256_DIGEST_INFO_PREFIX;
use crate::testing::{self, TestKey};

const SEL_JPKI: &str = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";
const SEL_TEXT: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08";
const SEL_VISUAL: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02";
const SEL_COMMON: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00";

/// Sends spaced hex; returns (data, status word).
fn send(card: &mut Card, command: &str) -> (Vec<u8>, StatusWord) {
    let bytes = hex::decode(command.replace(' ', "")).expect("test APDU hex");
    send_bytes(card, &bytes)
}

fn send_bytes(card: &mut Card, command: &[u8]) -> (Vec<u8>, StatusWord) {
    let mut response = card.transmit(command);
    assert!(response.len() >= 2);
    let sw = StatusWord::from_response(&response).unwrap();
    response.truncate(response.len() - 2);
    (response, sw)
}

fn sw(card: &mut Card, command: &str) -> StatusWord {
    send(card, command).1
}

fn verify_apdu(p2: u8, pin: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x20, 0x00, p2, pin.len() as u8];
    apdu.extend_from_slice(pin);
    apdu
}

fn sign_apdu(p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x80, 0x2A, p1, p2, data.len() as u8];
    apdu.extend_from_slice(data);
    apdu.push(0x00);
    apdu
}

fn public_key(key: TestKey) -> RsaPublicKey {
    RsaPrivateKey::from_pkcs8_der(testing::key_pkcs8(key))
        .unwrap()
        .to_public_key()
}

fn login_sign(card: &mut Card) {
    assert_eq!(sw(card, SEL_JPKI), StatusWord::SUCCESS);
    assert_eq!(sw(card, "00 A4 02 0C 02 00 1B"), StatusWord::SUCCESS);
    let (_, status) = send_bytes(card, &verify_apdu(0x80, testing::SIGN_PASSWORD));
    assert_eq!(status, StatusWord::SUCCESS);
}

#[test]
fn wrong_sign_password_decrements_counter_and_reports_63cx() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 1B");
    for left in (0..5).rev() {
        let (_, status) = send_bytes(&mut card, &verify_apdu(0x80, b"WRONG1"));
        assert_eq!(status, StatusWord::retries_left(left));
    }
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::NO_TRIES_LEFT);
    let (_, status) = send_bytes(&mut card, &verify_apdu(0x80, testing::SIGN_PASSWORD));
    assert_eq!(status, StatusWord::REFERENCED_IEF_LOCKED);
}

#[test]
fn correct_pin_resets_the_counter() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, b"9999")).1,
        StatusWord::retries_left(2)
    );
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN)).1,
        StatusWord::SUCCESS
    );
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::retries_left(3));
}

#[test]
fn empty_verify_answers_63cx_even_when_verified() {
    let mut card = testing::card();
    login_sign(&mut card);
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::retries_left(5));
    // Case 2 form (Le present, no data) is a query too.
    assert_eq!(sw(&mut card, "00 20 00 80 00"), StatusWord::retries_left(5));
    // The query does not undo the verification.
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(send(&mut card, "00 B0 00 00 04").1, StatusWord::SUCCESS);
}

#[test]
fn le_00_returns_exactly_256_bytes() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 0A");
    let (data, status) = send(&mut card, "00 B0 00 00 00");
    assert_eq!(status, StatusWord::SUCCESS);
    assert_eq!(data, testing::files::auth_cert()[..256]);
    let (data, _) = send(&mut card, "00 B0 06 00 00");
    assert_eq!(data, testing::files::auth_cert()[0x600..]);
    assert_eq!(
        sw(&mut card, "00 B0 06 32 01"),
        StatusWord::OFFSET_OUTSIDE_EF
    );
}

#[test]
fn extended_le_reads_the_whole_file_in_one_response() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 0A");
    let (data, status) = send(&mut card, "00 B0 00 00 00 FF FF");
    assert_eq!(status, StatusWord::SUCCESS);
    assert_eq!(data, testing::files::auth_cert());
    let (data, _) = send(&mut card, "00 B0 8A 00 00 00 00");
    assert_eq!(data, testing::files::auth_cert());
}

#[test]
fn protected_read_needs_the_pin_and_ief_read_is_6981() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    assert_eq!(sw(&mut card, "00 A4 02 0C 02 00 01"), StatusWord::SUCCESS);
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    send(&mut card, "00 A4 02 0C 02 00 17");
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::INCOMPATIBLE_FILE_STRUCTURE
    );
    login_sign(&mut card);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(
        send(&mut card, "00 B0 00 00 04").0,
        [0x30, 0x82, 0x06, 0xCA]
    );
}

#[test]
fn selecting_another_ap_clears_verified_state() {
    let mut card = testing::card();
    login_sign(&mut card);
    send(&mut card, SEL_TEXT);
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn reselecting_the_same_ap_keeps_verified_state() {
    let mut card = testing::card();
    login_sign(&mut card);
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(sw(&mut card, "00 B0 00 00 04"), StatusWord::SUCCESS);
}

#[test]
fn warm_reset_keeps_verification_and_power_off_clears_it() {
    let mut card = testing::card();
    login_sign(&mut card);
    card.reset();
    // The selection is gone after a reset.
    assert_eq!(sw(&mut card, "00 B0 00 00 04"), StatusWord::NO_CURRENT_EF);
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(sw(&mut card, "00 B0 00 00 04"), StatusWord::SUCCESS);

    card.power_off();
    card.power_on();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn warm_reset_clears_verification_when_configured() {
    let config = CardConfig {
        keep_verified_across_reset: false,
        ..CardConfig::default()
    };
    let mut card = testing::card_with(config, PinSnapshot::default());
    login_sign(&mut card);
    card.reset();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn pin_stays_blocked_after_restore_and_power_cycle() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    for _ in 0..3 {
        send_bytes(&mut card, &verify_apdu(0x80, b"0000"));
    }
    let snapshot = card.pin_snapshot();
    assert!(snapshot.get(Aid::JPKI, FileId(0x18)).unwrap().is_blocked());
    for restart in 0..3 {
        let mut card = Card::new(testing::card_image(), snapshot.clone()).unwrap();
        match restart {
            1 => card.reset(),
            2 => {
                card.power_off();
                card.power_on();
            }
            _ => {}
        }
        send(&mut card, SEL_JPKI);
        send(&mut card, "00 A4 02 0C 02 00 18");
        assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::NO_TRIES_LEFT);
        assert_eq!(
            send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN)).1,
            StatusWord::REFERENCED_IEF_LOCKED
        );
    }
}

#[test]
fn text_ap_0012_is_blocked_from_the_start() {
    let mut card = testing::card();
    send(&mut card, SEL_TEXT);
    send(&mut card, "00 A4 02 0C 02 00 12");
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::NO_TRIES_LEFT);
    assert_eq!(
        sw(&mut card, "00 20 00 80 04 30 30 30 30"),
        StatusWord::REFERENCED_IEF_LOCKED
    );
}

#[test]
fn signature_verifies_with_the_public_key_for_every_p1() {
    let mut card = testing::card();
    login_sign(&mut card);
    send(&mut card, "00 A4 02 0C 02 00 1A");
    let public = public_key(TestKey::JpkiSign);
    let message = b"contract text".as_slice();
    let hash = Sha256::digest(message).to_vec();
    let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
    digest_info.extend_from_slice(&hash);
    for (p1, input, padded) in [
        (0x00, digest_info.as_slice(), Some(digest_info.as_slice())),
        (0x01, message, Some(hash.as_slice())),
        (0x02, hash.as_slice(), Some(digest_info.as_slice())),
        (0x03, message, Some(digest_info.as_slice())),
        (0x04, hash.as_slice(), None),
        (0x05, message, None),
    ] {
        for p2 in [0x80, 0x9A] {
            let (signature, status) = send_bytes(&mut card, &sign_apdu(p1, p2, input));
            assert_eq!(status, StatusWord::SUCCESS, "P1 {p1:02X} P2 {p2:02X}");
            assert_eq!(signature.len(), 256);
            match padded {
                Some(t) => public
                    .verify(Pkcs1v15Sign::new_unprefixed(), t, &signature)
                    .unwrap(),
                None => public
                    .verify(pss::Pss::new::<Sha256>(), &hash, &signature)
                    .unwrap(),
            }
        }
    }
    assert_eq!(
        send_bytes(&mut card, &sign_apdu(0x06, 0x80, &hash)).1,
        StatusWord::INCORRECT_P1_P2
    );
    assert_eq!(
        send_bytes(&mut card, &sign_apdu(0x02, 0x80, &hash[..31])).1,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    assert_eq!(
        send_bytes(&mut card, &sign_apdu(0x00, 0x80, &[0xAB; 246])).1,
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
}

#[test]
fn signing_without_the_pin_is_6982_and_with_the_other_pin_too() {
    let mut card = testing::card();
    login_sign(&mut card);
    // The sign password does not open the auth key.
    send(&mut card, "00 A4 02 0C 02 00 17");
    assert_eq!(
        send_bytes(&mut card, &sign_apdu(0x00, 0x80, &[1; 35])).1,
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    assert_eq!(
        sw(&mut card, "80 2A 00 80 00"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn card_face_keys_sign_without_credential_with_p2_00() {
    let mut card = testing::card();
    for (select, key) in [(SEL_VISUAL, TestKey::Visual), (SEL_TEXT, TestKey::Text)] {
        send(&mut card, select);
        let challenge = [0x5Au8; 32];
        let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
        digest_info.extend_from_slice(&challenge);
        let (signature, status) = send_bytes(&mut card, &sign_apdu(0x02, 0x00, &challenge));
        assert_eq!(status, StatusWord::SUCCESS);
        public_key(key)
            .verify(Pkcs1v15Sign::new_unprefixed(), &digest_info, &signature)
            .unwrap();
    }
    // JPKI has no default key.
    send(&mut card, SEL_JPKI);
    assert_eq!(
        send_bytes(&mut card, &sign_apdu(0x00, 0x00, &[1; 35])).1,
        StatusWord::INCORRECT_P1_P2
    );
}

#[test]
fn internal_authenticate_signs_the_challenge_with_the_common_key() {
    let mut card = testing::card();
    send(&mut card, SEL_COMMON);
    let challenge = [0x11u8; 8];
    let mut apdu = vec![0x00, 0x88, 0x00, 0x99, 0x08];
    apdu.extend_from_slice(&challenge);
    apdu.push(0x00);
    let (signature, status) = send_bytes(&mut card, &apdu);
    assert_eq!(status, StatusWord::SUCCESS);
    let mut t = SHA256_DIGEST_INFO_PREFIX.to_vec();
    t.extend_from_slice(&Sha256::digest(challenge));
    public_key(TestKey::Common)
        .verify(Pkcs1v15Sign::new_unprefixed(), &t, &signature)
        .unwrap();
    // 券面 keys refuse with 69 85, PIN-protected keys with 69 82.
    send(&mut card, SEL_VISUAL);
    assert_eq!(
        sw(&mut card, "00 88 00 9A 02 01 02 00"),
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
    send(&mut card, SEL_JPKI);
    assert_eq!(
        sw(&mut card, "00 88 00 97 02 01 02 00"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn change_reference_data_needs_verify_and_replaces_the_pin() {
    let mut card = testing::card();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    assert_eq!(
        sw(&mut card, "00 24 01 80 04 35 36 37 38"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN));
    assert_eq!(
        sw(&mut card, "00 24 01 80 04 35 36 37 38"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN)).1,
        StatusWord::retries_left(2)
    );
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, b"5678")).1,
        StatusWord::SUCCESS
    );
    let saved = card.pin_snapshot();
    assert_eq!(saved.get(Aid::JPKI, FileId(0x18)).unwrap().value.0, b"5678");
}

/// `00 24 01 80 Lc value`.
fn change_apdu(value: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x24, 0x01, 0x80, value.len() as u8];
    apdu.extend_from_slice(value);
    apdu
}

#[test]
fn a_new_value_must_have_its_credentials_format_and_a_refusal_keeps_the_old_one() {
    let mut card = testing::card();
    // The authentication PIN: four digits.
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN));
    for bad in [&b"123"[..], b"12345", b"12a4", b"ABCD", b"12 4"] {
        assert_eq!(
            send_bytes(&mut card, &change_apdu(bad)).1,
            StatusWord::INCORRECT_DATA,
            "auth PIN {bad:?}"
        );
    }
    assert_eq!(
        send_bytes(&mut card, &change_apdu(b"0042")).1,
        StatusWord::SUCCESS
    );
    // The signature password: 6 to 16 of A-Z and 0-9.
    send(&mut card, "00 A4 02 0C 02 00 1B");
    send_bytes(&mut card, &verify_apdu(0x80, testing::SIGN_PASSWORD));
    for bad in [&b"ABC12"[..], b"abc123", b"ABC-123", b"ABCDEFGHIJ1234567"] {
        assert_eq!(
            send_bytes(&mut card, &change_apdu(bad)).1,
            StatusWord::INCORRECT_DATA,
            "sign password {bad:?}"
        );
    }
    // Refusals cost no try and leave the password as it was.
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::retries_left(5));
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, testing::SIGN_PASSWORD)).1,
        StatusWord::SUCCESS
    );
    assert_eq!(
        send_bytes(&mut card, &change_apdu(b"NEWPASS16CHARS99")).1,
        StatusWord::SUCCESS
    );
    // The text AP's PIN: four digits too.
    send(&mut card, SEL_TEXT);
    send(&mut card, "00 A4 02 0C 02 00 11");
    send_bytes(&mut card, &verify_apdu(0x80, testing::TEXT_PIN));
    assert_eq!(
        send_bytes(&mut card, &change_apdu(b"PASS")).1,
        StatusWord::INCORRECT_DATA
    );
}

#[test]
fn change_key_changes_the_common_ap_pin() {
    let mut card = testing::card();
    send(&mut card, SEL_COMMON);
    send(&mut card, "00 A4 02 0C 02 00 1C");
    assert_eq!(
        sw(&mut card, "80 32 00 80 04 39 39 39 39"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    send_bytes(&mut card, &verify_apdu(0x80, testing::CARD_PIN));
    assert_eq!(
        sw(&mut card, "80 32 00 80 04 39 39 39 39"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        sw(&mut card, "00 20 00 80 04 39 39 39 39"),
        StatusWord::SUCCESS
    );
}

#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<PinSnapshot>>>,
    fail: bool,
}

impl PinObserver for Recorder {
    fn pins_changed(&self, snapshot: &PinSnapshot) -> Result<(), PinPersistError> {
        if self.fail {
            return Err(PinPersistError::Io(std::io::Error::other("disk full")));
        }
        self.seen.lock().unwrap().push(snapshot.clone());
        Ok(())
    }
}

#[test]
fn observer_sees_every_change_before_the_answer() {
    let mut card = testing::card();
    let recorder = Recorder::default();
    card.set_pin_observer(Box::new(recorder.clone()));
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    send(&mut card, "00 20 00 80");
    assert!(
        recorder.seen.lock().unwrap().is_empty(),
        "a query changes nothing"
    );
    send_bytes(&mut card, &verify_apdu(0x80, b"0000"));
    send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN));
    // Correct again with a full counter: no change, no notification.
    send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN));
    let seen = recorder.seen.lock().unwrap();
    let tries: Vec<u8> = seen
        .iter()
        .map(|s| s.get(Aid::JPKI, FileId(0x18)).unwrap().remaining)
        .collect();
    assert_eq!(tries, [2, 3]);
}

#[test]
fn failing_observer_undoes_the_change_and_answers_6f00() {
    let mut card = testing::card();
    card.set_pin_observer(Box::new(Recorder {
        fail: true,
        ..Recorder::default()
    }));
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 18");
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, b"0000")).1,
        StatusWord::NO_PRECISE_DIAGNOSIS
    );
    assert_eq!(sw(&mut card, "00 20 00 80"), StatusWord::retries_left(3));
    // A correct PIN with a full counter changes nothing, so it still succeeds.
    assert_eq!(
        send_bytes(&mut card, &verify_apdu(0x80, testing::AUTH_PIN)).1,
        StatusWord::SUCCESS
    );
    // A change of value cannot be persisted: refused, old PIN still valid.
    assert_eq!(
        sw(&mut card, "00 24 01 80 04 35 36 37 38"),
        StatusWord::NO_PRECISE_DIAGNOSIS
    );
    assert_eq!(
        card.pin_snapshot()
            .get(Aid::JPKI, FileId(0x18))
            .unwrap()
            .value
            .0,
        testing::AUTH_PIN
    );
}

#[test]
fn select_by_prefix_and_next_occurrence_walk_the_aps_in_order() {
    let mut card = testing::card();
    // `D3 92 10 00 31 00 01 01 04` prefixes the text, visual and 住基 APs, in that order.
    let (fci, status) = send(&mut card, "00 A4 04 00 09 D3 92 10 00 31 00 01 01 04 00");
    assert_eq!(status, StatusWord::SUCCESS);
    assert_eq!(hex::encode_upper(fci), "6F0C840AD3921000310001010408");
    let (fci, _) = send(&mut card, "00 A4 04 02 09 D3 92 10 00 31 00 01 01 04 00");
    assert_eq!(hex::encode_upper(fci), "6F0C840AD3921000310001010402");
    let (fci, _) = send(&mut card, "00 A4 04 02 09 D3 92 10 00 31 00 01 01 04 00");
    assert_eq!(hex::encode_upper(fci), "6F0C840AD3921000310001010401");
    assert_eq!(
        sw(&mut card, "00 A4 04 0E 09 D3 92 10 00 31 00 01 01 04"),
        StatusWord::FILE_NOT_FOUND
    );
}

#[test]
fn unknown_aids_are_never_selected() {
    let mut card = testing::card();
    for probe in [
        "00 A4 04 00 06 D2 76 00 01 24 01 00",
        "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 02",
        "00 A4 04 00 0B D3 92 F0 00 26 01 00 00 00 01 00 00",
        "00 A4 04 00 00",
    ] {
        assert_eq!(sw(&mut card, probe), StatusWord::FILE_NOT_FOUND, "{probe}");
    }
}

#[test]
fn isd_returns_to_mf_level_and_clears_verification() {
    let mut card = testing::card();
    assert_eq!(sw(&mut card, "00 A4 00 00"), StatusWord::INCORRECT_P1_P2);
    login_sign(&mut card);
    assert_eq!(sw(&mut card, "00 A4 00 00"), StatusWord::SUCCESS);
    // The current DF did not change.
    assert_eq!(sw(&mut card, "00 A4 02 0C 02 00 06"), StatusWord::SUCCESS);
    assert_eq!(
        sw(&mut card, "00 A4 04 0C 07 A0 00 00 01 51 00 00"),
        StatusWord::SUCCESS
    );
    assert_eq!(
        sw(&mut card, "00 A4 02 0C 02 00 06"),
        StatusWord::FILE_NOT_FOUND
    );
    assert_eq!(sw(&mut card, "00 A4 02 0C 02 00 1E"), StatusWord::SUCCESS);
    assert_eq!(
        sw(&mut card, "00 B0 00 00 00"),
        StatusWord::INCOMPATIBLE_FILE_STRUCTURE
    );
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 01");
    assert_eq!(
        sw(&mut card, "00 B0 00 00 04"),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

#[test]
fn get_data_answers_at_mf_level_and_large_objects_need_extended_le() {
    let mut card = testing::card();
    let (atr, status) = send(&mut card, "00 CA 5F 51 00");
    assert_eq!(status, StatusWord::SUCCESS);
    assert_eq!(atr, CardImage::DEFAULT_ATR[1..]);
    assert_eq!(sw(&mut card, "00 CA 00 F8 00"), StatusWord::WRONG_LENGTH);
    let (cvc, status) = send(&mut card, "00 CA 00 F8 00 00 00");
    assert_eq!(status, StatusWord::SUCCESS);
    assert!(cvc.len() > 256);
    assert_eq!(
        sw(&mut card, "00 CA 7F 21 00 00 00"),
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
    send(&mut card, SEL_JPKI);
    assert_eq!(
        sw(&mut card, "00 CA 5F 51 00"),
        StatusWord::REFERENCED_DATA_NOT_FOUND
    );
}

#[test]
fn get_challenge_is_deterministic_per_seed() {
    let mut a = testing::card();
    let mut b = testing::card();
    let (first, status) = send(&mut a, "00 84 00 00 08");
    assert_eq!((first.len(), status), (8, StatusWord::SUCCESS));
    assert_eq!(send(&mut b, "00 84 00 00 08").0, first);
    assert_eq!(send(&mut a, "00 84 00 00 00").0.len(), 256);
    assert_ne!(send(&mut a, "00 84 00 00 08").0, first);
    assert_eq!(
        sw(&mut a, "00 84 00 00 00 00 08"),
        StatusWord::CONDITIONS_NOT_SATISFIED
    );
}

#[test]
fn class_and_instruction_errors() {
    let mut card = testing::card();
    assert_eq!(
        sw(&mut card, "01 A4 04 0C 02 D3 92"),
        StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED
    );
    assert_eq!(
        sw(&mut card, "40 B0 00 00 00"),
        StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED
    );
    assert_eq!(
        sw(&mut card, "0C A4 04 0C 02 D3 92"),
        StatusWord::SECURE_MESSAGING_NOT_SUPPORTED
    );
    assert_eq!(
        sw(&mut card, "08 B0 00 00 00"),
        StatusWord::SECURE_MESSAGING_ERROR
    );
    assert_eq!(
        sw(&mut card, "0C 20 00 80"),
        StatusWord::SECURE_MESSAGING_ERROR
    );
    assert_eq!(sw(&mut card, "00 FF 00 00"), StatusWord::INS_NOT_SUPPORTED);
    assert_eq!(sw(&mut card, "A0 A4 00 00"), StatusWord::CLA_NOT_SUPPORTED);
    assert_eq!(
        sw(&mut card, "00 2A 00 80 01 00 00"),
        StatusWord::CLA_NOT_SUPPORTED
    );
    assert_eq!(sw(&mut card, "80 FC 00 00"), StatusWord::WRONG_LENGTH);
    assert_eq!(sw(&mut card, "00 A4"), StatusWord::WRONG_LENGTH);
    assert_eq!(sw(&mut card, ""), StatusWord::WRONG_LENGTH);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn transmit_never_panics_and_always_ends_in_a_status_word(
        commands in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..24),
                // Headers the card knows, with arbitrary parameters and bodies.
                (
                    prop::sample::select(vec![0x00u8, 0x80, 0x0C]),
                    prop::sample::select(vec![0xA4u8, 0xB0, 0xB2, 0x20, 0x24, 0x2A, 0x32, 0x84, 0x88, 0xCA, 0xAE]),
                    any::<u8>(),
                    any::<u8>(),
                    proptest::collection::vec(any::<u8>(), 0..40),
                ).prop_map(|(cla, ins, p1, p2, body)| {
                    let mut apdu = vec![cla, ins, p1, p2];
                    apdu.extend_from_slice(&body);
                    apdu
                }),
            ],
            1..12,
        ),
    ) {
        let mut card = testing::card();
        // Start inside an AP half the time so the deeper handlers are reached.
        if commands[0].first().is_some_and(|b| b & 1 == 0) {
            card.transmit(&hex::decode(SEL_JPKI.replace(' ', "")).unwrap());
        }
        for command in &commands {
            let response = card.transmit(command);
            prop_assert!(response.len() >= 2);
        }
    }
}

#[test]
fn a_wrong_le_fault_answers_6c_with_the_length_then_the_data() {
    let mut card = testing::card();
    card.arm_fault(faults::CardFault::WrongLe, Some(1)).unwrap();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 0A");
    let (data, status) = send(&mut card, "00 B0 06 00 00");
    let rest = testing::files::auth_cert().len() - 0x600;
    assert_eq!(
        (data.len(), status),
        (0, StatusWord::from_bytes(0x6C, rest as u8))
    );
    let (data, status) = send(&mut card, &format!("00 B0 06 00 {rest:02X}"));
    assert_eq!(status, StatusWord::SUCCESS);
    assert_eq!(data, testing::files::auth_cert()[0x600..]);
}

/// A card with the signature key selected and its password verified, `fault` armed, and the
/// SIGN APDU to send it.
fn ready_to_sign_with(fault: faults::CardFault, count: Option<u32>) -> (Card, Vec<u8>) {
    let mut card = testing::card();
    login_sign(&mut card);
    send(&mut card, "00 A4 02 0C 02 00 1A");
    card.arm_fault(fault, count).unwrap();
    let digest_info = [&SHA256_DIGEST_INFO_PREFIX[..], &[0u8; 32]].concat();
    (card, sign_apdu(0x00, 0x80, &digest_info))
}

#[test]
fn a_no_diagnosis_fault_answers_6f00_and_signs_nothing() {
    let on = faults::CommandClass::Sign;
    let (mut card, sign) = ready_to_sign_with(faults::CardFault::NoDiagnosis { on }, Some(1));
    let (data, status) = send_bytes(&mut card, &sign);
    assert_eq!((data.len(), status), (0, StatusWord::NO_PRECISE_DIAGNOSIS));
    let (data, status) = send_bytes(&mut card, &sign);
    assert_eq!((data.len(), status), (256, StatusWord::SUCCESS));
}

#[test]
fn a_card_pulled_mid_signature_answers_nothing_and_comes_back_cold() {
    let on = faults::CommandClass::Sign;
    let (mut card, sign) = ready_to_sign_with(faults::CardFault::Pulled { on }, None);
    assert!(card.transmit(&sign).is_empty());
    card.clear_faults();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 1A");
    let (data, status) = send_bytes(&mut card, &sign);
    assert_eq!(
        (data.len(), status),
        (0, StatusWord::SECURITY_STATUS_NOT_SATISFIED)
    );
}

#[test]
fn a_truncated_file_ends_at_half_its_length() {
    let mut card = testing::card();
    card.arm_fault(faults::CardFault::TruncatedFile, None)
        .unwrap();
    send(&mut card, SEL_JPKI);
    send(&mut card, "00 A4 02 0C 02 00 0A");
    let whole = testing::files::auth_cert();
    let cut = whole.len() / 2;
    let (data, status) = send(&mut card, "00 B0 00 00 05");
    assert_eq!(
        (data.as_slice(), status),
        (&whole[..5], StatusWord::SUCCESS)
    );
    let near = cut - 10;
    let (data, status) = send(
        &mut card,
        &format!("00 B0 {:02X} {:02X} 00", near >> 8, near & 0xFF),
    );
    assert_eq!(
        (data.as_slice(), status),
        (&whole[near..cut], StatusWord::SUCCESS)
    );
    let (_, status) = send(
        &mut card,
        &format!("00 B0 {:02X} {:02X} 00", cut >> 8, cut & 0xFF),
    );
    assert_eq!(status, StatusWord::OFFSET_OUTSIDE_EF);
}

#[test]
fn card_faults_that_could_never_fire_or_hang_are_refused() {
    let mut card = testing::card();
    assert_eq!(
        card.arm_fault(faults::CardFault::WrongLe, Some(0)),
        Err(faults::CardFaultError::ZeroCount)
    );
    assert_eq!(
        card.arm_fault(faults::CardFault::Slow { millis: 60_000 }, None),
        Err(faults::CardFaultError::TooSlow { millis: 60_000 })
    );
    card.arm_fault(faults::CardFault::Slow { millis: 1 }, None)
        .unwrap();
    assert_eq!(sw(&mut card, SEL_JPKI), StatusWord::SUCCESS);
}
