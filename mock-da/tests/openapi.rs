//! `mock-da/openapi.json` describes exactly what `routes::router` serves.
//!
//! axum cannot list a router's routes, so three things are kept equal: the `.route(...)` calls
//! in `src/routes.rs`, its `ROUTES` list, and the document's operations. Then every operation is
//! called, in `ROUTES` order, with the document's own examples through the world's router with
//! the `/da` extension (as `jpki-sim up` serves it): it must be served, answer a documented
//! status and content type, and its JSON must match the documented schema. Every other method
//! on a documented path gets the router's 405. The checks common to every document are
//! `mock_jlis::openapi_check`'s, the same as the world's document gets; the routes, examples and
//! refusals are this crate's.

mod support;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use mock_da::provider::{REALM_PATH, SIGN_TRANSACTIONS_PATH};
use mock_da::routes::ROUTES;
use mock_da::test_response::TEST_RESPONSE_PATH;
use mock_jlis::openapi_check::{
    check_document, check_documented, check_route_lists, documented, resolve, scan_router_source,
    validate, Answer, METHODS,
};
use serde_json::{json, Value};
use support::Sim;
use tower::ServiceExt;

const DOCUMENT: &str = mock_da::OPENAPI;
const ROUTER_SOURCE: &str = include_str!("../src/routes.rs");
const CARD: &str = "felica:0123456789ABCDEF";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    check_document(&doc, 40);
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        for tag in op["tags"].as_array().unwrap() {
            assert!(tags.contains(tag.as_str().unwrap()), "{method} {path}");
        }
        // The admin token guards `/da/admin/` only (served-world checks the guard itself).
        let admin = path.starts_with("/da/admin/");
        let guarded = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
        assert_eq!(guarded, admin, "{method} {path}");
        if admin {
            assert_eq!(op["security"], json!([{"bearerAuth": []}, {}]));
            assert!(op["responses"].get("401").is_some(), "{method} {path}");
        }
    }
}

#[test]
fn the_route_list_matches_the_router_source_and_the_document() {
    for (_, path) in ROUTES {
        assert!(
            path.starts_with(REALM_PATH)
                || path.starts_with(SIGN_TRANSACTIONS_PATH)
                || path.starts_with("/da/admin/v1/")
                || *path == TEST_RESPONSE_PATH,
            "{path}"
        );
    }
    let in_source = scan_router_source("src/routes.rs", ROUTER_SOURCE);
    check_route_lists(ROUTES, &in_source, &document());
}

/// The world's router with the `/da` extension, as `jpki-sim up` serves it, and `CARD`.
async fn served() -> (Sim, Router) {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let extension = mock_da::extension(sim.world.clone()).unwrap();
    let app = mock_jlis::routes::router_with(sim.world.clone(), vec![extension]).unwrap();
    (sim, app)
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    Answer::read(app.clone().oneshot(request).await.unwrap()).await
}

/// The operation's request from the document's examples: path and query parameters, the body
/// in its media type.
fn example_request(doc: &Value, method: &str, path: &str, op: &Value) -> Request<Body> {
    let mut uri = path.to_owned();
    let mut query = Vec::new();
    for param in op["parameters"].as_array().into_iter().flatten() {
        let param = resolve(doc, param);
        let name = param["name"].as_str().unwrap();
        let Some(example) = param["example"].as_str() else {
            assert_ne!(param["required"], true, "{path}: {name} needs an example");
            continue;
        };
        match param["in"].as_str().unwrap() {
            "path" => uri = uri.replace(&format!("{{{name}}}"), example),
            "query" => query.push((name.to_owned(), example.to_owned())),
            other => panic!("{path}: a parameter in {other}"),
        }
    }
    assert!(!uri.contains('{'), "{path}: undocumented parameter");
    if !query.is_empty() {
        uri = format!("{uri}?{}", serde_urlencoded::to_string(&query).unwrap());
    }
    let builder = Request::builder().method(method).uri(uri);
    let Some(content) = op["requestBody"]["content"].as_object() else {
        return builder.body(Body::empty()).unwrap();
    };
    let (media, body) = content.iter().next().unwrap();
    let example = &body["example"];
    assert!(!example.is_null(), "{path}: the body needs an example");
    if let Err(err) = validate(doc, &body["schema"], example) {
        panic!("{method} {path}: the request example does not match its schema: {err}");
    }
    let bytes = match media.as_str() {
        "application/json" => example.to_string(),
        "application/x-www-form-urlencoded" => serde_urlencoded::to_string(example).unwrap(),
        other => panic!("{path}: no sample body for {other}"),
    };
    builder
        .header(header::CONTENT_TYPE, media.as_str())
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn every_documented_operation_is_served_as_documented() {
    let doc = document();
    let (_sim, app) = served().await;
    let mut statuses = BTreeSet::new();
    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        let answer = call(&app, example_request(&doc, method, path, op)).await;
        check_documented(&doc, method, path, path, &answer);
        statuses.insert((*method, *path, answer.status.as_u16()));
    }
    // The examples go the whole way where they can: the client registered, the login armed
    // and taken by the authorization request.
    for expected in [
        ("POST", "/da/admin/v1/clients", 200),
        ("POST", "/da/admin/v1/logins", 200),
        (
            "GET",
            "/da/api/realms/main/protocol/openid-connect/auth",
            302,
        ),
        ("DELETE", "/da/admin/v1/clients/{client_id}", 200),
    ] {
        assert!(statuses.contains(&expected), "{expected:?} in {statuses:?}");
    }
}

