//! The adapter side of the protocol over the bundled reference implementations: read `hello`,
//! answer with the features, then answer each request until `bye` or end of input. [`http`]
//! serves the same messages over HTTP.

pub mod http;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use adapter_protocol::{
    AdapterMessage, Environment, ErrorCode, HarnessMessage, Incoming, Operation, Response, Role,
    SdkResult, VERSION,
};
use vocab::{error_chain, PfEnvironment, Platform, PlatformError};

use crate::channel::{BridgeChannel, CardChannel, ChannelError, PcscChannel};
use crate::pf::{Mutant, ReferencePf};
use crate::sdk::{ReferenceSdk, SdkError};
use vocab::SdkOutcome;

/// What `jpki-sim adapter` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The reference SDK, reaching cards over the APDU bridge.
    Sdk,
    /// The reference PF, optionally making a mutant's mistake.
    Pf(Option<Mutant>),
}

/// Why serving stopped before `bye`: the adapter is broken and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reading the harness's input failed.
    #[error("cannot read the harness's messages")]
    Read(#[source] std::io::Error),
    /// Writing a message to the harness failed (it went away, most often).
    #[error("cannot write to the harness")]
    Write(#[source] std::io::Error),
    /// A line is not a harness message.
    #[error("line {line}: {source}")]
    Malformed {
        /// The line's number, from 1.
        line: usize,
        /// Why it does not decode.
        #[source]
        source: adapter_protocol::DecodeError,
    },
    /// The harness's `hello` names a protocol version this adapter does not speak.
    #[error("the harness speaks protocol version {0}, this adapter {VERSION}")]
    Version(u32),
    /// The first message was a request, not `hello`.
    #[error("the first message was not hello")]
    NoHello,
}

/// Serves `served` on `input` and `output` until `bye` or the end of `input`.
pub fn serve(
    served: Served,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), ServeError> {
    let mut lines = input
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |text| !text.trim().is_empty()));
    let Some((_, first)) = lines.next() else {
        return Ok(());
    };
    let first = first.map_err(ServeError::Read)?;
    let (role, environment) = match HarnessMessage::from_line(&first)
        .map_err(|source| ServeError::Malformed { line: 1, source })?
    {
        HarnessMessage::Hello {
            version: VERSION,
            role,
            environment,
        } => (role, environment),
        HarnessMessage::Hello { version, .. } => return Err(ServeError::Version(version)),
        HarnessMessage::Bye => return Ok(()),
        HarnessMessage::Request(_) => return Err(ServeError::NoHello),
    };
    let mut handler = Handler::new(served, role, &environment);
    write(
        &mut output,
        &AdapterMessage::Hello {
            version: VERSION,
            name: handler.name(),
            features: handler.features(),
        },
    )?;
    for (index, line) in lines {
        let line = line.map_err(ServeError::Read)?;
        match Incoming::from_line(&line).map_err(|source| ServeError::Malformed {
            line: index + 1,
            source,
        })? {
            Incoming::Message(HarnessMessage::Request(request)) => {
                let response = handler.handle(request.id, request.operation);
                write(&mut output, &AdapterMessage::Response(response))?;
            }
            Incoming::Refused { id, code, message } => {
                let response = Response::error(id, code, message);
                write(&mut output, &AdapterMessage::Response(response))?;
            }
            Incoming::Message(HarnessMessage::Bye) => return Ok(()),
            Incoming::Message(HarnessMessage::Hello { .. }) => {
                tracing::warn!("a second hello is ignored");
            }
        }
    }
    Ok(())
}

