//! Serving the world over HTTP: one listener, loopback by default, stops on drop or signal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use mock_jlis::store::Store;
use mock_jlis::world::{Cadence, OcspSigner, World, WorldConfig};
use tokio::net::{TcpListener, TcpSocket};

use crate::limits::Limits;
use tokio::sync::oneshot;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound: in use, or not this host's.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// The address is off loopback and no admin token was given: the admin routes would be open
    /// to anyone who can reach it.
    #[error("listening on {addr}, off loopback, needs an admin token (--admin-token or JPKI_SIM_ADMIN_TOKEN)")]
    TokenRequired {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The admin token given is empty (or blank): it would protect nothing.
    #[error("the admin token is empty: give a secret (--admin-token or JPKI_SIM_ADMIN_TOKEN)")]
    EmptyToken,
    /// The Digital Agency's provider could not start (its signing key).
    #[error("the Digital Agency's provider did not start")]
    DigitalAgency(#[source] mock_da::DaError),
    /// The Digital Agency's OpenAPI document does not join the world's.
    #[error("the listener's OpenAPI document could not be made")]
    OpenApi(#[source] mock_jlis::routes::OpenApiError),
}

/// Where the world keeps its state.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// `--state DIR`: everything durable in DIR/world.sqlite.
    pub state_dir: Option<PathBuf>,
    /// Key cache used when there is no state directory.
    pub key_cache: Option<PathBuf>,
    /// When revocations become visible: `realistic` (CRL daily, OCSP every 15 minutes) or
    /// `instant`.
    pub cadence: Cadence,
    /// Who signs OCSP responses: a delegated responder or the CA key.
    pub ocsp_signer: OcspSigner,
    /// How long after issuance a certificate's linkage becomes visible to PFs.
    pub linkage_lag: std::time::Duration,
}

impl StateConfig {
    /// Opens the stores: the state directory, or memory plus a per-user key cache.
    pub fn open(&self, base_url: &str) -> anyhow::Result<World> {
        let mut config = WorldConfig::new(base_url.to_owned());
        config.cadence = self.cadence;
        config.ocsp_signer = self.ocsp_signer;
        config.linkage_lag = self.linkage_lag;
        let world = match &self.state_dir {
            Some(dir) => World::open(config, Store::open_dir(dir)?, None)?,
            None => {
                let cache =
                    open_key_cache(self.key_cache.clone().or_else(default_key_cache).as_deref());
                World::open(config, Store::in_memory()?, cache)?
            }
        };
        Ok(world)
    }
}

/// The key cache at `path`; none, with a warning, when it cannot be opened: keys are then
/// derived in memory, slower but the same.
pub fn open_key_cache(path: Option<&std::path::Path>) -> Option<Store> {
    let path = path?;
    match Store::open_key_cache(path) {
        Ok(store) => Some(store),
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "key cache unavailable; keys are derived in memory");
            None
        }
    }
}

/// Why a world could not be served on loopback.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    /// No loopback port could be reserved.
    #[error("no free loopback port")]
    Port(#[source] std::io::Error),
    /// Opening the world failed (its store, its key cache, its CAs).
    #[error("the world failed")]
    World(#[from] mock_jlis::world::WorldError),
    /// The listener would not start, even after retrying a taken port.
    #[error("the world's server did not start")]
    Server(#[source] ServerError),
}

/// Port races (another process taking the port between probing and binding) are retried.
const BIND_ATTEMPTS: usize = 3;

/// Where a run's worlds (and their APDU bridges) listen, on free ports, and the host name written
/// into their URLs: loopback by default; another address so that a PF or a phone on another
/// machine reaches them, and then behind the admin token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    listen: IpAddr,
    host: String,
    admin_token: Option<String>,
}

/// Why an [`Exposure`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExposureError {
    /// Every interface (`0.0.0.0`, `::`) is not a name any client can reach.
    #[error("listening on {0}, every interface, needs --advertise HOST: the name or address clients reach this machine by, written into the worlds' URLs and certificates")]
    NeedsAdvertise(IpAddr),
    /// Off loopback the admin routes and the APDU bridge would be open to anyone.
    #[error("listening on {0}, off loopback, needs an admin token (--admin-token or JPKI_SIM_ADMIN_TOKEN)")]
    TokenRequired(IpAddr),
    /// The admin token given is empty (or blank).
    #[error("the admin token is empty: give a secret (--admin-token or JPKI_SIM_ADMIN_TOKEN)")]
    EmptyToken,
    /// The advertised host is not a host name or an address.
    #[error("--advertise {0:?} is not a host name or an IP address")]
    BadHost(String),
}

