//! An independent JOSE implementation checks both ends of what this crate signs, verifies and
//! encrypts: Python's jwcrypto verifies an ID token against the served JWKS (signature, `kid`,
//! `iss`, `aud`, `exp`, `nonce`), a client key generated and an assertion signed by jwcrypto
//! authenticate a client at the token endpoint, and jwcrypto decrypts a sign result's JWE with
//! an encryption key it generated (Python's cryptography then verifies the signature inside
//! with the signature certificate); and jwcrypto, validating as an SP does, refuses every
//! faulted ID token (`/da/admin/v1/faults`) for the reason the fault is there. Skipped without python3-jwcrypto unless
//! `JPKI_SIM_REQUIRE_PCSC` is set (CI sets it, and installs the package with
//! scripts/setup-debian.sh).

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::*;

const CARD: &str = "felica:0123456789ABCDEF";
const DOCUMENT: &[u8] = b"a document signed through the sign API";

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

/// jwcrypto makes the SP's encryption key: the public JWK to register, the private JWK to
/// decrypt with, and the same private key as PKCS#8 PEM for this crate's decrypter.
const MAKE_ENCRYPTION_KEY: &str = r#"
import json, sys
from jwcrypto import jwk
key = jwk.JWK.generate(kty="RSA", size=2048, kid="py-enc-key", use="enc", alg="RSA-OAEP-256")
print(json.dumps({"public": key.export_public(as_dict=True), "private": key.export_private(),
                  "pem": key.export_to_pem(private_key=True, password=None).decode()}))
"#;

/// jwcrypto decrypts the JWE (RSA-OAEP-256 and A256GCM allowed, nothing else), then
/// cryptography verifies the signature over the document with the certificate's key.
const OPEN_SIGN_RESULT: &str = r#"
import base64, json, sys
from jwcrypto import jwe, jwk
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
args = json.load(sys.stdin)
token = jwe.JWE(algs=["RSA-OAEP-256", "A256GCM"])
token.deserialize(args["jwe"], key=jwk.JWK.from_json(args["private"]))
result = json.loads(token.payload)
certificate = x509.load_der_x509_certificate(base64.b64decode(result["certificate"]))
certificate.public_key().verify(base64.b64decode(result["signature"]),
                                base64.b64decode(args["document"]),
                                padding.PKCS1v15(), hashes.SHA256())
print(json.dumps({"header": token.jose_header, "result": result,
                  "issuer": certificate.issuer.rfc4514_string()}))
"#;

#[tokio::test]
async fn jwcrypto_decrypts_the_sign_result_and_the_signature_verifies() {
    let Some(python) = python_with(
        "jwcrypto_decrypts_the_sign_result_and_the_signature_verifies",
        "jwcrypto, cryptography",
        "python3-jwcrypto is",
    ) else {
        return;
    };
    use base64::Engine;
    let standard = base64::engine::general_purpose::STANDARD;
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    let encryption = run(python, MAKE_ENCRYPTION_KEY, &json!({}));
    sim.register_signer("RPPY", &key, &encryption["public"])
        .await;

    let token = sim.sign_token("RPPY", &key).await;
    let digest = standard.encode(<sha2::Sha256 as sha2::Digest>::digest(DOCUMENT));
    let id = sim.transaction(&token, "sha256", &digest).await;
    sim.arm(json!({"card": CARD})).await;
    let tokens = sign_and_exchange(&sim, "RPPY", &key, &id).await;
    let answer = sim
        .sign_result(tokens["access_token"].as_str().unwrap(), &id)
        .await;
    assert_eq!(
        answer.status,
        axum::http::StatusCode::OK,
        "{:?}",
        answer.body
    );
    let compact = answer.body.as_str().unwrap();

    let opened = run(
        python,
        OPEN_SIGN_RESULT,
        &json!({
            "jwe": compact,
            "private": encryption["private"],
            "document": standard.encode(DOCUMENT),
        }),
    );
    assert_eq!(opened["header"]["alg"], "RSA-OAEP-256");
    assert_eq!(opened["header"]["enc"], "A256GCM");
    assert_eq!(opened["header"]["kid"], "py-enc-key");
    assert_eq!(opened["result"]["sign_transaction_id"], id.as_str());
    assert!(
        opened["issuer"]
            .as_str()
            .unwrap()
            .contains("digital signature"),
        "{}",
        opened["issuer"]
    );

    // This crate's decrypter reads the same plaintext with the same key.
    let pem = encryption["pem"].as_str().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let pkcs8 = standard.decode(body).unwrap();
    let ours = mock_da::jwe::decrypt(compact, &pkcs8).unwrap();
    let ours: Value = serde_json::from_slice(&ours.plaintext).unwrap();
    assert_eq!(ours, opened["result"]);
}