/// Runs an SDK operation on the reference SDK; `None` for a PF operation.
pub fn perform<C: CardChannel>(
    sdk: &mut ReferenceSdk<C>,
    operation: &Operation,
) -> Option<Result<SdkOutcome, SdkError>> {
    Some(match operation {
        Operation::ReadCertificate {
            which, password, ..
        } => sdk.read_certificate(*which, password.as_deref().map(str::as_bytes)),
        Operation::PinStatus { pin, .. } => sdk.pin_status(*pin),
        Operation::VerifyPin { pin, value, .. } => sdk.verify_pin(*pin, value.as_bytes()),
        Operation::ChangePin { pin, old, new, .. } => {
            sdk.change_pin(*pin, old.as_bytes(), new.as_bytes())
        }
        Operation::Sign {
            key,
            data,
            hash,
            pin,
            ..
        } => sdk.sign(*key, data, *hash, pin.as_deref().map(str::as_bytes)),
        Operation::ReadBasicInfo { pin, value, .. } => sdk.read_basic_info(*pin, value.as_bytes()),
        Operation::ReadMyNumber { pin, value, .. } => sdk.read_my_number(*pin, value.as_bytes()),
        Operation::ReadCardFace { pin, value, .. } => sdk.read_card_face(*pin, value.as_bytes()),
        Operation::Enrol(_)
        | Operation::CheckStatus { .. }
        | Operation::RegisterConsent { .. }
        | Operation::LatestInfo { .. }
        | Operation::ResolveUser { .. } => return None,
    })
}

/// The reference implementation behind one adapter session.
pub(super) enum Handler {
    /// The reference SDK: through each card's PC/SC reader when `hello` named one (a channel per
    /// reader, kept connected like an application holding its card handle), over the APDU
    /// bridge otherwise.
    Sdk {
        readers: BTreeMap<String, PcscChannel>,
        /// Every card of the scenario is in a reader: the SDK then has the `pcsc` feature.
        pcsc: bool,
        /// The bridge's admin token, when the world is served off loopback.
        admin_token: Option<String>,
    },
    Pf {
        platform: Box<ReferencePf>,
        mutant: Option<Mutant>,
    },
    /// Asked for a role it does not play: every request is unsupported.
    Neither { asked: Role },
}

impl Handler {
    pub(super) fn new(served: Served, role: Role, environment: &Environment) -> Handler {
        match (served, role) {
            (Served::Sdk, Role::Sdk) => Handler::Sdk {
                readers: BTreeMap::new(),
                admin_token: environment.admin_token.clone(),
                pcsc: !environment.cards.is_empty()
                    && environment.cards.iter().all(|card| card.reader.is_some()),
            },
            (Served::Pf(mutant), Role::Pf) => Handler::Pf {
                platform: Box::new(ReferencePf::with_mutant(
                    PfEnvironment {
                        base_url: environment.base_url.clone(),
                        sign_ca_pem: environment.sign_ca_pem.clone(),
                        auth_ca_pem: environment.auth_ca_pem.clone(),
                        admin_token: environment.admin_token.clone(),
                    },
                    mutant,
                )),
                mutant,
            },
            (_, asked) => Handler::Neither { asked },
        }
    }

    pub(super) fn name(&self) -> String {
        match self {
            Handler::Sdk { .. } => "reference SDK".to_owned(),
            Handler::Pf { mutant: None, .. } => "reference PF".to_owned(),
            Handler::Pf {
                mutant: Some(mutant),
                ..
            } => format!("reference PF ({mutant})"),
            Handler::Neither { .. } => "reference (wrong role)".to_owned(),
        }
    }

    /// The reference's features of the role played: `pcsc` only when every card is in a reader.
    pub(super) fn features(&self) -> Vec<vocab::Feature> {
        let (role, pcsc) = match self {
            Handler::Sdk { pcsc, .. } => (Role::Sdk, *pcsc),
            Handler::Pf { .. } => (Role::Pf, false),
            Handler::Neither { .. } => return Vec::new(),
        };
        vocab::Feature::all()
            .into_iter()
            .filter(|feature| feature.role() == role)
            .filter(|feature| pcsc || *feature != vocab::Feature::Pcsc)
            .collect()
    }