impl Exposure {
    /// `127.0.0.1`, no token: what every run uses unless told otherwise.
    pub fn loopback() -> Exposure {
        Exposure {
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            host: Ipv4Addr::LOCALHOST.to_string(),
            admin_token: None,
        }
    }

    /// Listening on `listen`, reached as `advertise` (default: `listen` itself), guarded by
    /// `admin_token`, which is required off loopback.
    pub fn new(
        listen: IpAddr,
        advertise: Option<String>,
        admin_token: Option<String>,
    ) -> Result<Exposure, ExposureError> {
        if admin_token
            .as_deref()
            .is_some_and(|token| token.trim().is_empty())
        {
            return Err(ExposureError::EmptyToken);
        }
        if !listen.is_loopback() && admin_token.is_none() {
            return Err(ExposureError::TokenRequired(listen));
        }
        let host = match advertise {
            Some(host) => {
                let name_like = !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
                if !name_like {
                    return Err(ExposureError::BadHost(host));
                }
                host
            }
            None if listen.is_unspecified() => return Err(ExposureError::NeedsAdvertise(listen)),
            None => listen.to_string(),
        };
        Ok(Exposure {
            listen,
            host,
            admin_token,
        })
    }

    /// The address servers bind (port 0: a free one).
    pub fn listen(&self) -> IpAddr {
        self.listen
    }

    /// The admin token the servers require, when off loopback.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// `http://HOST:PORT`, IPv6 addresses in brackets.
    pub fn url(&self, port: u16) -> String {
        if self.host.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("http://[{}]:{port}", self.host)
        } else {
            format!("http://{}:{port}", self.host)
        }
    }
}

/// Opens a world with `open(base_url)` and serves it on a free loopback port, telling
/// `observer` of every exchange: the in-process worlds of `jpki-sim run` and `jpki-sim load`.
pub fn serve_on_loopback(
    open: impl Fn(&str) -> Result<World, mock_jlis::world::WorldError>,
    runtime: &tokio::runtime::Handle,
    observer: Option<HttpObserver>,
) -> Result<(Arc<World>, Server), LoopbackError> {
    serve_exposed(open, runtime, observer, &Exposure::loopback())
}

/// [`serve_on_loopback`] on `exposure`'s address, a free port, its URL in the world's
/// certificates and its token guarding the admin routes.
pub fn serve_exposed(
    open: impl Fn(&str) -> Result<World, mock_jlis::world::WorldError>,
    runtime: &tokio::runtime::Handle,
    observer: Option<HttpObserver>,
    exposure: &Exposure,
) -> Result<(Arc<World>, Server), LoopbackError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let addr = std::net::TcpListener::bind((exposure.listen, 0))
            .and_then(|probe| probe.local_addr())
            .map_err(LoopbackError::Port)?;
        let world = Arc::new(open(&exposure.url(addr.port()))?);
        match runtime.block_on(Server::start_observed(
            world.clone(),
            addr,
            exposure.admin_token.clone(),
            observer.clone(),
        )) {
            Ok(server) => return Ok((world, server)),
            Err(ServerError::Bind { .. }) if attempt < BIND_ATTEMPTS => continue,
            Err(err) => return Err(LoopbackError::Server(err)),
        }
    }
}

/// The per-user key cache: `$XDG_CACHE_HOME/jpki-sim/keys.sqlite`, else
/// `~/.cache/jpki-sim/keys.sqlite`; `None` when neither variable is set.
pub fn default_key_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("jpki-sim").join("keys.sqlite"))
}

/// A bound listener waiting for its world ([`Server::bind`]).
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    limits: Limits,
}

impl Bound {
    /// The address bound, with the port it was given when asked for port 0.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A running HTTP server. Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    admin_token: Option<Arc<String>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One request the server answered, as a scenario's trace shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpExchange {
    /// The request method, `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The response's HTTP status.
    pub status: u16,
    /// The request body's declared length.
    pub request_len: Option<u64>,
    /// The response body's length, when the response declares it.
    pub response_len: Option<u64>,
    /// From the request arriving to its response being ready (the body may still be streaming).
    pub elapsed: std::time::Duration,
}

/// Told of every exchange once its response is ready.
pub type HttpObserver = Arc<dyn Fn(HttpExchange) + Send + Sync>;

impl Server {
    /// Binds `addr` (port 0 picks a free port) and serves `world` until dropped.
    pub async fn start(
        world: Arc<World>,
        addr: SocketAddr,
        admin_token: Option<String>,
    ) -> Result<Server, ServerError> {
        Server::start_with(world, addr, admin_token, None, Limits::default()).await
    }

