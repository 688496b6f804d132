//! An adapter behind HTTP (docs/adapter-protocol.md, "Over HTTP"): `POST {url}/hello` opens a
//! session whose id comes back in the `Session-Id` header, `POST {url}/request` carries each
//! request with that header, `POST {url}/bye` closes the session. Bodies are the protocol's
//! messages as JSON.

use std::time::Duration;

use crate::wire::{
    AdapterMessage, Environment, HarnessMessage, Operation, Request, Response, VERSION,
};
use crate::AdapterError;
use vocab::{Feature, Role};

/// The header carrying the session id `hello` opened.
pub const SESSION_HEADER: &str = "Session-Id";

/// Largest answer read: a response carries a certificate or a card-face image at most.
const MAX_ANSWER: u64 = 4 << 20;

/// How long `bye` waits for its answer.
const BYE_GRACE: Duration = Duration::from_secs(2);

/// An HTTP adapter session that has answered `hello`.
pub struct HttpAdapter {
    /// The adapter's URL, without a trailing `/`.
    base: String,
    agent: ureq::Agent,
    session: String,
    timeout: Duration,
    next_id: u64,
    /// The adapter's name, from its `hello`.
    pub name: String,
    /// What it supports, from its `hello`.
    pub features: Vec<Feature>,
}

impl HttpAdapter {
    /// Opens a session at `url` as `role` with `environment`; waits at most `timeout` for the
    /// answer (and for each response later).
    pub fn connect(
        url: &str,
        role: Role,
        environment: Environment,
        timeout: Duration,
    ) -> Result<HttpAdapter, AdapterError> {
        let base = url.trim().trim_end_matches('/').to_owned();
        if base
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        {
            return Err(AdapterError::Broken {
                detail: format!(
                    "cannot reach it at {base}: this harness speaks plain HTTP only (no TLS); \
                     serve the adapter on http:// over loopback or a trusted network"
                ),
                stderr: None,
            });
        }
        let mut adapter = HttpAdapter {
            base,
            agent: crate::http_agent::agent(
                ureq::Agent::config_builder()
                    .timeout_global(Some(timeout))
                    .http_status_as_error(false)
                    .build(),
            ),
            session: String::new(),
            timeout,
            next_id: 1,
            name: String::new(),
            features: Vec::new(),
        };
        let hello = HarnessMessage::Hello {
            version: VERSION,
            role,
            environment,
        };
        let (answer, session) = adapter.post("hello", &hello, "hello")?;
        let Some(session) = session.filter(|session| !session.is_empty()) else {
            return Err(adapter.broke(format!(
                "its answer to POST {}/hello has no {SESSION_HEADER} header",
                adapter.base
            )));
        };
        adapter.session = session;
        match answer {
            AdapterMessage::Hello {
                version: VERSION,
                name,
                features,
            } => {
                adapter.name = name;
                adapter.features = features;
                Ok(adapter)
            }
            AdapterMessage::Hello { version, .. } => Err(adapter.broke(format!(
                "it speaks protocol version {version}, not {VERSION}"
            ))),
            AdapterMessage::Response(_) => {
                Err(adapter.broke("it answered hello with a response".to_owned()))
            }
        }
    }

    /// Sends `operation` and returns the response with its id.
    pub fn call(&mut self, operation: Operation) -> Result<Response, AdapterError> {
        let id = self.next_id;
        self.next_id += 1;
        let request = HarnessMessage::Request(Request { id, operation });
        match self.post("request", &request, "a response")?.0 {
            AdapterMessage::Response(response) if response.id == id => Ok(response),
            AdapterMessage::Response(response) => Err(self.broke(format!(
                "it answered request {id} with the id {}",
                response.id
            ))),
            AdapterMessage::Hello { .. } => {
                Err(self.broke(format!("it answered request {id} with a hello")))
            }
        }
    }