    pub(super) fn handle(&mut self, id: u64, operation: Operation) -> Response {
        if let Handler::Neither { asked } = self {
            return Response::error(
                id,
                ErrorCode::Unsupported,
                format!("this adapter does not play {asked:?}"),
            );
        }
        if operation.role() == Role::Pf {
            return match self {
                Handler::Pf { platform, .. } => platform_call(id, platform.as_mut(), operation),
                _ => Response::error(
                    id,
                    ErrorCode::Unsupported,
                    "an SDK does not do PF operations",
                ),
            };
        }
        let card = match &operation {
            Operation::ReadCertificate { card, .. }
            | Operation::PinStatus { card, .. }
            | Operation::VerifyPin { card, .. }
            | Operation::ChangePin { card, .. }
            | Operation::Sign { card, .. }
            | Operation::ReadBasicInfo { card, .. }
            | Operation::ReadMyNumber { card, .. }
            | Operation::ReadCardFace { card, .. } => card.clone(),
            _ => return Response::error(id, ErrorCode::Unsupported, "not an SDK operation"),
        };
        let Handler::Sdk {
            readers,
            admin_token,
            ..
        } = self
        else {
            return Response::error(
                id,
                ErrorCode::Unsupported,
                "a PF does not do SDK operations",
            );
        };
        let outcome = match &card.reader {
            Some(reader) => {
                let channel = readers
                    .entry(reader.clone())
                    .or_insert_with(|| PcscChannel::new(reader));
                perform(&mut ReferenceSdk::new(&mut *channel), &operation)
            }
            None => perform(
                &mut ReferenceSdk::new(
                    BridgeChannel::new(&card.bridge).with_token(admin_token.as_deref()),
                ),
                &operation,
            ),
        };
        match outcome {
            Some(Ok(outcome)) => to_result(id, &SdkResult::of(&outcome)),
            Some(Err(SdkError::Channel(ChannelError::NoCard))) => to_result(id, &SdkResult::NoCard),
            // A transport failure too: the message chain carries its cause.
            Some(Err(err)) => Response::error(id, ErrorCode::Failed, error_chain(&err)),
            None => Response::error(id, ErrorCode::Unsupported, "not an SDK operation"),
        }
    }
}

fn platform_call(id: u64, platform: &mut dyn Platform, operation: Operation) -> Response {
    let result = match operation {
        Operation::Enrol(request) => platform.enrol(&request).map(|o| json(&o)),
        Operation::CheckStatus { enrolment, via } => {
            platform.check_status(&enrolment, via).map(|o| json(&o))
        }
        Operation::RegisterConsent { enrolment, consent } => platform
            .register_consent(&enrolment, &consent)
            .map(|()| serde_json::json!({})),
        Operation::LatestInfo { enrolment } => platform.latest_info(&enrolment).map(|o| json(&o)),
        Operation::ResolveUser { enrolment } => platform.resolve_user(&enrolment).map(|o| json(&o)),
        _ => return Response::error(id, ErrorCode::Unsupported, "not a PF operation"),
    };
    match result {
        Ok(value) => Response::result(id, value),
        Err(err @ PlatformError::UnknownEnrolment(_)) => {
            Response::error(id, ErrorCode::UnknownEnrolment, err.to_string())
        }
        Err(err) => Response::error(id, ErrorCode::Failed, err.to_string()),
    }
}

fn write(output: &mut impl Write, message: &AdapterMessage) -> Result<(), ServeError> {
    output
        .write_all(message.to_line().as_bytes())
        .and_then(|()| output.flush())
        .map_err(ServeError::Write)
}

fn json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn to_result(id: u64, result: &SdkResult) -> Response {
    Response::result(id, json(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use adapter_protocol::CardHandle;
    use vocab::PinKind;

    #[test]
    fn a_transport_failure_is_answered_failed_with_its_cause() {
        // An APDU bridge nothing listens on any more.
        let bridge = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/cards/0/apdu", listener.local_addr().unwrap())
        };
        let card = CardHandle {
            index: 0,
            id: "felica:0123456789ABCDEF".to_owned(),
            bridge: bridge.clone(),
            reader: None,
        };
        let environment = Environment {
            base_url: String::new(),
            ca_url: String::new(),
            crl_url: String::new(),
            ocsp_url: String::new(),
            jlis_url: String::new(),
            sign_ca_pem: String::new(),
            auth_ca_pem: String::new(),
            cards: vec![card.clone()],
            admin_token: None,
        };
        let mut handler = Handler::new(Served::Sdk, Role::Sdk, &environment);
        let response = handler.handle(
            3,
            Operation::PinStatus {
                card,
                pin: PinKind::Auth,
            },
        );
        let error = response.error.expect("an error answer");
        assert_eq!(error.code, ErrorCode::Failed);
        let prefix = format!("the transport to the card failed: POST {bridge} failed: ");
        assert!(
            error.message.starts_with(&prefix) && error.message.len() > prefix.len(),
            "{}",
            error.message
        );
    }
}
