//! The PF's HTTP client: blocking, loopback only, short timeouts, bodies capped. Every failure is a
//! value, so a broken or faulted server becomes a verdict, never a panic.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Long enough for an injected `delay` of a second or two, short enough to fail a hung server.
const TIMEOUT: Duration = Duration::from_secs(5);
/// CRLs of a large world are a few MiB; nothing legitimate here is larger.
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// Why a request got no answer to look at.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url}: the world clock answered {detail}")]
    Clock { url: String, detail: String },
}

/// An HTTP answer of any status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `error` code of a J-LIS refusal (`{"error": CODE, ...}`).
    pub fn error_code(&self) -> Option<String> {
        self.json()?.get("error")?.as_str().map(str::to_owned)
    }
}

/// A client bound to the world's base URL.
pub struct Http {
    base_url: String,
    agent: ureq::Agent,
    /// `Authorization: Bearer` for a world served off loopback.
    authorization: Option<String>,
}

impl Http {
    pub fn new(base_url: &str, admin_token: Option<&str>) -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build();
        let agent = adapter_protocol::http_agent::agent(config);
        Http {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
            authorization: admin_token.map(|token| format!("Bearer {token}")),
        }
    }

    pub fn get(&self, path: &str) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.agent.get(&url);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.call();
        read(url, response)
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.agent.post(&url).header("Content-Type", content_type);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.send(body);
        read(url, response)
    }

    /// The world's time. A PF in this test world lives in simulated time: scenarios move the clock
    /// days ahead, and judging validity or OCSP freshness by the host clock would see answers from
    /// the future and stale CRLs where the world sees none.
    ///
    /// A transport error is tried once more: the admin API is never faulted, so it can only be a
    /// pooled connection the server closed after a faulted answer (one whose request body it did
    /// not read), which the client reused in the moment before it saw the close.
    pub fn world_now(&self) -> Result<OffsetDateTime, HttpError> {
        let reply = match self.get("/admin/v1/clock") {
            Err(HttpError::Transport { .. }) => self.get("/admin/v1/clock")?,
            other => other?,
        };
        let url = format!("{}/admin/v1/clock", self.base_url);
        if reply.status != 200 {
            return Err(HttpError::Clock {
                url,
                detail: format!("HTTP {}", reply.status),
            });
        }
        reply
            .json()
            .and_then(|value| value.get("now")?.as_str().map(str::to_owned))
            .and_then(|now| OffsetDateTime::parse(&now, &Rfc3339).ok())
            .ok_or(HttpError::Clock {
                url,
                detail: "no RFC 3339 `now`".to_owned(),
            })
    }
}

fn read(
    url: String,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, HttpError> {
    let transport = |source| HttpError::Transport {
        url: url.clone(),
        source: Box::new(source),
    };
    let mut response = response.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(transport)?;
    Ok(Reply { status, body })
}
