//! The provider's state and rules, without HTTP: registered clients, armed logins, codes, access
//! tokens, spent assertion ids, sign transactions, and the checks of each endpoint
//! (docs/digital-agency.md).
//!
//! Everything lives in memory for the life of the server, like the world's faults: a restart
//! forgets clients and grants, while the world (cards, PIN counters, certificates) persists.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::http::StatusCode;
use mock_jlis::world::{World, WorldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sim_card::CardId;
use time::{Duration, OffsetDateTime};

use crate::error::OAuthError;
use crate::faults::{DaFault, DaFaultError, DaFaultRule, Faults, Site};
use crate::holder::{self, LoginError};
use crate::jose::{self, Jwks, RsaJwk, Signer};
use crate::jwe::{ContentAlgorithm, EncryptionKey};
use crate::sign::{self, SignInput, SignRequest, SignResult};

/// The path of the realm under the server's base URL: the issuer is base URL + this.
pub const REALM_PATH: &str = "/da/api/realms/main";

/// The `client_assertion_type` of private_key_jwt (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The scopes the authentication API knows besides `openid`: the basic 4 information.
pub const BASIC_FOUR: [&str; 4] = ["name", "address", "birthdate", "gender"];

/// The scope of the sign API: an authorization request that signs, and the client-credentials
/// token that opens sign transactions.
pub const SIGN_SCOPE: &str = "sign";

/// Where sign transactions are opened, under the server's base URL (the Digital Agency's
/// `/api/sign-transactions`, under `/da`); a transaction's result is at `{id}/result` below it.
pub const SIGN_TRANSACTIONS_PATH: &str = "/da/api/sign-transactions";

/// Why the provider could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaError {
    /// The world's key cache could not give the provider's signing key.
    #[error("the provider's signing key could not be derived")]
    Key(#[from] WorldError),
    /// The derived key is not an RSA PKCS#8 document aws-lc-rs takes.
    #[error("the provider's signing key is unusable")]
    UnusableKey,
    /// The world's base URL cannot prefix the issuer.
    #[error("the world's base URL {0:?} cannot make an issuer")]
    BaseUrl(String),
}

/// How long what the provider hands out lives (docs/digital-agency.md, "Lifetimes").
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// An authorization code, by the world clock.
    pub code: Duration,
    /// An access token and the ID token issued with it, by the world clock.
    pub token: Duration,
    /// A client-credentials access token (it opens sign transactions only), by the world clock.
    pub sign_token: Duration,
    /// A sign transaction, from its opening to the user's signature, by the world clock.
    pub sign_transaction: Duration,
    /// Clock skew allowed on a client assertion's `exp`, `nbf` and `iat`, by the wall clock.
    pub assertion_leeway: Duration,
    /// An authorization request held for the test-response page, from the page to the
    /// tester's answer, by the world clock.
    pub test_response: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            code: Duration::seconds(60),
            token: Duration::seconds(3600),
            sign_token: Duration::seconds(300),
            sign_transaction: Duration::seconds(600),
            assertion_leeway: Duration::seconds(60),
            test_response: Duration::seconds(300),
        }
    }
}

/// A client (SP) as registered through `POST /da/admin/v1/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// `[0-9A-Za-z]{1,255}`, as the Digital Agency's API reference gives client ids.
    pub client_id: String,
    /// Exact-match redirect URIs (`http://` or `https://`, no fragment).
    pub redirect_uris: Vec<String>,
    /// The public keys its private_key_jwt assertions are signed with.
    pub jwks: Jwks,
    /// The RSA public key sign results are encrypted to (`use: enc` or no `use`; `alg`
    /// `RSA-OAEP-256`, the default, or `RSA-OAEP`); without it, or a `use: enc` key in
    /// [`Client::jwks`], the client cannot use the sign API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_jwk: Option<RsaJwk>,
    /// The sign result's content encryption: `A256GCM` (the default) or `A128GCM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_result_enc: Option<String>,
}

impl Client {
    /// Checks the registration, saying which field is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.client_id;
        if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("client_id {id:?}: 1 to 255 of [0-9A-Za-z]"));
        }
        if self.redirect_uris.is_empty() {
            return Err("redirect_uris: at least one".into());
        }
        for uri in &self.redirect_uris {
            let scheme_ok = uri.starts_with("http://") || uri.starts_with("https://");
            if !scheme_ok
                || uri.len() > 255
                || uri.contains('#')
                || uri.contains(char::is_whitespace)
            {
                return Err(format!(
                    "redirect_uris: {uri:?} is not an absolute http(s) URI of at most 255 \
                     characters without a fragment"
                ));
            }
        }
        self.jwks.validate().map_err(|err| format!("jwks: {err}"))?;
        if let Some(jwk) = &self.encryption_jwk {
            EncryptionKey::from_jwk(jwk).map_err(|err| format!("encryption_jwk: {err}"))?;
        }
        if let Some(jwk) = self.jwks.encryption_key() {
            EncryptionKey::from_jwk(jwk).map_err(|err| format!("jwks (its use enc key): {err}"))?;
        }
        self.content_algorithm()?;
        Ok(())
    }

    /// The key sign results are encrypted to: [`Client::encryption_jwk`], else the first
    /// `use: enc` key of [`Client::jwks`].
    pub fn encryption_key(&self) -> Option<&RsaJwk> {
        self.encryption_jwk
            .as_ref()
            .or_else(|| self.jwks.encryption_key())
    }

    /// The sign result's `enc`, from [`Client::sign_result_enc`].
    pub fn content_algorithm(&self) -> Result<ContentAlgorithm, String> {
        match self.sign_result_enc.as_deref() {
            None => Ok(ContentAlgorithm::default()),
            Some(name) => ContentAlgorithm::from_name(name)
                .ok_or_else(|| format!("sign_result_enc {name:?}: A256GCM or A128GCM")),
        }
    }
}

/// The next login, armed by `POST /da/admin/v1/logins`: which card the simulated user holds
/// to the phone, the PIN they type, and whether they consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmedLogin {
    /// The card.
    pub card: CardId,
    /// The authentication PIN typed; `None`: the card's current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The signature password typed when the request signs; `None`: the card's current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_password: Option<String>,
    /// Whether the user agrees to give the SP what it asked for.
    pub consent: bool,
    /// Only an authorization request of this client takes it; `None`: any client's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The provider's switches, read and set through `/da/admin/v1/settings`
/// (docs/digital-agency.md, "Test-response page"). Everything is off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// An authorization request finding no armed login for its client is answered with the
    /// test-response page (a tester picks the card and the answer in the browser) instead of
    /// the `login_required` redirect.
    pub test_response_page: bool,
}

