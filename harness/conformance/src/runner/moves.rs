//! World moves between operations: life events, the clock, faults, and cards in and out of
//! their readers.

use std::sync::atomic::Ordering;

use x509_cert::der::Decode;

use mock_jlis::events::EventRequest;

use super::check::StepFailure;
use super::pf_steps::words;
use super::scenario::ScenarioRun;
use super::trace::TraceEntry;
use super::RunError;
use crate::scenario::model::{
    CardMove, ClockMove, ConsentMove, EventExpect, EventRefusal, EventStep, FaultStep,
};
use mock_jlis::world::WorldError;

/// Applies a life event to a card's holder, recording in the trace how many certificates it
/// revoked and issued.
pub fn event(run: &mut ScenarioRun<'_>, event: &EventStep) -> Result<(), StepFailure> {
    let card = run.world.card(event.card)?.id.clone();
    let result = run.world.world.apply_event(&EventRequest {
        card: card.clone(),
        kind: event.kind,
        persona: event.persona.clone(),
        reason: event.reason,
    });
    let refusal = |err: &WorldError| match err {
        WorldError::NotActive { .. } => Some(EventRefusal::CardNotActive),
        WorldError::NoSignatureCertificate { .. } => Some(EventRefusal::NoSignatureCertificate),
        _ => None,
    };
    let outcome = match (result, event.expect) {
        (Ok(outcome), EventExpect::Applied) => outcome,
        (Err(err), EventExpect::Refused(want)) if refusal(&err) == Some(want) => {
            run.trace.push(TraceEntry::World {
                action: format!(
                    "event {:?} on {card} refused, as expected: {err}",
                    event.kind
                ),
            });
            return Ok(());
        }
        (Err(err), EventExpect::Applied) if refusal(&err).is_none() => {
            return Err(RunError::World(err).into())
        }
        (result, expect) => {
            return Err(RunError::Event {
                expected: words(&expect),
                got: match result {
                    Ok(_) => "applied".to_owned(),
                    Err(err) => format!("refused ({err})"),
                },
            }
            .into())
        }
    };
    run.trace.push(TraceEntry::World {
        action: format!(
            "event {:?} on {card}: {} revoked, {} issued",
            event.kind,
            outcome.revoked.len(),
            outcome.issued.len()
        ),
    });
    Ok(())
}

/// Moves the world clock as the step says (forward only).
pub fn clock(run: &mut ScenarioRun<'_>, clock: &ClockMove) -> Result<(), StepFailure> {
    let world = &run.world.world;
    let mode = match clock {
        ClockMove::Advance(by) => world.clock().advanced(by.0),
        ClockMove::Set(at) => world.clock().set_to(*at),
    }
    .map_err(RunError::from)?;
    let now = world.set_clock(mode)?;
    run.trace.push(TraceEntry::World {
        action: format!("clock now {}", mock_ca::rfc3339(&now)),
    });
    Ok(())
}

/// Arms a fault rule on the world.
pub fn fault(run: &mut ScenarioRun<'_>, fault: &FaultStep) -> Result<(), StepFailure> {
    let rule = fault.rule();
    run.world
        .world
        .faults()
        .arm(rule.clone())
        .map_err(RunError::from)?;
    run.trace.push(TraceEntry::World {
        action: format!("fault armed: {rule:?}"),
    });
    Ok(())
}

/// Disarms every fault.
pub fn clear_faults(run: &mut ScenarioRun<'_>) -> Result<(), StepFailure> {
    run.world.world.faults().clear();
    for index in 0..run.world.present.len() {
        run.world.card(index)?.clear_faults();
    }
    run.trace.push(TraceEntry::World {
        action: "faults cleared".to_owned(),
    });
    Ok(())
}

/// Removing a card powers it off, as pulling it from a reader does: the next APDU after it is
/// inserted again finds it cold, with no PIN verified. A card in a PC/SC reader is detached
/// from vpcd (or attached again).
pub fn card(run: &mut ScenarioRun<'_>, move_: &CardMove) -> Result<(), StepFailure> {
    let (index, present) = match move_ {
        CardMove::Remove(index) => (*index, false),
        CardMove::Insert(index) => (*index, true),
        CardMove::Fault(step) => {
            run.world
                .card(step.card)?
                .arm_fault(step.fault, step.count)
                .map_err(RunError::CardFault)?;
            run.trace.push(TraceEntry::World {
                action: format!("card {} fault armed: {:?}", step.card, step.fault),
            });
            return Ok(());
        }
    };
    let card = run.world.card(index)?.clone();
    if !present {
        card.shared()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .power_off();
    }
    run.world.present[index].store(present, Ordering::SeqCst);
    // A card in a PC/SC reader leaves it (or comes back) only once pcscd has seen it do so,
    // so the next step never talks to a reader pcscd has not caught up with.
    let seen = match run.readers.as_mut() {
        Some(readers) if present => Some(readers.insert(index).map_err(RunError::from)?),
        Some(readers) => Some(readers.remove(index).map_err(RunError::from)?),
        None => None,
    };
    let moved = if present { "inserted" } else { "removed" };
    run.trace.push(TraceEntry::World {
        action: match seen {
            Some(after) => format!(
                "card {index} {moved} (pcscd showed it after {} ms)",
                after.as_millis()
            ),
            None => format!("card {index} {moved}"),
        },
    });
    Ok(())
}

/// The holder withdraws every consent covering an enrolment's certificate at J-LIS; the next
/// `latest_info` with `consent: true` registers a new one through the PF.
pub fn consent(run: &mut ScenarioRun<'_>, move_: &ConsentMove) -> Result<(), StepFailure> {
    let ConsentMove::Withdraw(name) = move_;
    let enrolment = run
        .enrolments
        .get_mut(name.as_str())
        .ok_or_else(|| RunError::Consent(format!("no enrolment {name}")))?;
    let certificate = x509_cert::Certificate::from_der(&enrolment.certificate)
        .map_err(|err| RunError::Consent(format!("the enrolled certificate: {err}")))?;
    let serial = mock_ca::Serial::from_bytes(certificate.tbs_certificate.serial_number.as_bytes())
        .map_err(|err| RunError::Consent(err.to_string()))?;
    run.world
        .world
        .withdraw_consent(&serial)
        .map_err(|err| RunError::Consent(vocab::error_chain(&err)))?;
    enrolment.consented = false;
    run.trace.push(TraceEntry::World {
        action: format!("consent withdrawn for {name} (serial {serial})"),
    });
    Ok(())
}
