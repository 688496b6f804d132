//! The APDU bridge an out-of-process SDK reaches a scenario's cards through:
//! `POST {url}/cards/{index}/apdu`, the command APDU as the body, the response APDU back.
//!
//! Unlike the world server's `/cards/{card}/apdu`, it knows which cards the scenario has taken
//! out of their readers (`409 {"error": "no_card"}`) and records every exchange in the trace.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
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
#[error("the APDU bridge cannot listen on loopback")]
pub struct BridgeError(#[source] pub std::io::Error);

type Cards = Arc<Vec<Mutex<TracingChannel<InProcessChannel>>>>;

impl Bridge {
    /// Serves `cards` (by index) on a free loopback port, tracing into `trace`.
    pub fn start(
        cards: Vec<InProcessChannel>,
        trace: &Trace,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Bridge, BridgeError> {
        let cards: Cards = Arc::new(
            cards
                .into_iter()
                .enumerate()
                .map(|(index, card)| Mutex::new(TracingChannel::new(card, index, trace.clone())))
                .collect(),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                Ipv4Addr::LOCALHOST,
                0,
            ))))
            .map_err(BridgeError)?;
        let addr = listener.local_addr().map_err(BridgeError)?;
        let app = Router::new()
            .route("/cards/{index}/apdu", post(apdu))
            .with_state(cards);
        let (shutdown, stopped) = oneshot::channel::<()>();
        runtime.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Bridge {
            url: format!("http://{addr}"),
            shutdown: Some(shutdown),
        })
    }

    /// The URL an SDK posts card `index`'s APDUs to.
    pub fn card_url(&self, index: usize) -> String {
        format!("{}/cards/{index}/apdu", self.url)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn apdu(State(cards): State<Cards>, Path(index): Path<usize>, body: Bytes) -> Response {
    if body.is_empty() {
        return refusal(
            StatusCode::BAD_REQUEST,
            "empty_apdu",
            "the body must be a command APDU",
        );
    }
    let answered = tokio::task::spawn_blocking(move || {
        let card = cards.get(index)?;
        let mut channel = card.lock().unwrap_or_else(|e| e.into_inner());
        Some(channel.transmit(&body))
    })
    .await;
    match answered {
        Ok(Some(Ok(response))) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            response,
        )
            .into_response(),
        Ok(Some(Err(ChannelError::NoCard))) => {
            refusal(StatusCode::CONFLICT, "no_card", "no card in the reader")
        }
        Ok(Some(Err(err))) => refusal(StatusCode::BAD_GATEWAY, "card_failed", &err.to_string()),
        Ok(None) => refusal(
            StatusCode::NOT_FOUND,
            "unknown_card",
            "no card with that index",
        ),
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "bridge_failed",
            "the exchange did not finish",
        ),
    }
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}