/// A change of [`Settings`]: the fields given are set, the others kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// [`Settings::test_response_page`].
    #[serde(default)]
    pub test_response_page: Option<bool>,
}

/// An authorization request held for the test-response page until the tester answers it.
#[derive(Debug, Clone)]
struct PendingRequest {
    request: AuthorizationRequest,
    expires_at: OffsetDateTime,
}

/// What an authorization code stands for until it is exchanged.
#[derive(Debug, Clone)]
struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    grant: Grant,
    expires_at: OffsetDateTime,
}

/// What a login established: who, for whom, what was granted.
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    sub: String,
    nonce: String,
    scopes: Vec<String>,
    auth_time: OffsetDateTime,
    claims: BTreeMap<&'static str, Value>,
    /// What the card signed, when the request carried a sign transaction.
    signed: Option<SignResult>,
}

/// A client-credentials access token's grant: which client, until when.
#[derive(Debug, Clone)]
struct ClientGrant {
    client_id: String,
    expires_at: OffsetDateTime,
}

/// A sign transaction: opened by a client for one input, signed at most once.
#[derive(Debug, Clone)]
struct SignTransaction {
    client_id: String,
    input: SignInput,
    expires_at: OffsetDateTime,
    state: TransactionState,
}

/// Where a sign transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransactionState {
    /// Opened, waiting for the user.
    Open,
    /// An authorization request is at the card with it.
    Signing,
    /// Signed: no other authorization request takes it.
    Signed,
}

/// An access token's grant.
#[derive(Debug, Clone)]
struct AccessGrant {
    grant: Grant,
    expires_at: OffsetDateTime,
}

/// The Digital Agency's authentication and sign APIs over one world.
pub struct Provider {
    world: Arc<World>,
    base: String,
    issuer: String,
    signer: Signer,
    lifetimes: Lifetimes,
    clients: RwLock<BTreeMap<String, Client>>,
    logins: Mutex<VecDeque<ArmedLogin>>,
    codes: Mutex<HashMap<String, CodeGrant>>,
    /// Codes already exchanged, with the access tokens they gave: a second use revokes them
    /// (RFC 6749 §4.1.2).
    /// Kept while those tokens live, then forgotten.
    spent: Mutex<HashMap<String, (OffsetDateTime, Vec<String>)>>,
    tokens: Mutex<HashMap<String, AccessGrant>>,
    /// Client-credentials access tokens: they open sign transactions, nothing else.
    client_tokens: Mutex<HashMap<String, ClientGrant>>,
    /// Sign transactions by id, kept until they expire.
    transactions: Mutex<HashMap<String, SignTransaction>>,
    /// `(client_id, jti)` of accepted assertions, with their `exp` (wall clock).
    jtis: Mutex<HashMap<(String, String), OffsetDateTime>>,
    /// The armed faults (`/da/admin/v1/faults`).
    faults: Faults,
    /// The switches of `/da/admin/v1/settings`.
    settings: RwLock<Settings>,
    /// Authorization requests waiting on the test-response page, by their random id.
    pending: Mutex<HashMap<String, PendingRequest>>,
    /// The key a JWKS rotation signs with, derived when one is first armed.
    next_signer: OnceLock<Signer>,
    /// A key nobody publishes, derived when a fault that needs it is first armed.
    foreign_signer: OnceLock<Signer>,
}

/// The provider's key's seed input: versioned so that a change of derivation is a new key.
const KEY_SEED_LABEL: &[u8] = b"jpki-sim/da/id-token-key/v1\0";

/// The `kid` of the provider's key.
pub const KEY_ID: &str = "jpki-sim-da-test-1";

/// The `kid` of the key a JWKS rotation fault brings in: the next generation of the same seed.
pub const NEXT_KEY_ID: &str = "jpki-sim-da-test-2";

/// The seed input of the key no JWKS has (the `id_token_foreign_key` and
/// `sign_result_foreign_key` faults).
const FOREIGN_SEED_LABEL: &[u8] = b"jpki-sim/da/foreign-key/v1\0";

/// The `kid` the `id_token_unknown_kid` fault names.
pub const UNKNOWN_KEY_ID: &str = "jpki-sim-da-unknown-kid";

/// The client the ID-token audience faults name besides (or instead of) the SP.
pub const OTHER_CLIENT: &str = "jpkiSimOtherClient";

/// The `nonce` the `id_token_nonce` fault writes.
pub const FOREIGN_NONCE: &str = "jpki-sim-fault-foreign-nonce";

/// The `state` the `foreign_state` fault redirects with.
pub const FOREIGN_STATE: &str = "jpki-sim-fault-foreign-state";

/// The realm the `id_token_issuer` fault names, under the same base URL.
pub const OTHER_REALM_PATH: &str = "/da/api/realms/other";

/// The person the `userinfo_sub` fault answers the pairwise `sub` of.
const OTHER_PERSON: &str = "jpki-sim/fault/another-person";

/// An authorization request's parameters, once the client and redirect URI are trusted.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `sign_transaction_id`: the request signs that transaction (with scope `sign`).
    pub sign_transaction_id: Option<String>,
}

/// The answer to opening a sign transaction.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedTransaction {
    /// The id the authorization request carries as `sign_transaction_id`.
    pub sign_transaction_id: String,
    /// Seconds left for the user to sign it.
    pub expires_in: i64,
    /// When it expires, RFC 3339 on the world clock.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// An opaque bearer token: for userinfo and the sign result (a code's), or for opening sign
    /// transactions (client credentials).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// The signed ID token; none for client credentials (no user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

impl Provider {
    /// The provider over `world`: issuer from the world's base URL, signing key from the
    /// world's key cache (derived once per machine).
    pub fn new(world: Arc<World>) -> Result<Provider, DaError> {
        Provider::with_lifetimes(world, Lifetimes::default())
    }

    /// [`Provider::new`] with other lifetimes.
    pub fn with_lifetimes(world: Arc<World>, lifetimes: Lifetimes) -> Result<Provider, DaError> {
        let base = world
            .ca(mock_ca::Hierarchy::Auth)
            .base_url()
            .as_str()
            .to_owned();
        if base.is_empty() {
            return Err(DaError::BaseUrl(base));
        }
        let signer = derive_signer(&world, KEY_SEED_LABEL, 1, KEY_ID)?;
        Ok(Provider {
            world,
            issuer: format!("{base}{REALM_PATH}"),
            base,
            signer,
            lifetimes,
            clients: RwLock::default(),
            logins: Mutex::default(),
            codes: Mutex::default(),
            spent: Mutex::default(),
            tokens: Mutex::default(),
            client_tokens: Mutex::default(),
            transactions: Mutex::default(),
            jtis: Mutex::default(),
            faults: Faults::default(),
            settings: RwLock::default(),
            pending: Mutex::default(),
            next_signer: OnceLock::new(),
            foreign_signer: OnceLock::new(),
        })
    }

