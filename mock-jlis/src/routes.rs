//! The HTTP surface (docs/contracts.md §4): health and the OpenAPI document here; the CA's routes from
//! mock-ca, the card admin API (`admin`), the APDU bridge (`bridge`), the J-LIS API
//! (`jlis_routes`) and any [`Extension`] (the Digital Agency's `/da`, from a crate this one does
//! not know) merged in; generic faults injected around all of them, every request journaled.
//!
//! Handlers are thin: parse, call [`World`], map the outcome. Client mistakes get a 4xx with a
//! stable machine-readable `error` code, never a 500.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sim_card::CardId;

use crate::clock::ClockError;
use crate::faults::{Endpoint, FaultKind};
use crate::world::{World, WorldError};

/// All routes of the world, ready to serve or to call with `tower::ServiceExt::oneshot`: this
/// module's own, the CA's (CRLs, OCSP, CA certificates from [`mock_ca::publication`]), the admin
/// API, the APDU bridge and the J-LIS API, all behind the fault-injection middleware.
pub fn router(world: Arc<World>) -> Router {
    build(world, Router::new(), None)
}

/// Routes served beside the world's on its listener, with the OpenAPI document of their paths.
/// Merged before the middleware, they are journaled and get the HTTP layer's JSON errors like
/// the world's own; the world's faults never target them (their paths are no endpoint group).
pub struct Extension {
    /// The routes, carrying their own state.
    pub routes: Router<Arc<World>>,
    /// Their OpenAPI 3.1 document (JSON): its paths, tags and components join the world's at
    /// `GET /openapi.json`.
    pub document: &'static str,
}

/// Why extensions' documents cannot join the world's.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// The document is not JSON.
    #[error("an extension's OpenAPI document is not JSON")]
    Json(#[source] serde_json::Error),
    /// The document has no `paths` object.
    #[error("an extension's OpenAPI document has no paths")]
    NoPaths,
    /// Two documents describe the same path.
    #[error("the path {0} is documented twice")]
    PathTwice(String),
    /// Two documents give one component name (`schemas/Error`) or tag different contents; the
    /// same contents are one component.
    #[error("{0} is documented twice, differently")]
    ConflictTwice(String),
}

/// [`router`] with `extensions` merged in, and their documents in the one served at
/// `GET /openapi.json`.
pub fn router_with(world: Arc<World>, extensions: Vec<Extension>) -> Result<Router, OpenApiError> {
    let mut document: serde_json::Value =
        serde_json::from_str(OPENAPI).map_err(OpenApiError::Json)?;
    let mut extra = Router::new();
    for extension in extensions {
        let other = serde_json::from_str(extension.document).map_err(OpenApiError::Json)?;
        merge_document(&mut document, other)?;
        extra = extra.merge(extension.routes);
    }
    Ok(build(world, extra, Some(Arc::new(document))))
}

/// The world's routes and `extra`, behind the middleware; `document` served at
/// `/openapi.json` (`None`: the committed one as it is).
fn build(
    world: Arc<World>,
    extra: Router<Arc<World>>,
    document: Option<Arc<serde_json::Value>>,
) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/openapi.json",
            get(move |headers| openapi(document.clone(), headers)),
        )
        .merge(mock_ca::publication::routes(
            world.publisher().clone(),
            world.clone(),
        ))
        .merge(crate::admin::routes())
        .merge(crate::bridge::routes(world.clone()))
        .merge(crate::jlis_routes::routes())
        .merge(extra)
        .layer(axum::middleware::from_fn_with_state(
            world.clone(),
            inject_faults,
        ))
        .layer(axum::middleware::from_fn_with_state(
            world.clone(),
            crate::journal::record,
        ))
        .layer(axum::middleware::map_response(framework_errors_as_json))
        .with_state(world)
}

