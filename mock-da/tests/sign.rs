//! The sign API end to end without a socket: a client registered with its encryption key, a
//! client-credentials token, a sign transaction over a digest or a DigestInfo, the user signing
//! with the card's signature key over APDUs, the code exchanged, the result fetched as a JWE and
//! opened with the SP's private key, the signature verified with the signature certificate; and
//! each refusal an SP or a user can meet.

mod support;

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use axum::http::{header, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use der::Decode;
use mock_da::jose::b64;
use mock_da::jwe;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sim_card::apdu::Apdu;
use sim_card::card::faults::{CardFault, CommandClass};
use sim_card::image::Aid;
use sim_card::layout::{digest_info, jpki};
use sim_card::StatusWord;
use support::*;
use x509_cert::Certificate;

const CARD: &str = "felica:0123456789ABCDEF";
const DOCUMENT: &[u8] = "申請書 (a test document)".as_bytes();

/// The tries left on `pin` of the card's JPKI AP, asked through its own APDUs.
fn tries(sim: &Sim, card: &str, pin: sim_card::image::FileId) -> u8 {
    let card = sim.world.card(&card.parse().unwrap()).unwrap();
    let send = |apdu: Apdu| StatusWord::from_response(&card.transmit(&apdu.encode())).unwrap();
    assert!(send(Apdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(Aid::JPKI)).is_success());
    assert!(send(Apdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(pin.0.to_be_bytes())).is_success());
    send(Apdu::new(0x00, 0x20, 0x00, 0x80)).retries().unwrap()
}

/// A world with `CARD`, and RP1 registered with its signing and encryption keys: the client
/// key, the encryption key's PKCS#8.
async fn setup() -> (Sim, mock_da::jose::Signer, Vec<u8>) {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    let (enc, pkcs8) = encryption_key("rp1-enc", 31);
    sim.register_signer("RP1", &key, &json!(enc)).await;
    (sim, key, pkcs8)
}

fn document_digest() -> String {
    STANDARD.encode(Sha256::digest(DOCUMENT))
}

/// Opens the JWE with the SP's key; answers its header and plaintext.
fn open(jwe: &str, pkcs8: &[u8]) -> (serde_json::Map<String, Value>, Value) {
    let opened = jwe::decrypt(jwe, pkcs8).unwrap();
    (
        opened.header,
        serde_json::from_slice(&opened.plaintext).unwrap(),
    )
}

#[tokio::test]
async fn a_digest_is_signed_by_the_card_and_comes_back_encrypted_to_the_sp() {
    let (sim, key, pkcs8) = setup().await;
    let discovery = sim
        .get("/da/api/realms/main/.well-known/openid-configuration")
        .await
        .body;
    assert_eq!(
        discovery["sign_transactions_endpoint"],
        format!("{BASE}{SIGN_TRANSACTIONS}")
    );
    assert!(discovery["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("sign")));

    let token = sim.client_credentials("RP1", &key).await;
    assert_eq!(token.status, StatusCode::OK, "{:?}", token.body);
    assert_eq!(token.body["scope"], "sign");
    assert_eq!(token.body["expires_in"], 300);
    assert!(token.body.get("id_token").is_none(), "no user, no ID token");
    let token = token.body["access_token"].as_str().unwrap();

    let opened = sim
        .open_transaction(
            token,
            json!({"digest_type": "sha256", "digest": document_digest()}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{:?}", opened.body);
    assert_eq!(opened.body["expires_in"], 600);
    assert!(opened.body["expires_at"].is_string());
    let id = opened.body["sign_transaction_id"].as_str().unwrap();
    assert_eq!(id.len(), 36);

    let password_tries = tries(&sim, CARD, jpki::SIGN_PASSWORD);
    assert_eq!(password_tries, 5);
    sim.arm(json!({"card": CARD, "sign_password": "ABC123"}))
        .await;
    let tokens = sign_and_exchange(&sim, "RP1", &key, id).await;
    assert_eq!(tokens["scope"], "openid sign");
    assert_eq!(
        tries(&sim, CARD, jpki::SIGN_PASSWORD),
        5,
        "a right password costs no try"
    );
    let access = tokens["access_token"].as_str().unwrap();

    let result = sim.sign_result(access, id).await;
    assert_eq!(result.status, StatusCode::OK, "{:?}", result.body);
    assert_eq!(result.headers[header::CONTENT_TYPE], "application/jose");
    let compact = result.body.as_str().unwrap();
    let (header, plaintext) = open(compact, &pkcs8);
    assert_eq!(
        Value::Object(header),
        json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rp1-enc"})
    );
    assert_eq!(plaintext["sign_transaction_id"], id);
    assert_eq!(plaintext["digest_type"], "sha256");

    // The signature is sha256WithRSAEncryption of the document under the certificate's key.
    let certificate_der = STANDARD
        .decode(plaintext["certificate"].as_str().unwrap())
        .unwrap();
    let signature = STANDARD
        .decode(plaintext["signature"].as_str().unwrap())
        .unwrap();
    let certificate = Certificate::from_der(&certificate_der).unwrap();
    let public = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
        .verify(DOCUMENT, &signature)
        .expect("the signature verifies over the document");
    // It is this world's signature certificate of the card, good now.
    let serial =
        mock_ca::Serial::from_bytes(certificate.tbs_certificate.serial_number.as_bytes()).unwrap();
    let record = sim
        .world
        .certificate(mock_ca::Hierarchy::Sign, &serial)
        .expect("a signature certificate of this world");
    assert_eq!(record.card.to_string(), CARD);

    // A fresh JWE at each fetch; the JSON shape on request.
    let again = sim.sign_result(access, id).await;
    assert_ne!(again.body.as_str().unwrap(), compact);
    let wrapped = sim
        .bearer(
            "GET",
            &format!("{SIGN_TRANSACTIONS}/{id}/result"),
            access,
            None,
            Some("application/json"),
        )
        .await;
    assert_eq!(wrapped.status, StatusCode::OK);
    assert_eq!(wrapped.body["sign_transaction_id"], id);
    let (_, same) = open(wrapped.body["jwe"].as_str().unwrap(), &pkcs8);
    assert_eq!(same, plaintext);

    // The ID token's sub is the person's, as a login gives it.
    let jwks = sim.jwks().await;
    let sub = |token: &Value| {
        mock_da::jose::verify(token["id_token"].as_str().unwrap(), &jwks)
            .unwrap()
            .claims["sub"]
            .clone()
    };
    sim.arm(json!({"card": CARD})).await;
    let logged_in = login(&sim, "RP1", &key, "openid").await;
    assert_eq!(sub(&tokens), sub(&logged_in));
}

#[tokio::test]
async fn a_digest_info_is_signed_as_given_and_a_128_bit_enc_can_be_registered() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    let (mut enc, pkcs8) = encryption_key("rp1-enc", 31);
    // RSA-OAEP (SHA-1) and A128GCM: the registration chooses them.
    enc.alg = Some("RSA-OAEP".into());
    let registered = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({
                "client_id": "RP1",
                "redirect_uris": [CALLBACK],
                "jwks": {"keys": [key.jwk()]},
                "encryption_jwk": enc,
                "sign_result_enc": "A128GCM",
            }),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    assert_eq!(registered.body["sign_result_enc"], "A128GCM");

    let mut info = digest_info::SHA256.to_vec();
    info.extend_from_slice(&Sha256::digest(DOCUMENT));
    let token = sim.sign_token("RP1", &key).await;
    let id = sim
        .transaction(&token, "digest_info", &STANDARD.encode(&info))
        .await;
    sim.arm(json!({"card": CARD})).await;
    let tokens = sign_and_exchange(&sim, "RP1", &key, &id).await;
    let result = sim
        .sign_result(tokens["access_token"].as_str().unwrap(), &id)
        .await;
    assert_eq!(result.status, StatusCode::OK, "{:?}", result.body);
    let (header, plaintext) = open(result.body.as_str().unwrap(), &pkcs8);
    assert_eq!(header["alg"], "RSA-OAEP");
    assert_eq!(header["enc"], "A128GCM");
    assert_eq!(plaintext["digest_type"], "digest_info");

    // PKCS#1 v1.5 over the DigestInfo given: verified from the digest alone.
    let certificate = Certificate::from_der(
        &STANDARD
            .decode(plaintext["certificate"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let public = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let signature = STANDARD
        .decode(plaintext["signature"].as_str().unwrap())
        .unwrap();
    let digest = Digest::import_less_safe(&info[19..], &digest::SHA256).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
        .verify_digest(&digest, &signature)
        .expect("the signature verifies over the DigestInfo");
}

#[tokio::test]
async fn an_encryption_key_in_the_clients_one_jwks_serves_too() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    let (enc, pkcs8) = encryption_key("rp1-enc-in-set", 33);
    let registered = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({
                "client_id": "RP1",
                "redirect_uris": [CALLBACK],
                "jwks": {"keys": [key.jwk(), enc]},
            }),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    sim.arm(json!({"card": CARD})).await;
    // The assertion's kid picks the signing key; the enc key is never a verification key.
    let tokens = sign_and_exchange(&sim, "RP1", &key, &id).await;
    let result = sim
        .sign_result(tokens["access_token"].as_str().unwrap(), &id)
        .await;
    assert_eq!(result.status, StatusCode::OK, "{:?}", result.body);
    let (header, plaintext) = open(result.body.as_str().unwrap(), &pkcs8);
    assert_eq!(header["kid"], "rp1-enc-in-set");
    assert_eq!(plaintext["sign_transaction_id"], id.as_str());
}

#[tokio::test]
async fn a_wrong_signature_password_costs_a_try_and_five_block_it() {
    let (sim, key, _) = setup().await;
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    let auth_tries = tries(&sim, CARD, jpki::AUTH_PIN);
    for left in (0..5u8).rev() {
        sim.arm(json!({"card": CARD, "sign_password": "WRONG1"}))
            .await;
        // A failed signature leaves the transaction open: the same id is tried again.
        let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
        assert_eq!(redirect["error"], "access_denied", "{redirect:?}");
        assert_eq!(redirect["state"], "st-s");
        let description = &redirect["error_description"];
        if left > 0 {
            assert!(
                description.contains(&format!("wrong signature password: {left} tries left")),
                "{description}"
            );
        } else {
            assert!(
                description.contains("signature password is blocked"),
                "{description}"
            );
        }
        assert_eq!(tries(&sim, CARD, jpki::SIGN_PASSWORD), left);
    }
    assert_eq!(
        tries(&sim, CARD, jpki::AUTH_PIN),
        auth_tries,
        "the authentication PIN is another counter"
    );
    // Blocked: the right password is refused too, at no cost.
    sim.arm(json!({"card": CARD, "sign_password": "ABC123"}))
        .await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(redirect["error_description"].contains("blocked"));
    // A login with the authentication PIN still works.
    sim.arm(json!({"card": CARD})).await;
    login(&sim, "RP1", &key, "openid").await;
}

#[tokio::test]
async fn a_revoked_expired_or_missing_signature_certificate_is_what_the_user_would_meet() {
    let (sim, key, _) = setup().await;
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "login_required");
    sim.arm(json!({"card": CARD, "consent": false})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(redirect["error_description"].contains("refused to sign"));

    // The card leaves the phone during the signature: a server error, no try lost, and the
    // transaction still open for another go.
    let card = sim.world.card(&CARD.parse().unwrap()).unwrap();
    card.arm_fault(
        CardFault::Pulled {
            on: CommandClass::Sign,
        },
        Some(1),
    )
    .unwrap();
    sim.arm(json!({"card": CARD})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "server_error", "{redirect:?}");
    assert!(redirect["error_description"].contains("left"));
    assert_eq!(tries(&sim, CARD, jpki::SIGN_PASSWORD), 5);

    sim.event(CARD, "loss").await;
    sim.arm(json!({"card": CARD})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "access_denied");
    let description = &redirect["error_description"];
    assert!(
        description.contains("signature certificate") && description.contains("revoked"),
        "{description}"
    );

    // A holder under 15 has no signature certificate: the app says so before any password.
    let child = "felica:00000000000000C1";
    let provisioned = sim
        .json(
            "POST",
            "/admin/v1/cards",
            json!({"card": child, "persona": {"birth_date": "2020-01-01"}}),
        )
        .await;
    assert_eq!(provisioned.status, StatusCode::OK, "{:?}", provisioned.body);
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    sim.arm(json!({"card": child})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(
        redirect["error_description"].contains("no signature certificate"),
        "{redirect:?}"
    );

    // Ten years on, an adult's signature certificate has expired.
    let adult = "felica:00000000000000A1";
    sim.provision(adult).await;
    sim.json("POST", "/admin/v1/clock", json!({"advance": "3650d"}))
        .await;
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    sim.arm(json!({"card": adult})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    assert_eq!(redirect["error"], "access_denied");
    let description = &redirect["error_description"];
    assert!(
        description.contains("signature certificate") && description.contains("expired"),
        "{description}"
    );
}

#[tokio::test]
async fn a_transaction_is_its_clients_lives_ten_minutes_and_is_signed_once() {
    let (sim, key, _) = setup().await;
    let other_key = client_key("rp2-key", 13);
    let (enc2, _) = encryption_key("rp2-enc", 32);
    sim.register_signer("RP2", &other_key, &json!(enc2)).await;
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;

    let refused = |redirect: std::collections::BTreeMap<String, String>, says: &str| {
        assert_eq!(redirect["error"], "invalid_request", "{redirect:?}");
        assert!(
            redirect["error_description"].contains(says),
            "{says}: {redirect:?}"
        );
    };
    // Unknown, and another client's: refused before any login is taken.
    sim.arm(json!({"card": CARD})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", "00000000-0000-4000-8000-000000000000").await;
    refused(redirect, "unknown");
    let (redirect, _) = authorize_sign(&sim, "RP2", &id).await;
    refused(redirect, "another client");
    let armed = sim.get("/da/admin/v1/logins").await.body;
    assert_eq!(
        armed.as_array().unwrap().len(),
        1,
        "the login is still armed"
    );
    sim.json("DELETE", "/da/admin/v1/logins", json!({})).await;

    // The scope and the id go together.
    let (_, challenge) = pkce("s");
    let base = [
        ("response_type", "code"),
        ("client_id", "RP1"),
        ("redirect_uri", CALLBACK),
        ("state", "st-s"),
        ("nonce", "n-s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut no_scope = base.to_vec();
    no_scope.extend([("scope", "openid"), ("sign_transaction_id", id.as_str())]);
    refused(sim.authorize(&no_scope).await, "needs the sign scope");
    let mut no_id = base.to_vec();
    no_id.push(("scope", "openid sign"));
    refused(sim.authorize(&no_id).await, "needs a sign_transaction_id");

    // Signed once; a second authorization with it is refused.
    sim.arm(json!({"card": CARD})).await;
    let tokens = sign_and_exchange(&sim, "RP1", &key, &id).await;
    sim.arm(json!({"card": CARD})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &id).await;
    refused(redirect, "already signed");
    sim.json("DELETE", "/da/admin/v1/logins", json!({})).await;

    // The result is the signer's only, for this transaction only.
    let access = tokens["access_token"].as_str().unwrap();
    let other = sim.transaction(&token, "sha256", &document_digest()).await;
    let answer = sim.sign_result(access, &other).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);
    assert_eq!(answer.body["error"], "invalid_request");
    sim.arm(json!({"card": CARD})).await;
    let plain = login(&sim, "RP1", &key, "openid").await;
    let answer = sim
        .sign_result(plain["access_token"].as_str().unwrap(), &id)
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["error"], "insufficient_scope");
    let answer = sim.sign_result(&token, &id).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body["error_description"]
        .as_str()
        .unwrap()
        .contains("client_credentials token cannot fetch"));
    assert_eq!(
        sim.sign_result("not-a-token", &id).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The user's token does not open transactions, the client's does not read userinfo.
    let answer = sim
        .open_transaction(
            access,
            json!({"digest_type": "sha256", "digest": document_digest()}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(sim.userinfo(&token).await.status, StatusCode::UNAUTHORIZED);

    // Ten minutes on, the open transaction has expired; the client token (five minutes) too.
    sim.json("POST", "/admin/v1/clock", json!({"advance": "11m"}))
        .await;
    sim.arm(json!({"card": CARD})).await;
    let (redirect, _) = authorize_sign(&sim, "RP1", &other).await;
    refused(redirect, "unknown or expired");
    let answer = sim
        .open_transaction(
            &token,
            json!({"digest_type": "sha256", "digest": document_digest()}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn a_transaction_at_the_card_is_refused_to_a_second_request_meanwhile() {
    let (sim, key, _) = setup().await;
    let token = sim.sign_token("RP1", &key).await;
    let id = sim.transaction(&token, "sha256", &document_digest()).await;
    // A slow card keeps the first request at the card for seconds.
    let card = sim.world.card(&CARD.parse().unwrap()).unwrap();
    card.arm_fault(CardFault::Slow { millis: 300 }, Some(6))
        .unwrap();
    sim.arm(json!({"card": CARD})).await;
    let first = authorize_sign(&sim, "RP1", &id);
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        authorize_sign(&sim, "RP1", &id).await
    };
    let ((first, _), (second, _)) = tokio::join!(first, second);
    // Whichever reached the transaction first signs (on a busy machine it may be the second).
    let (signed, refused) = if first.contains_key("code") {
        (first, second)
    } else {
        (second, first)
    };
    assert!(signed.contains_key("code"), "{signed:?}");
    assert_eq!(refused["error"], "invalid_request", "{refused:?}");
    assert!(
        refused["error_description"].contains("being signed"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn bad_sign_requests_are_refused_with_precise_json_errors() {
    let (sim, key, _) = setup().await;
    let token = sim.sign_token("RP1", &key).await;
    let digest = document_digest();
    let mut sha1 = vec![
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
    ];
    sha1.extend_from_slice(&[7; 20]);
    let mut no_null = vec![
        0x30, 0x2F, 0x30, 0x0B, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x04, 0x20,
    ];
    no_null.extend_from_slice(&[7; 32]);
    let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xFB; 32]);
    for (body, says) in [
        (
            json!({"digest_type": "sha512", "digest": digest}),
            "digest_type",
        ),
        (
            json!({"digest_type": "sha256", "digest": "not base64!"}),
            "base64",
        ),
        (
            json!({"digest_type": "sha256", "digest": url_safe}),
            "base64url",
        ),
        (json!({"digest_type": "sha256", "digest": ""}), "empty"),
        (
            json!({"digest_type": "sha256", "digest": STANDARD.encode([1; 20])}),
            "32 bytes, not 20",
        ),
        (
            json!({"digest_type": "digest_info", "digest": digest}),
            "DigestInfo",
        ),
        (
            json!({"digest_type": "digest_info", "digest": STANDARD.encode(&sha1)}),
            "1.3.14.3.2.26",
        ),
        (
            json!({"digest_type": "digest_info", "digest": STANDARD.encode(&no_null)}),
            "NULL",
        ),
        (json!({"digest": digest}), "digest_type"),
        (
            json!({"digest_type": "sha256", "digest": digest, "document": "x"}),
            "unknown field",
        ),
        (json!("sha256"), "the body"),
    ] {
        let answer = sim.open_transaction(&token, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["error"], "invalid_request");
        let description = answer.body["error_description"].as_str().unwrap();
        assert!(description.contains(says), "{says}: {description}");
    }
    // Not JSON, or no token.
    let form = sim
        .bearer(
            "POST",
            SIGN_TRANSACTIONS,
            &token,
            Some((
                "application/x-www-form-urlencoded",
                format!("digest={digest}"),
            )),
            None,
        )
        .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    assert_eq!(form.body["error"], "invalid_request");
    let anonymous = sim
        .json(
            "POST",
            SIGN_TRANSACTIONS,
            json!({"digest_type": "sha256", "digest": digest}),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["error"], "invalid_token");
}

#[tokio::test]
async fn client_credentials_need_an_encryption_key_and_give_a_sign_only_token() {
    let sim = Sim::new();
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let answer = sim.client_credentials("RP1", &key).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "unauthorized_client");
    assert!(answer.body["error_description"]
        .as_str()
        .unwrap()
        .contains("encryption_jwk"));

    // Unusable encryption keys are refused at registration, saying why.
    let (good, _) = encryption_key("rp1-enc", 31);
    let mut signing = good.clone();
    signing.key_use = Some("sig".into());
    let mut rs256 = good.clone();
    rs256.alg = Some("RS256".into());
    for (jwk, enc, says) in [
        (json!(signing), json!(null), "use must be enc"),
        (json!(rs256), json!(null), "alg must be RSA-OAEP-256"),
        (json!({"kty": "RSA"}), json!(null), "missing field"),
        (json!(good), json!("A192CBC"), "sign_result_enc"),
    ] {
        let answer = sim
            .json(
                "POST",
                "/da/admin/v1/clients",
                json!({
                    "client_id": "RP1",
                    "redirect_uris": [CALLBACK],
                    "jwks": {"keys": [key.jwk()]},
                    "encryption_jwk": jwk,
                    "sign_result_enc": enc,
                }),
            )
            .await;
        assert!(answer.status.is_client_error(), "{says}");
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{says}: {message}");
    }

    sim.register_signer("RP1", &key, &json!(good)).await;
    let jti = format!("cc-{}", b64(&rand_bytes()));
    let wrong_scope = sim
        .token(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &assertion(&key, "RP1", TOKEN_URL, 60, &jti),
            ),
        ])
        .await;
    assert_eq!(wrong_scope.body["error"], "invalid_scope");
    let no_assertion = sim.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(no_assertion.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_assertion.body["error"], "invalid_client");

    // Registered again without the key: its tokens open nothing any more.
    let token = sim.sign_token("RP1", &key).await;
    sim.register("RP1", &key).await;
    let answer = sim
        .open_transaction(
            &token,
            json!({"digest_type": "sha256", "digest": document_digest()}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["error"], "unauthorized_client");
}