    /// The armed faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Arms a fault (`POST /da/admin/v1/faults`), deriving first the key it needs so that the
    /// faulted answer comes as fast as a genuine one. Blocking on first use (key generation).
    pub fn arm_fault(&self, rule: DaFaultRule) -> Result<Vec<DaFaultRule>, DaFaultError> {
        match rule.fault {
            fault if fault.is_rotation() => {
                self.next_signer().map_err(DaFaultError::Key)?;
            }
            DaFault::IdTokenForeignKey | DaFault::SignResultForeignKey => {
                self.foreign_signer().map_err(DaFaultError::Key)?;
            }
            _ => {}
        }
        self.faults.arm(rule)?;
        Ok(self.faults.list())
    }

    fn next_signer(&self) -> Result<&Signer, DaError> {
        derived_once(&self.next_signer, || {
            derive_signer(&self.world, KEY_SEED_LABEL, 2, NEXT_KEY_ID)
        })
    }

    fn foreign_signer(&self) -> Result<&Signer, DaError> {
        derived_once(&self.foreign_signer, || {
            derive_signer(&self.world, FOREIGN_SEED_LABEL, 1, KEY_ID)
        })
    }

    /// The key ID tokens are signed with: the next one while a rotation fault is armed.
    fn id_token_signer(&self) -> Result<&Signer, OAuthError> {
        match self.faults.rotation() {
            Some(_) => self
                .next_signer()
                .map_err(|err| OAuthError::server(err.to_string())),
            None => Ok(&self.signer),
        }
    }

    /// How long what the provider hands out lives.
    pub fn lifetimes(&self) -> &Lifetimes {
        &self.lifetimes
    }

