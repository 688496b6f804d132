//! The test-response page without a socket: switched off by default (the `login_required`
//! redirect stays), switched on through `/da/admin/v1/settings`; the page's contents and
//! headers, every value escaped; each answer played as an armed login would be and answered
//! with the same redirect, the code exchanging; the held request single-use and expiring on the
//! world clock; every malformed form a precise `400` that leaves the request held.
//! The browser's side is `test_response_browser.rs`.

mod support;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use mock_da::jose::b64;
use mock_jlis::openapi_check::{check_documented, Answer as DocumentedAnswer};
use serde_json::{json, Value};
use support::*;
use tower::ServiceExt;

const CARD: &str = "felica:0123456789ABCDEF";
const OTHER_CARD: &str = "felica:00000000000000DA";
const FORM: &str = "application/x-www-form-urlencoded";

/// A world with `CARD` provisioned, client `RP1` registered, and the page switched on.
async fn with_page() -> (Sim, mock_da::jose::Signer) {
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("rp1-key", 7);
    sim.register("RP1", &key).await;
    switch(&sim, true).await;
    (sim, key)
}

async fn switch(sim: &Sim, on: bool) -> Value {
    let answer = sim
        .json(
            "POST",
            "/da/admin/v1/settings",
            json!({"test_response_page": on}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

/// The authorization request of `RP1` with `overrides` (value "" removes a parameter), and
/// its PKCE verifier.
fn request(overrides: &[(&'static str, &'static str)]) -> (Vec<(String, String)>, String) {
    let (verifier, challenge) = pkce("page");
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", "RP1"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid name"),
        ("state", "st-page"),
        ("nonce", "n-page"),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    params.push(("code_challenge".into(), challenge));
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    (params, verifier)
}

/// The authorization request answered with the page: its HTML (200 and the headers
/// asserted) and the held request's id.
async fn page(sim: &Sim, params: &[(String, String)]) -> (String, String) {
    let query = serde_urlencoded::to_string(params).unwrap();
    let answer = sim.get(&format!("{AUTH}?{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let html = answer.body.as_str().expect("HTML, not JSON").to_owned();
    let headers = &answer.headers;
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // `no-referrer` would make the form's Origin `null`, which the server's guard refuses.
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
    let id = hidden_request(&html);
    (html, id)
}

/// The value of the page's first `name="request"` hidden field.
fn hidden_request(html: &str) -> String {
    let at = html
        .find("name=\"request\" value=\"")
        .expect("a held request id");
    let rest = &html[at + "name=\"request\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Posts `body` to the page's route as a same-origin browser form would.
async fn post(sim: &Sim, body: &str) -> Answer {
    sim.call(
        Request::post("/da/test-response")
            .header(header::CONTENT_TYPE, FORM)
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

fn form(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

/// The redirect's query, `CALLBACK` asserted.
fn redirected(answer: &Answer) -> BTreeMap<String, String> {
    assert_eq!(answer.status, StatusCode::FOUND, "{:?}", answer.body);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let location = answer.location.as_deref().unwrap();
    let (target, query) = location.split_once('?').unwrap();
    assert_eq!(target, CALLBACK);
    serde_urlencoded::from_str(query).unwrap()
}

/// A `400 invalid_request` whose description contains `says`.
fn refused(answer: &Answer, says: &str) {
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "{says}: {:?}",
        answer.body
    );
    assert_eq!(answer.body["error"], "invalid_request", "{:?}", answer.body);
    let description = answer.body["error_description"].as_str().unwrap();
    assert!(description.contains(says), "{description:?} says {says:?}");
}

#[tokio::test]
async fn the_page_is_off_by_default_and_no_armed_login_stays_login_required() {
    let sim = Sim::new();
    sim.provision(CARD).await;
    sim.register("RP1", &client_key("rp1-key", 7)).await;
    let settings = sim.get("/da/admin/v1/settings").await;
    assert_eq!(settings.body, json!({"test_response_page": false}));
    let (params, _) = request(&[]);
    let query = serde_urlencoded::to_string(&params).unwrap();
    let answer = sim.get(&format!("{AUTH}?{query}")).await;
    let redirect = redirected(&answer);
    assert_eq!(redirect["error"], "login_required");
    assert_eq!(redirect["state"], "st-page");
    // Nothing is held, so no form is taken either.
    refused(
        &post(&sim, &form(&[("request", "x"), ("response", "normal")])).await,
        "switched off",
    );
}

#[tokio::test]
async fn the_page_says_simulator_and_lists_every_card_with_its_holder_and_pin() {
    let (sim, _) = with_page().await;
    let other = sim.provision(OTHER_CARD).await;
    let mine = sim.get(&format!("/admin/v1/cards/{CARD}")).await.body;
    let (params, _) = request(&[]);
    let (html, id) = page(&sim, &params).await;

    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains(
        "<title>【シミュレータ】テストレスポンス — SIMULATOR: test response (jpki-sim)</title>"
    ));
    assert!(html.contains("シミュレータ / SIMULATOR"));
    assert!(html.contains("デジタル庁のデジタル認証アプリ・本番環境ではありません"));
    assert!(html.contains("not the Digital Agency's service"));
    // Self-contained: no script, no resource from anywhere.
    for absent in [
        "<script",
        " src=",
        "<link",
        "url(",
        "@import",
        "javascript:",
    ] {
        assert!(!html.contains(absent), "{absent} in the page");
    }
    // One form per card, in card-id order, each with the holder, the PIN and the choices.
    for (card, view) in [(OTHER_CARD, &other), (CARD, &mine)] {
        let at = html
            .find(&format!("data-card=\"{card}\""))
            .unwrap_or_else(|| panic!("no form for {card}"));
        let form = &html[at..at + html[at..].find("</form>").unwrap()];
        let name = view["persona"]["name"].as_str().unwrap();
        let pin = view["persona"]["pins"]["auth_pin"].as_str().unwrap();
        assert!(form.contains(name), "{name} in {form}");
        assert!(form.contains(&format!("name=\"card\" value=\"{card}\"")));
        assert!(form.contains("name=\"pin\" type=\"text\""));
        assert!(form.contains(&format!("value=\"{pin}\"")), "{form}");
        assert!(form.contains(&format!("name=\"request\" value=\"{id}\"")));
        assert!(form.contains("利用者証明用電子証明書の暗証番号"));
        for (value, label) in [
            ("normal", "正常"),
            ("wrong_pin", "暗証番号誤り"),
            ("refuse", "同意しない"),
        ] {
            assert!(
                form.contains(&format!(
                    "<button type=\"submit\" name=\"response\" value=\"{value}\">{label}"
                )),
                "{value} in {form}"
            );
        }
    }
    assert!(
        html.find(OTHER_CARD).unwrap() < html.find(CARD).unwrap(),
        "cards in id order"
    );
    assert!(
        html.find("value=\"normal\"").unwrap() < html.find("value=\"wrong_pin\"").unwrap(),
        "正常 is each form's first button, the one Enter presses"
    );
    for error in ["login_required", "server_error", "temporarily_unavailable"] {
        assert!(html.contains(&format!("value=\"{error}\"")), "{error}");
    }
    assert!(html.contains("<code>RP1</code>") && html.contains("<code>st-page</code>"));
    assert!(html.contains("300 秒以内"));
    assert_eq!(id.len(), 43, "32 random bytes, base64url: {id}");
    // The request is held, not played: no PIN try is spent until the tester answers.
    assert_eq!(auth_pin_tries(&sim, CARD), 3);

    // The page is the documented 200 of the authorization endpoint.
    let doc: Value = serde_json::from_str(mock_da::OPENAPI).unwrap();
    let query = serde_urlencoded::to_string(&params).unwrap();
    let response = sim
        .app
        .clone()
        .oneshot(
            Request::get(format!("{AUTH}?{query}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let answer = DocumentedAnswer::read(response).await;
    check_documented(&doc, "GET", AUTH, AUTH, &answer);
}

#[tokio::test]
async fn normal_logs_in_with_the_card_and_the_code_exchanges() {
    let (sim, key) = with_page().await;
    let (params, verifier) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let answer = post(
        &sim,
        &form(&[
            ("request", &id),
            ("card", CARD),
            ("pin", "1234"),
            ("response", "normal"),
        ]),
    )
    .await;
    let redirect = redirected(&answer);
    assert_eq!(redirect["state"], "st-page");
    let code = &redirect["code"];
    let jti = format!("jti-{}", b64(&rand_bytes()));
    let tokens = exchange_code(
        &sim,
        code,
        &verifier,
        &assertion(&key, "RP1", TOKEN_URL, 60, &jti),
    )
    .await;
    let claims = mock_da::jose::verify(tokens["id_token"].as_str().unwrap(), &sim.jwks().await)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], "n-page");
    assert_eq!(claims["aud"], "RP1");
    let info = sim.userinfo(tokens["access_token"].as_str().unwrap()).await;
    let view = sim.get(&format!("/admin/v1/cards/{CARD}")).await.body;
    assert_eq!(info.body["name"], view["persona"]["name"]);
    assert_eq!(auth_pin_tries(&sim, CARD), 3);
}

#[tokio::test]
async fn an_empty_pin_field_types_the_cards_own_pin() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let answer = post(
        &sim,
        &form(&[
            ("request", &id),
            ("card", CARD),
            ("pin", ""),
            ("response", "normal"),
        ]),
    )
    .await;
    assert!(redirected(&answer).contains_key("code"));
}

#[tokio::test]
async fn wrong_pin_costs_a_try_on_the_card_and_is_access_denied() {
    let (sim, _) = with_page().await;
    for (pin, left) in [("1234", 2), ("9999", 1)] {
        // The field is ignored: `wrong_pin` types a PIN that is not the card's.
        let (params, _) = request(&[]);
        let (_, id) = page(&sim, &params).await;
        let answer = post(
            &sim,
            &form(&[
                ("request", &id),
                ("card", CARD),
                ("pin", pin),
                ("response", "wrong_pin"),
            ]),
        )
        .await;
        let redirect = redirected(&answer);
        assert_eq!(redirect["error"], "access_denied", "{redirect:?}");
        assert_eq!(redirect["state"], "st-page");
        assert!(!redirect.contains_key("code"));
        assert_eq!(auth_pin_tries(&sim, CARD), left);
    }
    // A wrong PIN typed into the field under 正常 is the same refusal.
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let answer = post(
        &sim,
        &form(&[
            ("request", &id),
            ("card", CARD),
            ("pin", "0000"),
            ("response", "normal"),
        ]),
    )
    .await;
    assert_eq!(redirected(&answer)["error"], "access_denied");
    assert_eq!(auth_pin_tries(&sim, CARD), 0);
}

#[tokio::test]
async fn refusing_consent_is_access_denied_and_spends_no_try() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let answer = post(
        &sim,
        &form(&[("request", &id), ("card", CARD), ("response", "refuse")]),
    )
    .await;
    let redirect = redirected(&answer);
    assert_eq!(redirect["error"], "access_denied");
    assert!(redirect["error_description"].contains("refused"));
    assert_eq!(redirect["state"], "st-page");
    assert_eq!(auth_pin_tries(&sim, CARD), 3);
}

#[tokio::test]
async fn provider_side_errors_are_redirected_with_the_sps_state_and_no_card() {
    let (sim, _) = with_page().await;
    for error in ["login_required", "server_error", "temporarily_unavailable"] {
        let (params, _) = request(&[]);
        let (_, id) = page(&sim, &params).await;
        // The provider form carries no card; a card given is ignored.
        let answer = post(&sim, &form(&[("request", &id), ("response", error)])).await;
        let redirect = redirected(&answer);
        assert_eq!(redirect["error"], error);
        assert_eq!(
            redirect["error_description"],
            format!("test response: {error} (chosen on the test-response page)")
        );
        assert_eq!(redirect["state"], "st-page");
        assert!(!redirect.contains_key("code"));
    }
    assert_eq!(auth_pin_tries(&sim, CARD), 3);
}

#[tokio::test]
async fn a_held_request_answers_once() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let body = form(&[("request", &id), ("card", CARD), ("response", "normal")]);
    assert!(redirected(&post(&sim, &body).await).contains_key("code"));
    refused(
        &post(&sim, &body).await,
        "unknown, expired or already answered",
    );
    // Another answer to the same id, even a provider error, is refused too.
    refused(
        &post(
            &sim,
            &form(&[("request", &id), ("response", "server_error")]),
        )
        .await,
        "already answered",
    );
}

#[tokio::test]
async fn a_held_request_expires_after_300_seconds_of_the_world_clock() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let moved = sim
        .json("POST", "/admin/v1/clock", json!({"advance": "301s"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    refused(
        &post(
            &sim,
            &form(&[("request", &id), ("card", CARD), ("response", "normal")]),
        )
        .await,
        "unknown, expired or already answered",
    );
}

#[tokio::test]
async fn bad_forms_are_precise_400s_and_leave_the_request_held() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let long = "1".repeat(17);
    let cases: Vec<(String, &str)> = vec![
        (
            form(&[("card", CARD), ("response", "normal")]),
            "request is required",
        ),
        (
            form(&[("request", ""), ("response", "normal")]),
            "request is required",
        ),
        (
            form(&[("request", &id), ("card", CARD)]),
            "response is required",
        ),
        (
            form(&[
                ("request", &id),
                ("card", CARD),
                ("response", "access_denied"),
            ]),
            "response 'access_denied' is none of normal, wrong_pin",
        ),
        (
            form(&[("request", &id), ("response", "normal")]),
            "card is required",
        ),
        (
            form(&[("request", &id), ("response", "refuse")]),
            "card is required",
        ),
        (
            form(&[
                ("request", &id),
                ("card", "felica:XYZ"),
                ("response", "normal"),
            ]),
            "card 'felica:XYZ' is not a card id",
        ),
        (
            form(&[
                ("request", &id),
                ("card", OTHER_CARD),
                ("response", "normal"),
            ]),
            "card felica:00000000000000DA is not provisioned",
        ),
        (
            form(&[
                ("request", &id),
                ("card", CARD),
                ("pin", &long),
                ("response", "normal"),
            ]),
            "pin must be at most 16 printable ASCII characters",
        ),
        (
            form(&[
                ("request", &id),
                ("card", CARD),
                ("pin", "12 4"),
                ("response", "normal"),
            ]),
            "pin must be at most 16",
        ),
        (
            form(&[
                ("request", &id),
                ("card", CARD),
                ("pin", "１２３４"),
                ("response", "normal"),
            ]),
            "pin must be at most 16",
        ),
        (
            format!(
                "{}&card={CARD}",
                form(&[("request", &id), ("card", CARD), ("response", "normal")])
            ),
            "card is given more than once",
        ),
        (
            form(&[
                ("request", &id),
                ("card", CARD),
                ("response", "normal"),
                ("client_id", "RP2"),
            ]),
            "'client_id' is not a field of the test-response form",
        ),
        (
            form(&[("request", "nope"), ("card", CARD), ("response", "normal")]),
            "the authorization request 'nope' is unknown, expired or already answered",
        ),
    ];
    for (body, says) in &cases {
        refused(&post(&sim, body).await, says);
    }
    // Not a form, not UTF-8, not decodable.
    let raw = |content_type: &str, body: Vec<u8>| {
        Request::post("/da/test-response")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let json_body = format!("{{\"request\": \"{id}\", \"response\": \"normal\"}}");
    refused(
        &sim.call(raw("application/json", json_body.into_bytes()))
            .await,
        "posted as application/x-www-form-urlencoded",
    );
    refused(
        &sim.call(raw(FORM, b"request=\xff\xfe&response=normal".to_vec()))
            .await,
        "the form is not UTF-8",
    );
    refused(
        &sim.call(raw(FORM, b"request=%ZZ&response=normal".to_vec()))
            .await,
        "",
    );
    // Arbitrary bytes are refused, never a panic or a 5xx.
    const ALPHABET: &[u8] = b"=&%+request=response=card=pin=normal\xff\x00";
    let mut seed = 0x2545_f491_u32;
    for n in 0..200 {
        let body: Vec<u8> = (0..n % 64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                ALPHABET[seed as usize % ALPHABET.len()]
            })
            .collect();
        let answer = sim.call(raw(FORM, body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.body);
    }
    // After all that, the request is still held and the right answer logs in.
    let answer = post(
        &sim,
        &form(&[("request", &id), ("card", CARD), ("response", "normal")]),
    )
    .await;
    assert!(redirected(&answer).contains_key("code"));
    assert_eq!(auth_pin_tries(&sim, CARD), 3);
}

#[tokio::test]
async fn every_value_on_the_page_is_escaped() {
    let sim = Sim::new();
    let hostile = "<b>\"山田'&</b>";
    let provisioned = sim
        .json(
            "POST",
            "/admin/v1/cards",
            json!({"card": CARD, "persona": {"name": hostile}}),
        )
        .await;
    assert_eq!(provisioned.status, StatusCode::OK, "{:?}", provisioned.body);
    let key = client_key("rp1-key", 7);
    let callback = "https://sp.example/cb?x=\"><script>alert(1)</script>&y='1'";
    let registered = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({
                "client_id": "RP1",
                "redirect_uris": [callback],
                "jwks": mock_da::jose::Jwks { keys: vec![key.jwk()] },
            }),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    switch(&sim, true).await;
    let state = "\"><script>alert('state')</script>&amp;";
    let (mut params, _) = request(&[("state", state)]);
    params.retain(|(n, _)| n != "redirect_uri");
    params.push(("redirect_uri".into(), callback.into()));
    let (html, _) = page(&sim, &params).await;
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains(
        "<code>&quot;&gt;&lt;script&gt;alert(&#39;state&#39;)&lt;/script&gt;&amp;amp;</code>"
    ));
    assert!(html.contains(
        "<code>https://sp.example/cb?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;y=&#39;1&#39;</code>"
    ));
    assert!(!html.contains(hostile));
    assert!(
        html.contains("&lt;b&gt;&quot;山田&#39;&amp;&lt;/b&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn a_malformed_request_is_refused_on_the_redirect_before_any_page() {
    let (sim, _) = with_page().await;
    for (overrides, says) in [
        (&[("nonce", "")][..], "nonce is required"),
        (&[("scope", "name")][..], "scope must contain openid"),
        (&[("code_challenge_method", "plain")][..], "S256 only"),
        (
            &[("scope", "openid sign")][..],
            "needs a sign_transaction_id",
        ),
        (
            &[("scope", "openid sign"), ("sign_transaction_id", "nope")][..],
            "is unknown or expired",
        ),
    ] {
        let (params, _) = request(overrides);
        let query = serde_urlencoded::to_string(&params).unwrap();
        let answer = sim.get(&format!("{AUTH}?{query}")).await;
        let redirect = redirected(&answer);
        assert!(
            redirect["error_description"].contains(says),
            "{overrides:?}: {redirect:?}"
        );
    }
}

#[tokio::test]
async fn an_armed_login_is_played_before_the_page() {
    let (sim, _) = with_page().await;
    sim.arm(json!({"card": CARD, "client_id": "RP1"})).await;
    let (params, _) = request(&[]);
    let query = serde_urlencoded::to_string(&params).unwrap();
    let answer = sim.get(&format!("{AUTH}?{query}")).await;
    assert!(redirected(&answer).contains_key("code"));
    // Another client's armed login is not this client's: the page comes.
    sim.arm(json!({"card": CARD, "client_id": "RP2"})).await;
    page(&sim, &params).await;
}

#[tokio::test]
async fn switching_the_page_off_forgets_the_held_requests() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    assert_eq!(
        switch(&sim, false).await,
        json!({"test_response_page": false})
    );
    let body = form(&[("request", &id), ("card", CARD), ("response", "normal")]);
    refused(&post(&sim, &body).await, "switched off");
    switch(&sim, true).await;
    refused(
        &post(&sim, &body).await,
        "unknown, expired or already answered",
    );
    // Unknown settings are refused by name.
    let answer = sim
        .json(
            "POST",
            "/da/admin/v1/settings",
            json!({"test_response": true}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_json");
    // An empty update changes nothing.
    let answer = sim.json("POST", "/da/admin/v1/settings", json!({})).await;
    assert_eq!(answer.body, json!({"test_response_page": true}));
}

#[tokio::test]
async fn a_form_from_another_site_is_refused_and_the_request_stays_held() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let body = form(&[("request", &id), ("card", CARD), ("response", "normal")]);
    for site in ["cross-site", "same-site"] {
        let answer = sim
            .call(
                Request::post("/da/test-response")
                    .header(header::CONTENT_TYPE, FORM)
                    .header("sec-fetch-site", site)
                    .body(Body::from(body.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{site}");
        assert_eq!(answer.body["error"], "cross_origin");
    }
    assert!(redirected(&post(&sim, &body).await).contains_key("code"));
}

#[tokio::test]
async fn a_client_withdrawn_while_the_page_is_open_gets_no_redirect() {
    let (sim, _) = with_page().await;
    let (params, _) = request(&[]);
    let (_, id) = page(&sim, &params).await;
    let gone = sim
        .json("DELETE", "/da/admin/v1/clients/RP1", json!({}))
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    refused(
        &post(
            &sim,
            &form(&[("request", &id), ("card", CARD), ("response", "normal")]),
        )
        .await,
        "client 'RP1' or its redirect URI is no longer registered",
    );
}

#[tokio::test]
async fn a_request_that_signs_asks_for_the_signature_password_and_signs() {
    let (sim, key) = with_page().await;
    let (jwk, _) = encryption_key("rp1-enc", 9);
    sim.register_signer("RP1", &key, &serde_json::to_value(&jwk).unwrap())
        .await;
    let token = sim.sign_token("RP1", &key).await;
    let digest = base64_digest();
    let transaction = sim.transaction(&token, "sha256", &digest).await;
    let (params, verifier) = request(&[("scope", "openid sign")]);
    let mut params = params;
    params.push(("sign_transaction_id".into(), transaction.clone()));
    let (html, id) = page(&sim, &params).await;
    assert!(html.contains("署名用電子証明書のパスワード"));
    assert!(
        html.contains("value=\"ABC123\""),
        "the card's signature password"
    );
    assert!(html.contains(&format!("<code>{transaction}</code>")));
    let answer = post(
        &sim,
        &form(&[("request", &id), ("card", CARD), ("response", "normal")]),
    )
    .await;
    let redirect = redirected(&answer);
    let jti = format!("jti-{}", b64(&rand_bytes()));
    let tokens = exchange_code(
        &sim,
        &redirect["code"],
        &verifier,
        &assertion(&key, "RP1", TOKEN_URL, 60, &jti),
    )
    .await;
    let result = sim
        .sign_result(tokens["access_token"].as_str().unwrap(), &transaction)
        .await;
    assert_eq!(result.status, StatusCode::OK, "{:?}", result.body);
}

fn base64_digest() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([0x5a; 32])
}
