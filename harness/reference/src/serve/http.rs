//! The adapter side of the protocol over HTTP (docs/adapter-protocol.md, "Over HTTP"): the
//! bundled reference implementations behind `POST /hello`, `POST /request` and `POST /bye`.
//!
//! Each hello opens a session with its own reference SDK or PF, named by the `Session-Id`
//! header, so several harness workers can drive one adapter at once: requests of one session are
//! answered in order, sessions in parallel. Sessions end with bye, or after [`SESSION_IDLE`]
//! without a request. Bodies that are not the message a path takes get `400` with a JSON error;
//! a request whose `op` cannot be performed is still answered `200` with an `error` response.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::{Handler, Served};
use adapter_protocol::http::SESSION_HEADER;
use adapter_protocol::{AdapterMessage, HarnessMessage, Incoming, Response as Answer, VERSION};

/// A session without a request for this long is closed (its harness is gone without bye).
pub const SESSION_IDLE: Duration = Duration::from_secs(600);

/// Serves `served` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    served: Served,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(served))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The adapter's routes, testable without a socket.
pub fn router(served: Served) -> Router {
    let sessions = Arc::new(Sessions {
        served,
        open: Mutex::new(HashMap::new()),
        random: SystemRandom::new(),
    });
    Router::new()
        .route("/hello", post(hello))
        .route("/request", post(request))
        .route("/bye", post(bye))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(sessions)
}

/// Whether `addr` is loopback, where the adapter listens unless told otherwise.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

struct Sessions {
    served: Served,
    open: Mutex<HashMap<String, Arc<Session>>>,
    random: SystemRandom,
}

struct Session {
    handler: Mutex<Handler>,
    last_used: Mutex<Instant>,
}

type Shared = Arc<Sessions>;

async fn hello(State(sessions): State<Shared>, body: Result<Bytes, BytesRejection>) -> Response {
    let text = match text(body) {
        Ok(text) => text,
        Err(refusal) => return refusal.into_response(),
    };
    let (role, environment) = match HarnessMessage::from_line(&text) {
        Ok(HarnessMessage::Hello {
            version: VERSION,
            role,
            environment,
        }) => (role, environment),
        Ok(HarnessMessage::Hello { version, .. }) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "unsupported_version",
                &format!("the harness speaks protocol version {version}, this adapter {VERSION}"),
            )
        }
        Ok(other) => return wrong_message("/hello", "hello", &other),
        Err(err) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "malformed_message",
                &format!("the body is not a hello message: {err}"),
            )
        }
    };
    let mut id = [0u8; 16];
    if sessions.random.fill(&mut id).is_err() {
        return refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_session",
            "no random session id",
        );
    }
    let id = hex::encode(id);
    let handler = Handler::new(sessions.served, role, &environment);
    let answer = AdapterMessage::Hello {
        version: VERSION,
        name: handler.name(),
        features: handler.features(),
    };
    let session = Arc::new(Session {
        handler: Mutex::new(handler),
        last_used: Mutex::new(Instant::now()),
    });
    {
        let mut open = lock(&sessions.open);
        open.retain(|_, session| lock(&session.last_used).elapsed() < SESSION_IDLE);
        open.insert(id.clone(), session);
    }
    let mut response = message(&answer);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

async fn request(
    State(sessions): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let session = match session(&sessions, &headers) {
        Ok(session) => session,
        Err(refusal) => return refusal.into_response(),
    };
    let text = match text(body) {
        Ok(text) => text,
        Err(refusal) => return refusal.into_response(),
    };
    let request = match Incoming::from_line(&text) {
        Ok(Incoming::Message(HarnessMessage::Request(request))) => request,
        Ok(Incoming::Refused { id, code, message }) => {
            return self::message(&AdapterMessage::Response(Answer::error(id, code, message)))
        }
        Ok(Incoming::Message(other)) => return wrong_message("/request", "request", &other),
        Err(err) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "malformed_message",
                &format!("the body is not a request message: {err}"),
            )
        }
    };
    let answered = tokio::task::spawn_blocking(move || {
        let answer = lock(&session.handler).handle(request.id, request.operation);
        *lock(&session.last_used) = Instant::now();
        answer
    })
    .await;
    match answered {
        Ok(answer) => message(&AdapterMessage::Response(answer)),
        Err(_) => refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "adapter_failed",
            "the operation did not finish",
        ),
    }
}

