//! An independent JOSE implementation checks both ends of what this crate signs and verifies:
//! Python's jwcrypto verifies an ID token against the served JWKS (signature, `kid`, `iss`,
//! `aud`, `exp`, `nonce`), and a client key generated and an assertion signed by jwcrypto
//! authenticate a client at the token endpoint. Skipped without python3-jwcrypto unless
//! `JPKI_SIM_REQUIRE_PCSC` is set (CI sets it, and installs the package with
//! scripts/setup-debian.sh).

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::*;

const CARD: &str = "felica:0123456789ABCDEF";

/// Runs `script` with `input` on stdin; answers its stdout as JSON.
fn run(python: &str, script: &str, input: &Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", script])
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
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// jwcrypto makes a client key and signs a private_key_jwt assertion with it.
const MAKE_CLIENT: &str = r#"
import json, sys, time
from jwcrypto import jwk, jwt
args = json.load(sys.stdin)
key = jwk.JWK.generate(kty="RSA", size=2048, kid="py-client-key")
now = int(time.time())
claims = {"iss": args["client_id"], "sub": args["client_id"], "aud": args["aud"],
          "iat": now, "exp": now + 60, "jti": args["jti"]}
token = jwt.JWT(header={"alg": "RS256", "kid": "py-client-key"}, claims=claims)
token.make_signed_token(key)
print(json.dumps({"jwks": {"keys": [json.loads(key.export_public())]},
                  "assertion": token.serialize()}))
"#;

/// jwcrypto verifies the ID token with the provider's JWKS and checks its claims.
const CHECK_ID_TOKEN: &str = r#"
import json, sys
from jwcrypto import jwk, jwt
args = json.load(sys.stdin)
keys = jwk.JWKSet.from_json(json.dumps(args["jwks"]))
checked = jwt.JWT(jwt=args["id_token"], key=keys, algs=["RS256"],
                  check_claims={"iss": args["iss"], "aud": args["aud"], "nonce": args["nonce"],
                                "exp": None, "iat": None, "sub": None})
key = keys.get_key(json.loads(checked.header)["kid"])
print(json.dumps({"header": json.loads(checked.header), "claims": json.loads(checked.claims),
                  "thumbprint": key.thumbprint(), "size": key.export_public(as_dict=True)["n"]}))
"#;

#[tokio::test]
async fn jwcrypto_verifies_the_id_token_and_signs_an_accepted_assertion() {
    let Some(python) = python_with(
        "jwcrypto_verifies_the_id_token_and_signs_an_accepted_assertion",
        "jwcrypto",
        "python3-jwcrypto is",
    ) else {
        return;
    };
    let sim = Sim::new();
    sim.provision(CARD).await;
    let client = run(
        python,
        MAKE_CLIENT,
        &json!({"client_id": "RPPY", "aud": TOKEN_URL, "jti": "py-jti-1"}),
    );
    let registered = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({"client_id": "RPPY", "redirect_uris": [CALLBACK], "jwks": client["jwks"]}),
        )
        .await;
    assert_eq!(
        registered.status,
        axum::http::StatusCode::OK,
        "{:?}",
        registered.body
    );
    sim.arm(json!({"card": CARD})).await;
    let (code, verifier) = authorize_code(&sim, "RPPY", "openid").await;
    let tokens = exchange_code(
        &sim,
        &code,
        &verifier,
        client["assertion"].as_str().unwrap(),
    )
    .await;

    let served = sim.get(CERTS).await.body;
    let checked = run(
        python,
        CHECK_ID_TOKEN,
        &json!({
            "jwks": served,
            "id_token": tokens["id_token"],
            "iss": ISSUER,
            "aud": "RPPY",
            "nonce": "n-1",
        }),
    );
    assert_eq!(checked["header"]["alg"], "RS256");
    assert_eq!(checked["header"]["kid"], served["keys"][0]["kid"]);
    assert_eq!(checked["claims"]["azp"], "RPPY");
    assert_eq!(checked["claims"]["sub"].as_str().unwrap().len(), 64);
    // A 2048-bit modulus is 342 base64url characters.
    assert_eq!(checked["size"].as_str().unwrap().len(), 342);
}
