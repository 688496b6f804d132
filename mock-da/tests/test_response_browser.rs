//! The test-response page in a real browser: headless Chromium, driven through chromedriver's
//! WebDriver HTTP API (W3C WebDriver: navigate, find the element, clear and type, click),
//! opens the SP's authorization URL on a loopback listener, gets the page, types a wrong PIN
//! and clicks 正常 (refused: `access_denied` at the SP's callback, a try spent), then opens it
//! again and clicks 正常 with the page's own PIN: the browser follows the redirect to the SP's
//! loopback callback with a code, which exchanges. The form post must be what the server's
//! browser rules let through: `Origin` the listener's own, `Sec-Fetch-Site: same-origin`.
//!
//! Skipped without Chromium or chromedriver unless `JPKI_SIM_REQUIRE_PCSC` (CI sets it, as for
//! the rendered reports) or `JPKI_SIM_REQUIRE_BROWSER` is set; scripts/setup-debian.sh installs
//! Debian's `chromium` and `chromium-driver`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use mock_da::jose::{b64, Jwks};
use serde_json::{json, Value};
use support::*;

const CARD: &str = "felica:0123456789ABCDEF";
const CLIENT: &str = "RPBROWSER";

/// Whether a missing browser fails the test rather than skipping it.
fn browser_required() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    set("JPKI_SIM_REQUIRE_PCSC") || set("JPKI_SIM_REQUIRE_BROWSER")
}

/// `$VAR`, else `default`, if it exists; `None` (the test skips) when absent and not required.
fn tool(var: &str, default: &str, what: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    if path.exists() {
        return Some(path);
    }
    assert!(
        !browser_required(),
        "JPKI_SIM_REQUIRE_PCSC or JPKI_SIM_REQUIRE_BROWSER is set but {what} is missing at {} \
         (scripts/setup-debian.sh installs it)",
        path.display()
    );
    eprintln!("skipped: no {what} at {}", path.display());
    None
}

/// chromedriver on a port of its choosing; killed when dropped.
struct Driver {
    child: Child,
    url: String,
    agent: ureq::Agent,
}