async fn bye(
    State(sessions): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(refusal) = session(&sessions, &headers) {
        return refusal.into_response();
    }
    let text = match text(body) {
        Ok(text) => text,
        Err(refusal) => return refusal.into_response(),
    };
    if !text.trim().is_empty() {
        match HarnessMessage::from_line(&text) {
            Ok(HarnessMessage::Bye) => {}
            Ok(other) => return wrong_message("/bye", "bye", &other),
            Err(err) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "malformed_message",
                    &format!("the body is not a bye message: {err}"),
                )
            }
        }
    }
    let id = session_id(&headers).unwrap_or_default();
    lock(&sessions.open).remove(id);
    StatusCode::NO_CONTENT.into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!(
            "no {method} {}: the adapter serves POST /hello, POST /request, POST /bye",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut response = refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{method} {}: only POST", uri.path()),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// The session the `Session-Id` header names.
fn session(sessions: &Sessions, headers: &HeaderMap) -> Result<Arc<Session>, Refusal> {
    let Some(id) = session_id(headers) else {
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "missing_session",
            message: format!("no {SESSION_HEADER} header: POST /hello opens a session"),
        });
    };
    lock(&sessions.open).get(id).cloned().ok_or_else(|| Refusal {
        status: StatusCode::NOT_FOUND,
        code: "unknown_session",
        message: format!(
            "no open session {id:?}: it was closed by bye, expired after {} s idle, or never opened",
            SESSION_IDLE.as_secs()
        ),
    })
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// The body as UTF-8 text, or the refusal to send.
fn text(body: Result<Bytes, BytesRejection>) -> Result<String, Refusal> {
    let body = body.map_err(|rejection| Refusal {
        status: rejection.status(),
        code: "unreadable_body",
        message: rejection.body_text(),
    })?;
    String::from_utf8(body.to_vec()).map_err(|err| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "malformed_message",
        message: format!("the body is not UTF-8: {err}"),
    })
}

/// A transport error before the message is read: a missing session, an unreadable body.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refusal(self.status, self.code, &self.message)
    }
}

fn wrong_message(path: &str, wanted: &str, got: &HarnessMessage) -> Response {
    let got = match got {
        HarnessMessage::Hello { .. } => "hello",
        HarnessMessage::Request(_) => "request",
        HarnessMessage::Bye => "bye",
    };
    refusal(
        StatusCode::BAD_REQUEST,
        "wrong_message",
        &format!("POST {path} takes a {wanted} message, not a {got}"),
    )
}

/// A protocol message as a `200` JSON body.
fn message(message: &AdapterMessage) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        message.to_line(),
    )
        .into_response()
}

