//! A request body must arrive within [`crate::Limits::body_timeout`] of its head, whole, not
//! byte by byte forever: a client that declares `Content-Length: 1000000000000` and sends
//! nothing, or drips a byte a minute, gets `408 request_timeout` and the connection is closed.
//! The body is read here, within the deadline and the largest limit any route has; each route
//! still applies its own limit to what it is handed.

use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// No route takes a larger body (the J-LIS API's 1 MiB is the largest).
pub(crate) const MAX_BUFFERED_BODY: usize = 1024 * 1024;

/// Reads the body within `deadline`, then hands the request on.
pub(crate) async fn within(deadline: Duration, request: Request, next: Next) -> Response {
    let declared = request.body().size_hint();
    if declared.exact() == Some(0) {
        return next.run(request).await;
    }
    if declared.lower() > MAX_BUFFERED_BODY as u64 {
        // Refused before a byte of it is read: a `Content-Length: 1000000000000` is not waited for.
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BUFFERED_BODY));
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(err)) => {
            let over_limit = std::error::Error::source(&err)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
            if over_limit {
                too_large()
            } else {
                refusal(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    format!("the body could not be read: {err}"),
                )
            }
        }
        Err(_) => refusal(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the body did not arrive within {} s of the request head",
                deadline.as_secs_f64()
            ),
        ),
    }
}

fn too_large() -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is over {MAX_BUFFERED_BODY} bytes, more than any route takes"),
    )
}

/// A refusal that also closes the connection: the rest of the body is never read.
fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    let body = serde_json::json!({"error": code, "message": message});
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    fn app(deadline: Duration) -> Router {
        Router::new()
            .route("/echo", post(|body: axum::body::Bytes| async move { body }))
            .layer(axum::middleware::from_fn(move |request, next| {
                within(deadline, request, next)
            }))
    }

    async fn answer(app: Router, body: Body) -> (StatusCode, serde_json::Value, Option<String>) {
        let request = Request::post("/echo").body(body).expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let connection = response
            .headers()
            .get(header::CONNECTION)
            .map(|value| value.to_str().expect("ascii").to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json, connection)
    }

    #[tokio::test]
    async fn a_body_in_time_reaches_the_route() {
        let request = Request::post("/echo")
            .body(Body::from("abc"))
            .expect("request");
        let response = app(Duration::from_secs(5))
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 16)
            .await
            .expect("body");
        assert_eq!(&bytes[..], b"abc");
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_refused_at_the_deadline() {
        let stalled = Body::new(stalled_body());
        let (status, json, connection) = answer(app(Duration::from_millis(200)), stalled).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(json["error"], "request_timeout");
        assert_eq!(connection.as_deref(), Some("close"));
    }

    #[tokio::test]
    async fn a_body_over_every_routes_limit_is_refused_as_json() {
        let big = vec![b'x'; MAX_BUFFERED_BODY + 1];
        let (status, json, _) = answer(app(Duration::from_secs(5)), Body::from(big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json["error"], "payload_too_large");
    }

    /// A body that yields one byte and then nothing, ever.
    fn stalled_body() -> Stalled {
        Stalled(false)
    }

    struct Stalled(bool);

    impl HttpBody for Stalled {
        type Data = axum::body::Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            if self.0 {
                std::task::Poll::Pending
            } else {
                self.0 = true;
                let byte = axum::body::Bytes::from_static(b"x");
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(byte))))
            }
        }
    }
}
