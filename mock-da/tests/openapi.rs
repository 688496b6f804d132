//! `mock-da/openapi.json` describes exactly what `routes::router` serves.
//!
//! axum cannot list a router's routes, so three things are kept equal: the `.route(...)` calls
//! in `src/routes.rs`, its `ROUTES` list, and the document's operations. Then every operation is
//! called, in `ROUTES` order, with the document's own examples through the world's router with
//! the `/da` extension (as `jpki-sim up` serves it): it must be served, answer a documented
//! status and content type, and its JSON must match the documented schema. Every other method
//! on a documented path gets the router's 405.

mod support;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use mock_da::provider::{REALM_PATH, SIGN_TRANSACTIONS_PATH};
use mock_da::routes::ROUTES;
use serde_json::{json, Value};
use support::Sim;
use tower::ServiceExt;

const DOCUMENT: &str = mock_da::OPENAPI;
const ROUTER_SOURCE: &str = include_str!("../src/routes.rs");
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
const CARD: &str = "felica:0123456789ABCDEF";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

/// `(METHOD, path)` of every operation of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                set.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    set
}

/// The `(METHOD, path)` of every `.route("path", get(..).post(..))` in `source`: the methods
/// are the calls at the method router's top level.
fn scan_routes(source: &str) -> BTreeSet<(String, String)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices(".route(") {
        let rest = &code[at + ".route(".len()..];
        let rest = rest.trim_start();
        assert!(
            rest.starts_with('"'),
            "a route whose path is not a literal: {}",
            rest.lines().next().unwrap()
        );
        let close = 1 + rest[1..].find('"').unwrap();
        let path = &rest[1..close];
        let (mut depth, mut ident) = (0usize, String::new());
        for c in rest[close + 1..].chars() {
            match c {
                '(' => {
                    let method = ident.to_uppercase();
                    if depth == 0 && METHODS.contains(&method.as_str()) {
                        found.insert((method, path.to_owned()));
                    }
                    depth += 1;
                }
                ')' if depth == 0 => break,
                ')' => depth -= 1,
                _ => {}
            }
            if c.is_ascii_alphanumeric() || c == '_' {
                ident.push(c);
            } else {
                ident.clear();
            }
        }
    }
    found
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => resolve(doc, doc.pointer(&target[1..]).expect("resolvable ref")),
        None => value,
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 40, "{} refs", refs.len());
    for target in refs {
        let pointer = target.strip_prefix('#').expect("only local refs");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
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
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(listed.len(), ROUTES.len(), "ROUTES has duplicates");
    for (_, path) in ROUTES {
        assert!(
            path.starts_with(REALM_PATH)
                || path.starts_with(SIGN_TRANSACTIONS_PATH)
                || path.starts_with("/da/admin/v1/"),
            "{path}"
        );
    }
    assert!(!ROUTER_SOURCE.contains(".nest("), "scan nested routers too");
    let in_source = scan_routes(ROUTER_SOURCE);
    let unlisted: Vec<_> = in_source.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&in_source).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "routed but not in ROUTES: {unlisted:?}; in ROUTES but not routed: {stale:?}"
    );
    let doc = documented(&document());
    let missing: Vec<_> = listed.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&listed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}; documented but not served: {extra:?}"
    );
}

/// The world's router with the `/da` extension, as `jpki-sim up` serves it, and `CARD`.
async fn served() -> (Sim, Router) {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let extension = mock_da::extension(sim.world.clone()).unwrap();
    let app = mock_jlis::routes::router_with(sim.world.clone(), vec![extension]).unwrap();
    (sim, app)
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    /// The HTTP layer's own answer for a path or method nothing routes.
    fn is_unrouted(&self) -> bool {
        let code = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned));
        matches!(
            (self.status, code.as_deref()),
            (StatusCode::NOT_FOUND, Some("no_route"))
                | (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        )
    }
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body: body.to_vec(),
    }
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
        check_documented(&doc, method, path, &answer);
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

/// A documented status (or its `5XX` range), content type, and JSON as documented.
fn check_documented(doc: &Value, method: &str, path: &str, answer: &Answer) {
    let op = &doc["paths"][path][method.to_lowercase()];
    let what = format!(
        "{method} {path} -> {} {:?} {}",
        answer.status,
        answer.content_type,
        String::from_utf8_lossy(&answer.body)
            .chars()
            .take(300)
            .collect::<String>()
    );
    assert!(!answer.is_unrouted(), "not served: {what}");
    let range = format!("{}XX", answer.status.as_u16() / 100);
    let response = op["responses"]
        .get(answer.status.as_str())
        .or_else(|| op["responses"].get(&range))
        .unwrap_or_else(|| panic!("undocumented status: {what}"));
    let response = resolve(doc, response);
    let media = answer
        .content_type
        .as_deref()
        .map(|t| t.split(';').next().unwrap().trim().to_owned());
    match (media.as_deref(), response.get("content")) {
        (None, None) => {}
        (Some(media), Some(content)) => {
            let documented = content
                .get(media)
                .unwrap_or_else(|| panic!("undocumented content type: {what}"));
            if media.ends_with("json") {
                let value: Value = serde_json::from_slice(&answer.body).unwrap();
                if let Err(err) = validate(doc, &documented["schema"], &value) {
                    panic!("the answer does not match its schema: {err}\n{what}");
                }
            }
        }
        _ => panic!("content documented differently: {what}"),
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
        check_documented(&doc, method, path, &answer);
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

/// The subset of JSON Schema the document uses (`format` and `pattern` are not checked).
fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let target_schema = doc.pointer(&target[1..]).expect("resolvable ref");
        validate(doc, target_schema, value).map_err(|e| format!("{target}: {e}"))?;
    }
    for inner in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(doc, inner, value)?;
    }
    if let Some(types) = schema.get("type").and_then(Value::as_str) {
        let fits = match types {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => false,
        };
        if !fits {
            return Err(format!("{value} is not {types}"));
        }
    }
    if let Some(expected) = schema.get("const") {
        if expected != value {
            return Err(format!("{value} is not {expected}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{value} is not one of {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_i64),
        value.as_i64(),
    ) {
        if n < min {
            return Err(format!("{n} is below {min}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("missing {name:?} in {value}"));
            }
        }
        for (name, inner) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => validate(doc, s, inner).map_err(|e| format!(".{name}: {e}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("undocumented property {name:?}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, inner) in array.iter().enumerate() {
            validate(doc, items, inner).map_err(|e| format!("[{i}]: {e}"))?;
        }
    }
    Ok(())
}
