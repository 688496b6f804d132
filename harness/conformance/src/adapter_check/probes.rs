//! The messages an adapter is sent, per role: every operation with valid input (real
//! certificates and signatures, the card's right PINs), and the invalid input the protocol
//! says how to answer (docs/adapter-protocol.md): an unknown `op`, a missing field, a field of
//! the wrong type or value, an unknown enrolment, an unknown extra field (to be ignored), and
//! on stdio a blank line (to be ignored).

use adapter_protocol::{HarnessMessage, Operation, Request};
use serde_json::{json, Value};
use vocab::{
    CertificateSlot, Consent, EnrolRequest, Feature, HashAlgorithm, KeyKind, PinKind, StatusChannel,
};

use super::materials::Materials;
use super::CheckError;

/// What a probe must get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A `result`, valid for the request's `op`.
    Result,
    /// An `error` with this code.
    Error(&'static str),
}

/// One request to send and what must come back.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What is tried, for the report (`enrol (an authentication certificate and signature)`).
    pub what: String,
    /// The request's `op` (the key of its result's schema).
    pub op: String,
    /// The request message; its `id` is set when it is sent.
    pub message: Value,
    /// What must come back.
    pub expect: Expect,
    /// The feature the operation needs: an adapter that does not claim it may answer
    /// `unsupported`.
    pub feature: Option<Feature>,
    /// Sent after a blank line (stdio only: over HTTP a body is one message).
    pub after_blank_line: bool,
}

impl Probe {
    fn new(what: &str, operation: Operation, expect: Expect, feature: Option<Feature>) -> Probe {
        let message: Value =
            serde_json::from_str(&HarnessMessage::Request(Request { id: 0, operation }).to_line())
                .expect("a request serializes to JSON");
        let op = message["op"].as_str().unwrap_or_default().to_owned();
        Probe {
            what: format!("{op} ({what})"),
            op,
            message,
            expect,
            feature,
            after_blank_line: false,
        }
    }

    /// This probe with `change` made to its message, as `what`.
    fn altered(mut self, what: &str, expect: Expect, change: impl FnOnce(&mut Value)) -> Probe {
        change(&mut self.message);
        self.what = format!("{} ({what})", self.op);
        self.expect = expect;
        self
    }

    /// A request whose `op` the protocol does not have.
    fn unknown_op() -> Probe {
        Probe {
            what: "frobnicate (an op the protocol does not have)".to_owned(),
            op: "frobnicate".to_owned(),
            message: json!({"type": "request", "id": 0, "op": "frobnicate"}),
            expect: Expect::Error("unsupported"),
            feature: None,
            after_blank_line: false,
        }
    }
}

/// The probes of a PF, enrolling the world's card under `check-auth` and `check-sign`.
/// `status_via` is the channel the adapter claims (OCSP when it claims both or neither).
pub fn pf(materials: &Materials, features: &[Feature]) -> Result<Vec<Probe>, CheckError> {
    let auth = materials.signed(KeyKind::Auth, b"jpki-sim adapter check: enrol auth")?;
    let sign = materials.signed(KeyKind::Sign, b"jpki-sim adapter check: enrol sign")?;
    let consent = materials.signed(
        KeyKind::Sign,
        "jpki-sim adapter check: I consent to the latest basic-4-info service".as_bytes(),
    )?;
    let enrol = |name: &str, key: KeyKind, signed: &super::materials::Signed| {
        Operation::Enrol(EnrolRequest {
            name: name.to_owned(),
            key,
            certificate: signed.certificate.clone(),
            intermediates: Vec::new(),
            data: signed.data.clone(),
            hash: HashAlgorithm::Sha256,
            signature: signed.signature.clone(),
        })
    };
    let (via, via_feature) =
        if features.contains(&Feature::Crl) && !features.contains(&Feature::Ocsp) {
            (StatusChannel::Crl, Feature::Crl)
        } else {
            (StatusChannel::Ocsp, Feature::Ocsp)
        };
    let status = |enrolment: &str, via: StatusChannel| Operation::CheckStatus {
        enrolment: enrolment.to_owned(),
        via,
    };
    let status_probe = Probe::new(
        "the enrolment just made",
        status("check-auth", via),
        Expect::Result,
        Some(via_feature),
    );
    Ok(vec![
        Probe::new(
            "an authentication certificate and its signature",
            enrol("check-auth", KeyKind::Auth, &auth),
            Expect::Result,
            None,
        ),
        Probe::new(
            "a signature certificate and its signature",
            enrol("check-sign", KeyKind::Sign, &sign),
            Expect::Result,
            None,
        )
        .altered(
            "a signature certificate, with a field this version does not have, to be ignored",
            Expect::Result,
            |message| {
                message["x_later_field"] = json!({"ignored": true});
            },
        ),
        Probe::new(
            "via OCSP",
            status("check-auth", StatusChannel::Ocsp),
            Expect::Result,
            Some(Feature::Ocsp),
        ),
        Probe::new(
            "via the CRL",
            status("check-auth", StatusChannel::Crl),
            Expect::Result,
            Some(Feature::Crl),
        ),
        Probe::new(
            "a consent signed with the signature key",
            Operation::RegisterConsent {
                enrolment: "check-sign".to_owned(),
                consent: Consent {
                    document: consent.data.clone(),
                    signature: consent.signature.clone(),
                },
            },
            Expect::Result,
            Some(Feature::LatestInfo),
        ),
        Probe::new(
            "after the consent",
            Operation::LatestInfo {
                enrolment: "check-sign".to_owned(),
            },
            Expect::Result,
            Some(Feature::LatestInfo),
        ),
        Probe::new(
            "the authentication enrolment",
            Operation::ResolveUser {
                enrolment: "check-auth".to_owned(),
            },
            Expect::Result,
            Some(Feature::Linkage),
        ),
        Probe::new(
            "an enrolment never made",
            status("never-enrolled", via),
            Expect::Error("unknown_enrolment"),
            Some(via_feature),
        ),
        Probe::unknown_op(),
        status_probe.clone().altered(
            "no `enrolment` field",
            Expect::Error("bad_request"),
            |message| {
                remove(message, "enrolment");
            },
        ),
        status_probe.clone().altered(
            "`via` not a channel",
            Expect::Error("bad_request"),
            |message| {
                message["via"] = json!("carrier_pigeon");
            },
        ),
        Probe::new(
            "",
            enrol("check-bad", KeyKind::Auth, &auth),
            Expect::Result,
            None,
        )
        .altered(
            "`certificate` a number, not hex",
            Expect::Error("bad_request"),
            |message| {
                message["certificate"] = json!(42);
            },
        ),
        Probe {
            after_blank_line: true,
            ..status_probe.altered("after a blank line, to be ignored", Expect::Result, |_| {})
        },
    ])
}

