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

    /// Says `bye`: the process exits (or is killed), the HTTP session closes.
    pub fn bye(self) {
        match self.transport {
            Transport::Process(adapter) => adapter.bye(),
            Transport::Http(adapter) => adapter.bye(),
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
