//! `mock-jlis/openapi.json` describes exactly what `router()` serves.
//!
//! axum cannot list a router's routes, so three things are kept equal: the `.route(...)` calls in
//! the sources of the router and of every router it merges (mock-ca's CA routes, the admin API,
//! the bridge, the J-LIS API), their `ROUTES` lists, and the document's operations.
//! Then every documented operation is called through `router()` with the document's own examples:
//! it must be served (no empty 404/405 from the router), answer a documented status and content
//! type, and its JSON must match the documented schema. Every other method on a documented path
//! must get the router's 405. The checks common to every document are `mock_jlis::openapi_check`'s
//! (shared with mock-da's document); the routes, examples and refusals are this crate's.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use mock_jlis::openapi_check::{
    check_document, check_documented, check_route_lists, documented, openapi_path, resolve,
    scan_router_source, validate, Answer, METHODS,
};
use mock_jlis::routes::router;
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use serde_json::Value;
use tower::ServiceExt;

const DOCUMENT: &str = include_str!("../openapi.json");
const ROUTER_SOURCES: &[(&str, &str)] = &[
    ("src/routes.rs", include_str!("../src/routes.rs")),
    (
        "mock-ca/src/publication/routes.rs",
        include_str!("../../mock-ca/src/publication/routes.rs"),
    ),
    ("src/admin/mod.rs", include_str!("../src/admin/mod.rs")),
    ("src/bridge.rs", include_str!("../src/bridge.rs")),
    ("src/jlis_routes.rs", include_str!("../src/jlis_routes.rs")),
];
/// The routers `routes.rs` merges from other modules; each must be scanned above. `extra` and
/// `extension.routes` are the extensions' routes (`router_with`), documented by their own
/// documents and kept in step by their own crates' tests (mock-da's `tests/openapi.rs`).
const MERGED_MODULES: &[&str] = &[
    "mock_ca::publication::routes(",
    "crate::admin::routes()",
    "crate::bridge::routes(",
    "crate::jlis_routes::routes()",
    "extra)",
    "extension.routes)",
];
/// SELECT the JPKI AP by name: any card answers it.
const SELECT_JPKI: &[u8] = b"\x00\xA4\x04\x0C\x0A\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

fn world() -> Arc<World> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("events-keys.sqlite");
    let config = WorldConfig::new("http://127.0.0.1:8700");
    Arc::new(
        World::open(
            config,
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    )
}

async fn call(world: &Arc<World>, method: &str, uri: &str, body: Vec<u8>) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    Answer::read(router(world.clone()).oneshot(request).await.unwrap()).await
}

fn declared() -> Vec<(&'static str, &'static str)> {
    // In the order the example calls need: the card is provisioned before the bridge uses it.
    mock_jlis::routes::ROUTES
        .iter()
        .chain(mock_ca::publication::ROUTES)
        .chain(mock_jlis::admin::ROUTES)
        .chain(mock_jlis::bridge::ROUTES)
        .chain(mock_jlis::jlis_routes::ROUTES)
        .copied()
        .collect()
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    check_document(&doc, 50);
    assert_eq!(doc["info"]["title"], "jpki-sim");
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:8700");
    // Admin paths, and the others the token guards (served-world checks which), carry the
    // optional bearer scheme and its 401.
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        if path.starts_with("/admin/") || op.get("security").is_some() {
            assert_eq!(op["security"], serde_json::json!([{"bearerAuth": []}, {}]));
            assert!(op["responses"].get("401").is_some(), "{method} {path}");
        }
    }
}

#[test]
fn the_route_lists_match_the_router_source_and_the_document() {
    let mut in_source = BTreeSet::new();
    for (name, source) in ROUTER_SOURCES {
        in_source.extend(scan_router_source(name, source));
    }
    let router_source = ROUTER_SOURCES[0].1;
    assert_eq!(
        router_source.matches(".merge(").count(),
        MERGED_MODULES.len(),
        "routes.rs merges other routers than MERGED_MODULES lists"
    );
    for merged in router_source.match_indices(".merge(") {
        let rest = router_source[merged.0 + ".merge(".len()..].trim_start();
        assert!(
            MERGED_MODULES.iter().any(|m| rest.starts_with(m)),
            "routes.rs merges a router this test does not scan: {}",
            rest.lines().next().unwrap()
        );
    }
    check_route_lists(&declared(), &in_source, &document());
}

