//! The PINs a persona's card was personalised with, by the vocabulary's names.

use mock_jlis::Persona;
use vocab::PinKind;

/// The value a PIN has on this card (the persona's, overrides applied).
pub fn correct_pin(persona: &Persona, pin: PinKind) -> String {
    let pins = &persona.pins;
    match pin {
        PinKind::Auth => pins.auth_pin.clone(),
        PinKind::Sign => pins.sign_password.clone(),
        PinKind::Text => pins.text_pin.clone(),
        PinKind::PinA => pins.pin_a.clone(),
        PinKind::PinB => pins.pin_b.clone(),
    }
}
