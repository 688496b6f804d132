//! A world with the Digital Agency's routes merged in, called without a socket, and an SP's
//! side of the flow: registration, the authorization request with PKCE, the client assertion.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use mock_da::jose::{b64, Jwks, Signer};
use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

pub const BASE: &str = "http://127.0.0.1:8700";
pub const ISSUER: &str = "http://127.0.0.1:8700/da/api/realms/main";
pub const AUTH: &str = "/da/api/realms/main/protocol/openid-connect/auth";
pub const TOKEN: &str = "/da/api/realms/main/protocol/openid-connect/token";
pub const TOKEN_URL: &str =
    "http://127.0.0.1:8700/da/api/realms/main/protocol/openid-connect/token";
pub const USERINFO: &str = "/da/api/realms/main/protocol/openid-connect/userinfo";
pub const CERTS: &str = "/da/api/realms/main/protocol/openid-connect/certs";
pub const CALLBACK: &str = "https://sp.example/callback";

/// Keys are deterministic: one cache for every test binary of the crate.
fn shared_cache() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mock-da-keys.sqlite")
}

/// A world following real time (ID tokens' `exp` is then checkable by any library), with
/// the `/da` routes merged into its router.
pub struct Sim {
    pub world: Arc<World>,
    pub app: Router,
}

