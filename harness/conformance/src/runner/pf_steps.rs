//! `pf` steps: the harness plays the holder (the card signs through the reference SDK) and the
//! PF under test verifies, checks status, fetches the latest 4 info and resolves users.

use aws_lc_rs::digest;
use mock_jlis::persona::yyyymmdd;
use serde::Serialize;

use super::check::{Mismatch, StepFailure};
use super::scenario::{Enrolment, ScenarioRun};
use super::sdk_steps::sign_data;
use super::trace::TraceEntry;
use crate::scenario::model::{EnrolExpect, LatestInfoExpect, PfStep, UserExpect};
use served_world::correct_pin;
use vocab::SdkData;
use vocab::{
    BasicInfo, Consent, EnrolOutcome, EnrolRequest, LatestOutcome, PlatformError, UserOutcome,
};
use vocab::{CertificateSlot, HashAlgorithm, KeyKind, PinKind};

/// Plays PF step `index`: asks the PF under test and checks its answer against `expect`.
pub fn run(run: &mut ScenarioRun<'_>, index: usize, step: &PfStep) -> Result<(), StepFailure> {
    match step {
        PfStep::Enrol {
            card,
            key,
            data,
            pin,
            name,
            present_as,
            tamper,
            forgery,
            expect,
        } => {
            let name = name
                .as_ref()
                .map_or_else(|| format!("enrolment_{}", index + 1), |n| n.to_string());
            let data = data
                .as_ref()
                .map_or_else(|| challenge(run, index), sign_data);
            let pin = pin.as_ref().map(|p| p.expose().to_owned());
            let signer = present_as.unwrap_or(*key);
            let (certificate, signature) =
                holder_signs(run, *card, signer, &data, pin).map_err(|actual| {
                    Mismatch::new(words(expect), format!("the card did not sign: {actual}"))
                })?;
            let (certificate, intermediates) = match forgery {
                None => (certificate, Vec::new()),
                Some(forgery) => {
                    let forged = forged(run, signer, &certificate, *forgery).map_err(|err| {
                        Mismatch::new(words(expect), format!("the world could not forge: {err}"))
                    })?;
                    (forged.der, forged.intermediates)
                }
            };
            let mut data = data;
            if *tamper {
                // One flipped bit: the signature no longer covers the data presented.
                match data.first_mut() {
                    Some(first) => *first ^= 0x01,
                    None => data.push(0x01),
                }
            }
            let request = EnrolRequest {
                name: name.clone(),
                key: *key,
                certificate: certificate.clone(),
                intermediates,
                data,
                hash: HashAlgorithm::Sha256,
                signature,
            };
            let result = run.platform.enrol(&request);
            trace_call(run, "enrol", &name, &result);
            run.enrolments.insert(
                name,
                Enrolment {
                    card: *card,
                    key: *key,
                    consented: false,
                    certificate,
                },
            );
            let outcome = result.map_err(|err| platform_failed(expect, &err))?;
            let pass = match (expect, &outcome) {
                (EnrolExpect::Accepted, EnrolOutcome::Accepted) => true,
                (EnrolExpect::Rejected { reason: None }, EnrolOutcome::Rejected { .. }) => true,
                (
                    EnrolExpect::Rejected { reason: Some(want) },
                    EnrolOutcome::Rejected { reason, .. },
                ) => want == reason,
                _ => false,
            };
            verdict(pass, expect, &outcome)
        }
        PfStep::CheckStatus {
            enrolment,
            via,
            expect,
        } => {
            let result = run.platform.check_status(enrolment.as_str(), *via);
            trace_call(
                run,
                "check_status",
                &format!("{enrolment}, {via:?}"),
                &result,
            );
            let outcome = result.map_err(|err| platform_failed(expect, &err))?;
            let pass = expect.accepts(&outcome);
            verdict(pass, expect, &outcome)
        }
        PfStep::LatestInfo {
            enrolment,
            consent,
            expect,
        } => {
            let name = enrolment.as_str();
            let known = run.enrolments.get(name).cloned();
            if let (true, Some(known)) = (*consent, &known) {
                if !known.consented {
                    register_consent(run, name, known.card, expect)?;
                }
            }
            let result = run.platform.latest_info(name);
            trace_call(run, "latest_info", name, &result);
            let outcome = result.map_err(|err| platform_failed(expect, &err))?;
            let pass = match (expect, &outcome) {
                (
                    LatestInfoExpect::Info { changed: want },
                    LatestOutcome::Info { info, changed },
                ) => {
                    if want != changed {
                        false
                    } else {
                        let card = known.map_or(0, |k| k.card);
                        return current_info_matches(run, card, info)
                            .map_err(|actual| Mismatch::new(words(expect), actual).into());
                    }
                }
                (LatestInfoExpect::NotConsented, LatestOutcome::NotConsented)
                | (LatestInfoExpect::ConsentWithdrawn, LatestOutcome::ConsentWithdrawn)
                | (LatestInfoExpect::ConsentExpired, LatestOutcome::ConsentExpired)
                | (
                    LatestInfoExpect::LatestCertificateUnknown,
                    LatestOutcome::LatestCertificateUnknown,
                )
                | (
                    LatestInfoExpect::LatestCertificateExpired,
                    LatestOutcome::LatestCertificateExpired,
                )
                | (LatestInfoExpect::Undetermined, LatestOutcome::Undetermined { .. }) => true,
                (
                    LatestInfoExpect::LatestCertificateRevoked { reason: want },
                    LatestOutcome::LatestCertificateRevoked { reason },
                ) => want.is_none() || want == reason,
                _ => false,
            };
            verdict(pass, expect, &outcome)
        }
        PfStep::ResolveUser { enrolment, expect } => {
            let outcome =
                resolve(run, enrolment.as_str()).map_err(|err| platform_failed(expect, &err))?;
            let pass = match (expect, &outcome) {
                (UserExpect::Resolved, UserOutcome::User { .. }) => true,
                (UserExpect::NotLinkedYet, UserOutcome::NotLinkedYet) => true,
                (UserExpect::SameUserAs(other), UserOutcome::User { id })
                | (UserExpect::DifferentUserFrom(other), UserOutcome::User { id }) => {
                    let theirs = resolve(run, other.as_str())
                        .map_err(|err| platform_failed(expect, &err))?;
                    let same = matches!(&theirs, UserOutcome::User { id: their } if their == id);
                    if matches!(expect, UserExpect::SameUserAs(_)) {
                        same
                    } else {
                        matches!(theirs, UserOutcome::User { .. }) && !same
                    }
                }
                _ => false,
            };
            verdict(pass, expect, &outcome)
        }
    }
}

