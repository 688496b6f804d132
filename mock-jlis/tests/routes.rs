//! Handler tests without a socket: `router()` + `oneshot`, every route and error code.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use mock_jlis::routes::router;
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use tower::ServiceExt;

const CARD: &str = "felica:0123456789ABCDEF";

fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| {
            let config = WorldConfig::new("http://127.0.0.1:8700");
            Arc::new(World::open(config, Store::in_memory().unwrap(), None).unwrap())
        })
        .clone()
}

async fn call(method: &str, uri: &str, body: impl Into<Body>) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .unwrap();
    let response = router(world()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

#[tokio::test]
async fn healthz_answers_ok() {
    assert_eq!(
        call("GET", "/healthz", Body::empty()).await,
        (StatusCode::OK, b"ok\n".to_vec())
    );
}

#[tokio::test]
async fn ca_certificates_in_der_and_pem() {
    let world = world();
    for (name, hierarchy) in [
        ("sign", mock_jlis::world::Hierarchy::Sign),
        ("auth", mock_jlis::world::Hierarchy::Auth),
    ] {
        let (status, der) = call("GET", &format!("/ca/{name}.der"), Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(der, world.ca(hierarchy).certificate_der());
        let (status, pem) = call("GET", &format!("/ca/{name}.pem"), Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(pem)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }
    let (status, body) = call("GET", "/ca/root.der", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"], "not_found");
}

#[tokio::test]
async fn provisioning_is_idempotent_and_the_view_has_persona_pins_and_certificates() {
    let body = format!(r#"{{"card":"{CARD}"}}"#);
    let (status, first) = call("POST", "/admin/v1/cards", body.clone()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&first)
    );
    let (status, second) = call("POST", "/admin/v1/cards", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first, second);
    let view = json(&first);
    assert_eq!(view["card"], CARD);
    assert_eq!(view["generation"], 1);
    assert_eq!(view["persona"]["pins"]["auth_pin"], "1234");
    assert_eq!(view["persona"]["pins"]["sign_password"], "ABC123");
    for kind in ["sign", "auth"] {
        let certificate = &view["certificates"][kind];
        assert_eq!(certificate["serial"].as_str().unwrap().len(), 16);
        assert!(certificate["pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
    }
    let (status, got) = call("GET", &format!("/admin/v1/cards/{CARD}"), Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, first);
}

#[tokio::test]
async fn persona_overrides_apply_and_bad_ones_name_the_field() {
    let card = "typea:04A1B2C3D4E5F6A7B8C9";
    let body = format!(
        r#"{{"card":"{card}","persona":{{"name":"試験　花子","pins":{{"auth_pin":"4321"}}}}}}"#
    );
    let (status, got) = call("POST", "/admin/v1/cards", body).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&got));
    let view = json(&got);
    assert_eq!(view["persona"]["name"], "試験　花子");
    assert_eq!(view["persona"]["pins"]["auth_pin"], "4321");

    let body = format!(r#"{{"card":"{card}","persona":{{"my_number":"123456789012"}}}}"#);
    let (status, got) = call("POST", "/admin/v1/cards", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = json(&got);
    assert_eq!(error["error"], "invalid_persona");
    assert!(
        error["message"].as_str().unwrap().contains("my_number"),
        "{error}"
    );

    let body = format!(r#"{{"card":"{card}","persona":{{"nmae":"x"}}}}"#);
    let (status, got) = call("POST", "/admin/v1/cards", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(&got)["message"].as_str().unwrap().contains("nmae"));
}

#[tokio::test]
async fn admin_client_mistakes_get_stable_codes() {
    for (body, code) in [
        ("not json", "invalid_json"),
        (r#"{"card":"felica:12"}"#, "invalid_card_id"),
        (
            r#"{"card":"felica:0123456789ABCDEF","extra":1}"#,
            "invalid_json",
        ),
        (r#"{}"#, "invalid_json"),
    ] {
        let (status, got) = call("POST", "/admin/v1/cards", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json(&got)["error"], code, "{body}");
    }
    let (status, got) = call("GET", "/admin/v1/cards/typea:01020304", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&got)["error"], "card_not_found");
    let (status, _) = call("POST", "/admin/v1/cards", vec![b'x'; 70 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn apdu_bridge_exchanges_bytes_with_the_card() {
    call("POST", "/admin/v1/cards", format!(r#"{{"card":"{CARD}"}}"#)).await;
    let uri = format!("/cards/{CARD}/apdu");
    let (status, got) = call(
        "POST",
        &uri,
        hex::decode("00A4040C0AD392F000260100000001").unwrap(),
    )
    .await;
    assert_eq!((status, got), (StatusCode::OK, vec![0x90, 0x00]));
    // the token EF: 32-byte label read through the bridge
    call("POST", &uri, hex::decode("00A4020C020006").unwrap()).await;
    let (_, got) = call("POST", &uri, hex::decode("00B0000020").unwrap()).await;
    assert_eq!(&got[..15], b"JPKIAPICCTOKEN2");
    assert_eq!(&got[32..], [0x90, 0x00]);
    let (status, got) = call("POST", &uri, Body::empty()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&got)["error"], "empty_apdu");
    let (status, _) = call("POST", &uri, vec![0u8; 70_000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A world of its own, for tests that arm faults or move the clock.
fn private_world() -> Arc<World> {
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.clock = Some(mock_jlis::clock::ClockMode::Frozen {
        at: time::macros::datetime!(2026-11-01 03:00 UTC),
    });
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("routes-keys.sqlite");
    Arc::new(
        World::open(
            config,
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    )
}

async fn call_on(
    world: &Arc<World>,
    method: &str,
    uri: &str,
    body: impl Into<Body>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .unwrap();
    let response = router(world.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = match response.into_body().collect().await {
        Ok(body) => body.to_bytes().to_vec(),
        Err(_) => b"<body aborted>".to_vec(),
    };
    (status, bytes)
}

#[tokio::test]
async fn clock_moves_forward_only() {
    let world = private_world();
    let (status, got) = call_on(&world, "GET", "/admin/v1/clock", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["now"], "2026-11-01T03:00:00Z");
    assert_eq!(json(&got)["mode"]["mode"], "frozen");
    let (status, got) = call_on(&world, "POST", "/admin/v1/clock", r#"{"advance":"15m"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["now"], "2026-11-01T03:15:00Z");
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/clock",
        r#"{"set":"2027-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["now"], "2027-01-01T00:00:00Z");
    for (body, status, code) in [
        (
            r#"{"set":"2020-01-01T00:00:00Z"}"#,
            StatusCode::CONFLICT,
            "clock_backwards",
        ),
        (
            r#"{"advance":"soon"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_clock",
        ),
        (
            r#"{"advance":"1h","set":"2030-01-01T00:00:00Z"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_clock",
        ),
        (r#"{}"#, StatusCode::BAD_REQUEST, "invalid_clock"),
        (
            r#"{"set":"tomorrow"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ] {
        let (got_status, got) = call_on(&world, "POST", "/admin/v1/clock", body).await;
        assert_eq!(
            (got_status, json(&got)["error"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
    }
}

#[tokio::test]
async fn events_revoke_and_refuse_with_stable_codes() {
    let world = private_world();
    let card = "typea:04A1B2C3";
    call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        format!(r#"{{"card":"{card}"}}"#),
    )
    .await;
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/events",
        format!(r#"{{"card":"{card}","kind":"address_change"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&got));
    let outcome = json(&got);
    assert_eq!(outcome["revoked"][0]["hierarchy"], "sign");
    assert_eq!(outcome["revoked"][0]["reason"], "affiliation_changed");
    let (_, view) = call_on(
        &world,
        "GET",
        &format!("/admin/v1/cards/{card}"),
        Body::empty(),
    )
    .await;
    let view = json(&view);
    assert_eq!(
        view["certificates"]["sign"]["serial"],
        outcome["issued"][0]["serial"]
    );
    assert_eq!(view["certificates"]["sign"]["status"], "good");
    assert_eq!(view["certificates"]["auth"]["status"], "good");

    let (status, _) = call_on(
        &world,
        "POST",
        "/admin/v1/events",
        format!(r#"{{"card":"{card}","kind":"death"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (body, status, code) in [
        (
            format!(r#"{{"card":"{card}","kind":"name_change"}}"#),
            StatusCode::CONFLICT,
            "card_not_active",
        ),
        (
            r#"{"card":"typea:01020304","kind":"death"}"#.to_owned(),
            StatusCode::NOT_FOUND,
            "card_not_found",
        ),
        (
            format!(r#"{{"card":"{card}","kind":"abduction"}}"#),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        ("[]".to_owned(), StatusCode::BAD_REQUEST, "invalid_json"),
    ] {
        let (got_status, got) = call_on(&world, "POST", "/admin/v1/events", body.clone()).await;
        assert_eq!(
            (got_status, json(&got)["error"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
    }
}

#[tokio::test]
async fn armed_faults_hit_their_endpoint_the_given_number_of_times() {
    let world = private_world();
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/faults",
        r#"{"endpoint":"ca","fault":{"kind":"unavailable"},"count":1}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&got));
    let (status, got) = call_on(&world, "GET", "/ca/auth.der", Body::empty()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&got)["error"], "unavailable");
    let (status, _) = call_on(&world, "GET", "/ca/auth.der", Body::empty()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a count-1 fault disarms after one request"
    );

    call_on(
        &world,
        "POST",
        "/admin/v1/faults",
        r#"{"endpoint":"ca","fault":{"kind":"garbage"}}"#,
    )
    .await;
    for _ in 0..2 {
        let (status, got) = call_on(&world, "GET", "/ca/auth.der", Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(
            got,
            world
                .ca(mock_jlis::world::Hierarchy::Auth)
                .certificate_der()
        );
    }
    let (_, listed) = call_on(&world, "GET", "/admin/v1/faults", Body::empty()).await;
    assert_eq!(json(&listed).as_array().unwrap().len(), 1);
    call_on(&world, "DELETE", "/admin/v1/faults", Body::empty()).await;
    call_on(
        &world,
        "POST",
        "/admin/v1/faults",
        r#"{"endpoint":"ca","fault":{"kind":"connection_reset"},"count":1}"#,
    )
    .await;
    let (_, got) = call_on(&world, "GET", "/ca/auth.der", Body::empty()).await;
    assert_eq!(got, b"<body aborted>");
    // The admin API itself is never faulted, and bad rules are refused.
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/faults",
        r#"{"endpoint":"crl","fault":{"kind":"try_later"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&got)["error"], "invalid_fault");
}

#[tokio::test]
async fn unknown_municipality_partitions_and_new_personas_after_events_are_client_errors() {
    let world = private_world();
    let (status, got) = call_on(&world, "GET", "/crl/sign/99999.crl", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&got)["error"], "not_found");
    let (status, got) = call_on(&world, "GET", "/crl/sign/1310.crl", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&got)["error"], "not_found");
    let card = "felica:0011223344556677";
    call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        format!(r#"{{"card":"{card}"}}"#),
    )
    .await;
    call_on(
        &world,
        "POST",
        "/admin/v1/events",
        format!(r#"{{"card":"{card}","kind":"name_change"}}"#),
    )
    .await;
    let body = format!(r#"{{"card":"{card}","persona":{{"pins":{{"auth_pin":"9999"}}}}}}"#);
    let (status, got) = call_on(&world, "POST", "/admin/v1/cards", body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(json(&got)["error"], "persona_conflict");
    // Without overrides, provisioning stays idempotent and returns the card as it is now.
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        format!(r#"{{"card":"{card}"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["history"].as_array().unwrap().len(), 3);
}

/// Certificates never change under their serial: provisioning a card again with the persona it
/// has is answered as it is, with another persona refused with a pointer to life events, and
/// neither touches its certificates.
#[tokio::test]
async fn reprovisioning_never_rewrites_a_certificate() {
    let world = private_world();
    let card = "typea:04A1B2C3D4E5F6A7B8C9";
    let provision = |persona: &str| {
        let world = world.clone();
        let body = format!(r#"{{"card":"{card}","persona":{persona}}}"#);
        async move { call_on(&world, "POST", "/admin/v1/cards", body).await }
    };
    let (status, first) = provision(r#"{"name":"試験　花子","pins":{"auth_pin":"4321"}}"#).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&first)
    );

    // The same request, and the same persona spelt otherwise: the same answer.
    let (status, again) = provision(r#"{"name":"試験　花子","pins":{"auth_pin":"4321"}}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    let (status, again) = provision(r#"{"pins":{"auth_pin":"4321"},"name":"試験　花子"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    // Without a persona: the card as it is.
    let (status, again) = call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        format!(r#"{{"card":"{card}"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);

    // Another persona: refused, pointing to the life events that change a holder.
    for persona in [
        r#"{"name":"別人　太郎","pins":{"auth_pin":"4321"}}"#,
        r#"{"name":"試験　花子"}"#,
        "{}",
    ] {
        let (status, got) = provision(persona).await;
        assert_eq!(status, StatusCode::CONFLICT, "{persona}");
        let error = json(&got);
        assert_eq!(error["error"], "persona_conflict", "{persona}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("/admin/v1/events") && message.contains("name_change"),
            "{message}"
        );
    }
    // Overrides that do not validate are still a 422, whatever the card.
    let (status, got) = provision(r#"{"nmae":"x"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&got)["error"], "invalid_persona");

    let (status, now) = call_on(
        &world,
        "GET",
        &format!("/admin/v1/cards/{card}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now, first, "the card and its certificates are unchanged");

    // A name change is the way: a new signature certificate under a new serial, and the
    // provisioning request is still answered as it is.
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/events",
        format!(r#"{{"card":"{card}","kind":"name_change","persona":{{"name":"別人　太郎"}}}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&got));
    let (status, after) = provision(r#"{"name":"試験　花子","pins":{"auth_pin":"4321"}}"#).await;
    assert_eq!(status, StatusCode::OK);
    let (before, after) = (json(&first), json(&after));
    assert_eq!(after["persona"]["name"], "別人　太郎");
    assert_ne!(
        after["certificates"]["sign"]["serial"],
        before["certificates"]["sign"]["serial"]
    );
    assert_eq!(
        after["certificates"]["auth"],
        before["certificates"]["auth"]
    );
    let old_sign = before["certificates"]["sign"]["serial"].as_str().unwrap();
    let (status, got) = call_on(
        &world,
        "GET",
        &format!("/jlis/v1/status/sign/{old_sign}"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["status"], "revoked");
}

/// No clock move can take the world past the calendar it computes in: the move is a 400 naming
/// the limit, and the world keeps answering (frozen and following clocks alike).
#[tokio::test]
async fn the_clock_refuses_moves_past_its_latest_instant_and_keeps_serving() {
    let following = {
        let mut config = WorldConfig::new("http://127.0.0.1:8700");
        config.clock = Some(mock_jlis::clock::ClockMode::Following { offset_seconds: 0 });
        let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("routes-keys.sqlite");
        Arc::new(
            World::open(
                config,
                Store::in_memory().unwrap(),
                Some(Store::open_key_cache(&cache).unwrap()),
            )
            .unwrap(),
        )
    };
    for world in [private_world(), following] {
        for body in [
            r#"{"advance":"9223372036854775807s"}"#,
            r#"{"advance":"100000000000000s"}"#,
            r#"{"advance":"18446744073709551615s"}"#,
            r#"{"set":"9999-12-31T23:59:59Z"}"#,
            r#"{"set":"9000-01-01T00:00:01Z"}"#,
        ] {
            let (status, got) = call_on(&world, "POST", "/admin/v1/clock", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(json(&got)["error"], "invalid_clock", "{body}");
        }
        let (status, got) = call_on(&world, "GET", "/admin/v1/clock", Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(json(&got)["now"].as_str().unwrap().starts_with("202"));
        let (status, _) = call_on(&world, "GET", "/crl/sign.crl", Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        // The latest instant itself is a valid place for the clock.
        let (status, got) = call_on(
            &world,
            "POST",
            "/admin/v1/clock",
            r#"{"set":"9000-01-01T00:00:00Z"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&got));
        assert_eq!(json(&got)["now"], "9000-01-01T00:00:00Z");
        let (status, _) = call_on(&world, "GET", "/admin/v1/clock", Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// A following clock set to an instant reads that instant, not the second before it.
#[tokio::test]
async fn a_following_clock_lands_where_it_is_set() {
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.clock = Some(mock_jlis::clock::ClockMode::Following { offset_seconds: 0 });
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("routes-keys.sqlite");
    let world = Arc::new(
        World::open(
            config,
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    );
    let (status, got) = call_on(
        &world,
        "POST",
        "/admin/v1/clock",
        r#"{"set":"2030-06-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // It reads the instant set (or the next second, if real time ticked over since): never the
    // second before, as it did when the offset dropped the fraction.
    let now = json(&got)["now"].as_str().unwrap().to_owned();
    assert!(
        ["2030-06-01T00:00:00Z", "2030-06-01T00:00:01Z"].contains(&now.as_str()),
        "{now}"
    );
}

/// The HTTP layer's refusals have the JSON shape of every other error (and 405 keeps `Allow`).
#[tokio::test]
async fn framework_refusals_are_json_errors() {
    let world = private_world();
    for (method, uri, body, status, code) in [
        (
            "DELETE",
            "/healthz",
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/no/such/path",
            vec![],
            StatusCode::NOT_FOUND,
            "no_route",
        ),
        (
            "POST",
            "/admin/v1/events",
            vec![b' '; 2 << 20],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "POST",
            "/ocsp",
            vec![0x30; 2 << 20],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        let response = router(world.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{method} {uri}");
        let headers = response.headers().clone();
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/json",
            "{method} {uri}"
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(headers.contains_key(header::ALLOW));
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(json(&bytes)["error"], code, "{method} {uri}");
        assert!(json(&bytes)["message"].is_string());
    }
}

/// Persona fields the card or the CA cannot carry are the client's mistake: a 422 that says
/// which field or file, not a 503.
#[tokio::test]
async fn persona_fields_the_card_cannot_carry_are_refused_by_name() {
    let world = private_world();
    for (persona, names) in [
        (
            format!(r#"{{"name":"{}"}}"#, "山".repeat(300)),
            "shorten the name or the address",
        ),
        (
            r#"{"name":"a\u0000b"}"#.to_owned(),
            "persona override `name`",
        ),
        (
            r#"{"address":"line\nbreak"}"#.to_owned(),
            "persona override `address`",
        ),
        (
            format!(r#"{{"address":"{}"}}"#, "東".repeat(200)),
            "512-byte file",
        ),
    ] {
        let body = format!(r#"{{"card":"typea:04A1B2C3","persona":{persona}}}"#);
        let (status, got) = call_on(&world, "POST", "/admin/v1/cards", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{persona}");
        assert_eq!(json(&got)["error"], "invalid_persona", "{persona}");
        let message = json(&got)["message"].as_str().unwrap().to_owned();
        assert!(message.contains(names), "{message}");
    }
    // The world took none of them: the card provisions as derived.
    let (status, _) = call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        r#"{"card":"typea:04A1B2C3"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// The CRL index lists the partition of each municipality with certificates, under the name
/// the certificates carry, and its path serves that partition; the full list can be withheld
/// while partitions stay served.
#[tokio::test]
async fn the_crl_index_leads_to_the_partition_the_certificates_name() {
    let world = private_world();
    let (status, got) = call_on(&world, "GET", "/crl/auth/index.json", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&got)["partitions"], serde_json::json!([]));
    let card = "felica:0011223344556677";
    call_on(
        &world,
        "POST",
        "/admin/v1/cards",
        format!(r#"{{"card":"{card}"}}"#),
    )
    .await;
    let (_, got) = call_on(&world, "GET", "/crl/auth/index.json", Body::empty()).await;
    let index = json(&got);
    assert_eq!(index["full"], "/crl/auth.crl");
    let partitions = index["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 1, "{index}");
    let entry = &partitions[0];
    let state = world.card(&card.parse().unwrap()).unwrap().state();
    // The certificate carries the name's DER in its cRLDistributionPoints.
    let der_hex = hex::encode_upper(&state.auth.der);
    assert!(
        der_hex.contains(entry["name_der_hex"].as_str().unwrap()),
        "{entry}"
    );
    assert!(entry["distribution_point"]
        .as_str()
        .unwrap()
        .contains("CRLDP"));
    let path = entry["path"].as_str().unwrap();
    assert_eq!(
        path,
        format!("/crl/auth/{}.crl", entry["code"].as_str().unwrap())
    );
    let (status, _) = call_on(&world, "GET", path, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);

    call_on(
        &world,
        "POST",
        "/admin/v1/faults",
        r#"{"endpoint":"crl","fault":{"kind":"full_crl_withheld"}}"#,
    )
    .await;
    let (status, got) = call_on(&world, "GET", "/crl/auth.crl", Body::empty()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&got)["error"], "unavailable");
    let (status, _) = call_on(&world, "GET", path, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_card_list_names_every_card_with_its_current_serials() {
    let world = private_world();
    let (status, body) = call_on(&world, "GET", "/admin/v1/cards", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body), serde_json::json!({"cards": []}));
    for card in ["typea:04A1B2C3", "felica:0123456789ABCDEF"] {
        let body = format!(r#"{{"card":"{card}"}}"#);
        let (status, _) = call_on(&world, "POST", "/admin/v1/cards", body).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, body) = call_on(&world, "GET", "/admin/v1/cards", Body::empty()).await;
    let list = json(&body);
    let cards = list["cards"].as_array().unwrap();
    // In card-id order, each as its view has it.
    assert_eq!(cards[0]["card"], "felica:0123456789ABCDEF");
    assert_eq!(cards[1]["card"], "typea:04A1B2C3");
    for summary in cards {
        let uri = format!("/admin/v1/cards/{}", summary["card"].as_str().unwrap());
        let (_, view) = call_on(&world, "GET", &uri, Body::empty()).await;
        let view = json(&view);
        assert_eq!(summary["auth"], view["certificates"]["auth"]["serial"]);
        assert_eq!(summary["sign"], view["certificates"]["sign"]["serial"]);
        assert_eq!(summary["life"], view["life"]);
        assert_eq!(summary["generation"], view["generation"]);
    }
}

#[tokio::test]
async fn the_journal_lists_what_was_asked_and_can_be_emptied() {
    let world = private_world();
    call_on(&world, "GET", "/healthz", Body::empty()).await;
    call_on(&world, "GET", "/ca/auth.pem", Body::empty()).await;
    call_on(&world, "GET", "/no/such/path?x=1", Body::empty()).await;
    let (status, body) = call_on(&world, "GET", "/admin/v1/requests", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    let requests = json(&body)["requests"].as_array().unwrap().clone();
    let seen: Vec<(String, u64)> = requests
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                ),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("GET /healthz".to_owned(), 200),
            ("GET /ca/auth.pem".to_owned(), 200),
            ("GET /no/such/path?x=1".to_owned(), 404),
        ]
    );
    let (_, body) = call_on(&world, "GET", "/admin/v1/requests?limit=1", Body::empty()).await;
    assert_eq!(json(&body)["requests"][0]["path"], "/no/such/path?x=1");
    let (status, body) = call_on(
        &world,
        "GET",
        "/admin/v1/requests?limit=many",
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error"], "invalid_query");
    let (status, _) = call_on(&world, "DELETE", "/admin/v1/requests", Body::empty()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = call_on(&world, "GET", "/admin/v1/requests", Body::empty()).await;
    // Only the DELETE itself is left.
    assert_eq!(json(&body)["requests"].as_array().unwrap().len(), 1);
}