/// A transport error: `{"error": CODE, "message": TEXT}`, as every HTTP API here answers.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"{"type":"hello","version":1,"role":"pf","environment":{"base_url":"http://127.0.0.1:9","ca_url":"","crl_url":"","ocsp_url":"","jlis_url":"","sign_ca_pem":"","auth_ca_pem":"","cards":[]}}"#;

    /// The adapter on a free loopback port; stops with the runtime.
    struct Running {
        url: String,
        _runtime: tokio::runtime::Runtime,
    }

    fn start(served: Served) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(serve(listener, served, std::future::pending()));
        Running {
            url,
            _runtime: runtime,
        }
    }

    fn call(
        adapter: &Running,
        method: &str,
        path: &str,
        session: Option<&str>,
        body: &str,
    ) -> (u16, Option<String>, serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", adapter.url);
        let mut answer = if method == "GET" {
            agent.get(&url).call()
        } else {
            let mut request = agent.post(&url);
            if let Some(session) = session {
                request = request.header(SESSION_HEADER, session);
            }
            request.send(body)
        }
        .unwrap();
        let status = answer.status().as_u16();
        let session = answer
            .headers()
            .get(SESSION_HEADER)
            .map(|value| value.to_str().unwrap().to_owned());
        let text = answer.body_mut().read_to_string().unwrap();
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, session, json)
    }

    fn open(adapter: &Running) -> String {
        let (status, session, body) = call(adapter, "POST", "/hello", None, HELLO);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["type"], "hello");
        session.unwrap()
    }

    #[test]
    fn sessions_are_separate_and_close_with_bye() {
        let adapter = start(Served::Pf(None));
        let first = open(&adapter);
        let second = open(&adapter);
        assert_ne!(first, second);
        let resolve = r#"{"type":"request","id":4,"op":"resolve_user","enrolment":"nobody"}"#;
        let (status, _, body) = call(&adapter, "POST", "/request", Some(&first), resolve);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], 4);
        assert_eq!(body["error"]["code"], "unknown_enrolment");
        let (status, _, _) = call(&adapter, "POST", "/bye", Some(&first), r#"{"type":"bye"}"#);
        assert_eq!(status, 204);
        let (status, _, body) = call(&adapter, "POST", "/request", Some(&first), resolve);
        assert_eq!(status, 404);
        assert_eq!(body["error"], "unknown_session");
        // The other session is untouched; bye may have an empty body.
        let (status, _, _) = call(&adapter, "POST", "/request", Some(&second), resolve);
        assert_eq!(status, 200);
        let (status, _, _) = call(&adapter, "POST", "/bye", Some(&second), "");
        assert_eq!(status, 204);
    }

    #[test]
    fn bad_bodies_get_400_with_a_precise_json_error() {
        let adapter = start(Served::Sdk);
        let session = open(&adapter);
        let newer = HELLO.replace(r#""version":1"#, r#""version":2"#);
        let cases = [
            ("/hello", None, "not json", "malformed_message", "expected"),
            (
                "/hello",
                None,
                r#"{"type":"bye"}"#,
                "wrong_message",
                "POST /hello takes a hello message, not a bye",
            ),
            ("/hello", None, &newer, "unsupported_version", "version 2"),
            (
                "/request",
                Some(session.as_str()),
                "{}",
                "malformed_message",
                "not a request message",
            ),
            (
                "/request",
                Some(session.as_str()),
                HELLO,
                "wrong_message",
                "not a hello",
            ),
            (
                "/request",
                None,
                r#"{"type":"request","id":1,"op":"pin_status"}"#,
                "missing_session",
                "Session-Id",
            ),
            (
                "/bye",
                Some(session.as_str()),
                "[1]",
                "malformed_message",
                "not a bye message",
            ),
        ];
        for (path, session, body, code, says) in cases {
            let (status, _, answer) = call(&adapter, "POST", path, session, body);
            assert_eq!(status, 400, "{path} {body}: {answer}");
            assert_eq!(answer["error"], code, "{path} {body}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(says), "{path} {body}: {message}");
        }
        let (status, _, answer) = call(&adapter, "POST", "/nowhere", None, "");
        assert_eq!((status, &answer["error"]), (404, &"not_found".into()));
        let (status, _, answer) = call(&adapter, "GET", "/hello", None, "");
        assert_eq!(
            (status, &answer["error"]),
            (405, &"method_not_allowed".into())
        );
    }

    #[test]
    fn an_unknown_op_is_answered_not_refused() {
        let adapter = start(Served::Pf(None));
        let session = open(&adapter);
        let teleport = r#"{"type":"request","id":7,"op":"teleport"}"#;
        let (status, _, body) = call(&adapter, "POST", "/request", Some(&session), teleport);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["type"], "response");
        assert_eq!(body["id"], 7);
        assert_eq!(body["error"]["code"], "unsupported");
    }
}
