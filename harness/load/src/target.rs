//! One worker's system under test and the operation it repeats. Every answer is checked: a
//! status must be `good` (every load card is), an enrolment `accepted`, the latest info the
//! holder's, a signature must verify with the card's certificate. Anything else is a
//! [`Failure`], so a SUT answering nonsense fast does not look fast.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::{LoadConfig, LoadOp, SutSpec};
use super::stats::Failure;
use super::world::{LoadCard, LoadWorld};
use adapter_protocol::{AdapterError, AdapterLink};
use adapter_protocol::{Operation, Response, SdkResult};
use reference::channel::{ChannelError, InProcessChannel};
use reference::pf::ReferencePf;
use reference::sdk::{ReferenceSdk, SdkError};
use vocab::{Consent, EnrolOutcome, LatestOutcome, Platform, PlatformError, StatusOutcome};
use vocab::{HashAlgorithm, KeyKind, StatusChannel};
use vocab::{SdkData, SdkOutcome};

/// The data the `sign` operation has each card sign.
const SIGN_DATA: &[u8] = b"jpki-sim load: data to sign";

/// A worker's SUT, ready for its operation.
pub struct Target {
    op: LoadOp,
    key: KeyKind,
    via: StatusChannel,
    client: Client,
}

enum Client {
    Pf(Box<dyn Platform>),
    Sdk,
    Adapter(AdapterLink),
}

impl Target {
    /// Starts the SUT of one worker: a reference PF, the reference SDK, or an adapter (a
    /// process, or a session of an HTTP adapter) that answers `hello` before this returns.
    pub fn start(config: &LoadConfig, world: &LoadWorld) -> Result<Target, AdapterError> {
        let client = match &config.sut {
            SutSpec::RefPf => Client::Pf(Box::new(ReferencePf::new(world.pf_environment()))),
            SutSpec::RefSdk => Client::Sdk,
            SutSpec::Adapter { role, command } => Client::Adapter(AdapterLink::open(
                command,
                *role,
                world.adapter_environment(),
                config.adapter_timeout,
            )?),
        };
        Ok(Target {
            op: config.op,
            key: config.key,
            via: config.via,
            client,
        })
    }

    /// What must hold before `card` is measured: for `status` and `latest-info` the card is
    /// enrolled (and its consent registered); `enrol` and `sign` need nothing.
    pub fn prepare(&mut self, card: &LoadCard) -> Result<(), Failure> {
        match self.op {
            LoadOp::Status | LoadOp::LatestInfo => {
                self.enrol(card)?;
                match (&card.consent, self.op) {
                    (Some(consent), LoadOp::LatestInfo) => {
                        self.register_consent(&card.enrolment.name, consent)
                    }
                    _ => Ok(()),
                }
            }
            LoadOp::Enrol | LoadOp::Sign => Ok(()),
        }
    }

    /// One measured operation on `card`, checked.
    pub fn perform(&mut self, card: &LoadCard) -> Result<(), Failure> {
        match self.op {
            LoadOp::Enrol => self.enrol(card),
            LoadOp::Status => self.status(card),
            LoadOp::LatestInfo => self.latest_info(card),
            LoadOp::Sign => self.sign(card),
        }
    }

    /// Says `bye` to an adapter: a process exits (or is killed), an HTTP session closes.
    pub fn stop(self) {
        if let Client::Adapter(adapter) = self.client {
            adapter.bye();
        }
    }

    fn enrol(&mut self, card: &LoadCard) -> Result<(), Failure> {
        let outcome: EnrolOutcome = match &mut self.client {
            Client::Pf(pf) => pf.enrol(&card.enrolment).map_err(platform_failure)?,
            Client::Adapter(adapter) => call(adapter, Operation::Enrol(card.enrolment.clone()))?,
            Client::Sdk => return Err(not_a_pf()),
        };
        match outcome {
            EnrolOutcome::Accepted => Ok(()),
            EnrolOutcome::Rejected { reason, detail } => Err(Failure::Rejected { reason, detail }),
        }
    }

    fn status(&mut self, card: &LoadCard) -> Result<(), Failure> {
        let name = &card.enrolment.name;
        let outcome: StatusOutcome = match &mut self.client {
            Client::Pf(pf) => pf.check_status(name, self.via).map_err(platform_failure)?,
            Client::Adapter(adapter) => call(
                adapter,
                Operation::CheckStatus {
                    enrolment: name.clone(),
                    via: self.via,
                },
            )?,
            Client::Sdk => return Err(not_a_pf()),
        };
        match outcome {
            StatusOutcome::Good => Ok(()),
            StatusOutcome::Undetermined { detail } => Err(Failure::Undetermined(detail)),
            other => Err(unexpected(&other)),
        }
    }

