//! A handler that panics still answers: `500 {"error": "internal_panic"}` instead of a dropped
//! connection, logged at ERROR. The process and the other requests go on, and shared state is
//! behind locks that tolerate a panicked holder. (The framework's own refusals — 404, 405, 413,
//! 408 — are already JSON: `mock_jlis::routes`.)

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

/// `router` with the panic guard.
pub(crate) fn guarded(router: Router) -> Router {
    router.layer(CatchPanicLayer::custom(panicked))
}

fn panicked(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = what, "a request handler panicked");
    let body = serde_json::json!({
        "error": "internal_panic",
        "message": "the server failed on this request (a bug: please report it with the \
                    request); other requests are unaffected",
    });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("deliberately")
    }

    async fn call(router: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_goes_on() {
        let router = guarded(Router::new().route("/boom", get(boom)).route(
            "/fine",
            get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
        ));
        for _ in 0..2 {
            let (status, body) = call(router.clone(), "/boom").await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(body["error"], "internal_panic");
        }
        let (status, body) = call(router, "/fine").await;
        assert_eq!((status, body["ok"].as_bool()), (StatusCode::OK, Some(true)));
    }
}
