//! The HTTP surface under `/da`: the realm's OpenID Connect endpoints (Keycloak-style paths, as
//! the Digital Agency publishes them), the sign API's transactions, the simulator's admin API
//! for clients, logins, faults and settings, and the test-response page's form.
//!
//! Handlers are thin: parse, call [`Provider`], map the outcome.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::{Delivery, OAuthError};
use crate::faults::{DaFault, DaFaultError, DaFaultRule, Site};
use crate::provider::{
    ArmedLogin, AuthorizationRequest, Client, Provider, SettingsUpdate, FOREIGN_STATE,
};
#[cfg(doc)]
use crate::provider::{REALM_PATH, SIGN_TRANSACTIONS_PATH};
#[cfg(doc)]
use crate::test_response::TEST_RESPONSE_PATH;
use crate::test_response::{self, CardChoice, Choice, FormError, Page};

/// Request bodies (forms, admin JSON with a JWKS) are small.
const MAX_BODY: usize = 64 * 1024;

/// Every `(method, path)` the router serves, in axum's path syntax, in the order
/// `tests/openapi.rs` calls them with the document's examples (a client registered and a login
/// armed before the authorization request, withdrawn at the end). `openapi.json` documents
/// exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    (
        "GET",
        "/da/api/realms/main/.well-known/openid-configuration",
    ),
    ("GET", "/da/api/realms/main/protocol/openid-connect/certs"),
    ("POST", "/da/admin/v1/clients"),
    ("GET", "/da/admin/v1/clients"),
    ("GET", "/da/admin/v1/clients/{client_id}"),
    ("POST", "/da/admin/v1/logins"),
    ("GET", "/da/admin/v1/logins"),
    ("POST", "/da/admin/v1/faults"),
    ("GET", "/da/admin/v1/faults"),
    ("DELETE", "/da/admin/v1/faults"),
    ("POST", "/da/admin/v1/settings"),
    ("GET", "/da/admin/v1/settings"),
    ("GET", "/da/api/realms/main/protocol/openid-connect/auth"),
    ("POST", "/da/api/realms/main/protocol/openid-connect/auth"),
    ("POST", "/da/api/realms/main/protocol/openid-connect/token"),
    (
        "GET",
        "/da/api/realms/main/protocol/openid-connect/userinfo",
    ),
    (
        "POST",
        "/da/api/realms/main/protocol/openid-connect/userinfo",
    ),
    ("POST", "/da/api/sign-transactions"),
    (
        "GET",
        "/da/api/sign-transactions/{sign_transaction_id}/result",
    ),
    ("POST", "/da/test-response"),
    ("DELETE", "/da/admin/v1/logins"),
    ("DELETE", "/da/admin/v1/clients/{client_id}"),
];

/// The router of `provider`, to merge into the world's (any state: it carries its own). Paths
/// are written out, as [`ROUTES`] has them, so that the OpenAPI test reads them here;
/// they lie under [`REALM_PATH`] and [`SIGN_TRANSACTIONS_PATH`], the admin API under
/// `/da/admin/v1/`, and the test-response form at [`TEST_RESPONSE_PATH`].
pub fn router<S: Clone + Send + Sync + 'static>(provider: Arc<Provider>) -> Router<S> {
    Router::new()
        .route(
            "/da/api/realms/main/.well-known/openid-configuration",
            get(discovery),
        )
        .route(
            "/da/api/realms/main/protocol/openid-connect/auth",
            get(authorize_get).post(authorize_post),
        )
        .route(
            "/da/api/realms/main/protocol/openid-connect/token",
            post(token),
        )
        .route(
            "/da/api/realms/main/protocol/openid-connect/userinfo",
            get(userinfo).post(userinfo),
        )
        .route(
            "/da/api/realms/main/protocol/openid-connect/certs",
            get(certs),
        )
        .route("/da/api/sign-transactions", post(open_transaction))
        .route(
            "/da/api/sign-transactions/{sign_transaction_id}/result",
            get(sign_result),
        )
        .route("/da/admin/v1/clients", get(list_clients).post(register))
        .route(
            "/da/admin/v1/clients/{client_id}",
            get(client_view).delete(unregister),
        )
        .route(
            "/da/admin/v1/logins",
            get(list_logins).post(arm_login).delete(clear_logins),
        )
        .route(
            "/da/admin/v1/faults",
            get(list_faults).post(arm_fault).delete(clear_faults),
        )
        .route("/da/admin/v1/settings", get(settings).post(update_settings))
        .route("/da/test-response", post(answer_test_response))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(provider)
}

