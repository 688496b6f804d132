//! The JSON bodies of the admin API and the J-LIS API (mock-jlis), read and checked the way
//! their routes do before the world changes: provisioning with persona overrides, life events,
//! clock moves, fault rules, consents, and persona YAML files. Accepted or a typed error, never
//! a panic; and what is accepted is what the world can act on.
//!
//! Input: a selector byte (which body), then the body's text.

use base64::Engine;
use mock_jlis::admin::{ClockRequest, ProvisionRequest};
use mock_jlis::clock::{parse_duration, ClockMode, SimClock, LATEST};
use mock_jlis::consent::DEFAULT_CONSENT_VALIDITY;
use mock_jlis::events::{event_persona, EventRequest};
use mock_jlis::faults::{FaultRule, Faults};
use mock_jlis::jlis_routes::ConsentRequest;
use mock_jlis::{Persona, PersonaOverrides};
use sim_card::CardId;
use time::macros::datetime;
use time::OffsetDateTime;

/// A clock time the world may show: the seeds' day.
const NOW: OffsetDateTime = datetime!(2026-12-02 20:00 UTC);

/// One input.
pub fn run(bytes: &[u8]) {
    let [selector, body @ ..] = bytes else {
        return;
    };
    match selector % 6 {
        0 => provision(body),
        1 => event(body),
        2 => clock(body, selector & 0x80 != 0),
        3 => fault(body),
        4 => consent(body),
        _ => persona_yaml(body),
    }
}

/// `POST /admin/v1/cards`: the card id, then the overrides the world applies to its persona.
fn provision(body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<ProvisionRequest>(body) else {
        return;
    };
    let Ok(card) = request.card.parse::<CardId>() else {
        return;
    };
    let Some(values) = request.persona else {
        return;
    };
    let Ok(overrides) = PersonaOverrides::from_yaml_str(&values.to_string(), "persona overrides")
    else {
        return;
    };
    if let Ok(persona) = Persona::derive(&card, 1).with_overrides(&overrides) {
        accepted_persona(&persona);
    }
}

/// `POST /admin/v1/events`: a basic-4-info change with requested values must leave a holder
/// who gets the signature certificate the event re-issues.
fn event(body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<EventRequest>(body) else {
        return;
    };
    let (Some(values), true) = (&request.persona, request.kind.changes_basic_info()) else {
        return;
    };
    let current = Persona::derive(&request.card, 1);
    if !current.has_signature_certificate() {
        return;
    }
    if let Ok(persona) = event_persona(&current, values) {
        assert!(
            persona.has_signature_certificate(),
            "an accepted event persona without a signature certificate"
        );
        accepted_persona(&persona);
    }
}

/// `POST /admin/v1/clock`: exactly one of `advance` and `set`, and the clock stays in range.
fn clock(body: &[u8], following: bool) {
    let Ok(request) = serde_json::from_slice::<ClockRequest>(body) else {
        return;
    };
    let clock = SimClock::new(if following {
        ClockMode::Following { offset_seconds: 0 }
    } else {
        ClockMode::Frozen { at: NOW }
    });
    let mode = match (request.advance, request.set) {
        (Some(advance), None) => match parse_duration(&advance) {
            Ok(by) => clock.advanced(by),
            Err(_) => return,
        },
        (None, Some(at)) => clock.set_to(at),
        _ => return,
    };
    let Ok(mode) = mode else {
        return;
    };
    clock.apply(mode);
    let now = clock.now();
    assert!(now <= LATEST, "the clock moved past its latest instant");
    let _ = mock_ca::rfc3339(&now).to_string();
}

/// `POST /admin/v1/faults`: an armed rule fires on its endpoint.
fn fault(body: &[u8]) {
    let Ok(rule) = serde_json::from_slice::<FaultRule>(body) else {
        return;
    };
    let faults = Faults::default();
    let endpoint = rule.endpoint;
    let kind = rule.fault;
    if faults.arm(rule).is_ok() {
        assert_eq!(faults.take(endpoint, |_| true), Some(kind));
    }
}

/// `POST /jlis/v1/consents`: the validity and the base64 fields, and the expiry the world
/// would compute from them.
fn consent(body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<ConsentRequest>(body) else {
        return;
    };
    let valid_for = match &request.valid_for {
        Some(text) => match parse_duration(text) {
            Ok(duration) => duration,
            Err(_) => return,
        },
        None => DEFAULT_CONSENT_VALIDITY,
    };
    for field in [&request.document, &request.signature, &request.certificate] {
        if base64::engine::general_purpose::STANDARD
            .decode(field.trim())
            .is_err()
        {
            return;
        }
    }
    if let Some(expires) = time::Duration::try_from(valid_for)
        .ok()
        .filter(|d| d.is_positive())
        .and_then(|d| NOW.checked_add(d))
    {
        let _ = mock_ca::rfc3339(&expires).to_string();
    }
}

/// A persona overrides file (`jpki-sim up --persona`, scenario personas).
fn persona_yaml(body: &[u8]) {
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let Ok(overrides) = PersonaOverrides::from_yaml_str(text, "fuzzed.yaml") else {
        return;
    };
    let card: CardId = "felica:0123456789ABCDEF".parse().expect("a valid card id");
    if let Ok(persona) = Persona::derive(&card, 1).with_overrides(&overrides) {
        accepted_persona(&persona);
    }
}

/// What the world computes from an accepted persona before it issues anything: the card's
/// expiry order and the certificate's date of birth.
fn accepted_persona(persona: &Persona) {
    assert!(
        persona.card_expires_on > persona.card_issued_on,
        "an accepted persona whose card expires before it is issued"
    );
    assert!(
        persona.birth_date <= persona.card_issued_on,
        "an accepted persona born after the card was issued"
    );
    let _ = persona.date_of_birth_jpki();
    let _ = persona.has_signature_certificate();
}
