//! `sdk` steps: the reference SDK against the card, checked against the world's own data.

use mock_ca::Hierarchy;
use mock_jlis::persona::yyyymmdd;

use super::check::{Mismatch, StepFailure};
use super::scenario::ScenarioRun;
use super::verify::verify_signature;
use crate::scenario::model::{PinValue, SdkExpect, SdkStep, SignData};
use adapter_protocol::Operation;
use reference::channel::ChannelError;
use reference::sdk::SdkError;
use vocab::{CertificateSlot, PinKind};
use vocab::{SdkData, SdkOutcome};

/// What `ok` means for an operation: `Err` says what came back instead.
type OkCheck = Box<dyn Fn(&SdkOutcome) -> Result<(), String>>;

/// Runs one SDK step and checks its `expect`.
pub fn run(run: &mut ScenarioRun<'_>, step: &SdkStep) -> Result<(), StepFailure> {
    let index = step.card();
    let card = run.world.card(index)?.clone();
    let state = card.state();
    let persona = &state.persona;
    let handle = run.card_handle(index);
    let value = |pin: PinKind, given: &Option<PinValue>| -> String {
        given.as_ref().map_or_else(
            || served_world::correct_pin(persona, pin),
            |v| v.expose().to_owned(),
        )
    };
    // What `ok` means for this operation, beyond the card's `90 00`.
    let (operation, ok): (Operation, OkCheck) = match step {
        SdkStep::ReadCertificate {
            which, password, ..
        } => {
            let issued = match which {
                CertificateSlot::Sign => state.sign.as_ref().map(|c| c.der.clone()),
                CertificateSlot::Auth => Some(state.auth.der.clone()),
                CertificateSlot::SignCa => Some(
                    run.world
                        .world
                        .ca(Hierarchy::Sign)
                        .certificate_der()
                        .to_vec(),
                ),
                CertificateSlot::AuthCa => Some(
                    run.world
                        .world
                        .ca(Hierarchy::Auth)
                        .certificate_der()
                        .to_vec(),
                ),
            };
            (
                Operation::ReadCertificate {
                    card: handle,
                    which: *which,
                    password: password.as_ref().map(|p| p.expose().to_owned()),
                },
                Box::new(move |outcome| match (&outcome.data, &issued) {
                    (Some(SdkData::Certificate(der)), Some(issued)) if der == issued => Ok(()),
                    (Some(SdkData::Certificate(_)), Some(_)) => {
                        Err("a certificate other than the one issued".to_owned())
                    }
                    (_, None) => Err("a certificate where the world issued none".to_owned()),
                    _ => Err("no certificate".to_owned()),
                }),
            )
        }
        SdkStep::PinStatus { pin, .. } => (
            Operation::PinStatus {
                card: handle,
                pin: *pin,
            },
            Box::new(|outcome| match outcome.status.retries() {
                Some(tries) if tries > 0 => Ok(()),
                _ => Err(format!("status {}", outcome.status)),
            }),
        ),
        SdkStep::VerifyPin { pin, value: v, .. } => (
            Operation::VerifyPin {
                card: handle,
                pin: *pin,
                value: value(*pin, v),
            },
            Box::new(success),
        ),
        SdkStep::ChangePin { pin, old, new, .. } => (
            Operation::ChangePin {
                card: handle,
                pin: *pin,
                old: value(*pin, old),
                new: new.expose().to_owned(),
            },
            Box::new(success),
        ),
        SdkStep::Sign {
            key,
            data,
            hash,
            pin,
            ..
        } => {
            let data = sign_data(data);
            let certificate = match key {
                vocab::KeyKind::Auth => Some(state.auth.der.clone()),
                vocab::KeyKind::Sign => state.sign.as_ref().map(|c| c.der.clone()),
            };
            let hash = *hash;
            (
                Operation::Sign {
                    card: handle,
                    key: *key,
                    data: data.clone(),
                    hash,
                    pin: pin.as_ref().map(|p| p.expose().to_owned()),
                },
                Box::new(move |outcome| match (&outcome.data, &certificate) {
                    (Some(SdkData::Signature(sig)), Some(cert)) => {
                        verify_signature(cert, hash, &data, sig).map_err(|e| e.to_string())
                    }
                    (Some(SdkData::Signature(_)), None) => {
                        Err("a signature by a key the world certified nowhere".to_owned())
                    }
                    _ => Err("no signature".to_owned()),
                }),
            )
        }
        SdkStep::ReadBasicInfo { pin, value: v, .. } => {
            let want = (
                persona.name.clone(),
                persona.address.clone(),
                yyyymmdd(persona.birth_date),
                persona.sex.code().to_string(),
            );
            (
                Operation::ReadBasicInfo {
                    card: handle,
                    pin: *pin,
                    value: value(*pin, v),
                },
                Box::new(move |outcome| match &outcome.data {
                    Some(SdkData::BasicInfo(info)) => {
                        let got = (
                            info.name.clone(),
                            info.address.clone(),
                            info.birth_date.clone(),
                            info.sex.clone(),
                        );
                        if got == want {
                            Ok(())
                        } else {
                            Err(format!("basic 4 info {got:?}, the persona has {want:?}"))
                        }
                    }
                    _ => Err("no basic 4 info".to_owned()),
                }),
            )
        }
        SdkStep::ReadMyNumber { pin, value: v, .. } => {
            let want = persona.my_number.reveal().to_owned();
            (
                Operation::ReadMyNumber {
                    card: handle,
                    pin: *pin,
                    value: value(*pin, v),
                },
                Box::new(move |outcome| match &outcome.data {
                    Some(SdkData::MyNumber(number)) if *number == want => Ok(()),
                    Some(SdkData::MyNumber(_)) => {
                        Err("a my number other than the persona's".to_owned())
                    }
                    _ => Err("no my number".to_owned()),
                }),
            )
        }
        SdkStep::ReadCardFace { pin, value: v, .. } => {
            let want = card_face_file(&card.image());
            (
                Operation::ReadCardFace {
                    card: handle,
                    pin: *pin,
                    value: value(*pin, v),
                },
                Box::new(move |outcome| match (&outcome.data, &want) {
                    (Some(SdkData::CardFace(file)), Some(want)) if file == want => Ok(()),
                    (Some(SdkData::CardFace(file)), Some(want)) => Err(format!(
                        "a card face of {} bytes that is not the card's file ({} bytes{})",
                        file.len(),
                        want.len(),
                        first_difference(file, want).map_or_else(String::new, |at| format!(
                            ", first difference at byte {at}"
                        ))
                    )),
                    (Some(SdkData::CardFace(_)), None) => {
                        Err("a card face from a card that has none".to_owned())
                    }
                    _ => Err("no card face".to_owned()),
                }),
            )
        }
    };
    let answer = run.perform(index, &operation)?;
    check(step.expect(), &answer, ok.as_ref()).map_err(StepFailure::from)
}