    /// The world the provider authenticates against.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// `iss` of every ID token: the base URL + [`REALM_PATH`].
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint's URL, an accepted client-assertion `aud`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer)
    }

    /// Where sign transactions are opened.
    pub fn sign_transactions_endpoint(&self) -> String {
        format!("{}{SIGN_TRANSACTIONS_PATH}", self.base)
    }

    /// The discovery document (OpenID Connect Discovery 1.0 §3), with the sign transactions'
    /// endpoint as `sign_transactions_endpoint` (our name: the metadata is not registered).
    pub fn discovery(&self) -> Value {
        let endpoint = |name: &str| format!("{}/protocol/openid-connect/{name}", self.issuer);
        let mut scopes = vec!["openid"];
        scopes.extend(BASIC_FOUR);
        scopes.push(SIGN_SCOPE);
        json!({
            "issuer": self.issuer,
            "authorization_endpoint": endpoint("auth"),
            "token_endpoint": endpoint("token"),
            "userinfo_endpoint": endpoint("userinfo"),
            "jwks_uri": endpoint("certs"),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "sign_transactions_endpoint": self.sign_transactions_endpoint(),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [jose::RS256],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": [jose::RS256],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp",
                "name", "address", "birthdate", "gender"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        })
    }

    /// The JWKS served at `/certs`: the provider's key; while a rotation fault is armed, the
    /// next key alone (`jwks_rotated`) or the next key and the old one (`jwks_rollover`).
    pub fn jwks(&self) -> Jwks {
        let next = self.next_signer.get().map(Signer::jwk);
        let keys = match (self.faults.rotation(), next) {
            (Some(DaFault::JwksRotated), Some(next)) => vec![next],
            (Some(_), Some(next)) => vec![next, self.signer.jwk()],
            _ => vec![self.signer.jwk()],
        };
        Jwks { keys }
    }

    /// Registers (or replaces) a client.
    pub fn register(&self, client: Client) -> Result<Client, String> {
        client.validate()?;
        self.clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(client.client_id.clone(), client.clone());
        Ok(client)
    }

    /// The client registered under `client_id`.
    pub fn client(&self, client_id: &str) -> Option<Client> {
        self.clients
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(client_id)
            .cloned()
    }

    /// Every registered client.
    pub fn clients(&self) -> Vec<Client> {
        self.clients
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Withdraws a client; answers it, if it was registered.
    pub fn unregister(&self, client_id: &str) -> Option<Client> {
        self.clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(client_id)
    }

    /// Arms a login for the next authorization request (of `login.client_id`, or any).
    pub fn arm_login(&self, login: ArmedLogin) -> Result<Vec<ArmedLogin>, WorldError> {
        if self.world.card(&login.card).is_none() {
            return Err(WorldError::UnknownCard(login.card));
        }
        let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins.push_back(login);
        Ok(logins.iter().cloned().collect())
    }

    /// The logins armed and not yet taken, oldest first.
    pub fn armed_logins(&self) -> Vec<ArmedLogin> {
        let logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins.iter().cloned().collect()
    }

    /// Disarms every login.
    pub fn clear_logins(&self) {
        self.logins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Whether a login is armed that an authorization request of `client_id` would take.
    pub fn has_login_for(&self, client_id: &str) -> bool {
        let logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins
            .iter()
            .any(|l| l.client_id.as_deref().is_none_or(|c| c == client_id))
    }

    /// The provider's switches.
    pub fn settings(&self) -> Settings {
        *self.settings.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the switches `update` gives; answers them all. Switching the test-response page
    /// off forgets the requests waiting on it.
    pub fn update_settings(&self, update: SettingsUpdate) -> Settings {
        let mut settings = self.settings.write().unwrap_or_else(|e| e.into_inner());
        if let Some(on) = update.test_response_page {
            settings.test_response_page = on;
            if !on {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
        }
        *settings
    }

    /// Holds `request` for the test-response page: answers the random id its form carries,
    /// valid for [`Lifetimes::test_response`] of the world clock and for one answer.
    pub fn hold_request(&self, request: AuthorizationRequest) -> String {
        let id = random_token();
        let now = self.world.now();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.expires_at > now);
        pending.insert(
            id.clone(),
            PendingRequest {
                request,
                expires_at: now + self.lifetimes.test_response,
            },
        );
        id
    }

    /// Whether `id` holds a request that has not expired nor been answered.
    pub fn is_held(&self, id: &str) -> bool {
        let now = self.world.now();
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(id).is_some_and(|p| p.expires_at > now)
    }

    /// Takes the request held under `id`, once: `None` when it is unknown, expired or
    /// already taken.
    pub fn take_held(&self, id: &str) -> Option<AuthorizationRequest> {
        let now = self.world.now();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.expires_at > now);
        pending.remove(id).map(|p| p.request)
    }

    fn take_login(&self, client_id: &str) -> Option<ArmedLogin> {
        let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        let at = logins
            .iter()
            .position(|l| l.client_id.as_deref().is_none_or(|c| c == client_id))?;
        logins.remove(at)
    }

    /// The authorization endpoint after the client and redirect URI are trusted: checks the
    /// request, plays the armed login, and answers the code. Every refusal here goes back on
    /// the redirect. Blocking (the card signs).
    pub fn authorize(&self, request: &AuthorizationRequest) -> Result<String, OAuthError> {
        self.authorize_with(request, None)
    }

    /// [`Provider::authorize`] with the user's answer given rather than armed: what the
    /// test-response page does with the tester's choice. Blocking (the card signs).
    pub fn authorize_as(
        &self,
        request: &AuthorizationRequest,
        login: ArmedLogin,
    ) -> Result<String, OAuthError> {
        self.authorize_with(request, Some(login))
    }

    /// Every check [`Provider::authorize`] makes before the user is asked, without spending
    /// anything (a sign transaction is looked at, not taken): the test-response page is shown
    /// only for a request that could succeed.
    pub fn check_request(&self, request: &AuthorizationRequest) -> Result<(), OAuthError> {
        let checked = self.checked(request)?;
        if let Some(id) = signed_transaction(request, &checked.scopes)? {
            self.peek_transaction(id, &request.client_id)?;
        }
        Ok(())
    }

    fn authorize_with(
        &self,
        request: &AuthorizationRequest,
        login: Option<ArmedLogin>,
    ) -> Result<String, OAuthError> {
        let Checked {
            scopes,
            nonce,
            challenge,
        } = self.checked(request)?;
        let signing = match signed_transaction(request, &scopes)? {
            Some(id) => Some((id, self.begin_signing(id, &request.client_id)?)),
            None => None,
        };
        let grant = self.play_login(request, login, scopes, nonce, signing);
        if let Some((id, _)) = signing {
            self.end_signing(id, grant.is_ok());
        }
        let grant = grant?;
        let code = random_token();
        let now = self.world.now();
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.retain(|_, c| c.expires_at > now);
        codes.insert(
            code.clone(),
            CodeGrant {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: challenge.to_owned(),
                grant,
                expires_at: now + self.lifetimes.code,
            },
        );
        Ok(code)
    }

    /// The request's parameters checked (RFC 6749 §4.1.1, RFC 7636, the Digital Agency's
    /// limits): its scopes, nonce and code challenge.
    fn checked<'r>(&self, request: &'r AuthorizationRequest) -> Result<Checked<'r>, OAuthError> {
        if request.response_type.as_deref() != Some("code") {
            return Err(OAuthError::redirect(
                "unsupported_response_type",
                "response_type must be code (the authorization-code flow only)",
            ));
        }
        let scopes = parse_scope(request.scope.as_deref())?;
        let state = request.state.as_deref().unwrap_or("");
        if state.is_empty() || state.len() > 255 || !is_vschar(state) {
            return Err(OAuthError::redirect(
                "invalid_request",
                "state is required: 1 to 255 printable ASCII characters",
            ));
        }
        let nonce = request.nonce.as_deref().unwrap_or("");
        if nonce.is_empty() || nonce.len() > 255 || !is_vschar(nonce) {
            return Err(OAuthError::redirect(
                "invalid_request",
                "nonce is required: 1 to 255 printable ASCII characters",
            ));
        }
        let challenge = request.code_challenge.as_deref().unwrap_or("");
        if challenge.is_empty() {
            return Err(OAuthError::redirect(
                "invalid_request",
                "code_challenge is required (PKCE, RFC 7636)",
            ));
        }
        match request.code_challenge_method.as_deref() {
            Some("S256") => {}
            Some(other) => {
                return Err(OAuthError::redirect(
                    "invalid_request",
                    format!("code_challenge_method {other:?} is not supported: S256 only"),
                ))
            }
            None => {
                return Err(OAuthError::redirect(
                    "invalid_request",
                    "code_challenge_method is required and must be S256 (plain is refused)",
                ))
            }
        }
        if challenge.len() != 43 || !is_base64url(challenge) {
            return Err(OAuthError::redirect(
                "invalid_request",
                "code_challenge must be BASE64URL(SHA-256(code_verifier)): 43 characters of \
                 [A-Za-z0-9_-]",
            ));
        }
        Ok(Checked {
            scopes,
            nonce,
            challenge,
        })
    }

    /// The armed login (or the `given` one) played for `request`: the user's consent, then the card — the
    /// authentication key for a login, the signature key over the transaction's input when the
    /// request signs.
    fn play_login(
        &self,
        request: &AuthorizationRequest,
        given: Option<ArmedLogin>,
        scopes: Vec<String>,
        nonce: &str,
        signing: Option<(&str, SignInput)>,
    ) -> Result<Grant, OAuthError> {
        let login = match given {
            Some(login) => login,
            None => self.take_login(&request.client_id).ok_or_else(|| {
                OAuthError::redirect(
                    "login_required",
                    "no login is armed for this client: POST /da/admin/v1/logins first",
                )
            })?,
        };
        if !login.consent {
            let refused = if signing.is_some() {
                "the user refused to sign"
            } else {
                "the user refused to give the service the information asked for"
            };
            return Err(OAuthError::redirect("access_denied", refused));
        }
        let (user_id, card, at, signed) = match signing {
            None => {
                let holder = self.authenticate(&login)?;
                (holder.user_id, holder.card, holder.at, None)
            }
            Some((id, input)) => {
                let signed = self.sign_with_card(&login, &input)?;
                let result =
                    SignResult::new(id, &input, &signed.signature, &signed.certificate_der);
                (signed.user_id, signed.card, signed.at, Some(result))
            }
        };
        let claims = self.basic_four(&card, &scopes);
        Ok(Grant {
            client_id: request.client_id.clone(),
            sub: pairwise_sub(&request.client_id, &user_id),
            nonce: nonce.to_owned(),
            scopes,
            auth_time: at,
            claims,
            signed,
        })
    }

    /// Takes transaction `id` for an authorization request of `client_id`: it must exist, be
    /// that client's, open and not expired. It stays [`TransactionState::Signing`] until
    /// [`Provider::end_signing`].
    fn begin_signing(&self, id: &str, client_id: &str) -> Result<SignInput, OAuthError> {
        let now = self.world.now();
        let mut transactions = self.transactions.lock().unwrap_or_else(|e| e.into_inner());
        transactions.retain(|_, t| t.expires_at > now);
        let refuse = |what: String| Err(OAuthError::redirect("invalid_request", what));
        let Some(transaction) = transactions.get_mut(id) else {
            return refuse(format!("sign_transaction_id {id:?} is unknown or expired"));
        };
        if transaction.client_id != client_id {
            return refuse(format!(
                "sign_transaction_id {id:?} was opened by another client"
            ));
        }
        match transaction.state {
            TransactionState::Open => {
                transaction.state = TransactionState::Signing;
                Ok(transaction.input)
            }
            TransactionState::Signing => refuse(format!(
                "sign_transaction_id {id:?} is being signed by another request"
            )),
            TransactionState::Signed => {
                refuse(format!("sign_transaction_id {id:?} was already signed"))
            }
        }
    }

    /// Whether transaction `id` could be signed by a request of `client_id` now, as
    /// [`Provider::begin_signing`] checks it, without taking it.
    fn peek_transaction(&self, id: &str, client_id: &str) -> Result<(), OAuthError> {
        let now = self.world.now();
        let transactions = self.transactions.lock().unwrap_or_else(|e| e.into_inner());
        let refuse = |what: String| Err(OAuthError::redirect("invalid_request", what));
        match transactions.get(id).filter(|t| t.expires_at > now) {
            None => refuse(format!("sign_transaction_id {id:?} is unknown or expired")),
            Some(t) if t.client_id != client_id => refuse(format!(
                "sign_transaction_id {id:?} was opened by another client"
            )),
            Some(t) if t.state == TransactionState::Signed => {
                refuse(format!("sign_transaction_id {id:?} was already signed"))
            }
            Some(_) => Ok(()),
        }
    }

    /// Marks transaction `id` signed, or open again when the signature failed (the user may
    /// try again while it lives).
    fn end_signing(&self, id: &str, signed: bool) {
        let mut transactions = self.transactions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(transaction) = transactions.get_mut(id) {
            transaction.state = if signed {
                TransactionState::Signed
            } else {
                TransactionState::Open
            };
        }
    }

    fn sign_with_card(
        &self,
        login: &ArmedLogin,
        input: &SignInput,
    ) -> Result<holder::Signed, OAuthError> {
        let password = match &login.sign_password {
            Some(password) => password.clone(),
            None => match self.world.card(&login.card) {
                Some(card) => self.world.view(&card).persona.pins.sign_password,
                None => String::new(),
            },
        };
        holder::sign(&self.world, &login.card, &password, &input.digest_info)
            .map_err(|err| login_refusal(&login.card, err))
    }

    fn authenticate(&self, login: &ArmedLogin) -> Result<holder::Authenticated, OAuthError> {
        let pin = match &login.pin {
            Some(pin) => pin.clone(),
            None => match self.world.card(&login.card) {
                Some(card) => self.world.view(&card).persona.pins.auth_pin,
                None => String::new(),
            },
        };
        holder::authenticate(&self.world, &login.card, &pin)
            .map_err(|err| login_refusal(&login.card, err))
    }

    /// The basic 4 information granted, from the card's persona at login (what the app reads
    /// from the card's 券面事項入力補助AP).
    fn basic_four(&self, card: &CardId, scopes: &[String]) -> BTreeMap<&'static str, Value> {
        let mut claims = BTreeMap::new();
        let Some(card) = self.world.card(card) else {
            return claims;
        };
        let persona = card.state().persona;
        for scope in scopes {
            match scope.as_str() {
                "name" => {
                    claims.insert("name", json!(persona.name));
                }
                "address" => {
                    claims.insert("address", json!({"formatted": persona.address}));
                }
                "birthdate" => {
                    let d = persona.birth_date;
                    claims.insert(
                        "birthdate",
                        json!(format!(
                            "{:04}-{:02}-{:02}",
                            d.year(),
                            u8::from(d.month()),
                            d.day()
                        )),
                    );
                }
                "gender" => {
                    let gender = match persona.sex {
                        mock_jlis::Sex::Male => "male",
                        mock_jlis::Sex::Female => "female",
                        mock_jlis::Sex::Unknown => "unknown",
                        mock_jlis::Sex::NotApplicable => "not_applicable",
                    };
                    claims.insert("gender", json!(gender));
                }
                _ => {}
            }
        }
        claims
    }

    /// The token endpoint: authenticates the client by its assertion, then exchanges the code
    /// or, for client credentials, issues a token that opens sign transactions.
    pub fn token(&self, form: &BTreeMap<String, String>) -> Result<TokenResponse, OAuthError> {
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(form),
            Some("client_credentials") => self.client_credentials(form),
            Some(other) => Err(OAuthError::token(
                "unsupported_grant_type",
                format!("grant_type {other:?}: authorization_code or client_credentials"),
            )),
            None => Err(OAuthError::token(
                "invalid_request",
                "grant_type is required",
            )),
        }
    }

    /// Client credentials (RFC 6749 §4.4) for the sign API: the client must have an
    /// encryption key registered (its results could not be delivered otherwise), and `scope`,
    /// when given, is `sign`.
    fn client_credentials(
        &self,
        form: &BTreeMap<String, String>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(form)?;
        if let Some(scope) = form.get("scope") {
            if scope.split(' ').any(|s| !s.is_empty() && s != SIGN_SCOPE) {
                return Err(OAuthError::token(
                    "invalid_scope",
                    "a client-credentials token has scope sign only",
                ));
            }
        }
        if client.encryption_key().is_none() {
            return Err(OAuthError::token(
                "unauthorized_client",
                "the client has no encryption key registered (encryption_jwk, or a use enc key \
                 in jwks): the sign API encrypts its results to it",
            ));
        }
        let now = self.world.now();
        let access_token = random_token();
        let mut tokens = self.client_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, t| t.expires_at > now);
        tokens.insert(
            access_token.clone(),
            ClientGrant {
                client_id: client.client_id,
                expires_at: now + self.lifetimes.sign_token,
            },
        );
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.lifetimes.sign_token.whole_seconds(),
            id_token: None,
            scope: SIGN_SCOPE.to_owned(),
        })
    }

    /// The authorization-code grant (RFC 6749 §4.1.3) with PKCE.
    fn exchange_code(&self, form: &BTreeMap<String, String>) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(form)?;
        let code = form
            .get("code")
            .ok_or_else(|| OAuthError::token("invalid_request", "code is required"))?;
        let taken = self
            .codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(code);
        let Some(granted) = taken else {
            let spent = self
                .spent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(code);
            if let Some((_, tokens)) = spent {
                let mut live = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                for token in tokens {
                    live.remove(&token);
                }
                return Err(code_already_used());
            }
            return Err(OAuthError::token(
                "invalid_grant",
                "unknown or expired code",
            ));
        };
        // The code is spent from here on, whatever the outcome (RFC 6749 §4.1.2: once).
        let now = self.world.now();
        let forget_at = granted.expires_at + self.lifetimes.token;
        {
            let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
            spent.retain(|_, (until, _)| *until > now);
            spent.insert(code.clone(), (forget_at, Vec::new()));
        }
        if granted.client_id != client.client_id {
            return Err(OAuthError::token(
                "invalid_grant",
                "the code was issued to another client",
            ));
        }
        if self.faults.take(Site::CodeExchange, |_| true).is_some() {
            // Someone redeemed it first: answered, and forgotten, as a genuine replay is.
            self.spent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(code);
            return Err(code_already_used());
        }
        if form.get("redirect_uri") != Some(&granted.redirect_uri) {
            return Err(OAuthError::token(
                "invalid_grant",
                "redirect_uri is not the one of the authorization request",
            ));
        }
        if now >= granted.expires_at {
            return Err(OAuthError::token("invalid_grant", "the code has expired"));
        }
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if !(43..=128).contains(&verifier.len()) || !is_unreserved(verifier) {
            return Err(OAuthError::token(
                "invalid_request",
                "code_verifier is required: 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
            ));
        }
        if jose::b64(&Sha256::digest(verifier.as_bytes())) != granted.code_challenge {
            return Err(OAuthError::token(
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            ));
        }
        let grant = granted.grant;
        let exp = now + self.lifetimes.token;
        let deviation = self.faults.take(Site::IdToken, |f| !f.is_rotation());
        let id_token = self.id_token(&grant, now, exp, deviation)?;
        let access_token = random_token();
        {
            let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens.retain(|_, t| t.expires_at > now);
            tokens.insert(
                access_token.clone(),
                AccessGrant {
                    grant: grant.clone(),
                    expires_at: exp,
                },
            );
        }
        self.spent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(code.clone(), (forget_at, vec![access_token.clone()]));
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.lifetimes.token.whole_seconds(),
            id_token: Some(id_token),
            scope: grant.scopes.join(" "),
        })
    }

    /// The ID token of `grant` issued at `now`, with the one `deviation` of an armed fault.
    fn id_token(
        &self,
        grant: &Grant,
        now: OffsetDateTime,
        exp: OffsetDateTime,
        deviation: Option<DaFault>,
    ) -> Result<String, OAuthError> {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": grant.sub,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "exp": exp.unix_timestamp(),
            "iat": now.unix_timestamp(),
            "auth_time": grant.auth_time.unix_timestamp(),
            "nonce": grant.nonce,
        });
        let hour = Duration::hours(1).whole_seconds();
        let at = now.unix_timestamp();
        match deviation {
            Some(DaFault::IdTokenIssuer) => {
                claims["iss"] = json!(format!("{}{OTHER_REALM_PATH}", self.base));
            }
            Some(DaFault::IdTokenAudience) => claims["aud"] = json!(OTHER_CLIENT),
            Some(DaFault::IdTokenAzp) => {
                claims["aud"] = json!([grant.client_id, OTHER_CLIENT]);
                claims["azp"] = json!(OTHER_CLIENT);
            }
            Some(DaFault::IdTokenExpired) => {
                // The user logged in when it was issued: only the expiry is wrong.
                claims["iat"] = json!(at - 2 * hour);
                claims["auth_time"] = json!(at - 2 * hour);
                claims["exp"] = json!(at - hour);
            }
            Some(DaFault::IdTokenIssuedInFuture) => {
                claims["iat"] = json!(at + hour);
                claims["exp"] = json!(at + 2 * hour);
            }
            Some(DaFault::IdTokenNonce) => claims["nonce"] = json!(FOREIGN_NONCE),
            _ => {}
        }
        let signer = self.id_token_signer()?;
        let header = |kid: &str| json!({"alg": jose::RS256, "typ": "JWT", "kid": kid});
        let signed = match deviation {
            Some(DaFault::IdTokenAlgNone) => {
                let header = json!({"alg": "none", "typ": "JWT"});
                return Ok(format!(
                    "{}.{}.",
                    jose::b64(header.to_string().as_bytes()),
                    jose::b64(claims.to_string().as_bytes())
                ));
            }
            Some(DaFault::IdTokenUnknownKid) => {
                signer.sign_with_header(&header(UNKNOWN_KEY_ID), &claims)
            }
            Some(DaFault::IdTokenForeignKey) => self
                .foreign_signer()
                .map_err(|err| OAuthError::server(err.to_string()))?
                .sign_with_header(&header(signer.kid()), &claims),
            _ => signer.sign_jwt(&claims),
        };
        signed.map_err(|err| OAuthError::server(err.to_string()))
    }

    /// private_key_jwt (OIDC Core §9, RFC 7523 §3): the assertion's `iss` = `sub` = a registered
    /// client, signed RS256 by a key of its JWKS, `aud` the token endpoint or the issuer, not
    /// expired, `jti` never seen before.
    fn authenticate_client(&self, form: &BTreeMap<String, String>) -> Result<Client, OAuthError> {
        if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
            return Err(OAuthError::client(format!(
                "client authentication is private_key_jwt only: client_assertion_type must be \
                 {JWT_BEARER}"
            )));
        }
        let assertion = form
            .get("client_assertion")
            .ok_or_else(|| OAuthError::client("client_assertion is required"))?;
        let peeked = jose::peek(assertion)
            .map_err(|err| OAuthError::client(format!("client_assertion: {err}")))?;
        let iss = peeked.claims.get("iss").and_then(Value::as_str);
        let sub = peeked.claims.get("sub").and_then(Value::as_str);
        let (Some(iss), Some(sub)) = (iss, sub) else {
            return Err(OAuthError::client(
                "client_assertion: iss and sub are required",
            ));
        };
        if iss != sub {
            return Err(OAuthError::client(
                "client_assertion: iss and sub must both be the client_id",
            ));
        }
        if form.get("client_id").is_some_and(|id| id != iss) {
            return Err(OAuthError::client(
                "client_id is not the client_assertion's iss",
            ));
        }
        let client = self
            .client(iss)
            .ok_or_else(|| OAuthError::client(format!("no client {iss:?} is registered")))?;
        let claims = jose::verify(assertion, &client.jwks)
            .map_err(|err| OAuthError::client(format!("client_assertion: {err}")))?
            .claims;
        let token_endpoint = self.token_endpoint();
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == token_endpoint || *aud == self.issuer,
            Some(Value::Array(auds)) => auds.iter().any(|a| {
                a.as_str()
                    .is_some_and(|a| a == token_endpoint || a == self.issuer)
            }),
            _ => false,
        };
        if !audience_ok {
            return Err(OAuthError::client(format!(
                "client_assertion: aud must be {token_endpoint} or {}",
                self.issuer
            )));
        }
        let now = OffsetDateTime::now_utc();
        let leeway = self.lifetimes.assertion_leeway;
        let instant = |name: &str| -> Result<Option<OffsetDateTime>, OAuthError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_i64()
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                    .map(Some)
                    .ok_or_else(|| {
                        OAuthError::client(format!(
                            "client_assertion: {name} must be a NumericDate"
                        ))
                    }),
            }
        };
        let exp = instant("exp")?
            .ok_or_else(|| OAuthError::client("client_assertion: exp is required"))?;
        if exp + leeway <= now {
            return Err(OAuthError::client("client_assertion: it has expired (exp)"));
        }
        if instant("nbf")?.is_some_and(|nbf| nbf > now + leeway) {
            return Err(OAuthError::client("client_assertion: not valid yet (nbf)"));
        }
        if instant("iat")?.is_some_and(|iat| iat > now + leeway) {
            return Err(OAuthError::client(
                "client_assertion: issued in the future (iat)",
            ));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| OAuthError::client("client_assertion: jti is required"))?;
        let mut jtis = self.jtis.lock().unwrap_or_else(|e| e.into_inner());
        jtis.retain(|_, exp| *exp + leeway > now);
        let key = (client.client_id.clone(), jti.to_owned());
        if jtis.contains_key(&key) {
            return Err(OAuthError::client(
                "client_assertion: its jti was already used",
            ));
        }
        jtis.insert(key, exp);
        Ok(client)
    }

    /// Userinfo (OIDC Core §5.3): `sub` and the basic 4 information granted.
    pub fn userinfo(&self, access_token: &str) -> Result<Value, OAuthError> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let granted = tokens
            .get(access_token)
            .filter(|t| t.expires_at > self.world.now())
            .ok_or_else(|| OAuthError::bearer("the access token is unknown, expired or revoked"))?;
        let mut body = serde_json::Map::new();
        let sub = match self.faults.take(Site::Userinfo, |_| true) {
            Some(_) => pairwise_sub(&granted.grant.client_id, OTHER_PERSON),
            None => granted.grant.sub.clone(),
        };
        body.insert("sub".into(), json!(sub));
        for (name, value) in &granted.grant.claims {
            body.insert((*name).into(), value.clone());
        }
        Ok(Value::Object(body))
    }
}

