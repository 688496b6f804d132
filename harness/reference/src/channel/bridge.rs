//! A card behind the HTTP APDU bridge: `POST` the command APDU, the response APDU back.

use std::time::Duration;

use super::{CardChannel, ChannelError};

/// How long one APDU may take through the bridge.
const APDU_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest response body read; an extended response APDU is far shorter.
const BODY_LIMIT: u64 = 1 << 20;

/// The APDU bridge did not carry the APDU to the card and back.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No HTTP answer, or one whose body could not be read (refused, timed out, cut short).
    #[error("POST {url} failed")]
    Request {
        /// The bridge URL posted to.
        url: String,
        /// Why no answer came, as `ureq` reports it.
        #[source]
        source: ureq::Error,
    },
    /// The bridge answered with an HTTP error (unknown card, the card failing, ...).
    #[error("POST {url}: HTTP {status} {body}")]
    Status {
        /// The bridge URL posted to.
        url: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The answer's body, which says why (as much of it as was read).
        body: String,
    },
}

/// A [`CardChannel`] over the HTTP APDU bridge: `409 Conflict` is [`ChannelError::NoCard`],
/// anything else that is not `200` a [`ChannelError::Transport`] with the [`BridgeError`].
pub struct BridgeChannel {
    url: String,
    agent: ureq::Agent,
    /// `Authorization: Bearer` for a bridge off loopback.
    authorization: Option<String>,
}

impl BridgeChannel {
    /// A channel posting APDUs to `url`, a card's `POST /cards/{card}/apdu` endpoint. Nothing is
    /// sent until the first APDU.
    pub fn new(url: &str) -> BridgeChannel {
        BridgeChannel {
            url: url.to_owned(),
            agent: adapter_protocol::http_agent::agent(
                ureq::Agent::config_builder()
                    .timeout_global(Some(APDU_TIMEOUT))
                    .http_status_as_error(false)
                    .build(),
            ),
            authorization: None,
        }
    }

    /// The same channel sending `token` as the bridge's admin token (a world served off
    /// loopback guards its bridge with it).
    pub fn with_token(mut self, token: Option<&str>) -> BridgeChannel {
        self.authorization = token.map(|token| format!("Bearer {token}"));
        self
    }

    fn request_error(&self, source: ureq::Error) -> ChannelError {
        ChannelError::Transport(
            BridgeError::Request {
                url: self.url.clone(),
                source,
            }
            .into(),
        )
    }
}

impl CardChannel for BridgeChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/octet-stream");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let mut response = request.send(apdu).map_err(|err| self.request_error(err))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|err| self.request_error(err))?;
        match status {
            200 => Ok(body),
            409 => Err(ChannelError::NoCard),
            status => Err(ChannelError::Transport(
                BridgeError::Status {
                    url: self.url.clone(),
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                }
                .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::channel::TransportError;

    /// A bridge that answers one request with `status` and `body`, and its URL.
    fn bridge_answering(status: &str, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/cards/0/apdu", listener.local_addr().unwrap());
        let status = status.to_owned();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // The request is a few headers and a 4-byte APDU: one read takes it.
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        url
    }

    const SELECT: &[u8] = &[0x00, 0xA4, 0x04, 0x0C];

    #[test]
    fn a_conflict_is_no_card() {
        let url = bridge_answering("409 Conflict", "{\"error\":\"no_card\"}");
        let err = BridgeChannel::new(&url).transmit(SELECT).unwrap_err();
        assert!(matches!(err, ChannelError::NoCard), "{err:?}");
    }

    #[test]
    fn an_http_error_is_a_transport_error_with_the_status_and_body() {
        let url = bridge_answering("502 Bad Gateway", "{\"error\":\"card_failed\"}");
        let err = BridgeChannel::new(&url).transmit(SELECT).unwrap_err();
        let ChannelError::Transport(TransportError::Bridge(BridgeError::Status { status, .. })) =
            &err
        else {
            panic!("expected an HTTP status, got {err:?}");
        };
        assert_eq!(*status, 502);
        assert_eq!(
            vocab::error_chain(&err),
            format!(
                "the transport to the card failed: POST {url}: HTTP 502 {{\"error\":\"card_failed\"}}"
            )
        );
    }

    #[test]
    fn no_bridge_is_a_transport_error_with_the_cause() {
        // A port nothing listens on any more.
        let url = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/cards/0/apdu", listener.local_addr().unwrap())
        };
        let err = BridgeChannel::new(&url).transmit(SELECT).unwrap_err();
        assert!(
            matches!(
                err,
                ChannelError::Transport(TransportError::Bridge(BridgeError::Request { .. }))
            ),
            "{err:?}"
        );
        let chain = vocab::error_chain(&err);
        let prefix = format!("the transport to the card failed: POST {url} failed: ");
        assert!(
            chain.starts_with(&prefix) && chain.len() > prefix.len(),
            "{chain}"
        );
    }
}