/// What an SDK, in process or not, answered to an operation.
pub enum Answer {
    /// The card's answer.
    Outcome(SdkOutcome),
    /// No card in the reader.
    NoCard,
    /// The SDK failed as a program: why, in words.
    Broken(String),
}

impl Answer {
    /// The reference SDK's result in process.
    pub fn of(result: Result<SdkOutcome, SdkError>) -> Answer {
        match result {
            Ok(outcome) => Answer::Outcome(outcome),
            Err(SdkError::Channel(ChannelError::NoCard)) => Answer::NoCard,
            Err(err) => Answer::Broken(error_text(&err)),
        }
    }
}

/// The visual AP's card-face file (EF 0002) as personalised.
fn card_face_file(image: &sim_card::CardImage) -> Option<Vec<u8>> {
    match image
        .applet(sim_card::Aid::VISUAL)?
        .files
        .get(&sim_card::FileId(0x0002))?
    {
        sim_card::FileImage::Binary { data, .. } => Some(data.clone()),
        _ => None,
    }
}

/// Where two byte strings first differ (or where the shorter ends), if they do.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    )
}

/// The bytes a `data` field stands for.
pub fn sign_data(data: &SignData) -> Vec<u8> {
    match data {
        SignData::Text(text) => text.as_bytes().to_vec(),
        SignData::Hex(hex) => hex.0.clone(),
    }
}