impl Provider {
    /// Opens a sign transaction for the client of `access_token` (a client-credentials token)
    /// over `body` ([`SignRequest`] as JSON).
    pub fn open_transaction(
        &self,
        access_token: &str,
        body: &[u8],
    ) -> Result<OpenedTransaction, OAuthError> {
        let now = self.world.now();
        let granted = {
            let tokens = self.client_tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens
                .get(access_token)
                .filter(|t| t.expires_at > now)
                .cloned()
        };
        let Some(granted) = granted else {
            let user = self.user_token(access_token).is_some();
            return Err(OAuthError::bearer(if user {
                "a user's access token cannot open sign transactions: use a client_credentials \
                 token"
            } else {
                "the access token is unknown or expired (grant_type=client_credentials)"
            }));
        };
        self.encryption_key(&granted.client_id)?;
        let request: SignRequest = serde_json::from_slice(body)
            .map_err(|err| OAuthError::page("invalid_request", format!("the body: {err}")))?;
        let input = request
            .parse()
            .map_err(|err| OAuthError::page("invalid_request", err.to_string()))?;
        let id = sign::transaction_id();
        let expires_at = now + self.lifetimes.sign_transaction;
        let mut transactions = self.transactions.lock().unwrap_or_else(|e| e.into_inner());
        transactions.retain(|_, t| t.expires_at > now);
        transactions.insert(
            id.clone(),
            SignTransaction {
                client_id: granted.client_id,
                input,
                expires_at,
                state: TransactionState::Open,
            },
        );
        Ok(OpenedTransaction {
            sign_transaction_id: id,
            expires_in: self.lifetimes.sign_transaction.whole_seconds(),
            expires_at,
        })
    }