    /// Closes the session; an adapter that does not answer within 2 s is left to expire it.
    pub fn bye(self) {
        let url = format!("{}/bye", self.base);
        let sent = self
            .agent
            .post(&url)
            .config()
            .timeout_global(Some(BYE_GRACE.min(self.timeout)))
            .build()
            .header("Content-Type", "application/json")
            .header(SESSION_HEADER, &self.session)
            .send(HarnessMessage::Bye.to_line());
        if let Err(err) = sent {
            tracing::debug!(%url, error = %err, "bye was not answered");
        }
    }

    /// The adapter's URL, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// How long one answer may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The session id the adapter gave.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// POSTs `body` as it is to `{url}/request` in this session; answers the HTTP status and
    /// the body, unparsed (`jpki-sim adapter check`).
    pub fn exchange_raw(&mut self, body: &str) -> Result<(u16, String), AdapterError> {
        post_raw(
            &self.agent,
            &self.base,
            "request",
            Some(&self.session),
            body,
            self.timeout,
        )
    }

    /// POSTs `message` to `{base}/{path}`; the answer as a message, and its session header.
    fn post(
        &self,
        path: &str,
        message: &HarnessMessage,
        what: &str,
    ) -> Result<(AdapterMessage, Option<String>), AdapterError> {
        let url = format!("{}/{path}", self.base);
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if !self.session.is_empty() {
            request = request.header(SESSION_HEADER, &self.session);
        }
        let mut answer = request.send(message.to_line()).map_err(|err| match err {
            ureq::Error::Timeout(_) => self.broke(format!(
                "no {what} from POST {url} within {:.1} s",
                self.timeout.as_secs_f64()
            )),
            err => self.broke(format!("cannot reach it at {url}: {err}")),
        })?;
        let status = answer.status().as_u16();
        let session = answer
            .headers()
            .get(SESSION_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|err| match err {
                ureq::Error::Timeout(_) => self.broke(format!(
                    "no {what} from POST {url} within {:.1} s",
                    self.timeout.as_secs_f64()
                )),
                err => self.broke(format!("cannot read its answer to POST {url}: {err}")),
            })?;
        let shown: String = body.trim_end().chars().take(200).collect();
        if status != 200 {
            return Err(self.broke(format!("POST {url} answered HTTP {status}: {shown}")));
        }
        let message = AdapterMessage::from_line(&body).map_err(|err| {
            self.broke(format!(
                "POST {url} answered {shown:?}, which is not a message ({err})"
            ))
        })?;
        Ok((message, session))
    }

    fn broke(&self, detail: String) -> AdapterError {
        AdapterError::Broken {
            detail,
            stderr: None,
        }
    }
}

/// POSTs `body` as it is to `{url}/{path}` (with `session` in [`SESSION_HEADER`] when given)
/// outside any session the harness opened: the HTTP status and the body, unparsed. For checking
/// an adapter's refusals (`jpki-sim adapter check`).
pub fn post_raw_to(
    url: &str,
    path: &str,
    session: Option<&str>,
    body: &str,
    timeout: Duration,
) -> Result<(u16, String), AdapterError> {
    let agent = crate::http_agent::agent(
        ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build(),
    );
    post_raw(
        &agent,
        url.trim().trim_end_matches('/'),
        path,
        session,
        body,
        timeout,
    )
}

fn post_raw(
    agent: &ureq::Agent,
    base: &str,
    path: &str,
    session: Option<&str>,
    body: &str,
    timeout: Duration,
) -> Result<(u16, String), AdapterError> {
    let url = format!("{base}/{path}");
    let broke = |detail: String| AdapterError::Broken {
        detail,
        stderr: None,
    };
    let mut request = agent.post(&url).header("Content-Type", "application/json");
    if let Some(session) = session {
        request = request.header(SESSION_HEADER, session);
    }
    let mut answer = request.send(body).map_err(|err| match err {
        ureq::Error::Timeout(_) => broke(format!(
            "no answer from POST {url} within {:.1} s",
            timeout.as_secs_f64()
        )),
        err => broke(format!("cannot reach it at {url}: {err}")),
    })?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_string()
        .map_err(|err| broke(format!("cannot read its answer to POST {url}: {err}")))?;
    Ok((status, text))
}