/// An answer: status, `Location` if any, body as JSON (or a string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Sim {
    pub fn new() -> Sim {
        let mut config = WorldConfig::new(BASE);
        config.clock = Some(ClockMode::Following { offset_seconds: 0 });
        let cache = Store::open_key_cache(&shared_cache()).unwrap();
        let world =
            Arc::new(World::open(config, Store::in_memory().unwrap(), Some(cache)).unwrap());
        let app =
            mock_jlis::routes::router(world.clone()).merge(mock_da::routes(world.clone()).unwrap());
        Sim { world, app }
    }

    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn json(&self, method: &str, uri: &str, body: Value) -> Answer {
        self.call(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.call(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Provisions `card`.
    pub async fn provision(&self, card: &str) -> Value {
        let answer = self
            .json("POST", "/admin/v1/cards", json!({"card": card}))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body
    }

    /// A life event on `card`.
    pub async fn event(&self, card: &str, kind: &str) {
        let answer = self
            .json(
                "POST",
                "/admin/v1/events",
                json!({"card": card, "kind": kind}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{kind}: {:?}", answer.body);
    }

    /// Registers `client_id` with `CALLBACK` and the JWKS of `key`.
    pub async fn register(&self, client_id: &str, key: &Signer) {
        let answer = self
            .json(
                "POST",
                "/da/admin/v1/clients",
                json!({
                    "client_id": client_id,
                    "redirect_uris": [CALLBACK],
                    "jwks": Jwks { keys: vec![key.jwk()] },
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }

    /// Arms the next login.
    pub async fn arm(&self, login: Value) {
        let answer = self.json("POST", "/da/admin/v1/logins", login).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }

    /// Sends an authorization request with `params`; answers the redirect's query (or panics
    /// when there is no redirect).
    pub async fn authorize(&self, params: &[(&str, &str)]) -> BTreeMap<String, String> {
        let answer = self.authorize_raw(params).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{:?}", answer.body);
        let location = answer.location.unwrap();
        let (target, query) = location.split_once('?').unwrap();
        assert_eq!(target, CALLBACK);
        serde_urlencoded::from_str(query).unwrap()
    }

    pub async fn authorize_raw(&self, params: &[(&str, &str)]) -> Answer {
        let query = serde_urlencoded::to_string(params).unwrap();
        self.get(&format!("{AUTH}?{query}")).await
    }

    /// Posts the token request `form`.
    pub async fn token(&self, form: &[(&str, &str)]) -> Answer {
        self.call(
            Request::post(TOKEN)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
                .unwrap(),
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> Answer {
        self.call(
            Request::get(USERINFO)
                .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// The provider's JWKS as served.
    pub async fn jwks(&self) -> Jwks {
        let answer = self.get(CERTS).await;
        assert_eq!(answer.status, StatusCode::OK);
        serde_json::from_value(answer.body).unwrap()
    }
}

/// A deterministic client key (a test key).
pub fn client_key(kid: &str, seed: u8) -> Signer {
    let key = mock_ca::KeySeed::from_bytes([seed; 32])
        .derive_key()
        .unwrap();
    Signer::from_pkcs8(kid, key.pkcs8_der()).unwrap()
}

/// A PKCE pair: verifier and its S256 challenge.
pub fn pkce(tag: &str) -> (String, String) {
    let verifier = format!("verifier-{tag}-0123456789abcdefghijklmnopqrstuvwxyz");
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A client assertion for `client_id` with `aud`, expiring `exp_in` seconds from now.
pub fn assertion(key: &Signer, client_id: &str, aud: &str, exp_in: i64, jti: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    key.sign_jwt(&json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + exp_in,
        "jti": jti,
    }))
    .unwrap()
}

/// The SP's authorization request with PKCE and nonce `n-1`, state `st-1`: the code and the
/// verifier.
pub async fn authorize_code(sim: &Sim, client_id: &str, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce(client_id);
    let redirect = sim
        .authorize(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    assert_eq!(redirect.get("state").map(String::as_str), Some("st-1"));
    let code = redirect
        .get("code")
        .unwrap_or_else(|| panic!("no code: {redirect:?}"));
    (code.clone(), verifier)
}

/// The token request's form for `code`: the code grant with its verifier and a
/// `private_key_jwt` assertion.
pub fn exchange<'a>(
    code: &'a str,
    verifier: &'a str,
    assertion: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ]
}

/// Exchanges `code` with `client_assertion`; answers the token endpoint's JSON (200 asserted).
pub async fn exchange_code(sim: &Sim, code: &str, verifier: &str, client_assertion: &str) -> Value {
    let answer = sim.token(&exchange(code, verifier, client_assertion)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

/// The full SP side up to the token answer: authorize with PKCE and nonce, exchange the code
/// with a fresh assertion. Answers the token endpoint's JSON.
pub async fn login(sim: &Sim, client_id: &str, key: &Signer, scope: &str) -> Value {
    let (code, verifier) = authorize_code(sim, client_id, scope).await;
    let jti = format!("jti-{}", b64(&rand_bytes()));
    let client_assertion = assertion(key, client_id, TOKEN_URL, 60, &jti);
    exchange_code(sim, &code, &verifier, &client_assertion).await
}

pub fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes
}

/// Whether tests that need the CI's packages must run rather than skip (CI sets
/// `JPKI_SIM_REQUIRE_PCSC`).
pub fn required() -> bool {
    std::env::var_os("JPKI_SIM_REQUIRE_PCSC").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The first Python that imports `modules`: the one on `PATH`, else Debian's own (a Python
/// manager's shim on `PATH` does not see the Debian packages). `None` skips the test, which
/// must not happen where [`required`].
pub fn python_with(test: &str, modules: &str, packages: &str) -> Option<&'static str> {
    let import = format!("import {modules}");
    let found = ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", &import])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            !required(),
            "{test}: JPKI_SIM_REQUIRE_PCSC is set but {packages} missing (scripts/setup-debian.sh)"
        );
        eprintln!("{test}: skipped: {packages} not installed");
    }
    found
}

pub const SIGN_TRANSACTIONS: &str = "/da/api/sign-transactions";

/// A deterministic RSA key for sign results (a test key): its public JWK (`use: enc`, `kid`)
/// and its PKCS#8 document, to open the JWE with.
pub fn encryption_key(kid: &str, seed: u8) -> (mock_da::jose::RsaJwk, Vec<u8>) {
    let key = mock_ca::KeySeed::from_bytes([seed; 32])
        .derive_key()
        .unwrap();
    let mut jwk = Signer::from_pkcs8(kid, key.pkcs8_der()).unwrap().jwk();
    jwk.key_use = Some("enc".into());
    jwk.alg = Some("RSA-OAEP-256".into());
    (jwk, key.pkcs8_der().to_vec())
}

impl Sim {
    /// Registers `client_id` with `CALLBACK`, the JWKS of `key` and `encryption_jwk`.
    pub async fn register_signer(&self, client_id: &str, key: &Signer, encryption_jwk: &Value) {
        let answer = self
            .json(
                "POST",
                "/da/admin/v1/clients",
                json!({
                    "client_id": client_id,
                    "redirect_uris": [CALLBACK],
                    "jwks": Jwks { keys: vec![key.jwk()] },
                    "encryption_jwk": encryption_jwk,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }

    /// A request with `Authorization: Bearer token` and, when given, a body of `content_type`.
    pub async fn bearer(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<(&str, String)>,
        accept: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let body = match body {
            Some((content_type, body)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(body)
            }
            None => Body::empty(),
        };
        self.call(request.body(body).unwrap()).await
    }

    /// The client-credentials token endpoint answer for `client_id` (any status).
    pub async fn client_credentials(&self, client_id: &str, key: &Signer) -> Answer {
        let jti = format!("cc-{}", b64(&rand_bytes()));
        let client_assertion = assertion(key, client_id, TOKEN_URL, 60, &jti);
        self.token(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ])
        .await
    }

    /// A client-credentials access token for `client_id` (200 asserted).
    pub async fn sign_token(&self, client_id: &str, key: &Signer) -> String {
        let answer = self.client_credentials(client_id, key).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Opens a sign transaction with `body` as JSON (any status).
    pub async fn open_transaction(&self, token: &str, body: Value) -> Answer {
        self.bearer(
            "POST",
            SIGN_TRANSACTIONS,
            token,
            Some(("application/json", body.to_string())),
            None,
        )
        .await
    }

    /// Opens a transaction for `digest_type` and base64 `digest`; answers its id (200 asserted).
    pub async fn transaction(&self, token: &str, digest_type: &str, digest: &str) -> String {
        let answer = self
            .open_transaction(token, json!({"digest_type": digest_type, "digest": digest}))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["sign_transaction_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The sign result of `id` with the user's `access_token` (any status).
    pub async fn sign_result(&self, access_token: &str, id: &str) -> Answer {
        self.bearer(
            "GET",
            &format!("{SIGN_TRANSACTIONS}/{id}/result"),
            access_token,
            None,
            None,
        )
        .await
    }
}

/// The authorization request that signs transaction `id` for `client_id` (scope
/// `openid sign`); answers the redirect's query and the PKCE verifier.
pub async fn authorize_sign(
    sim: &Sim,
    client_id: &str,
    id: &str,
) -> (BTreeMap<String, String>, String) {
    let (verifier, challenge) = pkce(client_id);
    let redirect = sim
        .authorize(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("scope", "openid sign"),
            ("state", "st-s"),
            ("nonce", "n-s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("sign_transaction_id", id),
        ])
        .await;
    (redirect, verifier)
}

/// The user signs `id` (a login must be armed) and the code is exchanged: the token answer.
pub async fn sign_and_exchange(sim: &Sim, client_id: &str, key: &Signer, id: &str) -> Value {
    let (redirect, verifier) = authorize_sign(sim, client_id, id).await;
    let code = redirect
        .get("code")
        .unwrap_or_else(|| panic!("no code: {redirect:?}"));
    let jti = format!("jti-{}", b64(&rand_bytes()));
    let client_assertion = assertion(key, client_id, TOKEN_URL, 60, &jti);
    exchange_code(sim, code, &verifier, &client_assertion).await
}

/// The tries left on the card's authentication PIN, asked through its own APDUs.
pub fn auth_pin_tries(sim: &Sim, card: &str) -> u8 {
    use sim_card::{apdu::Apdu, image::Aid, layout::jpki, StatusWord};
    let card = sim.world.card(&card.parse().unwrap()).unwrap();
    let send = |apdu: Apdu| StatusWord::from_response(&card.transmit(&apdu.encode())).unwrap();
    assert!(send(Apdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(Aid::JPKI)).is_success());
    assert!(
        send(Apdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(jpki::AUTH_PIN.0.to_be_bytes()))
            .is_success()
    );
    send(Apdu::new(0x00, 0x20, 0x00, 0x80)).retries().unwrap()
}