    /// The result of transaction `id` for the holder of `access_token` (the token of the
    /// code exchange after the user signed it): a compact JWE to the client's encryption key,
    /// fresh at each call, whose plaintext is the [`SignResult`] as JSON.
    pub fn sign_result(&self, access_token: &str, id: &str) -> Result<String, OAuthError> {
        let Some(granted) = self.user_token(access_token) else {
            let client = self
                .client_tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(access_token);
            return Err(OAuthError::bearer(if client {
                "a client_credentials token cannot fetch a sign result: use the access token of \
                 the user's signature (the code exchange)"
            } else {
                "the access token is unknown, expired or revoked"
            }));
        };
        let Some(result) = &granted.grant.signed else {
            return Err(OAuthError::status(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token's authorization did not sign a transaction (scope sign)",
            ));
        };
        if result.sign_transaction_id != id {
            return Err(OAuthError::status(
                StatusCode::NOT_FOUND,
                "invalid_request",
                format!("the access token did not sign transaction {id:?}"),
            ));
        }
        let (mut key, enc) = self.encryption_key(&granted.grant.client_id)?;
        let mut result = result.clone();
        match self.faults.take(Site::SignResult, |_| true) {
            Some(DaFault::SignResultTransaction) => {
                result.sign_transaction_id = sign::transaction_id();
            }
            Some(DaFault::SignResultForeignKey) => key = self.foreign_encryption_key(&key)?,
            _ => {}
        }
        let plaintext =
            serde_json::to_vec(&result).map_err(|err| OAuthError::server(err.to_string()))?;
        key.encrypt(enc, &plaintext)
            .map_err(|err| OAuthError::server(err.to_string()))
    }

