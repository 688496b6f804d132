//! An unmodified, widely used OpenID Connect client — Python's authlib — logs in against the
//! provider served on a loopback listener: discovery, PKCE S256, `private_key_jwt` with a key
//! authlib generated, the ID token validated by authlib itself (signature with the served JWKS,
//! `iss`, `aud`, `exp`, `nonce`), userinfo. Only the simulator's own steps (registering the
//! client, arming the user's login) are plain HTTP calls. Skipped without python3-authlib and
//! python3-requests unless `JPKI_SIM_REQUIRE_PCSC` is set (CI sets it, and installs them with
//! scripts/setup-debian.sh).

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use serde_json::{json, Value};

const CARD: &str = "felica:0123456789ABCDEF";

/// The relying party: authlib's requests client, used as its documentation shows.
const RELYING_PARTY: &str = r#"
import json, sys, requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken

args = json.load(sys.stdin)
base, client_id, callback = args["base"], "RPAUTHLIB", "https://sp.example/callback"
meta = requests.get(base + "/da/api/realms/main/.well-known/openid-configuration").json()

key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
public = key.as_dict(is_private=False)
public["kid"] = "authlib-key"
private = key.as_dict(is_private=True)
private["kid"] = "authlib-key"
# The simulator's own steps: register the client, arm the user's next login.
requests.post(base + "/da/admin/v1/clients", json={
    "client_id": client_id, "redirect_uris": [callback], "jwks": {"keys": [public]}}
).raise_for_status()
requests.post(base + "/da/admin/v1/logins", json={"card": args["card"]}).raise_for_status()

client = OAuth2Session(
    client_id, private, scope="openid name birthdate", redirect_uri=callback,
    token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"], alg="RS256"),
    code_challenge_method="S256")
verifier = generate_token(48)
nonce = generate_token(20)
url, state = client.create_authorization_url(
    meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
# The user's browser: the provider answers at once with the redirect to the callback.
answer = requests.get(url, allow_redirects=False)
assert answer.status_code == 302, (answer.status_code, answer.text)
token = client.fetch_token(
    meta["token_endpoint"], authorization_response=answer.headers["Location"],
    code_verifier=verifier, state=state)

keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
claims = jwt.decode(
    token["id_token"], keys, claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
    claims_params={"nonce": nonce, "client_id": client_id})
claims.validate()
info = client.get(meta["userinfo_endpoint"]).json()
print(json.dumps({"claims": dict(claims), "userinfo": info}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_logs_in_with_pkce_and_private_key_jwt() {
    let Some(python) = support::python_with(
        "authlib_logs_in_with_pkce_and_private_key_jwt",
        "authlib, requests",
        "python3-authlib or python3-requests is",
    ) else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = WorldConfig::new(base.clone());
    config.clock = Some(ClockMode::Following { offset_seconds: 0 });
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mock-da-keys.sqlite");
    let world = Arc::new(
        World::open(
            config,
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    );
    let card = world.provision(&CARD.parse().unwrap(), None).unwrap();
    let persona = card.state().persona;
    let app =
        mock_jlis::routes::router(world.clone()).merge(mock_da::routes(world.clone()).unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let input = json!({"base": base, "card": CARD});
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(python)
            .args(["-c", RELYING_PARTY])
            // authlib refuses plain HTTP unless told the transport is a local test's.
            .env("AUTHLIB_INSECURE_TRANSPORT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    server.abort();
    assert!(
        output.status.success(),
        "authlib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let claims = &result["claims"];
    assert_eq!(claims["iss"], format!("{base}/da/api/realms/main"));
    assert_eq!(claims["aud"], "RPAUTHLIB");
    assert_eq!(claims["sub"].as_str().unwrap().len(), 64);
    let info = &result["userinfo"];
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["name"], persona.name);
    assert!(info.get("address").is_none(), "address was not asked for");
}
