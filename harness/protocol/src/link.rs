//! How the harness reaches one adapter for one scenario: a child process speaking JSON lines,
//! or an HTTP endpoint taking the same messages. Both say hello when opened, answer one request
//! at a time within the step timeout, and fail with the same [`AdapterError`]s.

use std::time::Duration;

use crate::wire::{Environment, Operation, Response};
use crate::{AdapterError, HttpAdapter, ProcessAdapter};
use vocab::Feature;
use vocab::Role;

/// An adapter that has answered `hello`, over either transport.
pub struct AdapterLink {
    transport: Transport,
    /// The adapter's name, from its `hello`.
    pub name: String,
    /// What it supports, from its `hello`.
    pub features: Vec<Feature>,
}

enum Transport {
    Process(ProcessAdapter),
    Http(HttpAdapter),
}

impl AdapterLink {
    /// Opens the adapter `target` names: an `http://` or `https://` URL is an HTTP adapter (a
    /// session is opened with hello), anything else a command run with `sh -c`.
    pub fn open(
        target: &str,
        role: Role,
        environment: Environment,
        timeout: Duration,
    ) -> Result<AdapterLink, AdapterError> {
        Ok(if is_url(target) {
            HttpAdapter::connect(target, role, environment, timeout)?.into()
        } else {
            ProcessAdapter::spawn(target, role, environment, timeout)?.into()
        })
    }

    /// Sends `operation` and returns the response with its id.
    pub fn call(&mut self, operation: Operation) -> Result<Response, AdapterError> {
        match &mut self.transport {
            Transport::Process(adapter) => adapter.call(operation),
            Transport::Http(adapter) => adapter.call(operation),
        }
    }

    /// Sends `line` as it is (a request line for a process, the body of `POST {url}/request`
    /// for an HTTP adapter) and answers what came back, unparsed; an HTTP status other than
    /// `200` is the adapter breaking. For checking how an adapter meets input the typed
    /// messages cannot express (`jpki-sim adapter check`).
    pub fn exchange_raw(&mut self, line: &str) -> Result<String, AdapterError> {
        match &mut self.transport {
            Transport::Process(adapter) => adapter.exchange_raw(line),
            Transport::Http(adapter) => match adapter.exchange_raw(line)? {
                (200, body) => Ok(body),
                (status, body) => Err(AdapterError::Broken {
                    detail: format!(
                        "POST /request answered HTTP {status}: {}",
                        body.trim_end().chars().take(200).collect::<String>()
                    ),
                    stderr: None,
                }),
            },
        }
    }

    /// An HTTP adapter's URL, session id and timeout; `None` for a process.
    pub fn http_session(&self) -> Option<(String, String, Duration)> {
        match &self.transport {
            Transport::Process(_) => None,
            Transport::Http(adapter) => Some((
                adapter.url().to_owned(),
                adapter.session().to_owned(),
                adapter.timeout(),
            )),
        }
    }

    /// Whether the adapter is a process (rather than an HTTP endpoint).
    pub fn is_process(&self) -> bool {
        matches!(self.transport, Transport::Process(_))
    }

    /// Says `bye`: the process exits (or is killed), the HTTP session closes. For a process,
    /// how it exited (`None` when it had to be killed); `None` for an HTTP adapter.
    pub fn bye(self) -> Option<std::process::ExitStatus> {
        match self.transport {
            Transport::Process(adapter) => adapter.bye(),
            Transport::Http(adapter) => {
                adapter.bye();
                None
            }
        }
    }
}

/// Whether an adapter target is a URL (an HTTP adapter) rather than a command.
pub fn is_url(target: &str) -> bool {
    let target = target.trim_start();
    ["http://", "https://"].iter().any(|scheme| {
        target
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

impl From<ProcessAdapter> for AdapterLink {
    fn from(adapter: ProcessAdapter) -> AdapterLink {
        AdapterLink {
            name: adapter.name.clone(),
            features: adapter.features.clone(),
            transport: Transport::Process(adapter),
        }
    }
}

impl From<HttpAdapter> for AdapterLink {
    fn from(adapter: HttpAdapter) -> AdapterLink {
        AdapterLink {
            name: adapter.name.clone(),
            features: adapter.features.clone(),
            transport: Transport::Http(adapter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_adapters_and_everything_else_a_command() {
        for url in [
            "http://127.0.0.1:8080",
            "HTTPS://adapter.example/v1",
            " http://[::1]:1",
        ] {
            assert!(is_url(url), "{url}");
        }
        for command in [
            "jpki-sim adapter ref-pf",
            "httpd-adapter --port 1",
            "curl http://x",
            "",
        ] {
            assert!(!is_url(command), "{command}");
        }
    }
}