/// The HTTP layer's own refusals — no route (404), a method the path does not take (405), a body
/// over the route's limit (413), a body that timed out (408) — in the `{"error", "message"}` shape
/// every other error has, so a client parses one kind of error. The handlers' own JSON answers
/// (a `404 card_not_found`, say) pass untouched; headers such as 405's `Allow` are kept.
async fn framework_errors_as_json(response: Response) -> Response {
    let (code, message) = match response.status() {
        StatusCode::NOT_FOUND => ("no_route", "no such path"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "the path does not take this method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("payload_too_large", "the body is over this route's limit")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the body did not arrive in time"),
        _ => return response,
    };
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = ApiError::new(parts.status, code, message).into_response();
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
}

/// The `(method, path)` [`router`] serves itself, in axum's path syntax; the merged routers list
/// theirs ([`mock_ca::publication::ROUTES`], [`crate::admin::ROUTES`], [`crate::bridge::ROUTES`],
/// [`crate::jlis_routes::ROUTES`]). `openapi.json` documents exactly these; `tests/openapi.rs`
/// keeps them in step.
pub const ROUTES: &[(&str, &str)] = &[("GET", "/healthz"), ("GET", "/openapi.json")];

/// The committed OpenAPI document.
const OPENAPI: &str = include_str!("../openapi.json");

/// Adds `other`'s paths, tags and components to `document`: a path documented twice is refused,
/// a component or tag given twice must be the same.
fn merge_document(
    document: &mut serde_json::Value,
    other: serde_json::Value,
) -> Result<(), OpenApiError> {
    use serde_json::Value;
    let Value::Object(mut other) = other else {
        return Err(OpenApiError::NoPaths);
    };
    let Some(Value::Object(paths)) = other.remove("paths") else {
        return Err(OpenApiError::NoPaths);
    };
    let ours = member(document, "paths");
    for (path, item) in paths {
        if ours.contains_key(&path) {
            return Err(OpenApiError::PathTwice(path));
        }
        ours.insert(path, item);
    }
    if let Some(Value::Object(components)) = other.remove("components") {
        for (section, entries) in components {
            let Value::Object(entries) = entries else {
                continue;
            };
            let ours = member(&mut document["components"], &section);
            for (name, value) in entries {
                match ours.get(&name) {
                    Some(existing) if *existing != value => {
                        return Err(OpenApiError::ConflictTwice(format!(
                            "components/{section}/{name}"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        ours.insert(name, value);
                    }
                }
            }
        }
    }
    if let Some(Value::Array(tags)) = other.remove("tags") {
        if !document["tags"].is_array() {
            document["tags"] = Value::Array(Vec::new());
        }
        if let Some(ours) = document["tags"].as_array_mut() {
            for tag in tags {
                match ours.iter().find(|t| t["name"] == tag["name"]) {
                    Some(existing) if *existing != tag => {
                        return Err(OpenApiError::ConflictTwice(format!("tag {}", tag["name"])))
                    }
                    Some(_) => {}
                    None => ours.push(tag),
                }
            }
        }
    }
    Ok(())
}

/// `value[key]` as an object, made one when it is not (an absent `components`, say).
fn member<'a>(
    value: &'a mut serde_json::Value,
    key: &str,
) -> &'a mut serde_json::Map<String, serde_json::Value> {
    if !value[key].is_object() {
        value[key] = serde_json::Value::Object(serde_json::Map::new());
    }
    match &mut value[key] {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of this listener. Its `servers` entry is the
/// address the client asked by (its `Host`), so that a tool trying the API from the document
/// reaches this listener, not the default `127.0.0.1:8700`; without a `Host`, the document as
/// committed (or as merged with the extensions').
async fn openapi(
    merged: Option<Arc<serde_json::Value>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let committed = || ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response();
    let Some(host) = host else {
        return match merged {
            Some(document) => Json(&*document).into_response(),
            None => committed(),
        };
    };
    let mut document: serde_json::Value = match merged {
        Some(document) => (*document).clone(),
        None => match serde_json::from_str(OPENAPI) {
            Ok(document) => document,
            Err(_) => return committed(),
        },
    };
    document["servers"] = serde_json::json!([{
        "url": format!("http://{host}"),
        "description": "this listener, as the request named it",
    }]);
    Json(document).into_response()
}

/// A client-facing error: HTTP status, stable code, human message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<WorldError> for ApiError {
    fn from(err: WorldError) -> Self {
        let message = error_chain(&err);
        match err {
            WorldError::UnknownCard(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "card_not_found", message)
            }
            WorldError::Persona(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_persona", message)
            }
            WorldError::NotActive { .. } => {
                ApiError::new(StatusCode::CONFLICT, "card_not_active", message)
            }
            WorldError::NoSignatureCertificate { .. } => {
                ApiError::new(StatusCode::CONFLICT, "no_signature_certificate", message)
            }
            WorldError::Clock(ClockError::Backwards { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "clock_backwards", message)
            }
            WorldError::Clock(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_clock", message)
            }
            WorldError::UnknownMunicipality(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            WorldError::PersonaConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "persona_conflict", message)
            }
            // Only overrides make a persona whose name and address outgrow the card's file.
            WorldError::Personalise(crate::personalise::PersonaliseError::FileOverflow {
                ..
            }) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_persona", message),
            // Persona values the CA cannot put in a certificate: the client's, not ours.
            WorldError::Ca(
                mock_ca::Error::InvalidHolderField { .. }
                | mock_ca::Error::SubstituteFlagsLength { .. }
                | mock_ca::Error::BornAfterIssuance { .. }
                | mock_ca::Error::EmptyValidity { .. },
            ) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_persona", message),
            // A certificate issued when the CA is not valid: the card's issue date or the world
            // clock is outside the CA's validity, which the client set.
            WorldError::Ca(mock_ca::Error::OutsideCaValidity { .. }) => ApiError::new(
                StatusCode::CONFLICT,
                "outside_ca_validity",
                format!(
                    "{message}: move card_issued_on, or the world clock, within the CA's validity"
                ),
            ),
            _ => {
                tracing::error!(error = %message, "world operation failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "world_unavailable",
                    message,
                )
            }
        }
    }
}

/// A JSON request body, or `400 invalid_json` saying what did not fit.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()))
}

