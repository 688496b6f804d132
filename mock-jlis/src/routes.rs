//! The HTTP surface (DESIGN §4): health, CA certificates, the card admin API and the APDU bridge.
//!
//! Handlers are thin: parse, call [`World`], map the outcome. Client mistakes get a 4xx with a
//! stable machine-readable `error` code, never a 500.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sim_card::CardId;

use crate::clock::{parse_duration, ClockError};
use crate::events::EventRequest;
use crate::faults::{Endpoint, FaultKind, FaultRule};
use crate::publish::CrlPartition;
use crate::world::{Hierarchy, World, WorldError};

/// The longest command APDU: extended case 4 with 65535 data bytes.
const MAX_APDU: usize = 4 + 3 + 65535 + 2;
/// Admin request bodies are small JSON documents.
const MAX_ADMIN_BODY: usize = 64 * 1024;

/// All routes of the world, ready to serve or to call with `tower::ServiceExt::oneshot`.
pub fn router(world: Arc<World>) -> Router {
    let admin = Router::new()
        .route("/admin/v1/cards", post(provision_card))
        .route("/admin/v1/cards/{card}", get(card_view))
        .route("/admin/v1/events", post(life_event))
        .route("/admin/v1/clock", get(clock_view).post(move_clock))
        .route(
            "/admin/v1/faults",
            get(list_faults).post(arm_fault).delete(clear_faults),
        )
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY));
    let bridge = Router::new()
        .route("/cards/{card}/apdu", post(apdu))
        .layer(DefaultBodyLimit::max(MAX_APDU));
    let status = Router::new()
        .route("/crl/{file}", get(full_crl))
        .route("/crl/{hierarchy}/{file}", get(partition_crl))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .layer(DefaultBodyLimit::max(mock_ca::ocsp::MAX_REQUEST_LEN));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(openapi))
        .merge(status)
        .route("/ca/{file}", get(ca_certificate))
        .merge(admin)
        .merge(bridge)
        .merge(crate::jlis_routes::routes())
        .layer(axum::middleware::from_fn_with_state(
            world.clone(),
            inject_faults,
        ))
        .with_state(world)
}

/// Every `(method, path)` [`router`] serves besides [`crate::jlis_routes::ROUTES`], in axum's
/// path syntax. `openapi.json` documents exactly these; `tests/openapi.rs` keeps all three in step.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/ca/{file}"),
    ("GET", "/crl/{file}"),
    ("GET", "/crl/{hierarchy}/{file}"),
    ("POST", "/ocsp"),
    ("GET", "/ocsp/{*request}"),
    ("POST", "/admin/v1/cards"),
    ("GET", "/admin/v1/cards/{card}"),
    ("POST", "/admin/v1/events"),
    ("GET", "/admin/v1/clock"),
    ("POST", "/admin/v1/clock"),
    ("GET", "/admin/v1/faults"),
    ("POST", "/admin/v1/faults"),
    ("DELETE", "/admin/v1/faults"),
    ("POST", "/cards/{card}/apdu"),
];

/// `GET /openapi.json`: the OpenAPI 3.1 document of this listener.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
}

/// A client-facing error: HTTP status, stable code, human message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
            WorldError::HasHistory(_) => {
                ApiError::new(StatusCode::CONFLICT, "card_has_history", message)
            }
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
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()))
}

fn parse_card(text: &str) -> Result<CardId, ApiError> {
    text.parse().map_err(|err: sim_card::CardIdError| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_card_id", err.to_string())
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionRequest {
    card: String,
    /// Persona overrides; validated by the world (JSON is YAML, so one parser serves both).
    #[serde(default)]
    persona: Option<serde_json::Value>,
}

async fn provision_card(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: ProvisionRequest = parse_json(&body)?;
    let card = parse_card(&request.card)?;
    let world2 = world.clone();
    let view = tokio::task::spawn_blocking(move || {
        let overrides = request.persona.map(|value| value.to_string());
        let provisioned = world2.provision(&card, overrides.as_deref())?;
        Ok::<_, WorldError>(world2.view(&provisioned))
    })
    .await
    .map_err(|err| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "world_unavailable",
            err.to_string(),
        )
    })??;
    Ok((StatusCode::OK, Json(view)))
}

async fn life_event(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: EventRequest = parse_json(&body)?;
    let outcome = blocking(world, move |world| world.apply_event(&request)).await?;
    Ok((StatusCode::OK, Json(outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    /// A duration to move forward by: `15m`, `1d`, `1h30m`.
    #[serde(default)]
    advance: Option<String>,
    /// An RFC 3339 instant to move to (forward only).
    #[serde(default, with = "time::serde::rfc3339::option")]
    set: Option<time::OffsetDateTime>,
}

async fn arm_fault(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let rule: FaultRule = parse_json(&body)?;
    world
        .faults()
        .arm(rule)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "invalid_fault", err.to_string()))?;
    Ok(Json(world.faults().list()))
}

async fn list_faults(State(world): State<Arc<World>>) -> impl IntoResponse {
    Json(world.faults().list())
}

async fn clear_faults(State(world): State<Arc<World>>) -> impl IntoResponse {
    world.faults().clear();
    Json(world.faults().list())
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
    match fault {
        FaultKind::Delay { millis } => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            next.run(request).await
        }
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

async fn full_crl(
    State(world): State<Arc<World>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let hierarchy = match file.as_str() {
        "sign.crl" => Hierarchy::Sign,
        "auth.crl" => Hierarchy::Auth,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no CRL {file:?}: expected sign.crl or auth.crl"),
            ))
        }
    };
    crl_response(world, hierarchy, CrlPartition::Full).await
}

