//! The faults an SP must survive (`/da/admin/v1/faults`), each armed and seen on the wire: the
//! one deviation it makes in an otherwise genuine answer, and the genuine answer once it is
//! used up or cleared.

mod support;

use std::time::Instant;

use axum::http::StatusCode;
use mock_da::jose::{self, JoseError, Signer};
use mock_da::jwe::{self, JweError};
use mock_da::provider::{
    FOREIGN_NONCE, FOREIGN_STATE, KEY_ID, NEXT_KEY_ID, OTHER_CLIENT, UNKNOWN_KEY_ID,
};
use serde_json::{json, Map, Value};
use support::*;

const CARD: &str = "felica:0123456789ABCDEF";
const FAULTS: &str = "/da/admin/v1/faults";

/// A world with `CARD` and RP1 registered.
async fn setup() -> (Sim, Signer) {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    (sim, key)
}

/// Arms `fault` for `count` uses (`None`: until cleared); answers the armed rules.
async fn arm_fault(sim: &Sim, fault: Value, count: Option<u32>) -> Value {
    let mut rule = json!({"fault": fault});
    if let Some(count) = count {
        rule["count"] = json!(count);
    }
    let answer = sim.json("POST", FAULTS, rule).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

async fn armed(sim: &Sim) -> Value {
    sim.get(FAULTS).await.body
}

/// An ID token as it came: the compact form, its header and claims (signature unchecked).
struct IdToken {
    compact: String,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

/// A login of RP1 as the SP makes it (state `st-1`, nonce `n-1`): its token answer.
async fn logged_in(sim: &Sim, key: &Signer) -> Value {
    sim.arm(json!({"card": CARD})).await;
    login(sim, "RP1", key, "openid").await
}

async fn id_token(sim: &Sim, key: &Signer) -> IdToken {
    let tokens = logged_in(sim, key).await;
    let compact = tokens["id_token"].as_str().unwrap().to_owned();
    let peeked = jose::peek(&compact).unwrap();
    IdToken {
        compact,
        header: peeked.header,
        claims: peeked.claims,
    }
}

/// Arms `fault` once, logs in twice: the faulted ID token, then the genuine one (which
/// verifies with the served JWKS and carries what the SP asked for).
async fn faulted_then_genuine(sim: &Sim, key: &Signer, fault: Value) -> (IdToken, IdToken) {
    arm_fault(sim, fault, Some(1)).await;
    let faulted = id_token(sim, key).await;
    assert_eq!(armed(sim).await, json!([]), "a count of 1 is used up");
    let genuine = id_token(sim, key).await;
    let verified = jose::verify(&genuine.compact, &sim.jwks().await).unwrap();
    assert_eq!(verified.claims["iss"], ISSUER);
    assert_eq!(verified.claims["aud"], "RP1");
    assert_eq!(verified.claims["azp"], "RP1");
    assert_eq!(verified.claims["nonce"], "n-1");
    assert_eq!(verified.header["kid"], KEY_ID);
    (faulted, genuine)
}

/// Every claim but `changed` is as in the genuine token (times within a few seconds: the two
/// logins are not in the same instant).
fn only_changed(faulted: &IdToken, genuine: &IdToken, changed: &[&str]) {
    let mut names: Vec<&String> = faulted.claims.keys().chain(genuine.claims.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        if changed.contains(&name.as_str()) {
            assert_ne!(faulted.claims.get(name), genuine.claims.get(name), "{name}");
            continue;
        }
        let (a, b) = (&faulted.claims[name], &genuine.claims[name]);
        if ["iat", "exp", "auth_time"].contains(&name.as_str()) {
            let gap = a.as_i64().unwrap() - b.as_i64().unwrap();
            assert!(gap.abs() <= 5, "{name}: {a} and {b}");
        } else {
            assert_eq!(a, b, "{name}");
        }
    }
}

/// The served JWKS verifies the faulted token's signature: the claims are the only lie.
async fn signature_is_genuine(sim: &Sim, token: &IdToken) {
    jose::verify(&token.compact, &sim.jwks().await).expect("signed by the served key");
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn id_token_issuer_names_another_realm() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_issuer"})).await;
    assert_eq!(faulted.claims["iss"], format!("{BASE}/da/api/realms/other"));
    only_changed(&faulted, &genuine, &["iss"]);
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_audience_is_another_client() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_audience"})).await;
    assert_eq!(faulted.claims["aud"], OTHER_CLIENT);
    assert_eq!(faulted.claims["azp"], "RP1");
    only_changed(&faulted, &genuine, &["aud"]);
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_azp_is_another_client_among_two_audiences() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_azp"})).await;
    assert_eq!(faulted.claims["aud"], json!(["RP1", OTHER_CLIENT]));
    assert_eq!(faulted.claims["azp"], OTHER_CLIENT);
    only_changed(&faulted, &genuine, &["aud", "azp"]);
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_expired_an_hour_ago() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_expired"})).await;
    let (iat, exp) = (
        faulted.claims["iat"].as_i64().unwrap(),
        faulted.claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!((now() - 3600 - exp).abs() <= 5, "exp {exp}");
    assert_eq!(faulted.claims["auth_time"], json!(iat));
    only_changed(&faulted, &genuine, &["iat", "exp", "auth_time"]);
    assert!(genuine.claims["exp"].as_i64().unwrap() > now());
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_issued_an_hour_in_the_future() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_issued_in_future"})).await;
    let iat = faulted.claims["iat"].as_i64().unwrap();
    assert!((iat - now() - 3600).abs() <= 5, "iat {iat}");
    assert_eq!(faulted.claims["exp"], json!(iat + 3600));
    only_changed(&faulted, &genuine, &["iat", "exp"]);
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_nonce_is_not_the_sps() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_nonce"})).await;
    assert_eq!(faulted.claims["nonce"], FOREIGN_NONCE);
    only_changed(&faulted, &genuine, &["nonce"]);
    signature_is_genuine(&sim, &faulted).await;
}

#[tokio::test]
async fn id_token_unknown_kid_is_signed_by_the_provider_under_a_kid_nobody_serves() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_unknown_kid"})).await;
    assert_eq!(
        Value::Object(faulted.header.clone()),
        json!({"alg": "RS256", "typ": "JWT", "kid": UNKNOWN_KEY_ID})
    );
    only_changed(&faulted, &genuine, &[]);
    let served = sim.jwks().await;
    assert_eq!(
        jose::verify(&faulted.compact, &served).unwrap_err(),
        JoseError::NoKey(Some(UNKNOWN_KEY_ID.into()))
    );
    // The provider's own key made the signature.
    let mut renamed = served.clone();
    renamed.keys[0].kid = Some(UNKNOWN_KEY_ID.into());
    jose::verify(&faulted.compact, &renamed).unwrap();
}

#[tokio::test]
async fn id_token_alg_none_is_unsigned() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_alg_none"})).await;
    assert_eq!(
        Value::Object(faulted.header.clone()),
        json!({"alg": "none", "typ": "JWT"})
    );
    assert!(faulted.compact.ends_with('.'), "an empty signature");
    only_changed(&faulted, &genuine, &[]);
    assert_eq!(
        jose::verify(&faulted.compact, &sim.jwks().await).unwrap_err(),
        JoseError::Algorithm("none".into())
    );
}

#[tokio::test]
async fn id_token_foreign_key_signs_under_the_providers_kid() {
    let (sim, key) = setup().await;
    let (faulted, genuine) =
        faulted_then_genuine(&sim, &key, json!({"kind": "id_token_foreign_key"})).await;
    assert_eq!(faulted.header["kid"], KEY_ID);
    only_changed(&faulted, &genuine, &[]);
    assert_eq!(
        jose::verify(&faulted.compact, &sim.jwks().await).unwrap_err(),
        JoseError::BadSignature
    );
}

#[tokio::test]
async fn jwks_rotated_signs_with_the_next_key_and_drops_the_old_one_until_cleared() {
    let (sim, key) = setup().await;
    let old_jwks = sim.jwks().await;
    let before = id_token(&sim, &key).await;
    arm_fault(&sim, json!({"kind": "jwks_rotated"}), None).await;

    let served = sim.jwks().await;
    let kids: Vec<_> = served.keys.iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some(NEXT_KEY_ID)]);
    for _ in 0..2 {
        let rotated = id_token(&sim, &key).await;
        assert_eq!(rotated.header["kid"], NEXT_KEY_ID);
        jose::verify(&rotated.compact, &served).unwrap();
        // An SP holding the JWKS of before must fetch it again.
        assert_eq!(
            jose::verify(&rotated.compact, &old_jwks).unwrap_err(),
            JoseError::NoKey(Some(NEXT_KEY_ID.into()))
        );
    }
    // A token of the old key no longer verifies with what is served.
    assert_eq!(
        jose::verify(&before.compact, &served).unwrap_err(),
        JoseError::NoKey(Some(KEY_ID.into()))
    );

    assert_eq!(sim.json("DELETE", FAULTS, json!({})).await.body, json!([]));
    assert_eq!(sim.jwks().await, old_jwks);
    assert_eq!(id_token(&sim, &key).await.header["kid"], KEY_ID);
}