async fn discovery(State(p): State<Arc<Provider>>) -> impl IntoResponse {
    Json(p.discovery())
}

async fn certs(State(p): State<Arc<Provider>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        serde_json::to_string(&p.jwks()).unwrap_or_default(),
    )
}

/// Form or query pairs, refusing a parameter given twice (RFC 6749 §3.1).
fn parameters(encoded: &str) -> Result<(BTreeMap<String, String>, Vec<String>), String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(encoded).map_err(|err| err.to_string())?;
    let mut map = BTreeMap::new();
    let mut repeated = Vec::new();
    for (name, value) in pairs {
        if map.insert(name.clone(), value).is_some() && !repeated.contains(&name) {
            repeated.push(name);
        }
    }
    Ok((map, repeated))
}

async fn authorize_get(State(p): State<Arc<Provider>>, RawQuery(query): RawQuery) -> Response {
    authorize(p, query.unwrap_or_default()).await
}

/// OpenID Connect Core §3.1.2.1: the endpoint takes POST with a form body as well.
async fn authorize_post(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return OAuthError::page(
            "invalid_request",
            "a POST to the authorization endpoint carries application/x-www-form-urlencoded",
        )
        .into_response();
    }
    authorize(p, String::from_utf8_lossy(&body).into_owned()).await
}

async fn authorize(p: Arc<Provider>, encoded: String) -> Response {
    let (params, repeated) = match parameters(&encoded) {
        Ok(parsed) => parsed,
        Err(err) => {
            return OAuthError::page("invalid_request", format!("the parameters: {err}"))
                .into_response()
        }
    };
    // Until the client and its redirect URI are known, nothing goes back on the redirect.
    if let Some(name) = repeated
        .iter()
        .find(|n| *n == "client_id" || *n == "redirect_uri")
    {
        return OAuthError::page("invalid_request", format!("{name} is given more than once"))
            .into_response();
    }
    let Some(client_id) = params.get("client_id") else {
        return OAuthError::page("invalid_request", "client_id is required").into_response();
    };
    let Some(client) = p.client(client_id) else {
        return OAuthError::page(
            "invalid_client",
            format!("no client {client_id:?} is registered (POST /da/admin/v1/clients)"),
        )
        .into_response();
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return OAuthError::page("invalid_request", "redirect_uri is required").into_response();
    };
    if !client.redirect_uris.contains(redirect_uri) {
        return OAuthError::page(
            "invalid_request",
            format!(
                "redirect_uri {redirect_uri:?} is not registered for {client_id:?} (exact match)"
            ),
        )
        .into_response();
    }
    let redirect_uri = redirect_uri.clone();
    let state = params.get("state").cloned();
    let injected = p.faults().take(Site::Redirect, |f| {
        matches!(f, DaFault::ErrorRedirect { .. })
    });
    if let Some(DaFault::ErrorRedirect { error }) = injected {
        let error = OAuthError::redirect(
            error.code(),
            format!("injected fault: error_redirect {}", error.code()),
        );
        return redirect_error(&redirect_uri, state.as_deref(), &error);
    }
    if let Some(name) = repeated.first() {
        let error =
            OAuthError::redirect("invalid_request", format!("{name} is given more than once"));
        return redirect_error(&redirect_uri, state.as_deref(), &error);
    }
    let request = AuthorizationRequest {
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        response_type: params.get("response_type").cloned(),
        scope: params.get("scope").cloned(),
        state: state.clone(),
        nonce: params.get("nonce").cloned(),
        code_challenge: params.get("code_challenge").cloned(),
        code_challenge_method: params.get("code_challenge_method").cloned(),
        sign_transaction_id: params.get("sign_transaction_id").cloned(),
    };
    if p.settings().test_response_page && !p.has_login_for(client_id) {
        // The page is for a request that could succeed: a malformed one is refused at once.
        if let Err(error) = p.check_request(&request) {
            return redirect_error(&redirect_uri, state.as_deref(), &error);
        }
        return test_response_page(&p, request);
    }
    let outcome = tokio::task::spawn_blocking({
        let p = p.clone();
        move || p.authorize(&request)
    })
    .await;
    answered(&p, &redirect_uri, state, outcome)
}