    /// [`Server::start`], telling `observer` of every exchange (the runner traces them).
    pub async fn start_observed(
        world: Arc<World>,
        addr: SocketAddr,
        admin_token: Option<String>,
        observer: Option<HttpObserver>,
    ) -> Result<Server, ServerError> {
        Server::start_with(world, addr, admin_token, observer, Limits::default()).await
    }

    /// [`Server::start_observed`] with the listener's [`Limits`] given.
    pub async fn start_with(
        world: Arc<World>,
        addr: SocketAddr,
        admin_token: Option<String>,
        observer: Option<HttpObserver>,
        limits: Limits,
    ) -> Result<Server, ServerError> {
        let bound = Server::bind(addr, admin_token.as_deref(), limits)?;
        Server::serve_bound(world, bound, admin_token, observer)
    }

    /// Checks the token rules for `addr` and binds it, without a world yet: `jpki-sim up`
    /// binds first, so that a taken port is reported before cards are provisioned.
    pub fn bind(
        addr: SocketAddr,
        admin_token: Option<&str>,
        limits: Limits,
    ) -> Result<Bound, ServerError> {
        if !addr.ip().is_loopback() && admin_token.is_none() {
            return Err(ServerError::TokenRequired { addr });
        }
        if admin_token.is_some_and(|token| token.trim().is_empty()) {
            return Err(ServerError::EmptyToken);
        }
        let listener =
            listen(addr, limits.backlog).map_err(|source| ServerError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Bound {
            listener,
            addr,
            limits,
        })
    }

