//! The `/jlis/v1` services end to end without a socket: consents signed by the card itself over
//! APDUs, the latest basic-4-info across life events and the clock, linkage and status.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use mock_jlis::clock::ClockMode;
use mock_jlis::routes::router;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig};
use serde_json::{json, Value};
use sim_card::CardId;
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt;

const NOW: OffsetDateTime = datetime!(2026-11-01 03:00 UTC);
const DOCUMENT: &[u8] =
    "最新の利用者情報の提供に同意します / consent to the latest basic-4-info service, PF example"
        .as_bytes();

/// Keys are deterministic: share the cache the events tests fill, so each key is derived once.
fn shared_cache() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("events-keys.sqlite")
}

fn world_with(store: Store, lag: Duration) -> Arc<World> {
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.clock = Some(ClockMode::Frozen { at: NOW });
    config.linkage_lag = lag;
    let cache = Store::open_key_cache(&shared_cache()).unwrap();
    Arc::new(World::open(config, store, Some(cache)).unwrap())
}

fn world() -> Arc<World> {
    world_with(Store::in_memory().unwrap(), Duration::ZERO)
}

async fn call(
    world: &Arc<World>,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .unwrap();
    let response = router(world.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// Asserts a refusal's status and code, and returns its message.
async fn refused(
    world: &Arc<World>,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
    status: StatusCode,
    code: &str,
) -> String {
    let (got, value) = call(world, method, uri, body).await;
    assert_eq!(
        (got, value["error"].as_str()),
        (status, Some(code)),
        "{method} {uri}: {value}"
    );
    value["message"].as_str().unwrap().to_owned()
}

fn apdu(card: &ProvisionedCard, hex_apdu: &str) -> Vec<u8> {
    card.transmit(&hex::decode(hex_apdu.replace(' ', "")).unwrap())
}

#[derive(Clone, Copy)]
enum Key {
    Sign,
    Auth,
}

/// Signs `document` as the holder would: SHA-256 DigestInfo, PIN, then COMPUTE DIGITAL SIGNATURE.
fn sign_on_card(card: &ProvisionedCard, document: &[u8], key: Key) -> Vec<u8> {
    use sha2::Digest;
    let digest_info = [
        hex::decode("3031300D060960864801650304020105000420").unwrap(),
        sha2::Sha256::digest(document).to_vec(),
    ]
    .concat();
    // JPKI AP
    assert_eq!(
        apdu(card, "00 A4 04 0C 0A D392F000260100000001"),
        [0x90, 0x00]
    );
    match key {
        Key::Sign => {
            // signature password EF, VERIFY "ABC123", signature key EF
            assert_eq!(apdu(card, "00 A4 02 0C 02 001B"), [0x90, 0x00]);
            assert_eq!(apdu(card, "00 20 00 80 06 414243313233"), [0x90, 0x00]);
            assert_eq!(apdu(card, "00 A4 02 0C 02 001A"), [0x90, 0x00]);
        }
        Key::Auth => {
            // authentication PIN EF, VERIFY "1234", authentication key EF
            assert_eq!(apdu(card, "00 A4 02 0C 02 0018"), [0x90, 0x00]);
            assert_eq!(apdu(card, "00 20 00 80 04 31323334"), [0x90, 0x00]);
            assert_eq!(apdu(card, "00 A4 02 0C 02 0017"), [0x90, 0x00]);
        }
    }
    let response = apdu(
        card,
        &format!("80 2A 00 80 33 {} 00", hex::encode(&digest_info)),
    );
    assert_eq!(response.len(), 258, "{}", hex::encode(&response));
    assert_eq!(response[256..], [0x90, 0x00]);
    response[..256].to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn consent_body(
    document: &[u8],
    signature: &[u8],
    certificate: &[u8],
    valid_for: Option<&str>,
) -> String {
    let mut body = json!({
        "document": b64(document),
        "signature": b64(signature),
        "certificate": b64(certificate),
    });
    if let Some(valid_for) = valid_for {
        body["valid_for"] = json!(valid_for);
    }
    body.to_string()
}

fn provision(world: &World, card: &str) -> Arc<ProvisionedCard> {
    world
        .provision(&card.parse::<CardId>().unwrap(), None)
        .unwrap()
}

fn sign_serial(card: &ProvisionedCard) -> String {
    card.state().sign.unwrap().serial.to_string()
}

/// Registers the holder's consent signed on the card; returns the enrolled serial.
async fn consent(world: &Arc<World>, card: &ProvisionedCard, valid_for: Option<&str>) -> String {
    let certificate = card.state().sign.unwrap().der;
    let signature = sign_on_card(card, DOCUMENT, Key::Sign);
    let (status, got) = call(
        world,
        "POST",
        "/jlis/v1/consents",
        consent_body(DOCUMENT, &signature, &certificate, valid_for),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let serial = sign_serial(card);
    assert_eq!(got["serial"], serial);
    serial
}

async fn event(world: &Arc<World>, card: &ProvisionedCard, kind: &str) {
    let body = json!({"card": card.id.to_string(), "kind": kind}).to_string();
    let (status, got) = call(world, "POST", "/admin/v1/events", body).await;
    assert_eq!(status, StatusCode::OK, "{kind}: {got}");
}

async fn advance(world: &Arc<World>, by: &str) {
    let (status, got) = call(
        world,
        "POST",
        "/admin/v1/clock",
        json!({"advance": by}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
}

#[tokio::test]
async fn consent_signed_on_the_card_unlocks_the_latest_info_which_follows_an_address_change() {
    let world = world();
    let card = provision(&world, "felica:0123456789ABCDEF");
    let certificate = card.state().sign.unwrap().der;
    let signature = sign_on_card(&card, DOCUMENT, Key::Sign);
    let (status, got) = call(
        &world,
        "POST",
        "/jlis/v1/consents",
        consent_body(DOCUMENT, &signature, &certificate, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let enrolled = sign_serial(&card);
    assert_eq!(got["serial"], enrolled);
    assert!(got["consent_id"].is_i64());
    assert_eq!(
        got["expires_at"], "2027-11-01T03:00:00Z",
        "365 days by default"
    );

    let (status, before) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{enrolled}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let persona = card.state().persona;
    assert_eq!(before["latest_serial"], enrolled);
    assert_eq!(before["changed"], false);
    assert_eq!(before["status"], "good");
    assert_eq!(before["name"], persona.name);
    assert_eq!(before["name_kana"], persona.name_kana);
    assert_eq!(before["address"], persona.address);
    assert_eq!(before["birth_date"], persona.birth_date.to_string());
    assert_eq!(before["sex"], persona.sex.code().to_string());
    assert_eq!(before["as_of"], "2026-11-01T03:00:00Z");

    event(&world, &card, "address_change").await;
    // lower-case hex is accepted too
    let (status, after) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{}", enrolled.to_lowercase()),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let moved = card.state();
    assert_eq!(after["enrolled_serial"], enrolled);
    assert_eq!(after["latest_serial"], sign_serial(&card));
    assert_ne!(after["latest_serial"], enrolled);
    assert_eq!(after["changed"], true);
    assert_eq!(after["address"], moved.persona.address);
    assert_ne!(after["address"], before["address"]);
    assert_eq!(after["name"], before["name"]);

    // The old certificate is revoked for the move; the new one pairs with the unchanged auth one.
    let (status, old) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{enrolled}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["status"], "revoked");
    assert_eq!(old["revocation"]["reason"], "affiliation_changed");
    let (_, linkage) = call(
        &world,
        "GET",
        &format!("/jlis/v1/linkage/sign/{enrolled}"),
        Body::empty(),
    )
    .await;
    assert_eq!(linkage["chain"], json!([enrolled, sign_serial(&card)]));
    assert_eq!(linkage["latest"], sign_serial(&card));
    assert_eq!(linkage["counterpart"], moved.auth.serial.to_string());
}

#[tokio::test]
async fn consent_requests_are_checked_and_refused_with_stable_codes() {
    let world = world();
    let card = provision(&world, "typea:04A1B2C3D4E5F6");
    let state = card.state();
    let sign_der = state.sign.clone().unwrap().der;
    let signature = sign_on_card(&card, DOCUMENT, Key::Sign);
    for (body, code) in [
        ("not json".to_owned(), "invalid_json"),
        (
            json!({"document": "", "signature": ""}).to_string(),
            "invalid_json",
        ),
        (
            json!({"document": "", "signature": "", "certificate": "", "extra": 1}).to_string(),
            "invalid_json",
        ),
        (
            json!({"document": "!!", "signature": b64(&signature), "certificate": b64(&sign_der)})
                .to_string(),
            "invalid_base64",
        ),
        (
            consent_body(DOCUMENT, &signature, &sign_der, Some("soon")),
            "invalid_duration",
        ),
        (
            consent_body(DOCUMENT, &signature, &sign_der, Some("0s")),
            "invalid_duration",
        ),
    ] {
        refused(
            &world,
            "POST",
            "/jlis/v1/consents",
            body,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let message = refused(
        &world,
        "POST",
        "/jlis/v1/consents",
        json!({"document": "", "signature": "", "certificate": "@"}).to_string(),
        StatusCode::BAD_REQUEST,
        "invalid_base64",
    )
    .await;
    assert!(message.starts_with("certificate"), "{message}");

    let body_of = |certificate: Vec<u8>, document: &'static [u8], signature: Vec<u8>| {
        consent_body(document, &signature, &certificate, None)
    };
    // Not a certificate at all; a certificate of the other hierarchy (not our signature CA).
    for certificate in [b"garbage".to_vec(), state.auth.der.clone()] {
        refused(
            &world,
            "POST",
            "/jlis/v1/consents",
            body_of(certificate, DOCUMENT, signature.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_certificate",
        )
        .await;
    }
    // A tampered document, and a signature by the authentication key.
    refused(
        &world,
        "POST",
        "/jlis/v1/consents",
        body_of(
            sign_der.clone(),
            b"consent to something else",
            signature.clone(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_signature",
    )
    .await;
    let by_auth_key = sign_on_card(&card, DOCUMENT, Key::Auth);
    refused(
        &world,
        "POST",
        "/jlis/v1/consents",
        body_of(sign_der.clone(), DOCUMENT, by_auth_key),
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_signature",
    )
    .await;

    // A certificate our CA signed in another world: this world never issued it.
    let elsewhere = self::world();
    refused(
        &elsewhere,
        "POST",
        "/jlis/v1/consents",
        body_of(sign_der.clone(), DOCUMENT, signature.clone()),
        StatusCode::NOT_FOUND,
        "unknown_certificate",
    )
    .await;

    // After a move the old certificate is revoked: no consent with it.
    event(&world, &card, "address_change").await;
    let message = refused(
        &world,
        "POST",
        "/jlis/v1/consents",
        body_of(sign_der, DOCUMENT, signature),
        StatusCode::UNPROCESSABLE_ENTITY,
        "certificate_not_good",
    )
    .await;
    assert!(message.contains("revoked"), "{message}");

    let (status, _) = call(
        &world,
        "POST",
        "/jlis/v1/consents",
        vec![b'x'; 2 * 1024 * 1024],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn withdrawn_expired_and_missing_consents_are_refused() {
    let world = world();
    let card = provision(&world, "felica:0123456789ABCDEF");
    let serial = sign_serial(&card);
    let latest = format!("/jlis/v1/latest/{serial}");
    refused(
        &world,
        "GET",
        &latest,
        Body::empty(),
        StatusCode::FORBIDDEN,
        "not_consented",
    )
    .await;
    refused(
        &world,
        "DELETE",
        &format!("/jlis/v1/consents/{serial}"),
        Body::empty(),
        StatusCode::NOT_FOUND,
        "consent_not_found",
    )
    .await;

    consent(&world, &card, Some("1d")).await;
    let (status, _) = call(&world, "GET", &latest, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    advance(&world, "1h").await;
    let (status, withdrawn) = call(
        &world,
        "DELETE",
        &format!("/jlis/v1/consents/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["serial"], serial);
    assert_eq!(withdrawn["withdrawn_at"], "2026-11-01T04:00:00Z");
    refused(
        &world,
        "GET",
        &latest,
        Body::empty(),
        StatusCode::FORBIDDEN,
        "consent_withdrawn",
    )
    .await;
    // Withdrawing again answers the same record.
    let (status, again) = call(
        &world,
        "DELETE",
        &format!("/jlis/v1/consents/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!((status, &again), (StatusCode::OK, &withdrawn));

    // A fresh consent for one day, then the clock passes its expiry.
    consent(&world, &card, Some("1d")).await;
    let (status, _) = call(&world, "GET", &latest, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    advance(&world, "1d").await;
    refused(
        &world,
        "GET",
        &latest,
        Body::empty(),
        StatusCode::FORBIDDEN,
        "consent_expired",
    )
    .await;
}

#[tokio::test]
async fn death_and_suspension_revoke_the_latest_certificate() {
    let world = world();
    let card = provision(&world, "typea:04A1B2C3");
    let serial = consent(&world, &card, None).await;
    event(&world, &card, "death").await;
    let message = refused(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
        StatusCode::GONE,
        "latest_certificate_revoked",
    )
    .await;
    assert!(message.contains("CessationOfOperation"), "{message}");
    let (_, status) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status["revocation"]["reason"], "cessation_of_operation");

    let world = self::world();
    let card = provision(&world, "typea:04A1B2C3");
    let serial = consent(&world, &card, None).await;
    event(&world, &card, "suspension").await;
    let message = refused(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
        StatusCode::GONE,
        "latest_certificate_revoked",
    )
    .await;
    assert!(message.contains("CertificateHold"), "{message}");
}

#[tokio::test]
async fn the_clock_expires_the_latest_certificate() {
    let world = world();
    let card = provision(&world, "typea:04A1B2C3D4E5F6");
    let serial = consent(&world, &card, Some("5000d")).await;
    let not_after = card.state().sign.unwrap().not_after;
    world
        .set_clock(ClockMode::Frozen {
            at: not_after + time::Duration::seconds(1),
        })
        .unwrap();
    refused(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
        StatusCode::GONE,
        "latest_certificate_expired",
    )
    .await;
    let (_, status) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status["status"], "expired");
    assert!(status.get("revocation").is_none(), "{status}");
}

#[tokio::test]
async fn unknown_and_malformed_serials_and_hierarchies() {
    let world = world();
    let card = provision(&world, "felica:0123456789ABCDEF");
    let auth = card.state().auth.serial.to_string();
    for uri in [
        "/jlis/v1/latest/4000000000000001".to_owned(),
        "/jlis/v1/linkage/sign/4000000000000001".to_owned(),
        "/jlis/v1/status/auth/4000000000000001".to_owned(),
        // an authentication serial is not a signature certificate
        format!("/jlis/v1/latest/{auth}"),
        format!("/jlis/v1/status/sign/{auth}"),
    ] {
        refused(
            &world,
            "GET",
            &uri,
            Body::empty(),
            StatusCode::NOT_FOUND,
            "unknown_certificate",
        )
        .await;
    }
    refused(
        &world,
        "DELETE",
        "/jlis/v1/consents/4000000000000001",
        Body::empty(),
        StatusCode::NOT_FOUND,
        "unknown_certificate",
    )
    .await;
    for uri in [
        "/jlis/v1/latest/xyz",
        "/jlis/v1/status/sign/00",
        "/jlis/v1/linkage/auth/12G4",
    ] {
        refused(
            &world,
            "GET",
            uri,
            Body::empty(),
            StatusCode::BAD_REQUEST,
            "invalid_serial",
        )
        .await;
    }
    for uri in ["/jlis/v1/linkage/root/40", "/jlis/v1/status/SIGN/40"] {
        refused(
            &world,
            "GET",
            uri,
            Body::empty(),
            StatusCode::BAD_REQUEST,
            "invalid_hierarchy",
        )
        .await;
    }
    let (status, good) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/auth/{auth}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(good["status"], "good");
    assert_eq!(good["hierarchy"], "auth");
    assert_eq!(good["serial"], auth);
    assert!(good["not_after"].is_string());
}

#[tokio::test]
async fn renewal_links_both_hierarchies_to_the_new_generation_under_one_user_id() {
    let world = world();
    let card = provision(&world, "felica:00112233445566AA");
    let first = card.state();
    let serial = consent(&world, &card, None).await;
    let (_, before) = call(
        &world,
        "GET",
        &format!("/jlis/v1/linkage/sign/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(before["chain"], json!([serial]));
    assert_eq!(before["counterpart"], first.auth.serial.to_string());

    event(&world, &card, "renewal").await;
    let second = card.state();
    let new_sign = sign_serial(&card);
    let (status, latest) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(latest["latest_serial"], new_sign);
    assert_eq!(latest["changed"], true);
    assert_eq!(latest["name"], first.persona.name);

    let mut user_ids = Vec::new();
    for (hierarchy, serial, chain, counterpart) in [
        (
            "sign",
            serial.clone(),
            json!([serial, new_sign]),
            first.auth.serial.to_string(),
        ),
        (
            "sign",
            new_sign.clone(),
            json!([serial, new_sign]),
            second.auth.serial.to_string(),
        ),
        (
            "auth",
            first.auth.serial.to_string(),
            json!([
                first.auth.serial.to_string(),
                second.auth.serial.to_string()
            ]),
            serial.clone(),
        ),
        (
            "auth",
            second.auth.serial.to_string(),
            json!([
                first.auth.serial.to_string(),
                second.auth.serial.to_string()
            ]),
            new_sign.clone(),
        ),
    ] {
        let (status, linkage) = call(
            &world,
            "GET",
            &format!("/jlis/v1/linkage/{hierarchy}/{serial}"),
            Body::empty(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{linkage}");
        assert_eq!(linkage["hierarchy"], hierarchy);
        assert_eq!(linkage["serial"], serial);
        assert_eq!(linkage["chain"], chain, "{hierarchy} {serial}");
        assert_eq!(linkage["latest"], chain[1]);
        assert_eq!(linkage["counterpart"], counterpart, "{hierarchy} {serial}");
        user_ids.push(linkage["user_id"].as_str().unwrap().to_owned());
    }
    user_ids.dedup();
    assert_eq!(user_ids.len(), 1, "one user across renewal: {user_ids:?}");
    assert_eq!(user_ids[0].len(), 64);
    let (_, old) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(old["revocation"]["reason"], "superseded");
}

#[tokio::test]
async fn linkage_lag_hides_a_fresh_successor_until_the_clock_passes_it() {
    let world = world_with(
        Store::in_memory().unwrap(),
        mock_jlis::consent::FIELD_LINKAGE_LAG,
    );
    let card = provision(&world, "felica:0123456789ABCDEF");
    let auth = card.state().auth.serial.to_string();
    let serial = consent(&world, &card, None).await;
    event(&world, &card, "address_change").await;
    let new_sign = sign_serial(&card);

    let (status, got) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    assert_eq!(got["error"], "latest_certificate_unknown");
    let request = Request::get(format!("/jlis/v1/latest/{serial}"))
        .body(Body::empty())
        .unwrap();
    let response = router(world.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "5400");

    let (_, old) = call(
        &world,
        "GET",
        &format!("/jlis/v1/linkage/sign/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(old["chain"], json!([serial]));
    assert_eq!(old["latest"], serial);
    let (_, fresh) = call(
        &world,
        "GET",
        &format!("/jlis/v1/linkage/sign/{new_sign}"),
        Body::empty(),
    )
    .await;
    assert_eq!(fresh["chain"], json!([new_sign]));
    assert_eq!(fresh["counterpart"], Value::Null);
    assert_eq!(fresh["user_id"], Value::Null);
    // Status is real time: the new certificate is good at once.
    let (_, status) = call(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{new_sign}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status["status"], "good");

    advance(&world, "89m").await;
    let (status, _) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    advance(&world, "1m").await;
    let (status, latest) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(latest["latest_serial"], new_sign);
    let (_, linked) = call(
        &world,
        "GET",
        &format!("/jlis/v1/linkage/sign/{new_sign}"),
        Body::empty(),
    )
    .await;
    assert_eq!(linked["chain"], json!([serial, new_sign]));
    assert_eq!(linked["counterpart"], auth);
    assert!(linked["user_id"].is_string());
}

#[tokio::test]
async fn consents_survive_reopening_the_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let serial = {
        let world = world_with(Store::open_dir(dir.path()).unwrap(), Duration::ZERO);
        let card = provision(&world, "typea:04A1B2C3");
        consent(&world, &card, Some("30d")).await
    };
    let world = world_with(Store::open_dir(dir.path()).unwrap(), Duration::ZERO);
    let (status, got) = call(
        &world,
        "GET",
        &format!("/jlis/v1/latest/{serial}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let consents = world.consents(&serial.parse().unwrap()).unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].expires_at, NOW + time::Duration::days(30));
    assert_eq!(consents[0].document_sha256.len(), 64);
}

#[test]
fn arbitrary_consent_bodies_get_a_4xx_never_a_5xx() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let world = world();
    let field = || {
        prop_oneof![
            Just(String::new()),
            Just("AAAA".to_owned()),
            Just("!!".to_owned()),
            "[A-Za-z0-9+/=]{0,64}",
        ]
    };
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        (field(), field(), field(), proptest::option::of("[0-9]{0,3}[smhdwx]?")).prop_map(
            |(document, signature, certificate, valid_for)| {
                json!({"document": document, "signature": signature, "certificate": certificate, "valid_for": valid_for})
                    .to_string()
                    .into_bytes()
            }
        ),
    ];
    proptest!(ProptestConfig::with_cases(128), |(body in strategy)| {
        let (status, got) = runtime.block_on(call(&world, "POST", "/jlis/v1/consents", body));
        prop_assert!(status.is_client_error(), "{status}: {got}");
    });
}

#[tokio::test]
async fn loss_refuses_the_latest_info_until_the_card_is_reissued() {
    let world = world();
    let card = provision(&world, "typea:04A1B2C3D4E5F6");
    let serial = consent(&world, &card, None).await;
    let latest = format!("/jlis/v1/latest/{serial}");
    event(&world, &card, "loss").await;
    let message = refused(
        &world,
        "GET",
        &latest,
        Body::empty(),
        StatusCode::GONE,
        "latest_certificate_revoked",
    )
    .await;
    assert!(message.contains("KeyCompromise"), "{message}");
    event(&world, &card, "reissue").await;
    let (status, got) = call(&world, "GET", &latest, Body::empty()).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["latest_serial"], sign_serial(&card));
    assert_eq!(got["changed"], true);
}