#[tokio::test]
async fn jwks_rollover_serves_both_keys_and_signs_with_the_next_one() {
    let (sim, key) = setup().await;
    let old_jwks = sim.jwks().await;
    let before = id_token(&sim, &key).await;
    arm_fault(&sim, json!({"kind": "jwks_rollover"}), None).await;

    let served = sim.jwks().await;
    let kids: Vec<_> = served.keys.iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some(NEXT_KEY_ID), Some(KEY_ID)]);
    assert_eq!(served.keys[1], old_jwks.keys[0]);
    let rolled = id_token(&sim, &key).await;
    assert_eq!(rolled.header["kid"], NEXT_KEY_ID);
    jose::verify(&rolled.compact, &served).unwrap();
    jose::verify(&before.compact, &served).unwrap();

    sim.json("DELETE", FAULTS, json!({})).await;
    assert_eq!(sim.jwks().await, old_jwks);
}

#[tokio::test]
async fn foreign_state_comes_back_with_a_genuine_code() {
    let (sim, key) = setup().await;
    arm_fault(&sim, json!({"kind": "foreign_state"}), Some(1)).await;
    sim.arm(json!({"card": CARD})).await;
    let (verifier, challenge) = pkce("RP1");
    let params = [
        ("response_type", "code"),
        ("client_id", "RP1"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let redirect = sim.authorize(&params).await;
    assert_eq!(redirect["state"], FOREIGN_STATE);
    assert_eq!(
        redirect.keys().collect::<Vec<_>>(),
        ["code", "state"],
        "nothing else differs"
    );
    // The code itself is good: only the SP's state check stands in the way.
    let client_assertion = assertion(&key, "RP1", TOKEN_URL, 60, "j-state");
    exchange_code(&sim, &redirect["code"], &verifier, &client_assertion).await;

    sim.arm(json!({"card": CARD})).await;
    let redirect = sim.authorize(&params).await;
    assert_eq!(redirect["state"], "st-1");
}

#[tokio::test]
async fn error_redirect_answers_each_error_with_the_sps_state_and_leaves_the_login_armed() {
    let (sim, _) = setup().await;
    let (_, challenge) = pkce("RP1");
    let params = [
        ("response_type", "code"),
        ("client_id", "RP1"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "st-e"),
        ("nonce", "n-e"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    sim.arm(json!({"card": CARD})).await;
    for error in [
        "access_denied",
        "login_required",
        "server_error",
        "temporarily_unavailable",
    ] {
        arm_fault(
            &sim,
            json!({"kind": "error_redirect", "error": error}),
            Some(1),
        )
        .await;
        let redirect = sim.authorize(&params).await;
        assert_eq!(redirect["error"], error);
        assert_eq!(redirect["state"], "st-e");
        assert_eq!(
            redirect["error_description"],
            format!("injected fault: error_redirect {error}")
        );
        assert!(!redirect.contains_key("code"));
        let logins = sim.get("/da/admin/v1/logins").await.body;
        assert_eq!(logins.as_array().unwrap().len(), 1, "the user never came");
    }
    let redirect = sim.authorize(&params).await;
    assert!(redirect.contains_key("code"), "{redirect:?}");
}

#[tokio::test]
async fn code_replayed_answers_as_a_replay_does() {
    let (sim, key) = setup().await;
    arm_fault(&sim, json!({"kind": "code_replayed"}), Some(1)).await;
    sim.arm(json!({"card": CARD})).await;
    let (code, verifier) = authorize_code(&sim, "RP1", "openid").await;
    let answer = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-r1"),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_grant");
    assert_eq!(
        answer.body["error_description"],
        "the code was already used: the tokens it gave are revoked"
    );
    // Spent for good, as after a genuine replay.
    let again = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-r2"),
        ))
        .await;
    assert_eq!(again.body["error_description"], "unknown or expired code");

    // A genuine replay says the same.
    sim.arm(json!({"card": CARD})).await;
    let (code, verifier) = authorize_code(&sim, "RP1", "openid").await;
    exchange_code(
        &sim,
        &code,
        &verifier,
        &assertion(&key, "RP1", TOKEN_URL, 60, "j-r3"),
    )
    .await;
    let replayed = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-r4"),
        ))
        .await;
    assert_eq!(replayed.body, answer.body);
}