    /// The key no JWKS has, posing as the SP's `key`: its `kid` and `alg`, another modulus.
    fn foreign_encryption_key(&self, key: &EncryptionKey) -> Result<EncryptionKey, OAuthError> {
        let server = |err: String| OAuthError::server(err);
        let mut jwk = self
            .foreign_signer()
            .map_err(|err| server(err.to_string()))?
            .jwk();
        jwk.kid = key.kid().map(str::to_owned);
        jwk.key_use = Some("enc".into());
        jwk.alg = Some(key.algorithm().name().to_owned());
        EncryptionKey::from_jwk(&jwk).map_err(|err| server(err.to_string()))
    }

    fn user_token(&self, access_token: &str) -> Option<AccessGrant> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(access_token)
            .filter(|t| t.expires_at > self.world.now())
            .cloned()
    }

    /// The client's encryption key and `enc`, or `403 unauthorized_client` when it was
    /// withdrawn or registered again without one.
    fn encryption_key(
        &self,
        client_id: &str,
    ) -> Result<(EncryptionKey, ContentAlgorithm), OAuthError> {
        let refuse = |what: &str| {
            OAuthError::status(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                format!("client {client_id:?} {what}"),
            )
        };
        let client = self
            .client(client_id)
            .ok_or_else(|| refuse("is no longer registered"))?;
        let jwk = client
            .encryption_key()
            .ok_or_else(|| refuse("has no encryption key registered any more (encryption_jwk)"))?;
        let key = EncryptionKey::from_jwk(jwk)
            .map_err(|err| refuse(&format!("has an unusable encryption key: {err}")))?;
        let enc = client.content_algorithm().map_err(|err| refuse(&err))?;
        Ok((key, enc))
    }
}