    /// Serves `world` on a [`Server::bind`] listener, with the same token it was bound with.
    pub fn serve_bound(
        world: Arc<World>,
        bound: Bound,
        admin_token: Option<String>,
        observer: Option<HttpObserver>,
    ) -> Result<Server, ServerError> {
        let Bound {
            listener,
            addr,
            limits,
        } = bound;
        let token = admin_token.map(Arc::new);
        let kept_token = token.clone();
        let body_timeout = limits.body_timeout;
        // The Digital Agency's routes (`/da`) on the same listener, behind the same guards,
        // journaled and documented with the world's.
        let da = mock_da::extension(world.clone()).map_err(ServerError::DigitalAgency)?;
        let routes =
            mock_jlis::routes::router_with(world, vec![da]).map_err(ServerError::OpenApi)?;
        let mut app = crate::panics::guarded(routes)
            .layer(middleware::from_fn(move |request, next| {
                crate::body_deadline::within(body_timeout, request, next)
            }))
            .layer(middleware::from_fn(move |request, next| {
                let token = token.clone();
                async move { require_admin_token(token, request, next).await }
            }))
            .layer(middleware::from_fn(move |request, next| {
                crate::browsers::refuse_browser_requests(addr, request, next)
            }));
        if let Some(observer) = observer {
            app = app.layer(middleware::from_fn(move |request, next| {
                let observer = observer.clone();
                async move { observe(observer, request, next).await }
            }));
        }
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::connections::serve(listener, app, limits, stopped));
        Ok(Server {
            addr,
            admin_token: kept_token,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address the server listens on, with the port it was given when asked for port 0.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin token the server requires, if any.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref().map(String::as_str)
    }

    /// The server's base URL, `http://` and [`Server::addr`].
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A listening socket with the accept queue `backlog` long (`TcpListener::bind` asks for 128,
/// so that a burst of connects had SYNs dropped and clients stall for seconds).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

async fn require_admin_token(token: Option<Arc<String>>, request: Request, next: Next) -> Response {
    if let Some(token) = token {
        if needs_token(request.method(), request.uri().path()) {
            let presented = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !same_secret(presented.as_bytes(), token.as_bytes()) {
                let body = serde_json::json!({
                    "error": "unauthorized",
                    "message": "this route needs `Authorization: Bearer <token>` (the admin token)",
                });
                return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
            }
        }
    }
    next.run(request).await
}

/// The routes that change the world or act for a card holder, which the admin token guards: the
/// admin API, the APDU bridge (a VERIFY or a signature is the holder's act, and wrong PINs block
/// the card for good), and registering or withdrawing consent; the Digital Agency's admin API
/// (`/da/admin/`: clients, and the logins that spend a holder's PIN tries) likewise. Reads of
/// what the CA publishes (`/ca`, `/crl`, `/ocsp`), J-LIS queries and the OpenID Connect
/// endpoints (which authenticate their clients themselves) stay open, as the real services are.
pub(crate) fn needs_token(method: &axum::http::Method, path: &str) -> bool {
    path.starts_with("/admin/")
        || path.starts_with("/da/admin/")
        || path.starts_with("/cards/")
        || (path.starts_with("/jlis/v1/consents") && method != axum::http::Method::GET)
}

/// Compares a presented token with the secret in time that depends on the length only, so the
/// answer's timing does not reveal how much of a guess was right.
fn same_secret(presented: &[u8], secret: &[u8]) -> bool {
    if presented.len() != secret.len() {
        return false;
    }
    let difference = presented
        .iter()
        .zip(secret)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

async fn observe(observer: HttpObserver, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |p| p.to_string());
    let request_len = content_length(request.headers());
    let response = next.run(request).await;
    observer(HttpExchange {
        method,
        path,
        status: response.status().as_u16(),
        request_len,
        response_len: content_length(response.headers()).or_else(|| {
            use axum::body::HttpBody;
            response.body().size_hint().exact()
        }),
        elapsed: started.elapsed(),
    });
    response
}

fn content_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    /// The OpenAPI documents (the world's and the Digital Agency's, served as one) mark with
    /// `bearerAuth` exactly the operations the token guards.
    #[test]
    fn the_openapi_document_lists_each_routes_protection() {
        let mut paths = serde_json::Map::new();
        for source in [
            include_str!("../../../mock-jlis/openapi.json"),
            mock_da::OPENAPI,
        ] {
            let doc: serde_json::Value = serde_json::from_str(source).unwrap();
            paths.extend(doc["paths"].as_object().unwrap().clone());
        }
        let mut guarded = 0;
        for (path, item) in &paths {
            for (method, operation) in item.as_object().unwrap() {
                if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let method: Method = method.to_uppercase().parse().unwrap();
                let documented = operation["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
                assert_eq!(documented, needs_token(&method, path), "{method} {path}");
                guarded += usize::from(documented);
            }
        }
        // The admin API, the bridge and the two consent writes; the provider's admin API.
        assert_eq!(guarded, 14 + 12);
    }

    #[test]
    fn the_token_guards_what_changes_the_world_or_acts_for_a_holder() {
        for (method, path) in [
            (Method::GET, "/admin/v1/cards/felica:0123456789ABCDEF"),
            (Method::POST, "/admin/v1/events"),
            (Method::POST, "/cards/felica:0123456789ABCDEF/apdu"),
            (Method::POST, "/jlis/v1/consents"),
            (Method::DELETE, "/jlis/v1/consents/01"),
            (Method::POST, "/da/admin/v1/clients"),
            (Method::GET, "/da/admin/v1/clients/RP1"),
            (Method::POST, "/da/admin/v1/logins"),
        ] {
            assert!(needs_token(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/healthz"),
            (Method::GET, "/crl/sign.crl"),
            (Method::POST, "/ocsp"),
            (Method::GET, "/ca/auth.pem"),
            (Method::GET, "/jlis/v1/status/sign/01"),
            (
                Method::POST,
                "/da/api/realms/main/protocol/openid-connect/token",
            ),
            (
                Method::GET,
                "/da/api/realms/main/protocol/openid-connect/auth",
            ),
        ] {
            assert!(!needs_token(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn only_the_same_secret_passes() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cres", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}

#[cfg(test)]
mod exposure_tests {
    use super::*;

    #[test]
    fn urls_name_the_advertised_host_and_bracket_ipv6() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let token = Some("t".to_owned());
        let named = Exposure::new(any, Some("sim.test".to_owned()), token.clone()).unwrap();
        assert_eq!(named.url(8700), "http://sim.test:8700");
        assert_eq!(named.listen(), any);
        let v6 = Exposure::new(any, Some("fd00::1".to_owned()), token).unwrap();
        assert_eq!(v6.url(1), "http://[fd00::1]:1");
        assert_eq!(Exposure::loopback().url(2), "http://127.0.0.1:2");
        assert_eq!(Exposure::loopback().admin_token(), None);
    }

    #[test]
    fn loopback_needs_nothing_and_the_rest_is_refused_by_name() {
        let v6_loopback = "::1".parse().unwrap();
        assert!(Exposure::new(v6_loopback, None, None).is_ok());
        let lan: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(
            Exposure::new(lan, None, None),
            Err(ExposureError::TokenRequired(lan))
        );
        assert_eq!(
            Exposure::new(lan, None, Some("x".to_owned()))
                .unwrap()
                .url(3),
            "http://192.0.2.10:3"
        );
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            Exposure::new(any, None, Some("x".to_owned())),
            Err(ExposureError::NeedsAdvertise(any))
        );
        assert_eq!(
            Exposure::new(lan, None, Some("  ".to_owned())),
            Err(ExposureError::EmptyToken)
        );
        for host in ["", "a/b", "h@x", "x y"] {
            assert!(matches!(
                Exposure::new(lan, Some(host.to_owned()), Some("x".to_owned())),
                Err(ExposureError::BadHost(_))
            ));
        }
    }
}