#[tokio::test]
async fn token_error_answers_a_5xx_and_spends_nothing() {
    let (sim, key) = setup().await;
    sim.arm(json!({"card": CARD})).await;
    let (code, verifier) = authorize_code(&sim, "RP1", "openid").await;
    for (fault, status, error) in [
        (json!({"kind": "token_error"}), 500, "server_error"),
        (
            json!({"kind": "token_error", "status": 503}),
            503,
            "temporarily_unavailable",
        ),
        (
            json!({"kind": "token_error", "status": 502}),
            502,
            "server_error",
        ),
    ] {
        arm_fault(&sim, fault, Some(1)).await;
        let answer = sim
            .token(&exchange(
                &code,
                &verifier,
                &assertion(&key, "RP1", TOKEN_URL, 60, &format!("j-e{status}")),
            ))
            .await;
        assert_eq!(answer.status.as_u16(), status);
        assert_eq!(answer.body["error"], error);
        assert_eq!(
            answer.body["error_description"],
            format!("injected fault: token_error {status}")
        );
    }
    // The code and a fresh assertion still work: the SP may retry.
    exchange_code(
        &sim,
        &code,
        &verifier,
        &assertion(&key, "RP1", TOKEN_URL, 60, "j-e-ok"),
    )
    .await;
}

