//! The authentication API end to end without a socket: a client registered with its JWKS, an
//! authorization request with PKCE and nonce, the holder authenticated by the world's card over
//! APDUs, the code exchanged with a private_key_jwt assertion, the ID token checked against the
//! JWKS, userinfo; and each refusal an SP or a user can meet.

mod support;

use axum::http::StatusCode;
use mock_da::jose;
use serde_json::{json, Value};
use support::*;

const CARD: &str = "felica:0123456789ABCDEF";
const OTHER_CARD: &str = "felica:00000000000000DA";

fn claims(token: &str, jwks: &jose::Jwks) -> serde_json::Map<String, Value> {
    jose::verify(token, jwks).unwrap().claims
}

/// The standard authorization request, with `overrides` replacing or (value "") removing
/// parameters.
fn request<'a>(challenge: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "RP1"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "st-9"),
        ("nonce", "n-9"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    params
}

#[tokio::test]
async fn a_login_gives_a_signed_id_token_and_the_basic_four_information() {
    let sim = Sim::new();
    let view = sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    sim.arm(json!({"card": CARD, "pin": "1234"})).await;

    let discovery = sim
        .get("/da/api/realms/main/.well-known/openid-configuration")
        .await
        .body;
    assert_eq!(discovery["issuer"], ISSUER);
    assert_eq!(discovery["token_endpoint"], TOKEN_URL);
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(discovery["subject_types_supported"], json!(["pairwise"]));

    let before = auth_pin_tries(&sim, CARD);
    let tokens = login(&sim, "RP1", &key, "openid name address birthdate gender").await;
    assert_eq!(
        auth_pin_tries(&sim, CARD),
        before,
        "a right PIN costs no try"
    );
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid name address birthdate gender");

    let jwks = sim.jwks().await;
    let token = tokens["id_token"].as_str().unwrap();
    let verified = jose::verify(token, &jwks).unwrap();
    assert_eq!(verified.header["alg"], "RS256");
    assert_eq!(verified.header["kid"], jwks.keys[0].kid.clone().unwrap());
    let c = verified.claims;
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["aud"], "RP1");
    assert_eq!(c["azp"], "RP1");
    assert_eq!(c["nonce"], "n-1");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (iat, exp, auth_time) = (
        c["iat"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
        c["auth_time"].as_i64().unwrap(),
    );
    assert!((iat - now).abs() < 30 && exp - iat == 3600 && auth_time <= iat);
    let sub = c["sub"].as_str().unwrap();
    assert_eq!(sub.len(), 64);
    assert!(!sub.contains(CARD), "the sub says nothing of the card");
    // The basic 4 are in userinfo only.
    assert!(c.get("name").is_none());

    let info = sim.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status, StatusCode::OK, "{:?}", info.body);
    let persona = &view["persona"];
    assert_eq!(info.body["sub"], sub);
    assert_eq!(info.body["name"], persona["name"]);
    assert_eq!(info.body["address"]["formatted"], persona["address"]);
    assert_eq!(info.body["birthdate"], persona["birth_date"]);
    let gender = info.body["gender"].as_str().unwrap();
    assert!(["male", "female", "unknown", "not_applicable"].contains(&gender));

    // Without the basic-4 scopes, userinfo says who and nothing more.
    sim.arm(json!({"card": CARD})).await;
    let tokens = login(&sim, "RP1", &key, "openid").await;
    let info = sim.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info.body, json!({"sub": sub}));
    assert_eq!(
        sim.userinfo("not-a-token").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_wrong_pin_costs_a_try_and_three_block_the_card() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let (_, challenge) = pkce("x");
    let tries = auth_pin_tries(&sim, CARD);
    assert_eq!(tries, 3);
    for left in (0..tries).rev() {
        sim.arm(json!({"card": CARD, "pin": "9999"})).await;
        let redirect = sim.authorize(&request(&challenge, &[])).await;
        assert_eq!(redirect["error"], "access_denied");
        assert_eq!(redirect["state"], "st-9");
        let description = &redirect["error_description"];
        if left > 0 {
            assert!(
                description.contains(&format!("{left} tries left")),
                "{description}"
            );
        } else {
            assert!(description.contains("blocked"), "{description}");
        }
        assert_eq!(auth_pin_tries(&sim, CARD), left);
    }
    // Blocked: even the right PIN is refused now.
    sim.arm(json!({"card": CARD, "pin": "1234"})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(redirect["error_description"].contains("blocked"));
}

#[tokio::test]
async fn a_revoked_certificate_refusal_and_no_login_are_errors_on_the_redirect() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let (_, challenge) = pkce("x");

    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "login_required");

    sim.arm(json!({"card": CARD, "consent": false})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(redirect["error_description"].contains("refused"));

    // A login armed for another client waits for that client.
    sim.arm(json!({"card": CARD, "client_id": "RP2"})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "login_required");

    sim.event(CARD, "loss").await;
    sim.arm(json!({"card": CARD})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(
        redirect["error_description"].contains("revoked"),
        "{redirect:?}"
    );
}

#[tokio::test]
async fn an_expired_certificate_and_card_faults_are_what_the_user_would_meet() {
    use sim_card::card::faults::{CardFault, CommandClass};

    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let (_, challenge) = pkce("x");
    let card = sim.world.card(&CARD.parse().unwrap()).unwrap();

    // A card that answers `6C xx` to READ BINARY is read again with the Le it asks for.
    card.arm_fault(CardFault::WrongLe, Some(1)).unwrap();
    sim.arm(json!({"card": CARD})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert!(redirect.contains_key("code"), "{redirect:?}");

    // The card leaves the phone during the signature: a server error, no PIN try lost.
    let tries = auth_pin_tries(&sim, CARD);
    card.arm_fault(
        CardFault::Pulled {
            on: CommandClass::Sign,
        },
        Some(1),
    )
    .unwrap();
    sim.arm(json!({"card": CARD})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "server_error", "{redirect:?}");
    assert!(redirect["error_description"].contains("left"));
    assert_eq!(auth_pin_tries(&sim, CARD), tries);

    // Ten years on, the authentication certificate has expired.
    let moved = sim
        .json("POST", "/admin/v1/clock", json!({"advance": "3650d"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    sim.arm(json!({"card": CARD})).await;
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    assert_eq!(redirect["error"], "access_denied");
    assert!(
        redirect["error_description"].contains("expired"),
        "{redirect:?}"
    );
}

#[tokio::test]
async fn bad_authorization_requests_are_refused_where_the_redirect_is_trusted_only() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let (_, challenge) = pkce("x");

    for (overrides, error, says) in [
        (vec![("nonce", "")], "invalid_request", "nonce"),
        (vec![("state", "")], "invalid_request", "state"),
        (
            vec![("code_challenge", "")],
            "invalid_request",
            "code_challenge",
        ),
        (
            vec![("code_challenge_method", "")],
            "invalid_request",
            "plain",
        ),
        (
            vec![("code_challenge_method", "plain")],
            "invalid_request",
            "S256",
        ),
        (vec![("code_challenge", "short")], "invalid_request", "43"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
            "code",
        ),
        (vec![("scope", "name")], "invalid_scope", "openid"),
        (
            vec![("scope", "openid sign")],
            "invalid_request",
            "sign_transaction_id",
        ),
        (
            vec![("scope", "openid user_certificate")],
            "invalid_scope",
            "sign",
        ),
    ] {
        // A login is armed each time: the request is refused before it is taken.
        sim.arm(json!({"card": CARD})).await;
        let redirect = sim.authorize(&request(&challenge, &overrides)).await;
        assert_eq!(redirect["error"], error, "{overrides:?}");
        assert!(redirect["error_description"].contains(says), "{redirect:?}");
        sim.json("DELETE", "/da/admin/v1/logins", json!({})).await;
    }

    for (overrides, error) in [
        (
            vec![("redirect_uri", "https://sp.example/other")],
            "invalid_request",
        ),
        (
            vec![("redirect_uri", "https://sp.example/callback/")],
            "invalid_request",
        ),
        (vec![("redirect_uri", "")], "invalid_request"),
        (vec![("client_id", "RP9")], "invalid_client"),
        (vec![("client_id", "")], "invalid_request"),
    ] {
        let answer = sim.authorize_raw(&request(&challenge, &overrides)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{overrides:?}");
        assert!(answer.location.is_none());
        assert_eq!(answer.body["error"], error, "{:?}", answer.body);
    }
}

/// Authorizes RP1 with a fresh PKCE pair; answers the code and the verifier.
async fn code_for(sim: &Sim, tag: &str) -> (String, String) {
    sim.arm(json!({"card": CARD})).await;
    let (verifier, challenge) = pkce(tag);
    let redirect = sim.authorize(&request(&challenge, &[])).await;
    (redirect["code"].clone(), verifier)
}

#[tokio::test]
async fn the_token_endpoint_checks_the_code_the_verifier_and_the_assertion() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    let stranger = client_key("rp1-key", 12);
    sim.register("RP1", &key).await;

    // A wrong verifier spends the code.
    let (code, verifier) = code_for(&sim, "a").await;
    let good = assertion(&key, "RP1", TOKEN_URL, 60, "j-a");
    let wrong = format!("{verifier}x");
    let answer = sim.token(&exchange(&code, &wrong, &good)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_grant");
    let again = assertion(&key, "RP1", TOKEN_URL, 60, "j-a2");
    let answer = sim.token(&exchange(&code, &verifier, &again)).await;
    assert_eq!(answer.body["error"], "invalid_grant");

    // Used twice: refused, and the tokens of the first use are revoked.
    let (code, verifier) = code_for(&sim, "b").await;
    let first = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-b1"),
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let access = first.body["access_token"].as_str().unwrap();
    assert_eq!(sim.userinfo(access).await.status, StatusCode::OK);
    let second = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-b2"),
        ))
        .await;
    assert_eq!(second.body["error"], "invalid_grant");
    assert!(second.body["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    assert_eq!(sim.userinfo(access).await.status, StatusCode::UNAUTHORIZED);

    // Bad assertions: another key under the registered kid, another audience, expired, a jti
    // seen before, no assertion; each is `401 invalid_client` and leaves the code unspent.
    let (code, verifier) = code_for(&sim, "c").await;
    let used = assertion(&key, "RP1", TOKEN_URL, 60, "j-b1");
    for (bad, says) in [
        (
            assertion(&stranger, "RP1", TOKEN_URL, 60, "j-c1"),
            "signature",
        ),
        (
            assertion(&key, "RP1", "https://elsewhere.example/token", 60, "j-c2"),
            "aud",
        ),
        (assertion(&key, "RP1", TOKEN_URL, -300, "j-c3"), "expired"),
        (used, "jti"),
        (assertion(&key, "RP2", TOKEN_URL, 60, "j-c4"), "registered"),
        ("not.a.jwt".to_owned(), "base64url"),
    ] {
        let answer = sim.token(&exchange(&code, &verifier, &bad)).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{says}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["error"], "invalid_client");
        let description = answer.body["error_description"].as_str().unwrap();
        assert!(description.contains(says), "{says}: {description}");
    }
    let mut no_assertion = exchange(&code, &verifier, "");
    no_assertion.retain(|(n, _)| !n.starts_with("client_assertion"));
    assert_eq!(
        sim.token(&no_assertion).await.body["error"],
        "invalid_client"
    );
    // The issuer is an accepted audience too; the code was never spent by the refusals.
    let by_issuer = assertion(&key, "RP1", ISSUER, 60, "j-c5");
    let answer = sim.token(&exchange(&code, &verifier, &by_issuer)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);

    // A code lives 60 seconds of the world clock.
    let (code, verifier) = code_for(&sim, "d").await;
    sim.json("POST", "/admin/v1/clock", json!({"advance": "2m"}))
        .await;
    let answer = sim
        .token(&exchange(
            &code,
            &verifier,
            &assertion(&key, "RP1", TOKEN_URL, 60, "j-d"),
        ))
        .await;
    assert_eq!(answer.body["error"], "invalid_grant");
    assert!(answer.body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // Another grant type, or a body that is not a form.
    let answer = sim.token(&[("grant_type", "password")]).await;
    assert_eq!(answer.body["error"], "unsupported_grant_type");
    let answer = sim
        .json("POST", TOKEN, json!({"grant_type": "authorization_code"}))
        .await;
    assert_eq!(answer.body["error"], "invalid_request");
}

#[tokio::test]
async fn the_sub_is_pairwise_and_survives_renewal_and_moves() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    sim.provision(OTHER_CARD).await;
    let key1 = client_key("rp1-key", 11);
    let key2 = client_key("rp2-key", 13);
    sim.register("RP1", &key1).await;
    sim.register("RP2", &key2).await;
    let jwks = sim.jwks().await;
    let sub = |tokens: &Value| claims(tokens["id_token"].as_str().unwrap(), &jwks)["sub"].clone();

    sim.arm(json!({"card": CARD})).await;
    let for_rp1 = sub(&login(&sim, "RP1", &key1, "openid").await);
    sim.arm(json!({"card": CARD})).await;
    let for_rp2 = sub(&login(&sim, "RP2", &key2, "openid").await);
    sim.arm(json!({"card": OTHER_CARD})).await;
    let other_person = sub(&login(&sim, "RP1", &key1, "openid").await);
    assert_ne!(for_rp1, for_rp2, "another client gets another sub");
    assert_ne!(for_rp1, other_person, "another person gets another sub");

    sim.event(CARD, "address_change").await;
    sim.arm(json!({"card": CARD})).await;
    let tokens = login(&sim, "RP1", &key1, "openid address").await;
    assert_eq!(sub(&tokens), for_rp1, "the same sub after a move");
    let moved = sim
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await
        .body;
    let view = sim.get(&format!("/admin/v1/cards/{CARD}")).await.body;
    assert_eq!(moved["address"]["formatted"], view["persona"]["address"]);

    sim.event(CARD, "renewal").await;
    let renewed = sim.get(&format!("/admin/v1/cards/{CARD}")).await.body;
    assert_eq!(renewed["generation"], 2);
    sim.arm(json!({"card": CARD})).await;
    assert_eq!(
        sub(&login(&sim, "RP1", &key1, "openid").await),
        for_rp1,
        "the same sub after a renewal"
    );
}

#[tokio::test]
async fn the_admin_api_registers_shows_and_withdraws_clients() {
    let sim = Sim::new();
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    let shown = sim.get("/da/admin/v1/clients/RP1").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["redirect_uris"], json!([CALLBACK]));
    let bad = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({"client_id": "RP-2", "redirect_uris": [CALLBACK], "jwks": {"keys": []}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"], "invalid_client");
    let unknown_field = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({"client_id": "RP2", "secret": "x"}),
        )
        .await;
    assert_eq!(unknown_field.body["error"], "invalid_json");
    let no_card = sim
        .json("POST", "/da/admin/v1/logins", json!({"card": OTHER_CARD}))
        .await;
    assert_eq!(no_card.status, StatusCode::NOT_FOUND);
    let bad_card = sim
        .json("POST", "/da/admin/v1/logins", json!({"card": "typeb:00"}))
        .await;
    assert_eq!(bad_card.body["error"], "invalid_card_id");
    assert_eq!(
        sim.json("DELETE", "/da/admin/v1/clients/RP1", json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.get("/da/admin/v1/clients/RP1").await.status,
        StatusCode::NOT_FOUND
    );
}