/// `forgery` of the holder's genuine certificate of `key`.
fn forged(
    run: &ScenarioRun<'_>,
    key: KeyKind,
    genuine: &[u8],
    forgery: mock_ca::forgery::CertificateForgery,
) -> Result<mock_ca::forgery::ForgedCertificate, String> {
    let hierarchy = match key {
        KeyKind::Sign => mock_ca::Hierarchy::Sign,
        KeyKind::Auth => mock_ca::Hierarchy::Auth,
    };
    run.world
        .world
        .forge_certificate(hierarchy, genuine, forgery)
        .map_err(|err| vocab::error_chain(&err))
}

/// The holder's card reads its certificate and signs `data` (SHA-256) with `key`, with `pin`
/// or the correct one.
fn holder_signs(
    run: &ScenarioRun<'_>,
    card: usize,
    key: KeyKind,
    data: &[u8],
    pin: Option<String>,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let persona = run
        .world
        .card(card)
        .map_err(|e| e.to_string())?
        .state()
        .persona;
    let (slot, pin_kind) = match key {
        KeyKind::Auth => (CertificateSlot::Auth, PinKind::Auth),
        KeyKind::Sign => (CertificateSlot::Sign, PinKind::Sign),
    };
    let pin = pin.unwrap_or_else(|| correct_pin(&persona, pin_kind));
    let mut sdk = run.sdk(card).map_err(|e| e.to_string())?;
    let password = (key == KeyKind::Sign).then_some(pin.as_bytes());
    let certificate = match sdk.read_certificate(slot, password) {
        Ok(outcome) => match outcome.data {
            Some(SdkData::Certificate(der)) => der,
            _ => {
                return Err(format!(
                    "reading the certificate: status {}",
                    outcome.status
                ))
            }
        },
        Err(err) => return Err(format!("reading the certificate: {err}")),
    };
    let signature = match sdk.sign(key, data, HashAlgorithm::Sha256, Some(pin.as_bytes())) {
        Ok(outcome) => match outcome.data {
            Some(SdkData::Signature(signature)) => signature,
            _ => return Err(format!("signing: status {}", outcome.status)),
        },
        Err(err) => return Err(format!("signing: {err}")),
    };
    Ok((certificate, signature))
}

