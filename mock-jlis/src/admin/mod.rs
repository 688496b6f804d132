//! `/admin/v1`: provisioning cards, life events, the clock and fault injection, and the JSON
//! views ([`views`]) they answer with.

pub mod views;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::clock::parse_duration;
use crate::events::EventRequest;
use crate::faults::FaultRule;
use crate::routes::{blocking, parse_card, parse_json, ApiError};
use crate::world::{World, WorldError};

/// Admin request bodies are small JSON documents.
const MAX_ADMIN_BODY: usize = 64 * 1024;

/// The admin routes, to merge into [`crate::routes::router`].
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/admin/v1/cards", get(card_list).post(provision_card))
        .route("/admin/v1/cards/{card}", get(card_view))
        .route("/admin/v1/events", post(life_event))
        .route(
            "/admin/v1/requests",
            get(recent_requests).delete(forget_requests),
        )
        .route("/admin/v1/clock", get(clock_view).post(move_clock))
        .route(
            "/admin/v1/faults",
            get(list_faults).post(arm_fault).delete(clear_faults),
        )
        .layer(DefaultBodyLimit::max(MAX_ADMIN_BODY))
}

/// Every `(method, path)` of [`routes`], in axum's path syntax (see [`crate::routes::ROUTES`]).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/v1/cards"),
    ("POST", "/admin/v1/cards"),
    ("GET", "/admin/v1/cards/{card}"),
    ("POST", "/admin/v1/events"),
    ("GET", "/admin/v1/requests"),
    ("DELETE", "/admin/v1/requests"),
    ("GET", "/admin/v1/clock"),
    ("POST", "/admin/v1/clock"),
    ("GET", "/admin/v1/faults"),
    ("POST", "/admin/v1/faults"),
    ("DELETE", "/admin/v1/faults"),
];

/// `POST /admin/v1/cards`. Public so that fuzz targets (fuzz/) read bodies as the route does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// The card id, `felica:<16 hex>` or `typea:<8|14|20 hex>`.
    pub card: String,
    /// Persona overrides; validated by the world (JSON is YAML, so one parser serves both).
    #[serde(default)]
    pub persona: Option<serde_json::Value>,
}

async fn provision_card(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: ProvisionRequest = parse_json(&body)?;
    let card = parse_card(&request.card)?;
    let view = blocking(world, move |world| {
        let overrides = request.persona.map(|value| value.to_string());
        let provisioned = world.provision(&card, overrides.as_deref())?;
        Ok(world.view(&provisioned))
    })
    .await?;
    Ok((StatusCode::OK, Json(view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecentQuery {
    /// The newest this many (default and most: the journal's capacity).
    #[serde(default)]
    limit: Option<usize>,
}

async fn recent_requests(
    State(world): State<Arc<World>>,
    query: Result<axum::extract::Query<RecentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let query = query
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", err.body_text()))?;
    let limit = query.limit.unwrap_or(crate::journal::JOURNAL_CAPACITY);
    Ok(Json(
        serde_json::json!({ "requests": world.journal().recent(limit) }),
    ))
}

async fn forget_requests(State(world): State<Arc<World>>) -> impl IntoResponse {
    world.journal().clear();
    StatusCode::NO_CONTENT
}

async fn card_list(State(world): State<Arc<World>>) -> impl IntoResponse {
    let mut cards: Vec<views::CardSummary> = world
        .cards()
        .iter()
        .map(|card| views::CardSummary::of(&card.id, &card.state()))
        .collect();
    cards.sort_by_cached_key(|summary| summary.card.to_string());
    Json(views::CardList { cards })
}

async fn card_view(
    State(world): State<Arc<World>>,
    Path(card): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let card = parse_card(&card)?;
    let provisioned = world.card(&card).ok_or(WorldError::UnknownCard(card))?;
    Ok(Json(world.view(&provisioned)))
}

async fn life_event(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request: EventRequest = parse_json(&body)?;
    let outcome = blocking(world, move |world| world.apply_event(&request)).await?;
    Ok((StatusCode::OK, Json(outcome)))
}

/// `POST /admin/v1/clock`. Public so that fuzz targets (fuzz/) read bodies as the route does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// A duration to move forward by: `15m`, `1d`, `1h30m`.
    #[serde(default)]
    pub advance: Option<String>,
    /// An RFC 3339 instant to move to (forward only).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub set: Option<time::OffsetDateTime>,
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
