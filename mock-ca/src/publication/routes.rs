//! The CA's HTTP surface: `/ca/{sign,auth}.{der,pem}`, the CRLs under `/crl/` and the OCSP
//! responder (RFC 6960 POST, RFC 5019 GET).
//!
//! Client mistakes get a 404 with `{"error": "not_found", "message": ...}`; a CRL that cannot be
//! built is a 503 `world_unavailable`. OCSP answers every request with 200 and an OCSPResponse.
//! Signing and CRL building run on the blocking pool, never on the async workers.

use crate::error_chain;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::crl::CrlPartition;
use super::error::PublicationError;
use super::publisher::Publisher;
use super::source::RevocationSource;
use crate::hierarchy::Hierarchy;
use crate::ocsp::{OcspErrorStatus, OcspRequest, OcspResponse, MAX_REQUEST_LEN};

/// Every `(method, path)` [`routes`] serves, in axum's path syntax.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/ca/{file}"),
    ("GET", "/crl/{file}"),
    ("GET", "/crl/{hierarchy}/{file}"),
    ("POST", "/ocsp"),
    ("GET", "/ocsp/{*request}"),
];

/// What the handlers share: the publisher and the registry it publishes.
struct Site<S> {
    publisher: Arc<Publisher>,
    source: Arc<S>,
}

impl<S> Clone for Site<S> {
    fn clone(&self) -> Self {
        Site {
            publisher: self.publisher.clone(),
            source: self.source.clone(),
        }
    }
}

/// The CA routes over `source`, ready to merge into a router of any state.
pub fn routes<S, T>(publisher: Arc<Publisher>, source: Arc<S>) -> Router<T>
where
    S: RevocationSource,
    T: Clone + Send + Sync + 'static,
{
    let status = Router::new()
        .route("/crl/{file}", get(full_crl::<S>))
        .route("/crl/{hierarchy}/{file}", get(partition_crl::<S>))
        .route("/ocsp", post(ocsp_post::<S>))
        .route("/ocsp/{*request}", get(ocsp_get::<S>))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_LEN));
    Router::new()
        .merge(status)
        .route("/ca/{file}", get(ca_certificate::<S>))
        .with_state(Site { publisher, source })
}

/// A client-facing error: HTTP status, stable code, human message.
#[derive(Debug)]
struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl HttpError {
    fn not_found(message: String) -> Self {
        HttpError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message,
        }
    }

    fn unavailable(message: String) -> Self {
        HttpError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "world_unavailable",
            message,
        }
    }
}

impl From<PublicationError> for HttpError {
    fn from(err: PublicationError) -> Self {
        let message = error_chain(&err);
        match err {
            PublicationError::UnknownMunicipality(_) => HttpError::not_found(message),
            PublicationError::FullListWithheld => HttpError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "unavailable",
                message,
            },
            _ => {
                tracing::error!(error = %message, "world operation failed");
                HttpError::unavailable(message)
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

async fn full_crl<S: RevocationSource>(
    State(site): State<Site<S>>,
    Path(file): Path<String>,
) -> Result<Response, HttpError> {
    let hierarchy = match file.as_str() {
        "sign.crl" => Hierarchy::Sign,
        "auth.crl" => Hierarchy::Auth,
        _ => {
            return Err(HttpError::not_found(format!(
                "no CRL {file:?}: expected sign.crl or auth.crl"
            )))
        }
    };
    crl_response(site, hierarchy, CrlPartition::Full).await
}

async fn partition_crl<S: RevocationSource>(
    State(site): State<Site<S>>,
    Path((hierarchy, file)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let not_found = || {
        HttpError::not_found(format!(
            "no CRL /crl/{hierarchy}/{file}: expected /crl/sign|auth/<5-digit municipality code>.crl or /crl/sign|auth/index.json"
        ))
    };
    let hierarchy_value = match hierarchy.as_str() {
        "sign" => Hierarchy::Sign,
        "auth" => Hierarchy::Auth,
        _ => return Err(not_found()),
    };
    if file == "index.json" {
        return Ok(Json(
            site.publisher
                .crl_index(site.source.as_ref(), hierarchy_value),
        )
        .into_response());
    }
    let code = file.strip_suffix(".crl").ok_or_else(not_found)?;
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found());
    }
    crl_response(
        site,
        hierarchy_value,
        CrlPartition::Municipality(code.to_owned()),
    )
    .await
}

async fn crl_response<S: RevocationSource>(
    site: Site<S>,
    hierarchy: Hierarchy,
    partition: CrlPartition,
) -> Result<Response, HttpError> {
    let der = tokio::task::spawn_blocking(move || {
        site.publisher
            .crl(site.source.as_ref(), hierarchy, &partition)
    })
    .await
    .map_err(|err| HttpError::unavailable(err.to_string()))??;
    Ok((
        [(header::CONTENT_TYPE, "application/pkix-crl")],
        der.as_ref().clone(),
    )
        .into_response())
}

async fn ocsp_post<S: RevocationSource>(State(site): State<Site<S>>, body: Bytes) -> Response {
    ocsp_response(
        tokio::task::spawn_blocking(move || site.publisher.ocsp(site.source.as_ref(), &body)).await,
    )
}

async fn ocsp_get<S: RevocationSource>(
    State(site): State<Site<S>>,
    Path(request): Path<String>,
) -> Response {
    match OcspRequest::from_get_path(&request) {
        Ok(parsed) => ocsp_response(
            tokio::task::spawn_blocking(move || {
                site.publisher.ocsp_request(site.source.as_ref(), &parsed)
            })
            .await,
        ),
        Err(_) => ocsp_response(Ok(
            OcspResponse::error(OcspErrorStatus::MalformedRequest).into()
        )),
    }
}

/// OCSP answers every request with 200 and an OCSPResponse; errors are response statuses, and
/// a responder that failed to answer at all says `internalError`.
fn ocsp_response(der: Result<Arc<[u8]>, tokio::task::JoinError>) -> Response {
    let der = der.unwrap_or_else(|err| {
        tracing::error!(error = %err, "OCSP responder failed");
        OcspResponse::error(OcspErrorStatus::InternalError).into()
    });
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

async fn ca_certificate<S: RevocationSource>(
    State(site): State<Site<S>>,
    Path(file): Path<String>,
) -> Result<Response, HttpError> {
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
    let ca = site.publisher.ca(hierarchy);
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

fn not_found_ca(file: &str) -> HttpError {
    HttpError::not_found(format!(
        "no CA file {file:?}: expected sign.der, sign.pem, auth.der or auth.pem"
    ))
}