    fn register_consent(&mut self, name: &str, consent: &Consent) -> Result<(), Failure> {
        match &mut self.client {
            Client::Pf(pf) => pf.register_consent(name, consent).map_err(platform_failure),
            Client::Adapter(adapter) => call::<serde_json::Value>(
                adapter,
                Operation::RegisterConsent {
                    enrolment: name.to_owned(),
                    consent: consent.clone(),
                },
            )
            .map(drop),
            Client::Sdk => Err(not_a_pf()),
        }
    }

    fn latest_info(&mut self, card: &LoadCard) -> Result<(), Failure> {
        let name = &card.enrolment.name;
        let outcome: LatestOutcome = match &mut self.client {
            Client::Pf(pf) => pf.latest_info(name).map_err(platform_failure)?,
            Client::Adapter(adapter) => call(
                adapter,
                Operation::LatestInfo {
                    enrolment: name.clone(),
                },
            )?,
            Client::Sdk => return Err(not_a_pf()),
        };
        match outcome {
            LatestOutcome::Info { info, changed } => {
                if changed {
                    Err(Failure::WrongInfo(
                        "`changed: true` for a holder whose info never changed".to_owned(),
                    ))
                } else if !info.matches(&card.info) {
                    Err(Failure::WrongInfo(format!(
                        "{info:?}, the holder's is {:?}",
                        card.info
                    )))
                } else {
                    Ok(())
                }
            }
            LatestOutcome::Undetermined { detail } => Err(Failure::Undetermined(detail)),
            other => Err(unexpected(&other)),
        }
    }

    fn sign(&mut self, card: &LoadCard) -> Result<(), Failure> {
        let outcome = match &mut self.client {
            Client::Sdk => {
                let channel = InProcessChannel::new(card.card.clone(), card.present.clone());
                let signed = ReferenceSdk::new(channel).sign(
                    self.key,
                    SIGN_DATA,
                    HashAlgorithm::Sha256,
                    Some(card.pin.as_bytes()),
                );
                match signed {
                    Ok(outcome) => outcome,
                    Err(SdkError::Channel(ChannelError::NoCard)) => return Err(Failure::NoCard),
                    Err(err) => return Err(Failure::Failed(vocab::error_chain(&err))),
                }
            }
            Client::Adapter(adapter) => {
                let wire: SdkResult = call(
                    adapter,
                    Operation::Sign {
                        card: card.handle.clone(),
                        key: self.key,
                        data: SIGN_DATA.to_vec(),
                        hash: HashAlgorithm::Sha256,
                        pin: Some(card.pin.clone()),
                    },
                )?;
                match wire.outcome() {
                    Ok(Some(outcome)) => outcome,
                    Ok(None) => return Err(Failure::NoCard),
                    Err(err) => return Err(Failure::BadResult(err.to_string())),
                }
            }
            Client::Pf(_) => {
                return Err(Failure::Failed(
                    "a PF does not do SDK operations".to_owned(),
                ))
            }
        };
        check_signature(&outcome, &card.public_key)
    }
}

fn check_signature(outcome: &SdkOutcome, public_key: &[u8]) -> Result<(), Failure> {
    if !outcome.status.is_success() {
        return Err(Failure::Card(hex::encode_upper(outcome.status.to_bytes())));
    }
    let Some(SdkData::Signature(signature)) = &outcome.data else {
        return Err(Failure::BadResult("9000 without a signature".to_owned()));
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(SIGN_DATA, signature)
        .map_err(|_| Failure::BadSignature)
}

/// Sends `operation` to an adapter and reads its result as `T`.
fn call<T: DeserializeOwned>(
    adapter: &mut AdapterLink,
    operation: Operation,
) -> Result<T, Failure> {
    let response: Response = adapter.call(operation).map_err(adapter_failure)?;
    if let Some(error) = response.error {
        return Err(Failure::Refused {
            code: error.code,
            message: error.message,
        });
    }
    let value = response.result.unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value).map_err(|err| Failure::BadResult(err.to_string()))
}

fn adapter_failure(err: AdapterError) -> Failure {
    match err {
        AdapterError::Refused { code, message } => Failure::Refused { code, message },
        AdapterError::BadResult(detail) => Failure::BadResult(detail),
        other => Failure::AdapterBroken(other.to_string()),
    }
}

fn platform_failure(err: PlatformError) -> Failure {
    Failure::Failed(err.to_string())
}

fn not_a_pf() -> Failure {
    Failure::Failed("an SDK does not do PF operations".to_owned())
}

/// A verdict other than the right one, named by its `outcome`.
fn unexpected(outcome: &impl Serialize) -> Failure {
    let json = serde_json::to_value(outcome).unwrap_or(serde_json::Value::Null);
    Failure::Unexpected {
        outcome: json
            .get("outcome")
            .and_then(|o| o.as_str())
            .unwrap_or("other")
            .to_owned(),
        detail: json.to_string(),
    }
}