#[tokio::test]
async fn token_delay_answers_late_then_as_usual() {
    let (sim, key) = setup().await;
    sim.arm(json!({"card": CARD})).await;
    let (code, verifier) = authorize_code(&sim, "RP1", "openid").await;
    arm_fault(&sim, json!({"kind": "token_delay", "millis": 400}), Some(1)).await;
    let started = Instant::now();
    exchange_code(
        &sim,
        &code,
        &verifier,
        &assertion(&key, "RP1", TOKEN_URL, 60, "j-slow"),
    )
    .await;
    assert!(
        started.elapsed().as_millis() >= 400,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(armed(&sim).await, json!([]));
}

#[tokio::test]
async fn userinfo_sub_is_another_persons() {
    let (sim, key) = setup().await;
    let tokens = logged_in(&sim, &key).await;
    let access = tokens["access_token"].as_str().unwrap();
    let sub = jose::verify(tokens["id_token"].as_str().unwrap(), &sim.jwks().await)
        .unwrap()
        .claims["sub"]
        .clone();
    arm_fault(&sim, json!({"kind": "userinfo_sub"}), Some(1)).await;
    let faulted = sim.userinfo(access).await;
    assert_eq!(faulted.status, StatusCode::OK);
    assert_ne!(faulted.body["sub"], sub);
    assert_eq!(faulted.body["sub"].as_str().unwrap().len(), 64);
    assert_eq!(sim.userinfo(access).await.body["sub"], sub);
}

/// RP1 registered again with an encryption key; a signed transaction's id, the user's access
/// token and the key's PKCS#8.
async fn signed(sim: &Sim, key: &Signer) -> (String, String, Vec<u8>) {
    let (enc, pkcs8) = encryption_key("rp1-enc", 31);
    sim.register_signer("RP1", key, &json!(enc)).await;
    let token = sim.sign_token("RP1", key).await;
    let digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let id = sim.transaction(&token, "sha256", digest).await;
    sim.arm(json!({"card": CARD})).await;
    let tokens = sign_and_exchange(sim, "RP1", key, &id).await;
    (
        id,
        tokens["access_token"].as_str().unwrap().to_owned(),
        pkcs8,
    )
}

#[tokio::test]
async fn sign_result_transaction_names_another_transaction() {
    let (sim, key) = setup().await;
    let (id, access, pkcs8) = signed(&sim, &key).await;
    arm_fault(&sim, json!({"kind": "sign_result_transaction"}), Some(1)).await;
    let plaintext = |answer: &Answer| -> Value {
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let opened = jwe::decrypt(answer.body.as_str().unwrap(), &pkcs8).unwrap();
        serde_json::from_slice(&opened.plaintext).unwrap()
    };
    let faulted = plaintext(&sim.sign_result(&access, &id).await);
    let genuine = plaintext(&sim.sign_result(&access, &id).await);
    assert_eq!(genuine["sign_transaction_id"], id.as_str());
    let other = faulted["sign_transaction_id"].as_str().unwrap();
    assert_ne!(other, id);
    assert_eq!(other.len(), 36, "a UUID like any transaction id");
    for name in ["digest_type", "signature", "certificate"] {
        assert_eq!(faulted[name], genuine[name], "{name}");
    }
}

#[tokio::test]
async fn sign_result_foreign_key_does_not_open_with_the_sps_key() {
    let (sim, key) = setup().await;
    let (id, access, pkcs8) = signed(&sim, &key).await;
    arm_fault(&sim, json!({"kind": "sign_result_foreign_key"}), Some(1)).await;
    let faulted = sim.sign_result(&access, &id).await;
    assert_eq!(faulted.status, StatusCode::OK);
    let compact = faulted.body.as_str().unwrap();
    let header = jose::peek(&format!("{}.e30.", compact.split('.').next().unwrap()))
        .unwrap()
        .header;
    assert_eq!(
        Value::Object(header),
        json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rp1-enc"}),
        "addressed to the SP's key by its header"
    );
    assert_eq!(
        jwe::decrypt(compact, &pkcs8).unwrap_err(),
        JweError::KeyUnwrap
    );
    let genuine = sim.sign_result(&access, &id).await;
    jwe::decrypt(genuine.body.as_str().unwrap(), &pkcs8).unwrap();
}

#[tokio::test]
async fn the_admin_api_lists_arms_and_clears_and_refuses_bad_rules_by_name() {
    let sim = Sim::new();
    assert_eq!(armed(&sim).await, json!([]));
    let listed = arm_fault(&sim, json!({"kind": "id_token_nonce"}), Some(2)).await;
    assert_eq!(
        listed,
        json!([{"fault": {"kind": "id_token_nonce"}, "count": 2}])
    );
    let listed = arm_fault(&sim, json!({"kind": "token_delay", "millis": 10}), None).await;
    assert_eq!(
        listed[1],
        json!({"fault": {"kind": "token_delay", "millis": 10}})
    );
    assert_eq!(armed(&sim).await, listed);

    for (body, error, message) in [
        (
            json!({"fault": {"kind": "foreign_state"}, "count": 0}),
            "invalid_fault",
            "a fault count must be at least 1",
        ),
        (
            json!({"fault": {"kind": "jwks_rotated"}, "count": 3}),
            "invalid_fault",
            "a JWKS rotation lasts until DELETE /da/admin/v1/faults: it takes no count",
        ),
        (
            json!({"fault": {"kind": "token_error", "status": 404}}),
            "invalid_fault",
            "token_error status 404 is not a server error (500 to 599)",
        ),
        (
            json!({"fault": {"kind": "token_delay", "millis": 600000}}),
            "invalid_fault",
            "token_delay millis 600000 is over the limit of 120000",
        ),
        (
            json!({"fault": {"kind": "nope"}}),
            "invalid_json",
            "fault: unknown variant `nope`",
        ),
        (
            json!({"fault": {"kind": "error_redirect", "error": "invalid_scope"}}),
            "invalid_json",
            "fault: unknown variant `invalid_scope`",
        ),
        (
            json!({"fault": {"kind": "userinfo_sub"}, "endpoint": "ocsp"}),
            "invalid_json",
            "unknown field `endpoint`",
        ),
        (
            json!({"fault": {"kind": "foreign_state", "state": "x"}}),
            "invalid_json",
            "fault: unknown field `state` for kind \"foreign_state\"",
        ),
        (
            json!({"fault": {"kind": "token_delay"}}),
            "invalid_json",
            "fault: missing field `millis`",
        ),
        (json!({"count": 1}), "invalid_json", "missing field `fault`"),
    ] {
        let answer = sim.json("POST", FAULTS, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.body["error"], error, "{body}");
        let said = answer.body["message"].as_str().unwrap();
        assert!(said.starts_with(message), "{body}: {said}");
    }
    let not_json = sim
        .call(
            axum::http::Request::post(FAULTS)
                .body(axum::body::Body::from("{"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.body["error"], "invalid_json");
    assert_eq!(armed(&sim).await, listed, "refusals arm nothing");

    assert_eq!(sim.json("DELETE", FAULTS, json!({})).await.body, json!([]));
    assert_eq!(armed(&sim).await, json!([]));
}

#[tokio::test]
async fn faults_of_one_site_leave_the_others_genuine() {
    let (sim, key) = setup().await;
    // A sign-result fault and a userinfo fault wait for their own answers.
    arm_fault(&sim, json!({"kind": "sign_result_transaction"}), None).await;
    arm_fault(&sim, json!({"kind": "userinfo_sub"}), Some(1)).await;
    let token = id_token(&sim, &key).await;
    jose::verify(&token.compact, &sim.jwks().await).unwrap();
    assert_eq!(token.claims["nonce"], "n-1");
    assert_eq!(armed(&sim).await.as_array().unwrap().len(), 2);
}