async fn partition_crl(
    State(world): State<Arc<World>>,
    Path((hierarchy, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no CRL /crl/{hierarchy}/{file}: expected /crl/sign|auth/<5-digit municipality code>.crl"),
        )
    };
    let hierarchy_value = match hierarchy.as_str() {
        "sign" => Hierarchy::Sign,
        "auth" => Hierarchy::Auth,
        _ => return Err(not_found()),
    };
    let code = file.strip_suffix(".crl").ok_or_else(not_found)?;
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found());
    }
    crl_response(
        world,
        hierarchy_value,
        CrlPartition::Municipality(code.to_owned()),
    )
    .await
}

async fn crl_response(
    world: Arc<World>,
    hierarchy: Hierarchy,
    partition: CrlPartition,
) -> Result<Response, ApiError> {
    let der = blocking(world, move |world| world.crl(hierarchy, &partition)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/pkix-crl")],
        der.as_ref().clone(),
    )
        .into_response())
}

async fn ocsp_post(State(world): State<Arc<World>>, body: Bytes) -> Response {
    ocsp_response(world.ocsp(&body))
}

async fn ocsp_get(State(world): State<Arc<World>>, Path(request): Path<String>) -> Response {
    match mock_ca::ocsp::OcspRequest::from_get_path(&request) {
        Ok(parsed) => ocsp_response(world.ocsp_request(&parsed)),
        Err(_) => ocsp_response(
            mock_ca::ocsp::OcspResponse::error(mock_ca::ocsp::OcspErrorStatus::MalformedRequest)
                .into(),
        ),
    }
}

/// OCSP answers every request with 200 and an OCSPResponse; errors are response statuses.
fn ocsp_response(der: Arc<[u8]>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/ocsp-response")],
        Body::from(Bytes::from_owner(ArcBytes(der))),
    )
        .into_response()
}

/// Lets a cached response go out without copying it.
struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

async fn clock_view(State(world): State<Arc<World>>) -> impl IntoResponse {
    Json(clock_json(&world))
}

async fn move_clock(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: ClockRequest = parse_json(&body)?;
    let mode = match (request.advance, request.set) {
        (Some(advance), None) => world
            .clock()
            .advanced(parse_duration(&advance).map_err(WorldError::from)?)
            .map_err(WorldError::from)?,
        (None, Some(at)) => world.clock().set_to(at).map_err(WorldError::from)?,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_clock",
                "give exactly one of `advance` (e.g. \"15m\") or `set` (RFC 3339)",
            ))
        }
    };
    blocking(world.clone(), move |world| world.set_clock(mode)).await?;
    Ok(Json(clock_json(&world)))
}

fn clock_json(world: &World) -> serde_json::Value {
    let now = world.now();
    serde_json::json!({
        "now": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "mode": world.clock().mode(),
        "cadence": world.cadence(),
    })
}

/// Runs world work that touches the store or derives keys off the async threads.
async fn blocking<T: Send + 'static>(
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

async fn card_view(
    State(world): State<Arc<World>>,
    Path(card): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let card = parse_card(&card)?;
    let provisioned = world.card(&card).ok_or(WorldError::UnknownCard(card))?;
    Ok(Json(world.view(&provisioned)))
}

async fn apdu(
    State(world): State<Arc<World>>,
    Path(card): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let card = parse_card(&card)?;
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_apdu",
            "the request body must be a command APDU (raw bytes)",
        ));
    }
    let provisioned = world.card(&card).ok_or(WorldError::UnknownCard(card))?;
    let response = provisioned.transmit(&body);
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        response,
    )
        .into_response())
}

async fn ca_certificate(
    State(world): State<Arc<World>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (name, pem) = match file.rsplit_once('.') {
        Some((name, "der")) => (name, false),
        Some((name, "pem")) => (name, true),
        _ => return Err(not_found_ca(&file)),
    };
    let hierarchy = match name {
        "sign" => Hierarchy::Sign,
        "auth" => Hierarchy::Auth,
        _ => return Err(not_found_ca(&file)),
    };
    let ca = world.ca(hierarchy);
    Ok(if pem {
        (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            ca.certificate_pem().to_owned(),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            ca.certificate_der().to_vec(),
        )
            .into_response()
    })
}

fn not_found_ca(file: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no CA file {file:?}: expected sign.der, sign.pem, auth.der or auth.pem"),
    )
}

/// `error: cause: cause`, so a client sees which field or file was wrong.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