/// Signs a consent document with the holder's signature key and gives it to the PF.
fn register_consent(
    run: &mut ScenarioRun<'_>,
    enrolment: &str,
    card: usize,
    expect: &LatestInfoExpect,
) -> Result<(), StepFailure> {
    let document = format!(
        "jpki-sim consent: the holder of enrolment {enrolment} in scenario {} consents to the \
         latest basic 4 info service",
        run.loaded.id
    )
    .into_bytes();
    let (_, signature) =
        holder_signs(run, card, KeyKind::Sign, &document, None).map_err(|actual| {
            Mismatch::new(
                words(expect),
                format!("the card did not sign the consent: {actual}"),
            )
        })?;
    let result = run.platform.register_consent(
        enrolment,
        &Consent {
            document,
            signature,
        },
    );
    trace_call(run, "register_consent", enrolment, &result);
    result.map_err(|err| platform_failed(expect, &err))?;
    if let Some(known) = run.enrolments.get_mut(enrolment) {
        known.consented = true;
    }
    Ok(())
}

fn resolve(run: &mut ScenarioRun<'_>, enrolment: &str) -> Result<UserOutcome, PlatformError> {
    let result = run.platform.resolve_user(enrolment);
    trace_call(run, "resolve_user", enrolment, &result);
    result
}

/// Whether `info` is the holder's basic 4 info as the world has it now. Birth dates compare
/// as digits: J-LIS writes them `YYYY-MM-DD`, the card `YYYYMMDD`.
fn current_info_matches(
    run: &ScenarioRun<'_>,
    card: usize,
    info: &BasicInfo,
) -> Result<(), String> {
    let persona = run
        .world
        .card(card)
        .map_err(|e| e.to_string())?
        .state()
        .persona;
    let want = BasicInfo {
        name: persona.name.clone(),
        address: persona.address.clone(),
        birth_date: yyyymmdd(persona.birth_date),
        sex: persona.sex.code().to_string(),
        name_substitute_flags: Some(persona.name_substitute_flags.clone()),
        address_substitute_flags: Some(persona.address_substitute_flags.clone()),
    };
    if info.matches(&want) {
        Ok(())
    } else {
        Err(format!(
            "info {}, the holder's is {}",
            words(info),
            words(&want)
        ))
    }
}

/// The default data an enrolment signs: a challenge that looks random and repeats per step.
fn challenge(run: &ScenarioRun<'_>, index: usize) -> Vec<u8> {
    let seed = format!("jpki-sim enrol challenge {} {index}", run.loaded.id);
    digest::digest(&digest::SHA256, seed.as_bytes())
        .as_ref()
        .to_vec()
}

fn verdict(
    pass: bool,
    expect: &impl Serialize,
    outcome: &impl Serialize,
) -> Result<(), StepFailure> {
    if pass {
        Ok(())
    } else {
        Err(Mismatch::new(words(expect), words(outcome)).into())
    }
}

fn platform_failed(expect: &impl Serialize, err: &PlatformError) -> StepFailure {
    Mismatch::new(words(expect), format!("platform error: {err}")).into()
}

fn trace_call<T: Serialize>(
    run: &ScenarioRun<'_>,
    op: &str,
    request: &str,
    result: &Result<T, PlatformError>,
) {
    run.trace.push(TraceEntry::Pf {
        op: op.to_owned(),
        request: request.to_owned(),
        result: match result {
            Ok(value) => words(value),
            Err(err) => format!("error: {err}"),
        },
    });
}

/// A value as compact JSON, the form reports show expectations and answers in.
pub(super) fn words(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|err| format!("<{err}>"))
}
