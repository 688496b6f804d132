//! Arbitrary request bodies never make a handler fail with a 5xx or panic: client mistakes are
//! 4xx with a stable code (or, for protocols with in-band errors, a well-formed error answer).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_jlis::routes::router;
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use proptest::prelude::*;
use tower::ServiceExt;

const CARD: &str = "felica:0123456789ABCDEF";

fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| {
            let cache =
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("events-keys.sqlite");
            let world = World::open(
                WorldConfig::new("http://127.0.0.1:8700"),
                Store::in_memory().unwrap(),
                Some(Store::open_key_cache(&cache).unwrap()),
            )
            .unwrap();
            world.provision(&CARD.parse().unwrap(), None).unwrap();
            Arc::new(world)
        })
        .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn post(uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    runtime().block_on(async {
        let request = Request::builder()
            .method("POST")
            .uri(uri)
            .body(Body::from(body))
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
    })
}

fn json_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\{[ -~]{0,200}\\}".prop_map(String::into_bytes),
        (
            prop::sample::select(vec![
                "card",
                "kind",
                "persona",
                "advance",
                "set",
                "endpoint",
                "fault",
                "count",
                "document",
                "signature",
                "certificate",
                "valid_for"
            ]),
            "[ -~]{0,40}",
        )
            .prop_map(|(key, value)| format!(r#"{{"{key}": "{value}"}}"#).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn admin_and_jlis_json_endpoints_answer_4xx_to_garbage(body in json_like()) {
        for uri in ["/admin/v1/cards", "/admin/v1/events", "/admin/v1/clock", "/admin/v1/faults", "/jlis/v1/consents"] {
            let (status, got) = post(uri, body.clone());
            prop_assert!(!status.is_server_error(), "{uri}: {status} {}", String::from_utf8_lossy(&got));
            if !status.is_success() {
                let error: serde_json::Value = serde_json::from_slice(&got).unwrap_or_default();
                prop_assert!(error["error"].is_string() || status == StatusCode::PAYLOAD_TOO_LARGE, "{uri}: {status} {}", String::from_utf8_lossy(&got));
            }
        }
        // Faults armed by a random-but-valid body must not leak into the next case.
        world().faults().clear();
    }

    #[test]
    fn ocsp_and_the_apdu_bridge_answer_in_band(body in proptest::collection::vec(any::<u8>(), 1..400)) {
        let (status, got) = post("/ocsp", body.clone());
        prop_assert_eq!(status, StatusCode::OK);
        // An OCSPResponse: a DER SEQUENCE (malformedRequest for garbage).
        prop_assert_eq!(got.first().copied(), Some(0x30));
        let (status, got) = post(&format!("/cards/{CARD}/apdu"), body);
        prop_assert_eq!(status, StatusCode::OK);
        prop_assert!(got.len() >= 2, "a response APDU ends in a status word");
    }
}
