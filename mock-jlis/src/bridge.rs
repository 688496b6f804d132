//! The APDU bridge: `POST /cards/{card}/apdu` sends one command APDU to a card and answers its
//! response APDU, for SDKs that reach the card over HTTP instead of a reader.
//!
//! One bridge serves every set of cards: the world's provisioned cards by card id
//! ([`routes`], in `jpki-sim up`), and a scenario's cards by index, which the runner takes out of
//! their readers and traces (its [`BridgeCards`]). A command may sign (INTERNAL AUTHENTICATE,
//! COMPUTE DIGITAL SIGNATURE) and every PIN verification persists the counters to the store, so
//! the exchange runs on the blocking pool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::routes::{error_chain, ApiError};
use crate::world::{ProvisionedCard, World, WorldError};

/// The longest command APDU: extended case 4 with 65535 data bytes.
const MAX_APDU: usize = 4 + 3 + 65535 + 2;

/// The cards a bridge serves: how the path's `{card}` names one, and one exchange with it.
pub trait BridgeCards: Send + Sync + 'static {
    /// What `{card}` resolves to.
    type Card: Send + 'static;

    /// The card `name` names, or why there is none (answered before the body is looked at).
    fn find(&self, name: &str) -> Result<Self::Card, BridgeRefusal>;

    /// Sends `apdu` to `card` and returns its response APDU. Runs on the blocking pool.
    fn transmit(&self, card: &Self::Card, apdu: &[u8]) -> Result<Vec<u8>, BridgeRefusal>;
}

/// Why the bridge passed no APDU: the HTTP status and the `{"error", "message"}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRefusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable error code.
    pub code: &'static str,
    /// What a person reads.
    pub message: String,
}

impl BridgeRefusal {
    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        BridgeRefusal {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for BridgeRefusal {
    fn into_response(self) -> Response {
        ApiError::new(self.status, self.code, self.message).into_response()
    }
}

/// `POST /cards/{card}/apdu` over `cards`, with the body limited to the longest command APDU.
pub fn router<C: BridgeCards, S: Clone + Send + Sync + 'static>(cards: Arc<C>) -> Router<S> {
    Router::new()
        .route("/cards/{card}/apdu", post(apdu::<C>))
        .layer(DefaultBodyLimit::max(MAX_APDU))
        .with_state(cards)
}

/// The world's bridge, to merge into [`crate::routes::router`]: cards by card id.
pub fn routes<S: Clone + Send + Sync + 'static>(world: Arc<World>) -> Router<S> {
    router(world)
}

/// Every `(method, path)` of [`routes`], in axum's path syntax (see [`crate::routes::ROUTES`]).
pub const ROUTES: &[(&str, &str)] = &[("POST", "/cards/{card}/apdu")];

impl BridgeCards for World {
    type Card = Arc<ProvisionedCard>;

    fn find(&self, name: &str) -> Result<Self::Card, BridgeRefusal> {
        let card: sim_card::CardId = name.parse().map_err(|err: sim_card::CardIdError| {
            BridgeRefusal::new(StatusCode::BAD_REQUEST, "invalid_card_id", err.to_string())
        })?;
        self.card(&card).ok_or_else(|| {
            let err = WorldError::UnknownCard(card);
            BridgeRefusal::new(StatusCode::NOT_FOUND, "card_not_found", error_chain(&err))
        })
    }

    fn transmit(&self, card: &Self::Card, apdu: &[u8]) -> Result<Vec<u8>, BridgeRefusal> {
        let response = card.transmit(apdu);
        if response.is_empty() {
            // A `pulled` card fault: the card left the field mid-command, as a reader reports.
            return Err(BridgeRefusal::new(
                StatusCode::CONFLICT,
                "no_card",
                "the card left the reader's field during the command",
            ));
        }
        Ok(response)
    }
}

async fn apdu<C: BridgeCards>(
    State(cards): State<Arc<C>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let card = match cards.find(&name) {
        Ok(card) => card,
        Err(refusal) => return refusal.into_response(),
    };
    if body.is_empty() {
        return BridgeRefusal::new(
            StatusCode::BAD_REQUEST,
            "empty_apdu",
            "the request body must be a command APDU (raw bytes)",
        )
        .into_response();
    }
    match tokio::task::spawn_blocking(move || cards.transmit(&card, &body)).await {
        Ok(Ok(response)) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            response,
        )
            .into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(err) => BridgeRefusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "world_unavailable",
            err.to_string(),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    /// Two cards that echo the command back with `90 00`; the second is out of its reader.
    struct Echo;

    impl BridgeCards for Echo {
        type Card = usize;

        fn find(&self, name: &str) -> Result<usize, BridgeRefusal> {
            match name {
                "0" => Ok(0),
                "1" => Ok(1),
                _ => Err(BridgeRefusal::new(
                    StatusCode::NOT_FOUND,
                    "unknown_card",
                    "none",
                )),
            }
        }

        fn transmit(&self, card: &usize, apdu: &[u8]) -> Result<Vec<u8>, BridgeRefusal> {
            match card {
                0 => Ok([apdu, &[0x90, 0x00]].concat()),
                _ => Err(BridgeRefusal::new(StatusCode::CONFLICT, "no_card", "out")),
            }
        }
    }

    async fn post(card: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let app: Router = router(Arc::new(Echo));
        let request = Request::post(format!("/cards/{card}/apdu"))
            .body(Body::from(body))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body.to_vec())
    }

    #[tokio::test]
    async fn answers_the_card_or_says_why_not() {
        assert_eq!(
            post("0", vec![0x00, 0x84]).await,
            (StatusCode::OK, vec![0x00, 0x84, 0x90, 0x00])
        );
        assert_eq!(post("1", vec![0x00, 0x84]).await.0, StatusCode::CONFLICT);
        assert_eq!(post("7", vec![0x00, 0x84]).await.0, StatusCode::NOT_FOUND);
        // The card is looked up before the body: an unknown card with no APDU is unknown.
        assert_eq!(post("7", vec![]).await.0, StatusCode::NOT_FOUND);
        let (status, body) = post("0", vec![]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&body).contains("empty_apdu"));
        assert_eq!(
            post("0", vec![0; MAX_APDU + 1]).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
