//! Handler tests without a socket: `router()` + `oneshot`, every route and error code.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
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