/// An SP's ID-token validation (OIDC Core §3.1.3.7) with jwcrypto: the signature with the
/// served JWKS and `alg` RS256 only, `iss`, `aud`, `exp`, `nonce` by jwcrypto; `azp` with
/// several audiences and `iat` in the future by hand, as jwcrypto leaves them to the caller.
/// Answers, for each token, `accepted` or the refusal's exception name.
const VALIDATE_ID_TOKENS: &str = r#"
import json, sys, time
from jwcrypto import jwk, jwt
args = json.load(sys.stdin)
keys = jwk.JWKSet.from_json(json.dumps(args["jwks"]))
verdicts = []
for token in args["tokens"]:
    try:
        checked = jwt.JWT(jwt=token, key=keys, algs=["RS256"],
                          check_claims={"iss": args["iss"], "aud": args["aud"],
                                        "nonce": args["nonce"], "exp": None, "iat": None})
        claims = json.loads(checked.claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != args["aud"]:
            raise ValueError("azp")
        if claims["iat"] > time.time() + 60:
            raise ValueError("iat")
        verdicts.append("accepted")
    except Exception as err:
        verdicts.append(type(err).__name__ + (": " + str(err) if isinstance(err, ValueError) else ""))
print(json.dumps(verdicts))
"#;

#[tokio::test]
async fn jwcrypto_refuses_every_faulted_id_token_and_accepts_the_genuine_one() {
    let Some(python) = python_with(
        "jwcrypto_refuses_every_faulted_id_token_and_accepts_the_genuine_one",
        "jwcrypto",
        "python3-jwcrypto is",
    ) else {
        return;
    };
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 11);
    sim.register("RP1", &key).await;
    // (fault, what jwcrypto or the SP's own check says)
    let cases = [
        ("id_token_issuer", "JWTInvalidClaimValue"),
        ("id_token_audience", "JWTInvalidClaimValue"),
        ("id_token_azp", "ValueError: azp"),
        ("id_token_expired", "JWTExpired"),
        ("id_token_issued_in_future", "ValueError: iat"),
        ("id_token_nonce", "JWTInvalidClaimValue"),
        ("id_token_unknown_kid", "JWTMissingKey"),
        // No key of the set is one for `alg: none`.
        ("id_token_alg_none", "JWTMissingKey"),
        ("id_token_foreign_key", "InvalidJWSSignature"),
    ];
    let mut tokens = Vec::new();
    for (fault, _) in cases {
        let armed = sim
            .json(
                "POST",
                "/da/admin/v1/faults",
                json!({"fault": {"kind": fault}, "count": 1}),
            )
            .await;
        assert_eq!(armed.status, axum::http::StatusCode::OK, "{:?}", armed.body);
        sim.arm(json!({"card": CARD})).await;
        tokens.push(login(&sim, "RP1", &key, "openid").await["id_token"].clone());
    }
    sim.arm(json!({"card": CARD})).await;
    tokens.push(login(&sim, "RP1", &key, "openid").await["id_token"].clone());
    let verdicts = run(
        python,
        VALIDATE_ID_TOKENS,
        &json!({
            "jwks": sim.get(CERTS).await.body,
            "tokens": tokens,
            "iss": ISSUER,
            "aud": "RP1",
            "nonce": "n-1",
        }),
    );
    let expected: Vec<&str> = cases
        .iter()
        .map(|(_, says)| *says)
        .chain(["accepted"])
        .collect();
    assert_eq!(verdicts, json!(expected));
}