#[tokio::test]
async fn refusals_are_documented_with_their_status_and_code() {
    let doc = document();
    let (_sim, app) = served().await;
    let big = "x".repeat(70 * 1024);
    let json = |method: &str, uri: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let cases = [
        (
            "POST",
            "/da/admin/v1/faults",
            json("POST", "/da/admin/v1/faults", r#"{"fault":{"kind":"x"}}"#),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/da/admin/v1/faults",
            json(
                "POST",
                "/da/admin/v1/faults",
                r#"{"fault":{"kind":"foreign_state"},"count":0}"#,
            ),
            400,
            "invalid_fault",
        ),
        (
            "POST",
            "/da/admin/v1/faults",
            json("POST", "/da/admin/v1/faults", &big),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/da/admin/v1/clients",
            json(
                "POST",
                "/da/admin/v1/clients",
                r#"{"client_id":"R-1","redirect_uris":["https://sp/cb"],"jwks":{"keys":[]}}"#,
            ),
            422,
            "invalid_client",
        ),
        (
            "GET",
            "/da/admin/v1/clients/{client_id}",
            json("GET", "/da/admin/v1/clients/NOPE", ""),
            404,
            "client_not_found",
        ),
        (
            "POST",
            "/da/admin/v1/logins",
            json("POST", "/da/admin/v1/logins", r#"{"card":"x"}"#),
            400,
            "invalid_card_id",
        ),
        (
            "POST",
            "/da/admin/v1/logins",
            json(
                "POST",
                "/da/admin/v1/logins",
                r#"{"card":"felica:00000000000000FF"}"#,
            ),
            404,
            "card_not_found",
        ),
        (
            "GET",
            "/da/api/realms/main/protocol/openid-connect/auth",
            json(
                "GET",
                "/da/api/realms/main/protocol/openid-connect/auth?client_id=NOPE",
                "",
            ),
            400,
            "invalid_client",
        ),
        (
            "POST",
            "/da/api/realms/main/protocol/openid-connect/token",
            json(
                "POST",
                "/da/api/realms/main/protocol/openid-connect/token",
                "{}",
            ),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/da/admin/v1/faults",
            json(
                "POST",
                "/da/admin/v1/faults",
                r#"{"fault":{"kind":"token_error","status":503},"count":1}"#,
            ),
            200,
            "",
        ),
        (
            "POST",
            "/da/api/realms/main/protocol/openid-connect/token",
            json(
                "POST",
                "/da/api/realms/main/protocol/openid-connect/token",
                "{}",
            ),
            503,
            "temporarily_unavailable",
        ),
        (
            "POST",
            "/da/admin/v1/settings",
            json(
                "POST",
                "/da/admin/v1/settings",
                r#"{"test_response_pages":true}"#,
            ),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/da/test-response",
            Request::post("/da/test-response")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("request=x&response=normal"))
                .unwrap(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/da/test-response",
            Request::post("/da/test-response")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from("request=x&response=normal"))
                .unwrap(),
            403,
            "cross_origin",
        ),
        (
            "GET",
            "/da/api/sign-transactions/{sign_transaction_id}/result",
            Request::get("/da/api/sign-transactions/x/result")
                .header(header::AUTHORIZATION, "Bearer nope")
                .body(Body::empty())
                .unwrap(),
            401,
            "invalid_token",
        ),
    ];
    for (method, path, request, status, code) in cases {
        let answer = call(&app, request).await;
        assert_eq!(answer.status.as_u16(), status, "{method} {path}");
        if !code.is_empty() {
            let value: Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(value["error"], code, "{method} {path}");
        }
        check_documented(&doc, method, path, path, &answer);
    }
}

#[tokio::test]
async fn other_methods_on_documented_paths_get_the_routers_405() {
    let doc = document();
    let (_sim, app) = served().await;
    let documented = documented(&doc);
    for path in documented.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        let uri = path
            .replace("{client_id}", "RP1")
            .replace("{sign_transaction_id}", "x");
        for method in METHODS {
            if documented.contains(&(method.to_string(), path.clone())) {
                continue;
            }
            let request = Request::builder()
                .method(*method)
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let answer = call(&app, request).await;
            assert!(
                answer.status == StatusCode::METHOD_NOT_ALLOWED && answer.is_unrouted(),
                "{method} {uri} is served ({}) but not documented",
                answer.status
            );
        }
    }
}

#[tokio::test]
async fn the_listeners_document_carries_the_da_paths_beside_the_worlds() {
    let (_sim, app) = served().await;
    let answer = call(
        &app,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let served: Value = serde_json::from_slice(&answer.body).unwrap();
    let ours = document();
    for (path, item) in ours["paths"].as_object().unwrap() {
        assert_eq!(&served["paths"][path], item, "{path}");
    }
    assert!(served["paths"]["/admin/v1/faults"].is_object());
    assert_eq!(served["info"]["title"], "jpki-sim");
    for (name, schema) in ours["components"]["schemas"].as_object().unwrap() {
        assert_eq!(&served["components"]["schemas"][name], schema, "{name}");
    }
}