impl Driver {
    fn start(chromedriver: &Path) -> Driver {
        let mut child = Command::new(chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the ready line, then drains the pipe so that chromedriver never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().to_owned());
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromedriver says its port within 30 s");
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            agent,
        }
    }

    /// A WebDriver command; answers its `value`, failing the test on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let mut answer = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        }
        .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        let status = answer.status().as_u16();
        let text = answer.body_mut().read_to_string().unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{method} {path}: {err}: {text}"));
        assert_eq!(status, 200, "{method} {path}: {text}");
        value["value"].clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session: headless Chromium with the project's flags and a fresh profile.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl<'d> Session<'d> {
    fn open(driver: &'d Driver, chromium: &Path, profile: &Path) -> Session<'d> {
        let args = [
            "--headless".to_owned(),
            // Root in a container has no user namespace for the sandbox.
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let session = driver.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}})),
        );
        let id = session["sessionId"].as_str().unwrap().to_owned();
        Session { driver, id }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn navigate(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn title(&self) -> String {
        self.call("GET", "/title", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element `css` selects (W3C WebDriver §12.3.2).
    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    fn property(&self, element: &str, name: &str) -> Value {
        self.call("GET", &format!("/element/{element}/property/{name}"), None)
    }

    /// Clears the field and types `text` into it, as keystrokes.
    fn type_into(&self, element: &str, text: &str) {
        self.call("POST", &format!("/element/{element}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, element: &str) {
        self.call("POST", &format!("/element/{element}/click"), None);
    }

    /// Waits until the browser is at a URL starting with `prefix`; answers it.
    fn wait_for_url(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = self.url();
            if url.starts_with(prefix) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the browser stayed at {url}, not {prefix}..."
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.id);
        let _ = self
            .driver
            .agent
            .delete(format!("{}{path}", self.driver.url))
            .call();
    }
}

/// What the listener saw of each form post to the page's route.
#[derive(Clone, Default)]
struct Posts(Arc<Mutex<Vec<HeaderMap>>>);

async fn record(posts: Posts, request: Request, next: Next) -> Response {
    if request.uri().path() == "/da/test-response" {
        posts.0.lock().unwrap().push(request.headers().clone());
    }
    next.run(request).await
}

/// Serves `app` on a loopback port; answers its address.
async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tester_logs_in_through_the_page_in_headless_chromium() {
    let Some(chromium) = tool("CHROMIUM", "/usr/bin/chromium", "Chromium") else {
        return;
    };
    let Some(chromedriver) = tool(
        "CHROMEDRIVER",
        "/usr/bin/chromedriver",
        "chromedriver (Debian chromium-driver)",
    ) else {
        return;
    };

    // The SP's callback: a page that keeps the query it was called with.
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let sp = Router::new().route(
        "/callback",
        get({
            let calls = calls.clone();
            move |RawQuery(query): RawQuery| async move {
                calls.lock().unwrap().push(query.unwrap_or_default());
                Html("<!DOCTYPE html><title>SP callback</title><p>back at the SP</p>")
            }
        }),
    );
    let sp_addr = serve(sp).await;
    let callback = format!("http://{sp_addr}/callback");

    // The world with /da on a loopback listener, every form post to the page's route seen.
    let sim = Sim::new();
    sim.provision(CARD).await;
    let key = client_key("browser-key", 11);
    let registered = sim
        .json(
            "POST",
            "/da/admin/v1/clients",
            json!({
                "client_id": CLIENT,
                "redirect_uris": [callback],
                "jwks": Jwks { keys: vec![key.jwk()] },
            }),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    let on = sim
        .json(
            "POST",
            "/da/admin/v1/settings",
            json!({"test_response_page": true}),
        )
        .await;
    assert_eq!(on.body, json!({"test_response_page": true}));
    let posts = Posts::default();
    let app = sim.app.clone().layer(axum::middleware::from_fn({
        let posts = posts.clone();
        move |request: Request, next: Next| record(posts.clone(), request, next)
    }));
    let addr = serve(app).await;
    let origin = format!("http://{addr}");

    let (verifier, challenge) = pkce("browser");
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", &callback),
        ("scope", "openid name"),
        ("state", "st-browser"),
        ("nonce", "n-browser"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let authorization = format!("{origin}{AUTH}?{query}");

    let profile = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let browsed = tokio::task::spawn_blocking({
        let callback = callback.clone();
        move || {
            let driver = Driver::start(&chromedriver);
            let session = Session::open(&driver, &chromium, profile.path());
            let normal = format!("form[data-card=\"{CARD}\"] button[value=\"normal\"]");
            let pin = format!("form[data-card=\"{CARD}\"] input[name=\"pin\"]");

            // A wrong PIN typed over the page's own, then 正常.
            session.navigate(&authorization);
            let title = session.title();
            assert!(
                title.contains("SIMULATOR") && title.contains("シミュレータ"),
                "{title}"
            );
            let field = session.element(&pin);
            assert_eq!(session.property(&field, "value"), "1234");
            session.type_into(&field, "9876");
            assert_eq!(session.property(&field, "value"), "9876");
            session.click(&session.element(&normal));
            let refused = session.wait_for_url(&callback);

            // Again, with the page's PIN as it comes.
            session.navigate(&authorization);
            let banner = session.element("#simulator");
            let text = session.call("GET", &format!("/element/{banner}/text"), None);
            assert!(text.as_str().unwrap().contains("SIMULATOR"), "{text}");
            session.click(&session.element(&normal));
            let logged_in = session.wait_for_url(&callback);
            let landed = session.title();
            (refused, logged_in, landed)
        }
    })
    .await
    .unwrap();
    let (refused, logged_in, landed) = browsed;
    assert_eq!(landed, "SP callback");

    let query_of = |url: &str| -> std::collections::BTreeMap<String, String> {
        serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap()
    };
    let refused = query_of(&refused);
    assert_eq!(refused["error"], "access_denied", "{refused:?}");
    // The PIN the browser typed reached the card: its VERIFY counted a try.
    assert!(
        refused["error_description"].contains("2 tries left"),
        "{refused:?}"
    );
    assert_eq!(refused["state"], "st-browser");
    let answer = query_of(&logged_in);
    assert_eq!(answer["state"], "st-browser");
    let code = answer
        .get("code")
        .unwrap_or_else(|| panic!("no code: {answer:?}"));
    // The SP's listener was called with both answers, as the browser followed the redirects.
    assert_eq!(calls.lock().unwrap().len(), 2);

    // What Chromium sent with each form post: what the server's browser rules let through
    // (harness/served-world/src/browsers.rs: an Origin naming the listener passes; the route is
    // not the admin API, so a form content type is not refused).
    let posts = posts.0.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "one post per click");
    for headers in &posts {
        assert_eq!(headers[header::ORIGIN], origin.as_str());
        assert_eq!(headers["sec-fetch-site"], "same-origin");
        assert_eq!(headers["sec-fetch-mode"], "navigate");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(headers[header::HOST], addr.to_string().as_str());
    }

    // The code exchanges as any code does.
    let jti = format!("jti-{}", b64(&rand_bytes()));
    let client_assertion = assertion(&key, CLIENT, TOKEN_URL, 60, &jti);
    let tokens = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &callback),
            ("code_verifier", &verifier),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &client_assertion),
        ])
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    let claims =
        mock_da::jose::verify(tokens.body["id_token"].as_str().unwrap(), &sim.jwks().await)
            .unwrap()
            .claims;
    assert_eq!(claims["nonce"], "n-browser");
    assert_eq!(claims["aud"], CLIENT);
    let info = sim
        .userinfo(tokens.body["access_token"].as_str().unwrap())
        .await;
    let view = sim.get(&format!("/admin/v1/cards/{CARD}")).await.body;
    assert_eq!(info.body["name"], view["persona"]["name"]);
}
