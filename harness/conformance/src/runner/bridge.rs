//! The APDU bridge an out-of-process SDK reaches a scenario's cards through:
//! `POST {url}/cards/{index}/apdu`, the command APDU as the body, the response APDU back.
//!
//! It is the world's bridge ([`mock_jlis::bridge`]) over the scenario's cards: by index instead
//! of card id, knowing which cards the scenario has taken out of their readers
//! (`409 {"error": "no_card"}`), and recording every exchange in the trace. It listens where the
//! run's worlds do ([`Exposure`]): off loopback, every request needs the admin token.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use mock_jlis::bridge::{BridgeCards, BridgeRefusal};
use served_world::Exposure;
use tokio::sync::oneshot;

use crate::runner::trace::{Trace, TracingChannel};
use reference::channel::{CardChannel, ChannelError, InProcessChannel};

/// A running bridge. Stops when dropped.
pub struct Bridge {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

/// The bridge could not listen.
#[derive(Debug, thiserror::Error)]
#[error("the APDU bridge cannot listen")]
pub struct BridgeError(#[source] pub std::io::Error);

/// A scenario's cards in their readers, by index, each exchange traced.
struct ScenarioCards(Vec<Mutex<TracingChannel<InProcessChannel>>>);

impl BridgeCards for ScenarioCards {
    type Card = usize;

    fn find(&self, name: &str) -> Result<usize, BridgeRefusal> {
        name.parse::<usize>()
            .ok()
            .filter(|index| *index < self.0.len())
            .ok_or_else(|| {
                BridgeRefusal::new(
                    StatusCode::NOT_FOUND,
                    "unknown_card",
                    "no card with that index",
                )
            })
    }

    fn transmit(&self, index: &usize, apdu: &[u8]) -> Result<Vec<u8>, BridgeRefusal> {
        let mut channel = self.0[*index].lock().unwrap_or_else(|e| e.into_inner());
        channel.transmit(apdu).map_err(|err| match err {
            ChannelError::NoCard => {
                BridgeRefusal::new(StatusCode::CONFLICT, "no_card", "no card in the reader")
            }
            other => BridgeRefusal::new(StatusCode::BAD_GATEWAY, "card_failed", other.to_string()),
        })
    }
}

impl Bridge {
    /// Serves `cards` (by index) on a free port of `exposure`'s address, tracing into `trace`.
    pub fn start(
        cards: Vec<InProcessChannel>,
        trace: &Trace,
        runtime: &tokio::runtime::Handle,
        exposure: &Exposure,
    ) -> Result<Bridge, BridgeError> {
        let cards = Arc::new(ScenarioCards(
            cards
                .into_iter()
                .enumerate()
                .map(|(index, card)| Mutex::new(TracingChannel::new(card, index, trace.clone())))
                .collect(),
        ));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                exposure.listen(),
                0,
            ))))
            .map_err(BridgeError)?;
        let addr = listener.local_addr().map_err(BridgeError)?;
        let mut app: Router = mock_jlis::bridge::router(cards);
        if let Some(token) = exposure.admin_token() {
            let expected: Arc<str> = format!("Bearer {token}").into();
            app = app.layer(middleware::from_fn(move |request, next| {
                let expected = expected.clone();
                async move { require_token(&expected, request, next).await }
            }));
        }
        let (shutdown, stopped) = oneshot::channel::<()>();
        runtime.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Bridge {
            url: exposure.url(addr.port()),
            shutdown: Some(shutdown),
        })
    }

    /// The URL an SDK posts card `index`'s APDUs to.
    pub fn card_url(&self, index: usize) -> String {
        format!("{}/cards/{index}/apdu", self.url)
    }
}

/// A bridge off loopback lets only the run's adapters spend its cards' PIN tries.
async fn require_token(expected: &str, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if presented.is_some_and(|presented| {
        aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes())
            .is_ok()
    }) {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "error": "unauthorized",
        "message": "this bridge needs `Authorization: Bearer <token>` (the run's admin token)",
    });
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
