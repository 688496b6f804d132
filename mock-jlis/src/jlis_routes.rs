//! `/jlis/v1`: our own versioned JSON API for the J-LIS services a PF calls (consent, latest
//! basic-4-info, linkage, status). The real J-LIS interfaces are disclosed only under NDA; this
//! one is modelled on the public descriptions (docs/jpki-pki.md) and documented in `docs/jlis-api.md`.
//!
//! Every error is `{"error": CODE, "message": TEXT}`; each code has one HTTP status wherever it
//! appears, so a PF can branch on either.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use mock_ca::{Hierarchy, Serial};
use serde::Deserialize;

use crate::clock::parse_duration;
use crate::consent::{ConsentGrant, ServiceError, DEFAULT_CONSENT_VALIDITY};
use crate::routes::error_chain;
use crate::world::World;

/// A consent request carries a document, a 256-byte signature and a certificate: 1 MiB is ample.
const MAX_BODY: usize = 1024 * 1024;

/// The J-LIS routes, to merge into [`crate::routes::router`].
pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/jlis/v1/consents", post(grant_consent))
        .route("/jlis/v1/consents/{serial}", delete(withdraw_consent))
        .route("/jlis/v1/latest/{serial}", get(latest))
        .route("/jlis/v1/linkage/{hierarchy}/{serial}", get(linkage))
        .route("/jlis/v1/status/{hierarchy}/{serial}", get(status))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Every `(method, path)` of [`routes`], in axum's path syntax (see [`crate::routes::ROUTES`]).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/jlis/v1/consents"),
    ("DELETE", "/jlis/v1/consents/{serial}"),
    ("GET", "/jlis/v1/latest/{serial}"),
    ("GET", "/jlis/v1/linkage/{hierarchy}/{serial}"),
    ("GET", "/jlis/v1/status/{hierarchy}/{serial}"),
];

/// A client-facing error of the J-LIS API.
#[derive(Debug)]
struct JlisError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds of world time until asking again can succeed (`latest_certificate_unknown`).
    retry_after: Option<i64>,
}

impl JlisError {
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        JlisError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<ServiceError> for JlisError {
    fn from(err: ServiceError) -> Self {
        let status = match &err {
            ServiceError::InvalidValidity(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotConsented { .. }
            | ServiceError::ConsentExpired { .. }
            | ServiceError::ConsentWithdrawn { .. } => StatusCode::FORBIDDEN,
            ServiceError::UnknownCertificate { .. } | ServiceError::NoConsentToWithdraw { .. } => {
                StatusCode::NOT_FOUND
            }
            ServiceError::LatestUnknown { .. } => StatusCode::CONFLICT,
            ServiceError::LatestExpired { .. } | ServiceError::LatestRevoked { .. } => {
                StatusCode::GONE
            }
            ServiceError::CertificateUnparsable(_)
            | ServiceError::NotIssuedBySignCa
            | ServiceError::CertificateNotGood { .. }
            | ServiceError::BadSignature => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Store(_) | ServiceError::CorruptState(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let message = error_chain(&err);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %message, "J-LIS service failed");
        }
        JlisError {
            status,
            code: err.code(),
            message,
            retry_after: None,
        }
    }
}

impl IntoResponse for JlisError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(seconds.clamp(1, 86_400)),
            );
        }
        response
    }
}

/// `POST /jlis/v1/consents`. Public so that fuzz targets (fuzz/) read bodies as the route does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The consent document (base64).
    pub document: String,
    /// sha256WithRSAEncryption over the document by the holder's signature key (base64).
    pub signature: String,
    /// The signature certificate (base64 of DER).
    pub certificate: String,
    /// How long the consent lasts: `365d`, `12h`, ... (default 365 days).
    #[serde(default)]
    pub valid_for: Option<String>,
}

async fn grant_consent(
    State(world): State<Arc<World>>,
    body: Bytes,
) -> Result<impl IntoResponse, JlisError> {
    let request: ConsentRequest = serde_json::from_slice(&body)
        .map_err(|err| JlisError::bad_request("invalid_json", err.to_string()))?;
    let valid_for = match &request.valid_for {
        Some(text) => parse_duration(text)
            .map_err(|err| JlisError::bad_request("invalid_duration", err.to_string()))?,
        None => DEFAULT_CONSENT_VALIDITY,
    };
    let grant = ConsentGrant {
        document: base64_field("document", &request.document)?,
        signature: base64_field("signature", &request.signature)?,
        certificate: base64_field("certificate", &request.certificate)?,
        valid_for,
    };
    let consent = blocking(world, move |world| world.grant_consent(&grant)).await?;
    Ok(Json(consent))
}

async fn withdraw_consent(
    State(world): State<Arc<World>>,
    Path(serial): Path<String>,
) -> Result<impl IntoResponse, JlisError> {
    let serial = parse_serial(&serial)?;
    let consent = blocking(world, move |world| world.withdraw_consent(&serial)).await?;
    Ok(Json(consent))
}

async fn latest(
    State(world): State<Arc<World>>,
    Path(serial): Path<String>,
) -> Result<impl IntoResponse, JlisError> {
    let serial = parse_serial(&serial)?;
    let now = world.now();
    let info = tokio::task::spawn_blocking(move || world.latest_info(&serial))
        .await
        .map_err(unavailable)?;
    match info {
        Ok(info) => Ok(Json(info)),
        Err(err) => {
            let retry_after = match &err {
                ServiceError::LatestUnknown { visible_at, .. } => {
                    Some((*visible_at - now).whole_seconds())
                }
                _ => None,
            };
            Err(JlisError {
                retry_after,
                ..JlisError::from(err)
            })
        }
    }
}

async fn linkage(
    State(world): State<Arc<World>>,
    Path((hierarchy, serial)): Path<(String, String)>,
) -> Result<impl IntoResponse, JlisError> {
    let hierarchy = parse_hierarchy(&hierarchy)?;
    let serial = parse_serial(&serial)?;
    Ok(Json(world.linkage(hierarchy, &serial)?))
}

async fn status(
    State(world): State<Arc<World>>,
    Path((hierarchy, serial)): Path<(String, String)>,
) -> Result<impl IntoResponse, JlisError> {
    let hierarchy = parse_hierarchy(&hierarchy)?;
    let serial = parse_serial(&serial)?;
    Ok(Json(world.status_view(hierarchy, &serial)?))
}

/// Runs service work that reads or writes the store off the async threads.
async fn blocking<T: Send + 'static>(
    world: Arc<World>,
    work: impl FnOnce(&World) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, JlisError> {
    tokio::task::spawn_blocking(move || work(&world))
        .await
        .map_err(unavailable)?
        .map_err(JlisError::from)
}

fn unavailable(err: tokio::task::JoinError) -> JlisError {
    JlisError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "world_unavailable",
        message: err.to_string(),
        retry_after: None,
    }
}

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, JlisError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|err| JlisError::bad_request("invalid_base64", format!("{field}: {err}")))
}

fn parse_serial(text: &str) -> Result<Serial, JlisError> {
    text.parse().map_err(|err: mock_ca::Error| {
        JlisError::bad_request(
            "invalid_serial",
            format!("{err}: a serial is hex, e.g. 4A0B1C2D3E4F5061"),
        )
    })
}

fn parse_hierarchy(text: &str) -> Result<Hierarchy, JlisError> {
    Hierarchy::ALL
        .into_iter()
        .find(|h| h.tag() == text)
        .ok_or_else(|| {
            JlisError::bad_request(
                "invalid_hierarchy",
                format!("{text:?} is not a hierarchy: expected sign or auth"),
            )
        })
}