/// The redirect for the outcome of an authorization: the code (with the `foreign_state`
/// fault's `state`, when armed) or the error.
fn answered(
    p: &Provider,
    redirect_uri: &str,
    state: Option<String>,
    outcome: Result<Result<String, OAuthError>, tokio::task::JoinError>,
) -> Response {
    match outcome {
        Ok(Ok(code)) => {
            let foreign = p
                .faults()
                .take(Site::Redirect, |f| f == DaFault::ForeignState);
            let state = foreign.map(|_| FOREIGN_STATE.to_owned()).or(state);
            let mut pairs = vec![("code", code.as_str())];
            if let Some(state) = &state {
                pairs.push(("state", state));
            }
            found(redirect_uri, &pairs)
        }
        Ok(Err(error)) if error.delivery == Delivery::Redirect => {
            redirect_error(redirect_uri, state.as_deref(), &error)
        }
        Ok(Err(error)) => error.into_response(),
        Err(err) => redirect_error(
            redirect_uri,
            state.as_deref(),
            &OAuthError::redirect("server_error", err.to_string()),
        ),
    }
}

/// The test-response page for `request`, held under a fresh id.
fn test_response_page(p: &Provider, request: AuthorizationRequest) -> Response {
    let signing = request.sign_transaction_id.is_some();
    let world = p.world();
    let mut cards: Vec<CardChoice> = world
        .cards()
        .iter()
        .map(|card| {
            let view = world.view(card);
            CardChoice {
                card: card.id.to_string(),
                holder: view.persona.name.clone(),
                secret: if signing {
                    view.persona.pins.sign_password.clone()
                } else {
                    view.persona.pins.auth_pin.clone()
                },
            }
        })
        .collect();
    cards.sort_by(|a, b| a.card.cmp(&b.card));
    let page = Page {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone().unwrap_or_default(),
        state: request.state.clone().unwrap_or_default(),
        sign_transaction_id: request.sign_transaction_id.clone(),
        expires_in: p.lifetimes().test_response.whole_seconds(),
        cards,
        request: p.hold_request(request),
    };
    let mut response = test_response::render(&page).into_response();
    for (name, value) in test_response::PAGE_HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `POST /da/test-response`: the tester's answer on the page, played as an armed login would
/// be; answers the same redirect.
async fn answer_test_response(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = match read_answer(&p, &headers, &body) {
        Ok(answer) => answer,
        Err(err) => return form_refusal(&err),
    };
    let Some(request) = p.take_held(&answer.request) else {
        return form_refusal(&FormError::UnknownRequest(answer.request));
    };
    let trusted = p
        .client(&request.client_id)
        .is_some_and(|c| c.redirect_uris.contains(&request.redirect_uri));
    if !trusted {
        return form_refusal(&FormError::ClientGone(request.client_id));
    }
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let card = match (answer.choice, answer.card) {
        (Choice::ProviderError(error), _) => {
            let error = OAuthError::redirect(
                error.code(),
                format!(
                    "test response: {} (chosen on the test-response page)",
                    error.code()
                ),
            );
            return redirect_error(&redirect_uri, state.as_deref(), &error);
        }
        (_, Some(card)) => card,
        // `read_answer` refuses a user's choice without a card.
        (_, None) => return form_refusal(&FormError::Missing("card")),
    };
    let outcome = tokio::task::spawn_blocking({
        let p = p.clone();
        move || {
            let signing = request.sign_transaction_id.is_some();
            let secret = match answer.choice {
                Choice::WrongPin => Some(test_response::wrong_secret(&correct_secret(
                    &p, &card, signing,
                ))),
                _ => answer.secret,
            };
            let (pin, sign_password) = if signing {
                (None, secret)
            } else {
                (secret, None)
            };
            let login = ArmedLogin {
                card,
                pin,
                sign_password,
                consent: answer.choice != Choice::Refuse,
                client_id: Some(request.client_id.clone()),
            };
            p.authorize_as(&request, login)
        }
    })
    .await;
    answered(&p, &redirect_uri, state, outcome)
}

/// The form checked before its request is taken: a refused form leaves the request held.
fn read_answer(
    p: &Provider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<test_response::Answer, FormError> {
    // A browser names where a form came from (Fetch Metadata); tools send nothing.
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !matches!(site, "same-origin" | "none") {
            return Err(FormError::CrossSite(site.to_owned()));
        }
    }
    if !p.settings().test_response_page {
        return Err(FormError::Off);
    }
    if !is_form(headers) {
        return Err(FormError::NotAForm);
    }
    let answer = test_response::parse_answer(body)?;
    if let Some(card) = &answer.card {
        if p.world().card(card).is_none() {
            return Err(FormError::UnknownCard(card.clone()));
        }
    }
    if !p.is_held(&answer.request) {
        return Err(FormError::UnknownRequest(answer.request));
    }
    Ok(answer)
}

/// The card's current PIN, or signature password.
fn correct_secret(p: &Provider, card: &sim_card::CardId, signing: bool) -> String {
    match p.world().card(card) {
        Some(card) => {
            let pins = p.world().view(&card).persona.pins;
            if signing {
                pins.sign_password
            } else {
                pins.auth_pin
            }
        }
        None => String::new(),
    }
}

/// A refused form: `400 invalid_request`, or `403 cross_origin` for another site's form.
fn form_refusal(err: &FormError) -> Response {
    let status = match err {
        FormError::CrossSite(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let code = match err {
        FormError::CrossSite(_) => "cross_origin",
        _ => "invalid_request",
    };
    OAuthError::status(status, code, err.to_string()).into_response()
}

fn redirect_error(redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> Response {
    let mut pairs = vec![
        ("error", error.code),
        ("error_description", error.description.as_str()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    found(redirect_uri, &pairs)
}

/// `302 Found` to `redirect_uri` with `pairs` added to its query.
fn found(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{query}");
    match HeaderValue::from_str(&location) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => OAuthError::page("invalid_request", "the redirect URI cannot be a Location")
            .into_response(),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn token(State(p): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    match p.faults().take(Site::TokenEndpoint, |_| true) {
        Some(DaFault::TokenDelay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        }
        Some(DaFault::TokenError { status }) => return token_failure(status),
        _ => {}
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return OAuthError::client(
            "client authentication is private_key_jwt only (no Authorization header)",
        )
        .into_response();
    }
    if !is_form(&headers) {
        return OAuthError::token(
            "invalid_request",
            "the token request carries application/x-www-form-urlencoded (RFC 6749 §4.1.3)",
        )
        .into_response();
    }
    let (form, repeated) = match parameters(&String::from_utf8_lossy(&body)) {
        Ok(parsed) => parsed,
        Err(err) => {
            return OAuthError::token("invalid_request", format!("the form: {err}")).into_response()
        }
    };
    if let Some(name) = repeated.first() {
        return OAuthError::token("invalid_request", format!("{name} is given more than once"))
            .into_response();
    }
    match tokio::task::spawn_blocking(move || p.token(&form)).await {
        Ok(Ok(answer)) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(answer),
        )
            .into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(err) => OAuthError::server(err.to_string()).into_response(),
    }
}

/// The `token_error` fault's answer: `503 temporarily_unavailable`, any other status
/// `server_error` (RFC 6749 §5.2 has no code for either; these are the ones §4.1.2.1 names).
fn token_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = if status == StatusCode::SERVICE_UNAVAILABLE {
        "temporarily_unavailable"
    } else {
        "server_error"
    };
    let description = format!("injected fault: token_error {}", status.as_u16());
    OAuthError::status(status, code, description).into_response()
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

async fn userinfo(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return OAuthError::bearer("userinfo needs Authorization: Bearer <access token>")
            .into_response();
    };
    match p.userinfo(token) {
        Ok(claims) => Json(claims).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /da/api/sign-transactions`: a client-credentials token, a JSON [`SignRequest`]
/// body; answers the transaction id and its expiry.
///
/// [`SignRequest`]: crate::sign::SignRequest
async fn open_transaction(
    State(p): State<Arc<Provider>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return OAuthError::bearer(
            "opening a sign transaction needs Authorization: Bearer <client_credentials token>",
        )
        .into_response();
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return OAuthError::page(
            "invalid_request",
            "a sign transaction is opened with an application/json body",
        )
        .into_response();
    }
    match p.open_transaction(token, &body) {
        Ok(opened) => ([(header::CACHE_CONTROL, "no-store")], Json(opened)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `GET /da/api/sign-transactions/{id}/result`: the user's access token; answers the compact
/// JWE as `application/jose`, or `{"sign_transaction_id", "jwe"}` to a client that accepts
/// `application/json` and not `application/jose`.
async fn sign_result(
    State(p): State<Arc<Provider>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return OAuthError::bearer(
            "the sign result needs Authorization: Bearer <the user's access token>",
        )
        .into_response();
    };
    let jwe = match tokio::task::spawn_blocking({
        let token = token.to_owned();
        let id = id.clone();
        move || p.sign_result(&token, &id)
    })
    .await
    {
        Ok(Ok(jwe)) => jwe,
        Ok(Err(error)) => return error.into_response(),
        Err(err) => return OAuthError::server(err.to_string()).into_response(),
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_json = accept.contains("application/json") && !accept.contains("application/jose");
    let no_store = (header::CACHE_CONTROL, "no-store");
    if wants_json {
        let body = serde_json::json!({"sign_transaction_id": id, "jwe": jwe});
        ([no_store], Json(body)).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/jose"), no_store], jwe).into_response()
    }
}

/// An admin error in the server's `{"error", "message"}` shape.
fn admin_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": code, "message": message.into()});
    (status, Json(body)).into_response()
}

async fn register(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let client: Client = match serde_json::from_slice(&body) {
        Ok(client) => client,
        Err(err) => return admin_error(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()),
    };
    match p.register(client) {
        Ok(client) => Json(client).into_response(),
        Err(what) => admin_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_client", what),
    }
}

async fn list_clients(State(p): State<Arc<Provider>>) -> Response {
    Json(p.clients()).into_response()
}

async fn client_view(State(p): State<Arc<Provider>>, Path(id): Path<String>) -> Response {
    match p.client(&id) {
        Some(client) => Json(client).into_response(),
        None => admin_error(
            StatusCode::NOT_FOUND,
            "client_not_found",
            format!("no client {id:?} is registered"),
        ),
    }
}

async fn unregister(State(p): State<Arc<Provider>>, Path(id): Path<String>) -> Response {
    match p.unregister(&id) {
        Some(client) => Json(client).into_response(),
        None => admin_error(
            StatusCode::NOT_FOUND,
            "client_not_found",
            format!("no client {id:?} is registered"),
        ),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    card: String,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    sign_password: Option<String>,
    #[serde(default = "consents")]
    consent: bool,
    #[serde(default)]
    client_id: Option<String>,
}

fn consents() -> bool {
    true
}

async fn arm_login(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let request: LoginRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return admin_error(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()),
    };
    let card = match request.card.parse::<sim_card::CardId>() {
        Ok(card) => card,
        Err(err) => {
            return admin_error(StatusCode::BAD_REQUEST, "invalid_card_id", err.to_string())
        }
    };
    let login = ArmedLogin {
        card,
        pin: request.pin,
        sign_password: request.sign_password,
        consent: request.consent,
        client_id: request.client_id,
    };
    match p.arm_login(login) {
        Ok(armed) => Json(armed).into_response(),
        Err(err) => admin_error(StatusCode::NOT_FOUND, "card_not_found", err.to_string()),
    }
}

async fn list_logins(State(p): State<Arc<Provider>>) -> Response {
    Json(p.armed_logins()).into_response()
}

async fn clear_logins(State(p): State<Arc<Provider>>) -> Response {
    p.clear_logins();
    Json(p.armed_logins()).into_response()
}

async fn list_faults(State(p): State<Arc<Provider>>) -> Response {
    Json(p.faults().list()).into_response()
}

async fn arm_fault(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let rule: DaFaultRule = match serde_json::from_slice(&body) {
        Ok(rule) => rule,
        Err(err) => return admin_error(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()),
    };
    // The first fault needing a key of its own derives it.
    match tokio::task::spawn_blocking(move || p.arm_fault(rule)).await {
        Ok(Ok(rules)) => Json(rules).into_response(),
        Ok(Err(DaFaultError::Key(err))) => admin_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "world_unavailable",
            mock_ca::error_chain(&err),
        ),
        Ok(Err(err)) => admin_error(StatusCode::BAD_REQUEST, "invalid_fault", err.to_string()),
        Err(err) => admin_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "world_unavailable",
            err.to_string(),
        ),
    }
}

async fn clear_faults(State(p): State<Arc<Provider>>) -> Response {
    p.faults().clear();
    Json(p.faults().list()).into_response()
}

async fn settings(State(p): State<Arc<Provider>>) -> Response {
    Json(p.settings()).into_response()
}

async fn update_settings(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    match serde_json::from_slice::<SettingsUpdate>(&body) {
        Ok(update) => Json(p.update_settings(update)).into_response(),
        Err(err) => admin_error(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()),
    }
}