/// Compares an outcome with `expect`; `ok` says what success means for the operation.
fn check(
    expect: &SdkExpect,
    answer: &Answer,
    ok: &dyn Fn(&SdkOutcome) -> Result<(), String>,
) -> Result<(), Mismatch> {
    let expected = describe_expect(expect);
    if let SdkExpect::AnyOf(choices) = expect {
        let mut last = None;
        for choice in choices {
            match check(choice, answer, ok) {
                Ok(()) => return Ok(()),
                Err(mismatch) => last = Some(mismatch.actual),
            }
        }
        return Err(Mismatch::new(expected, last.unwrap_or_default()));
    }
    let outcome = match answer {
        Answer::Outcome(outcome) => outcome,
        Answer::NoCard if *expect == SdkExpect::NoCard => return Ok(()),
        Answer::NoCard => return Err(Mismatch::new(expected, "no card")),
        Answer::Broken(_) if *expect == SdkExpect::Failed => return Ok(()),
        Answer::Broken(why) => return Err(Mismatch::new(expected, why.clone())),
    };
    let status = outcome.status;
    // A refusal reported as a missing certificate is not that refusal.
    let refusal = outcome.data != Some(SdkData::NoCertificate);
    let pass = match expect {
        SdkExpect::Ok => {
            // A refusal reads better as its status word than as the data it did not give.
            return ok(outcome).map_err(|actual| {
                let actual = if status.is_success() || status.retries().is_some() {
                    actual
                } else {
                    describe_outcome(outcome)
                };
                Mismatch::new(expected, actual)
            });
        }
        SdkExpect::RetriesLeft(n) => refusal && status.retries() == Some(*n),
        SdkExpect::WrongPin { retries_left } => refusal && status.retries() == Some(*retries_left),
        SdkExpect::PinBlocked => {
            refusal
                && (status == sim_card::StatusWord::NO_TRIES_LEFT
                    || status == sim_card::StatusWord::REFERENCED_IEF_LOCKED)
        }
        SdkExpect::SecurityStatus => {
            refusal && status == sim_card::StatusWord::SECURITY_STATUS_NOT_SATISFIED
        }
        SdkExpect::Failed => !status.is_success() && outcome.data.is_none(),
        SdkExpect::NoCard => false,
        SdkExpect::NoCertificate => outcome.data == Some(SdkData::NoCertificate),
        SdkExpect::Status(sw) => refusal && status == sw.0,
        SdkExpect::AnyOf(_) => false,
    };
    if pass {
        Ok(())
    } else {
        Err(Mismatch::new(expected, describe_outcome(outcome)))
    }
}

fn describe_expect(expect: &SdkExpect) -> String {
    match expect {
        SdkExpect::Ok => "ok".to_owned(),
        SdkExpect::RetriesLeft(n) => format!("retries_left {n} (63 C{n:X})"),
        SdkExpect::WrongPin { retries_left } => {
            format!("wrong_pin with {retries_left} left (63 C{retries_left:X})")
        }
        SdkExpect::PinBlocked => "pin_blocked (63 C0 or 69 84)".to_owned(),
        SdkExpect::SecurityStatus => "security_status (69 82)".to_owned(),
        SdkExpect::Failed => "failed (an error or a status word other than 90 00)".to_owned(),
        SdkExpect::NoCard => "no_card".to_owned(),
        SdkExpect::NoCertificate => "no_certificate (EF 0008 says the card holds none)".to_owned(),
        SdkExpect::Status(sw) => format!("status {}", sw.0),
        SdkExpect::AnyOf(choices) => format!(
            "any of: {}",
            choices
                .iter()
                .map(describe_expect)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

fn describe_outcome(outcome: &SdkOutcome) -> String {
    if outcome.data == Some(SdkData::NoCertificate) {
        return format!("no_certificate after status {}", outcome.status);
    }
    match outcome.status.name() {
        Some(name) => format!("status {} ({name})", outcome.status),
        None => format!("status {}", outcome.status),
    }
}

fn error_text(err: &SdkError) -> String {
    match err {
        SdkError::Channel(ChannelError::NoCard) => "no card".to_owned(),
        other => vocab::error_chain(other),
    }
}

fn success(outcome: &SdkOutcome) -> Result<(), String> {
    if outcome.status.is_success() {
        Ok(())
    } else {
        Err(describe_outcome(outcome))
    }
}