/// The document's path with every parameter replaced by its example.
fn example_uri(doc: &Value, path: &str, op: &Value) -> String {
    let params = op["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| resolve(doc, &p).clone());
    let mut uri = path.to_owned();
    for param in params {
        if param["in"] != "path" {
            continue;
        }
        let name = param["name"].as_str().unwrap();
        let example = param["example"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: parameter {name} needs a string example"));
        uri = uri.replace(&format!("{{{name}}}"), example);
    }
    assert!(
        !uri.contains('{'),
        "{path}: undocumented parameter in {uri}"
    );
    uri
}

fn example_body(doc: &Value, path: &str, op: &Value) -> Vec<u8> {
    let Some(content) = op["requestBody"]["content"].as_object() else {
        return Vec::new();
    };
    let (media, body) = content.iter().next().expect("a request media type");
    match media.as_str() {
        "application/json" => {
            let example = &body["example"];
            assert!(!example.is_null(), "{path}: the JSON body needs an example");
            let schema = resolve(doc, &body["schema"]);
            if let Err(err) = validate(doc, schema, example) {
                panic!("{path}: the request example does not match its schema: {err}");
            }
            serde_json::to_vec(example).unwrap()
        }
        "application/octet-stream" => SELECT_JPKI.to_vec(),
        "application/ocsp-request" => {
            // The GET example, as DER.
            let get = &doc["paths"]["/ocsp/{request}"]["get"]["parameters"][0]["example"];
            base64::engine::general_purpose::STANDARD
                .decode(get.as_str().unwrap())
                .unwrap()
        }
        other => panic!("{path}: no sample body for {other}"),
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_as_documented() {
    let doc = document();
    let world = world();
    // Router order: the card is provisioned before the routes that need it.
    for (method, axum_path) in declared() {
        let path = openapi_path(axum_path);
        let op = &doc["paths"][&path][method.to_lowercase()];
        let uri = example_uri(&doc, &path, op);
        let answer = call(&world, method, &uri, example_body(&doc, &path, op)).await;
        check_documented(&doc, method, &path, &uri, &answer);
    }
}

#[tokio::test]
async fn refusals_are_documented_with_their_status_and_code() {
    const CARD: &str = "felica:0123456789ABCDEF";
    const UNKNOWN: &str = "felica:00000000000000FF";
    let doc = document();
    let world = world();
    let card = format!(r#"{{"card":"{CARD}"}}"#);
    let big = vec![b' '; 70 * 1024];
    /// (method, documented path, uri, body, status, error code)
    type Case = (
        &'static str,
        &'static str,
        String,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            card.into(),
            200,
            "",
        ),
        (
            "GET",
            "/ca/{file}",
            "/ca/root.der".into(),
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/crl/{file}",
            "/crl/x.crl".into(),
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/crl/{hierarchy}/{file}",
            "/crl/x/14204.crl".into(),
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/crl/{hierarchy}/{file}",
            "/crl/sign/1420.crl".into(),
            vec![],
            404,
            "not_found",
        ),
        (
            "GET",
            "/crl/{hierarchy}/{file}",
            "/crl/sign/99999.crl".into(),
            vec![],
            404,
            "not_found",
        ),
        (
            "POST",
            "/ocsp",
            "/ocsp".into(),
            big.clone(),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            b"{".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            br#"{"card":"x"}"#.to_vec(),
            400,
            "invalid_card_id",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            format!(r#"{{"card":"{UNKNOWN}","persona":{{"card_expires_on":"2000-01-01"}}}}"#)
                .into(),
            422,
            "invalid_persona",
        ),
        // Values only the CA's profile refuses are still the client's: 422 or 409, never 503.
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            br#"{"card":"felica:00000000000000F1","persona":{"sex":"0"}}"#.to_vec(),
            422,
            "invalid_persona",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            br#"{"card":"felica:00000000000000F2","persona":{"card_issued_on":"2010-01-01"}}"#
                .to_vec(),
            409,
            "outside_ca_validity",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            big.clone(),
            413,
            "payload_too_large",
        ),
        (
            "GET",
            "/admin/v1/cards/{card}",
            "/admin/v1/cards/x".into(),
            vec![],
            400,
            "invalid_card_id",
        ),
        (
            "GET",
            "/admin/v1/cards/{card}",
            format!("/admin/v1/cards/{UNKNOWN}"),
            vec![],
            404,
            "card_not_found",
        ),
        (
            "POST",
            "/admin/v1/events",
            "/admin/v1/events".into(),
            format!(r#"{{"card":"{CARD}","kind":"nope"}}"#).into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/admin/v1/events",
            "/admin/v1/events".into(),
            format!(r#"{{"card":"{UNKNOWN}","kind":"death"}}"#).into(),
            404,
            "card_not_found",
        ),
        (
            "POST",
            "/admin/v1/events",
            "/admin/v1/events".into(),
            format!(r#"{{"card":"{CARD}","kind":"address_change"}}"#).into(),
            200,
            "",
        ),
        (
            "POST",
            "/admin/v1/cards",
            "/admin/v1/cards".into(),
            format!(r#"{{"card":"{CARD}","persona":{{"name":"山田　花子"}}}}"#).into(),
            409,
            "persona_conflict",
        ),
        (
            "POST",
            "/admin/v1/clock",
            "/admin/v1/clock".into(),
            b"{}".to_vec(),
            400,
            "invalid_clock",
        ),
        (
            "POST",
            "/admin/v1/clock",
            "/admin/v1/clock".into(),
            br#"{"advance":"1y"}"#.to_vec(),
            400,
            "invalid_clock",
        ),
        (
            "POST",
            "/admin/v1/clock",
            "/admin/v1/clock".into(),
            br#"{"set":"2000-01-01T00:00:00Z"}"#.to_vec(),
            409,
            "clock_backwards",
        ),
        (
            "POST",
            "/admin/v1/faults",
            "/admin/v1/faults".into(),
            br#"{"endpoint":"crl","fault":{"kind":"try_later"}}"#.to_vec(),
            400,
            "invalid_fault",
        ),
        (
            "POST",
            "/cards/{card}/apdu",
            "/cards/x/apdu".into(),
            SELECT_JPKI.to_vec(),
            400,
            "invalid_card_id",
        ),
        (
            "POST",
            "/cards/{card}/apdu",
            format!("/cards/{CARD}/apdu"),
            vec![],
            400,
            "empty_apdu",
        ),
        (
            "POST",
            "/cards/{card}/apdu",
            format!("/cards/{UNKNOWN}/apdu"),
            SELECT_JPKI.to_vec(),
            404,
            "card_not_found",
        ),
        (
            "POST",
            "/jlis/v1/consents",
            "/jlis/v1/consents".into(),
            br#"{"document":"!","signature":"","certificate":""}"#.to_vec(),
            400,
            "invalid_base64",
        ),
        (
            "POST",
            "/jlis/v1/consents",
            "/jlis/v1/consents".into(),
            br#"{"document":"","signature":"","certificate":"","valid_for":"x"}"#.to_vec(),
            400,
            "invalid_duration",
        ),
        (
            "DELETE",
            "/jlis/v1/consents/{serial}",
            "/jlis/v1/consents/zz".into(),
            vec![],
            400,
            "invalid_serial",
        ),
        (
            "GET",
            "/jlis/v1/latest/{serial}",
            "/jlis/v1/latest/01".into(),
            vec![],
            404,
            "unknown_certificate",
        ),
        (
            "GET",
            "/jlis/v1/linkage/{hierarchy}/{serial}",
            "/jlis/v1/linkage/x/01".into(),
            vec![],
            400,
            "invalid_hierarchy",
        ),
        (
            "GET",
            "/jlis/v1/status/{hierarchy}/{serial}",
            "/jlis/v1/status/auth/01".into(),
            vec![],
            404,
            "unknown_certificate",
        ),
        (
            "POST",
            "/admin/v1/faults",
            "/admin/v1/faults".into(),
            br#"{"endpoint":"ca","fault":{"kind":"down"},"count":1}"#.to_vec(),
            200,
            "",
        ),
        (
            "GET",
            "/ca/{file}",
            "/ca/sign.der".into(),
            vec![],
            503,
            "service_down",
        ),
    ];
    for (method, path, uri, body, status, code) in cases {
        let answer = call(&world, method, &uri, body).await;
        assert_eq!(answer.status.as_u16(), status, "{method} {uri}");
        if !code.is_empty() {
            let value: Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(value["error"], code, "{method} {uri}");
        }
        check_documented(&doc, method, path, &uri, &answer);
    }
}

#[tokio::test]
async fn other_methods_on_documented_paths_get_the_routers_405() {
    let doc = document();
    let world = world();
    let documented = documented(&doc);
    for path in documented.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        let item = &doc["paths"][path];
        let (_, op) = item.as_object().unwrap().iter().next().unwrap();
        let uri = example_uri(&doc, path, op);
        for method in METHODS {
            if documented.contains(&(method.to_string(), path.clone())) {
                continue;
            }
            let answer = call(&world, method, &uri, Vec::new()).await;
            assert!(
                answer.status == StatusCode::METHOD_NOT_ALLOWED && answer.is_unrouted(),
                "{method} {uri} is served ({}) but not documented",
                answer.status
            );
        }
    }
    // And the router's 404 looks as the tests above assume.
    let answer = call(&world, "GET", "/no/such/path", Vec::new()).await;
    assert!(answer.status == StatusCode::NOT_FOUND && answer.is_unrouted());
}

#[tokio::test]
async fn the_document_is_served_at_openapi_json() {
    let answer = call(&world(), "GET", "/openapi.json", Vec::new()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.body, DOCUMENT.as_bytes());
}

#[tokio::test]
async fn the_served_document_names_the_listener_it_was_asked_from() {
    let request = Request::builder()
        .uri("/openapi.json")
        .header(header::HOST, "127.0.0.1:18765")
        .body(Body::empty())
        .unwrap();
    let response = router(world()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served["servers"][0]["url"], "http://127.0.0.1:18765");
    // Everything else is the committed document.
    let mut committed = document();
    committed["servers"] = served["servers"].clone();
    assert_eq!(served, committed);
}

/// A one-path extension document with `components`.
fn extension_document(path: &str, error_schema: Value) -> &'static str {
    let document = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "extension", "version": "0"},
        "tags": [{"name": "ext", "description": "An extension."}],
        "paths": {path: {"get": {"operationId": "ext", "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": {"Error": error_schema, "ExtOnly": {"type": "string"}}},
    });
    Box::leak(document.to_string().into_boxed_str())
}

#[tokio::test]
async fn an_extensions_document_joins_the_served_one_and_its_routes_are_served() {
    use mock_jlis::routes::{router_with, Extension, OpenApiError};
    let doc = document();
    let same_error = doc["components"]["schemas"]["Error"].clone();
    let extension = |path: &'static str, error: Value| Extension {
        routes: axum::Router::new().route(path, axum::routing::get(|| async { "ext" })),
        document: extension_document(path, error),
    };
    let app = router_with(
        world(),
        vec![extension("/ext/v1/thing", same_error.clone())],
    )
    .unwrap();
    let request = Request::builder()
        .uri("/openapi.json")
        .header(header::HOST, "127.0.0.1:18766")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let served: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(served["servers"][0]["url"], "http://127.0.0.1:18766");
    assert_eq!(served["info"], doc["info"], "the world's document leads");
    assert!(served["paths"]["/ext/v1/thing"]["get"].is_object());
    assert!(served["paths"]["/healthz"]["get"].is_object());
    assert_eq!(served["components"]["schemas"]["ExtOnly"]["type"], "string");
    assert_eq!(served["components"]["schemas"]["Error"], same_error);
    assert!(served["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "ext"));
    let response = app
        .oneshot(Request::get("/ext/v1/thing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A path twice, or a component of the same name that differs, is refused by name.
    let err = router_with(world(), vec![extension("/healthz", same_error)]).unwrap_err();
    assert!(
        matches!(err, OpenApiError::PathTwice(ref p) if p == "/healthz"),
        "{err}"
    );
    let err = router_with(world(), vec![extension("/ext/v2", serde_json::json!({}))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "components/schemas/Error is documented twice, differently"
    );
}
