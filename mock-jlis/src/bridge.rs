//! The APDU bridge: `POST /cards/{card}/apdu` sends one command APDU to a provisioned card and
//! answers its response APDU, for SDKs that reach the card over HTTP instead of a reader.
//!
//! A command may sign (INTERNAL AUTHENTICATE, COMPUTE DIGITAL SIGNATURE) and every PIN
//! verification persists the counters to the store, so the exchange runs on the blocking pool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::routes::{blocking, parse_card, ApiError};
use crate::world::{World, WorldError};

/// The longest command APDU: extended case 4 with 65535 data bytes.
const MAX_APDU: usize = 4 + 3 + 65535 + 2;

/// The bridge route, to merge into [`crate::routes::router`].
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/cards/{card}/apdu", post(apdu))
        .layer(DefaultBodyLimit::max(MAX_APDU))
}

/// Every `(method, path)` of [`routes`], in axum's path syntax (see [`crate::routes::ROUTES`]).
pub const ROUTES: &[(&str, &str)] = &[("POST", "/cards/{card}/apdu")];

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
    let response = blocking(world, move |_| Ok(provisioned.transmit(&body))).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        response,
    )
        .into_response())
}
