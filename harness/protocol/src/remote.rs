//! The runner's interfaces implemented by forwarding to an adapter, a process or an HTTP
//! endpoint.

use serde::de::DeserializeOwned;

use crate::wire::{CardHandle, Operation, Response, SdkResult};
use crate::{AdapterError, AdapterLink};
use vocab::SdkOutcome;
use vocab::StatusChannel;
use vocab::{
    Consent, EnrolOutcome, EnrolRequest, LatestOutcome, Platform, PlatformError, StatusOutcome,
    UserOutcome,
};

/// A PF behind an adapter: each [`Platform`] call is one request.
pub struct RemotePlatform {
    adapter: Option<AdapterLink>,
}

/// An SDK behind an adapter: each operation is one request.
pub struct RemoteSdk {
    adapter: Option<AdapterLink>,
}

impl RemotePlatform {
    /// Over an adapter process ([`super::ProcessAdapter`]) or any [`AdapterLink`].
    pub fn new(adapter: impl Into<AdapterLink>) -> RemotePlatform {
        RemotePlatform {
            adapter: Some(adapter.into()),
        }
    }

    fn call<T: DeserializeOwned>(&mut self, operation: Operation) -> Result<T, PlatformError> {
        let adapter = self
            .adapter
            .as_mut()
            .ok_or_else(|| PlatformError::Failed("the adapter has said bye".to_owned()))?;
        let enrolment = match &operation {
            Operation::CheckStatus { enrolment, .. }
            | Operation::RegisterConsent { enrolment, .. }
            | Operation::LatestInfo { enrolment }
            | Operation::ResolveUser { enrolment } => Some(enrolment.clone()),
            _ => None,
        };
        let response = adapter
            .call(operation)
            .map_err(|err| PlatformError::Failed(err.to_string()))?;
        match result(response) {
            Err(AdapterError::Refused {
                code: crate::wire::ErrorCode::UnknownEnrolment,
                ..
            }) if enrolment.is_some() => Err(PlatformError::UnknownEnrolment(
                enrolment.unwrap_or_default(),
            )),
            other => other.map_err(|err| PlatformError::Failed(err.to_string())),
        }
    }
}

impl Platform for RemotePlatform {
    fn enrol(&mut self, request: &EnrolRequest) -> Result<EnrolOutcome, PlatformError> {
        self.call(Operation::Enrol(request.clone()))
    }

    fn check_status(
        &mut self,
        enrolment: &str,
        via: StatusChannel,
    ) -> Result<StatusOutcome, PlatformError> {
        self.call(Operation::CheckStatus {
            enrolment: enrolment.to_owned(),
            via,
        })
    }

    fn register_consent(
        &mut self,
        enrolment: &str,
        consent: &Consent,
    ) -> Result<(), PlatformError> {
        self.call::<serde_json::Value>(Operation::RegisterConsent {
            enrolment: enrolment.to_owned(),
            consent: consent.clone(),
        })
        .map(drop)
    }

    fn latest_info(&mut self, enrolment: &str) -> Result<LatestOutcome, PlatformError> {
        self.call(Operation::LatestInfo {
            enrolment: enrolment.to_owned(),
        })
    }

    fn resolve_user(&mut self, enrolment: &str) -> Result<UserOutcome, PlatformError> {
        self.call(Operation::ResolveUser {
            enrolment: enrolment.to_owned(),
        })
    }
}

impl Drop for RemotePlatform {
    fn drop(&mut self) {
        if let Some(adapter) = self.adapter.take() {
            adapter.bye();
        }
    }
}

impl RemoteSdk {
    /// Over an adapter process ([`super::ProcessAdapter`]) or any [`AdapterLink`].
    pub fn new(adapter: impl Into<AdapterLink>) -> RemoteSdk {
        RemoteSdk {
            adapter: Some(adapter.into()),
        }
    }

    /// Performs an SDK operation; `Ok(None)` when no card answered.
    pub fn perform(&mut self, operation: Operation) -> Result<Option<SdkOutcome>, AdapterError> {
        let adapter = self.adapter.as_mut().ok_or_else(|| AdapterError::Broken {
            detail: "it has said bye".to_owned(),
            stderr: None,
        })?;
        let response = adapter.call(operation)?;
        let wire: SdkResult = result(response)?;
        wire.outcome()
            .map_err(|err| AdapterError::BadResult(err.to_string()))
    }

    /// The card handle the adapter is given for card `index`.
    pub fn handle(cards: &[CardHandle], index: usize) -> Option<CardHandle> {
        cards.iter().find(|card| card.index == index).cloned()
    }
}

impl Drop for RemoteSdk {
    fn drop(&mut self) {
        if let Some(adapter) = self.adapter.take() {
            adapter.bye();
        }
    }
}

/// The response's `result` as `T`, or its `error`.
fn result<T: DeserializeOwned>(response: Response) -> Result<T, AdapterError> {
    if let Some(error) = response.error {
        return Err(AdapterError::Refused {
            code: error.code,
            message: error.message,
        });
    }
    let value = response.result.unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value).map_err(|err| AdapterError::BadResult(err.to_string()))
}
