//! A card behind the HTTP APDU bridge: `POST` the command APDU, the response APDU back.

use std::time::Duration;

use super::{CardChannel, ChannelError};

/// How long one APDU may take through the bridge.
const APDU_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`CardChannel`] over the HTTP APDU bridge. A transport failure is kept in `failure` (the
/// SDK sees a short response and stops) so that the adapter can report it as it was.
pub struct BridgeChannel {
    url: String,
    agent: ureq::Agent,
    /// Why the last APDU failed, when it was not for want of a card.
    pub failure: Option<String>,
}

impl BridgeChannel {
    pub fn new(url: &str) -> BridgeChannel {
        BridgeChannel {
            url: url.to_owned(),
            agent: adapter_protocol::http_agent::agent(
                ureq::Agent::config_builder()
                    .timeout_global(Some(APDU_TIMEOUT))
                    .http_status_as_error(false)
                    .build(),
            ),
            failure: None,
        }
    }

    fn fail(&mut self, failure: String) -> ChannelError {
        self.failure = Some(failure);
        ChannelError::ShortResponse { len: 0 }
    }
}

impl CardChannel for BridgeChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/octet-stream")
            .send(apdu);
        let mut response = match response {
            Ok(response) => response,
            Err(err) => return Err(self.fail(format!("POST {}: {err}", self.url))),
        };
        let status = response.status().as_u16();
        let body = match response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
        {
            Ok(body) => body,
            Err(err) => return Err(self.fail(format!("POST {}: {err}", self.url))),
        };
        match status {
            200 => Ok(body),
            409 => Err(ChannelError::NoCard),
            other => Err(self.fail(format!(
                "POST {}: HTTP {other} {}",
                self.url,
                String::from_utf8_lossy(&body)
            ))),
        }
    }
}