/// The probes of an SDK on the world's card, with its right PINs.
pub fn sdk(materials: &Materials) -> Vec<Probe> {
    let card = materials.card_handle();
    let pin = |kind: PinKind| materials.pin(kind);
    let pin_status = Probe::new(
        "the authentication PIN",
        Operation::PinStatus {
            card: card.clone(),
            pin: PinKind::Auth,
        },
        Expect::Result,
        None,
    );
    let verify = Probe::new(
        "the right authentication PIN",
        Operation::VerifyPin {
            card: card.clone(),
            pin: PinKind::Auth,
            value: pin(PinKind::Auth),
        },
        Expect::Result,
        None,
    );
    let sign = |key: KeyKind, what: &str, feature: Option<Feature>| {
        Probe::new(
            what,
            Operation::Sign {
                card: card.clone(),
                key,
                data: b"jpki-sim adapter check".to_vec(),
                hash: HashAlgorithm::Sha256,
                pin: Some(match key {
                    KeyKind::Auth => pin(PinKind::Auth),
                    KeyKind::Sign => pin(PinKind::Sign),
                }),
            },
            Expect::Result,
            feature,
        )
    };
    let change = |old: String, new: String, what: &str| {
        Probe::new(
            what,
            Operation::ChangePin {
                card: card.clone(),
                pin: PinKind::Text,
                old,
                new,
            },
            Expect::Result,
            Some(Feature::PinChange),
        )
    };
    let text_pin = pin(PinKind::Text);
    let other_text_pin = if text_pin == "4321" { "8765" } else { "4321" }.to_owned();
    vec![
        Probe::new(
            "the authentication certificate",
            Operation::ReadCertificate {
                card: card.clone(),
                which: CertificateSlot::Auth,
                password: None,
            },
            Expect::Result,
            None,
        ),
        Probe::new(
            "the signature certificate, behind the signature password",
            Operation::ReadCertificate {
                card: card.clone(),
                which: CertificateSlot::Sign,
                password: Some(pin(PinKind::Sign)),
            },
            Expect::Result,
            Some(Feature::SignKey),
        ),
        pin_status.clone(),
        verify.clone(),
        sign(
            KeyKind::Auth,
            "with the authentication key and its PIN",
            None,
        ),
        sign(
            KeyKind::Sign,
            "with the signature key and its password",
            Some(Feature::SignKey),
        ),
        Probe::new(
            "with the text PIN",
            Operation::ReadBasicInfo {
                card: card.clone(),
                pin: PinKind::Text,
                value: pin(PinKind::Text),
            },
            Expect::Result,
            Some(Feature::TextAp),
        ),
        Probe::new(
            "with the text PIN",
            Operation::ReadMyNumber {
                card: card.clone(),
                pin: PinKind::Text,
                value: pin(PinKind::Text),
            },
            Expect::Result,
            Some(Feature::TextAp),
        ),
        Probe::new(
            "with 照合番号A",
            Operation::ReadCardFace {
                card: card.clone(),
                pin: PinKind::PinA,
                value: pin(PinKind::PinA),
            },
            Expect::Result,
            Some(Feature::VisualAp),
        ),
        change(text_pin.clone(), other_text_pin.clone(), "the text PIN"),
        change(other_text_pin, text_pin, "the text PIN back"),
        pin_status.clone().altered(
            "with a field this version does not have, to be ignored",
            Expect::Result,
            |message| {
                message["x_later_field"] = json!(1);
            },
        ),
        Probe::unknown_op(),
        verify.clone().altered(
            "no `value` field",
            Expect::Error("bad_request"),
            |message| {
                remove(message, "value");
            },
        ),
        pin_status.clone().altered(
            "`pin` not a PIN of the card",
            Expect::Error("bad_request"),
            |message| {
                message["pin"] = json!("pin_z");
            },
        ),
        sign(KeyKind::Auth, "", None).altered(
            "`data` a number, not hex",
            Expect::Error("bad_request"),
            |message| {
                message["data"] = json!(7);
            },
        ),
        Probe {
            after_blank_line: true,
            ..pin_status.altered("after a blank line, to be ignored", Expect::Result, |_| {})
        },
    ]
}

fn remove(message: &mut Value, field: &str) {
    if let Some(object) = message.as_object_mut() {
        object.remove(field);
    }
}