/// `invalid_grant` for a code presented a second time (RFC 6749 §4.1.2).
fn code_already_used() -> OAuthError {
    OAuthError::token(
        "invalid_grant",
        "the code was already used: the tokens it gave are revoked",
    )
}

/// The provider's key of `generation` under `label`, from the world's key cache.
fn derive_signer(
    world: &World,
    label: &[u8],
    generation: u32,
    kid: &str,
) -> Result<Signer, DaError> {
    let mut seed = Sha256::new();
    seed.update(label);
    seed.update(generation.to_be_bytes());
    let key = world.derived_key(mock_ca::KeySeed::from_bytes(seed.finalize().into()))?;
    Signer::from_pkcs8(kid, key.pkcs8_der()).ok_or(DaError::UnusableKey)
}

/// The value of `cell`, derived by `derive` the first time (a race derives twice, keeps one).
fn derived_once(
    cell: &OnceLock<Signer>,
    derive: impl FnOnce() -> Result<Signer, DaError>,
) -> Result<&Signer, DaError> {
    if let Some(signer) = cell.get() {
        return Ok(signer);
    }
    let signer = derive()?;
    Ok(cell.get_or_init(|| signer))
}

/// What [`Provider::checked`] found in a request.
struct Checked<'r> {
    scopes: Vec<String>,
    nonce: &'r str,
    challenge: &'r str,
}

/// The transaction the request signs: scope `sign` and `sign_transaction_id` go together.
fn signed_transaction<'r>(
    request: &'r AuthorizationRequest,
    scopes: &[String],
) -> Result<Option<&'r str>, OAuthError> {
    match (
        &request.sign_transaction_id,
        scopes.iter().any(|s| s == SIGN_SCOPE),
    ) {
        (Some(id), true) => Ok(Some(id.as_str())),
        (None, false) => Ok(None),
        (None, true) => Err(OAuthError::redirect(
            "invalid_request",
            "scope sign needs a sign_transaction_id (POST /da/api/sign-transactions)",
        )),
        (Some(_), false) => Err(OAuthError::redirect(
            "invalid_request",
            "sign_transaction_id needs the sign scope",
        )),
    }
}

/// The redirect error a user's failed login or signature is.
fn login_refusal(card: &CardId, err: LoginError) -> OAuthError {
    let code = match err {
        LoginError::NoAnswer(_) | LoginError::Card { .. } => "server_error",
        _ => "access_denied",
    };
    tracing::info!(card = %card, error = %err, "simulated login refused");
    OAuthError::redirect(code, err.to_string())
}

/// The scopes of a request: `openid` required, the basic 4 and `sign` optional, nothing else.
fn parse_scope(scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let scopes: Vec<String> = scope
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::redirect(
            "invalid_scope",
            "scope must contain openid",
        ));
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| *s != "openid" && *s != SIGN_SCOPE && !BASIC_FOUR.contains(&s.as_str()))
    {
        return Err(OAuthError::redirect(
            "invalid_scope",
            format!(
                "scope {unknown:?} is not known: openid, name, address, birthdate, gender, sign"
            ),
        ));
    }
    let mut unique = Vec::new();
    for scope in scopes {
        if !unique.contains(&scope) {
            unique.push(scope);
        }
    }
    Ok(unique)
}

/// The pairwise subject (OIDC Core §8.1) of a person for a client: hex of
/// SHA-256(`"jpki-sim/da/sub/v1" 00 ‖ client_id ‖ 00 ‖ user_id`). The J-LIS user id is stable
/// across renewals, re-issues and moves, so the `sub` is too; another client gets another one.
pub fn pairwise_sub(client_id: &str, user_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"jpki-sim/da/sub/v1\0");
    hash.update(client_id.as_bytes());
    hash.update([0]);
    hash.update(user_id.as_bytes());
    hex::encode(hash.finalize())
}

/// 32 random bytes, base64url: codes and access tokens.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the system RNG nothing is issued that could be guessed: fail closed on the
    // all-zero value by mixing in the time.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
        bytes = Sha256::digest(now.to_be_bytes()).into();
    }
    jose::b64(&bytes)
}

fn is_vschar(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_unreserved(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pairwise_sub_depends_on_the_client_and_the_person_only() {
        let a = pairwise_sub("RP1", "user");
        assert_eq!(a, pairwise_sub("RP1", "user"));
        assert_ne!(a, pairwise_sub("RP2", "user"));
        assert_ne!(a, pairwise_sub("RP1", "other"));
        // The separator keeps ("RP1", "2user") and ("RP12", "user") apart.
        assert_ne!(pairwise_sub("RP1", "2user"), pairwise_sub("RP12", "user"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn scopes_need_openid_and_know_the_basic_four_and_sign_only() {
        assert_eq!(
            parse_scope(Some("openid name  name gender")).unwrap(),
            ["openid", "name", "gender"]
        );
        assert_eq!(parse_scope(Some("name")).unwrap_err().code, "invalid_scope");
        assert_eq!(parse_scope(None).unwrap_err().code, "invalid_scope");
        assert_eq!(
            parse_scope(Some("openid sign")).unwrap(),
            ["openid", "sign"]
        );
        let unknown = parse_scope(Some("openid user_certificate")).unwrap_err();
        assert!(unknown.description.contains("sign"), "{unknown:?}");
    }

    #[test]
    fn registrations_are_checked_field_by_field() {
        let client = |id: &str, uri: &str| Client {
            client_id: id.into(),
            redirect_uris: vec![uri.into()],
            jwks: Jwks::default(),
            encryption_jwk: None,
            sign_result_enc: None,
        };
        assert!(client("RP-1", "https://sp/cb")
            .validate()
            .unwrap_err()
            .contains("client_id"));
        assert!(client("RP1", "sp/cb")
            .validate()
            .unwrap_err()
            .contains("redirect_uris"));
        assert!(client("RP1", "https://sp/cb#x")
            .validate()
            .unwrap_err()
            .contains("fragment"));
        assert!(client("RP1", "https://sp/cb")
            .validate()
            .unwrap_err()
            .contains("jwks"));
    }
}