pub(crate) fn parse_card(text: &str) -> Result<CardId, ApiError> {
    text.parse().map_err(|err: sim_card::CardIdError| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_card_id", err.to_string())
    })
}

/// Applies the generic armed faults of the request's endpoint group (see `faults.rs`).
async fn inject_faults(State(world): State<Arc<World>>, request: Request, next: Next) -> Response {
    let Some(endpoint) = Endpoint::of_path(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(fault) = world.faults().take(endpoint, |f| !f.is_protocol_fault()) else {
        return next.run(request).await;
    };
    tracing::info!(?endpoint, ?fault, "injecting a fault");
    if let FaultKind::Delay { millis } = fault {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        return next.run(request).await;
    }
    // Read the request before answering in its place, as a real server does: a connection left
    // with an unread body is closed after the answer, and a client that pooled it meets a dead
    // connection on its next request.
    let _ = axum::body::to_bytes(request.into_body(), FAULTED_BODY_LIMIT).await;
    faulted(fault)
}

/// The largest request body read before a faulted answer (an OCSP request is a few hundred
/// bytes); a longer one is left unread, and its connection closed.
const FAULTED_BODY_LIMIT: usize = 64 * 1024;

/// The answer a fault gives in place of the route's.
fn faulted(fault: FaultKind) -> Response {
    match fault {
        FaultKind::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "injected fault: service unavailable",
        )
        .into_response(),
        FaultKind::Down => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_down",
            "injected fault: the service is down for maintenance",
        )
        .into_response(),
        FaultKind::Garbage => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            b"\x00\xFFjpki-sim injected garbage\x00".to_vec(),
        )
            .into_response(),
        // Headers go out, then the body fails: the server drops the connection mid-response.
        _ => Response::new(Body::new(BrokenBody)),
    }
}

/// A response body that fails on first read, which makes the server abort the connection.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: connection reset",
        ))))
    }
}

/// Runs world work that signs, touches the store or derives keys off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    world: Arc<World>,
    work: impl FnOnce(&World) -> Result<T, WorldError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || work(&world))
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "world_unavailable",
                err.to_string(),
            )
        })?
        .map_err(ApiError::from)
}

/// `error: cause: cause`, so a client sees which field or file was wrong.
pub(crate) use mock_ca::error_chain;
