//! The messages of the adapter protocol, version 1 (docs/adapter-protocol.md): one JSON object
//! per line, `type` naming the message.

use serde::{Deserialize, Serialize};
use sim_card::StatusWord;

use vocab::{
    CardBasicInfo, CertificateSlot, Consent, EnrolRequest, Feature, HashAlgorithm, KeyKind,
    PinKind, Role, SdkData, SdkOutcome, StatusChannel,
};

/// The protocol version this harness speaks.
pub const VERSION: u32 = 1;

/// What the harness sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HarnessMessage {
    /// The first message: who the adapter is to be and where the world is.
    Hello {
        version: u32,
        role: Role,
        environment: Environment,
    },
    /// One operation of a scenario step.
    Request(Request),
    /// The scenario is over: the adapter exits 0.
    Bye,
}

/// What an adapter sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AdapterMessage {
    /// The answer to `hello`: the adapter's name and the features it supports.
    Hello {
        version: u32,
        name: String,
        features: Vec<Feature>,
    },
    /// The answer to the request with the same `id`.
    Response(Response),
}

/// Where a scenario's world is, as `hello` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// The world's server: everything below is under it.
    pub base_url: String,
    /// Where CA certificates are served (`{ca_url}/sign.pem`, ...).
    pub ca_url: String,
    /// Where CRLs are served (`{crl_url}/...`).
    pub crl_url: String,
    /// The OCSP responder (POST or GET).
    pub ocsp_url: String,
    /// The J-LIS services (latest 4 info, linkage).
    pub jlis_url: String,
    /// The signature hierarchy's CA certificate (PEM), a trust anchor.
    pub sign_ca_pem: String,
    /// The authentication hierarchy's CA certificate (PEM), a trust anchor.
    pub auth_ca_pem: String,
    /// The scenario's cards, by index.
    pub cards: Vec<CardHandle>,
}

/// How an SDK reaches one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardHandle {
    /// The card's index in the scenario.
    pub index: usize,
    /// The card's id (`felica:0123456789ABCDEF`).
    pub id: String,
    /// The HTTP APDU bridge: `POST` a command APDU (raw bytes), get the response APDU.
    pub bridge: String,
    /// The PC/SC reader the card is in, when attached to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
}

/// One operation, numbered; the response carries the same `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub operation: Operation,
}

/// The operations of both roles, by `op`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// SDK: read a JPKI certificate, verifying the signature password first when given.
    ReadCertificate {
        card: CardHandle,
        which: CertificateSlot,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// SDK: tries a PIN has left (an empty VERIFY).
    PinStatus { card: CardHandle, pin: PinKind },
    /// SDK: verify a PIN.
    VerifyPin {
        card: CardHandle,
        pin: PinKind,
        value: String,
    },
    /// SDK: change a PIN from `old` to `new`.
    ChangePin {
        card: CardHandle,
        pin: PinKind,
        old: String,
        new: String,
    },
    /// SDK: sign the `hash` DigestInfo of `data` (hex), verifying `pin` first when given.
    Sign {
        card: CardHandle,
        key: KeyKind,
        #[serde(with = "hex::serde")]
        data: Vec<u8>,
        hash: HashAlgorithm,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
    },
    /// SDK: read the basic 4 info from the text AP after `pin`.
    ReadBasicInfo {
        card: CardHandle,
        pin: PinKind,
        value: String,
    },
    /// SDK: read the my number from the text AP after `pin`.
    ReadMyNumber {
        card: CardHandle,
        pin: PinKind,
        value: String,
    },
    /// SDK: read the card-face file from the visual AP after `pin`.
    ReadCardFace {
        card: CardHandle,
        pin: PinKind,
        value: String,
    },
    /// PF: [`vocab::Platform::enrol`].
    Enrol(EnrolRequest),
    /// PF: [`vocab::Platform::check_status`].
    CheckStatus {
        enrolment: String,
        via: StatusChannel,
    },
    /// PF: [`vocab::Platform::register_consent`].
    RegisterConsent { enrolment: String, consent: Consent },
    /// PF: [`vocab::Platform::latest_info`].
    LatestInfo { enrolment: String },
    /// PF: [`vocab::Platform::resolve_user`].
    ResolveUser { enrolment: String },
}

/// An answer: `result` (the operation's outcome) or `error` (the adapter could not do it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReply>,
}

/// Why an adapter did not perform an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The adapter does not implement the operation (or the role).
    Unsupported,
    /// A PF operation named an enrolment the adapter does not know.
    UnknownEnrolment,
    /// The operation failed as a program (transport down, card data unparsable).
    Failed,
    /// The request names a known `op` but its fields do not parse (one missing, or of the
    /// wrong type).
    BadRequest,
}

/// An SDK operation's result: what the card said, or that no card answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SdkResult {
    /// The status word (hex, `9000`) of the APDU that decided the operation, and its data.
    Card {
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<WireData>,
    },
    /// The card is not in the reader.
    NoCard,
}

/// [`SdkData`] on the wire, by `kind`; bytes are hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireData {
    Certificate {
        #[serde(with = "hex::serde")]
        der: Vec<u8>,
    },
    RetriesLeft {
        count: u8,
    },
    Signature {
        #[serde(with = "hex::serde")]
        signature: Vec<u8>,
    },
    BasicInfo {
        name: String,
        address: String,
        birth_date: String,
        sex: String,
    },
    MyNumber {
        number: String,
    },
    CardFace {
        #[serde(with = "hex::serde")]
        file: Vec<u8>,
    },
}

/// A harness message as an adapter reads it: a request whose `op` it cannot take is still
/// answered, with its `id`, instead of breaking the protocol.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A message of this protocol.
    Message(HarnessMessage),
    /// A request (its `id` is known) that cannot be performed as written: answer with `error`.
    Refused {
        id: u64,
        code: ErrorCode,
        message: String,
    },
}

/// Every `op` of [`Operation`], as on the wire.
pub const OPS: [&str; 13] = [
    "read_certificate",
    "pin_status",
    "verify_pin",
    "change_pin",
    "sign",
    "read_basic_info",
    "read_my_number",
    "read_card_face",
    "enrol",
    "check_status",
    "register_consent",
    "latest_info",
    "resolve_user",
];

/// A line that is not a message of this protocol.
#[derive(Debug, thiserror::Error)]
#[error("not a protocol message: {source}")]
pub struct DecodeError {
    #[from]
    source: serde_json::Error,
}

/// A status word that is not four hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status {0:?} is not four hex digits")]
pub struct BadStatus(pub String);

impl HarnessMessage {
    /// The message as one line, newline included.
    pub fn to_line(&self) -> String {
        to_line(self)
    }

    pub fn from_line(line: &str) -> Result<HarnessMessage, DecodeError> {
        Ok(serde_json::from_str(line)?)
    }
}

impl Incoming {
    /// Reads a harness message in two stages: first the envelope (`type`, `id`), then the whole
    /// message. A request with an unknown `op` is [`ErrorCode::Unsupported`], one whose fields do
    /// not fit its `op` [`ErrorCode::BadRequest`]; anything else that does not parse is a
    /// [`DecodeError`] (the harness broke the protocol).
    pub fn from_line(line: &str) -> Result<Incoming, DecodeError> {
        let value: serde_json::Value = serde_json::from_str(line)?;
        let id = match (&value["type"], &value["id"]) {
            (serde_json::Value::String(kind), serde_json::Value::Number(id))
                if kind == "request" =>
            {
                id.as_u64()
            }
            _ => None,
        };
        let op = value["op"].as_str().map(str::to_owned);
        match (serde_json::from_value::<HarnessMessage>(value), id) {
            (Ok(message), _) => Ok(Incoming::Message(message)),
            (Err(err), Some(id)) => Ok(match op {
                None => Incoming::Refused {
                    id,
                    code: ErrorCode::BadRequest,
                    message: "the request has no op".to_owned(),
                },
                Some(op) if !OPS.contains(&op.as_str()) => Incoming::Refused {
                    id,
                    code: ErrorCode::Unsupported,
                    message: format!("unknown op {op:?}; this adapter knows {}", OPS.join(", ")),
                },
                Some(op) => Incoming::Refused {
                    id,
                    code: ErrorCode::BadRequest,
                    message: format!("op {op}: {err}"),
                },
            }),
            (Err(err), None) => Err(err.into()),
        }
    }
}

impl AdapterMessage {
    /// The message as one line, newline included.
    pub fn to_line(&self) -> String {
        to_line(self)
    }

    pub fn from_line(line: &str) -> Result<AdapterMessage, DecodeError> {
        Ok(serde_json::from_str(line)?)
    }
}

impl Operation {
    /// The role that performs the operation.
    pub fn role(&self) -> Role {
        match self {
            Operation::Enrol(_)
            | Operation::CheckStatus { .. }
            | Operation::RegisterConsent { .. }
            | Operation::LatestInfo { .. }
            | Operation::ResolveUser { .. } => Role::Pf,
            _ => Role::Sdk,
        }
    }
}

impl Response {
    pub fn result(id: u64, result: serde_json::Value) -> Response {
        Response {
            id,
            result: Some(result),
            error: None,
        }
    }

    pub fn error(id: u64, code: ErrorCode, message: impl Into<String>) -> Response {
        Response {
            id,
            result: None,
            error: Some(ErrorReply {
                code,
                message: message.into(),
            }),
        }
    }
}

impl SdkResult {
    /// The wire form of a reference SDK outcome.
    pub fn of(outcome: &SdkOutcome) -> SdkResult {
        SdkResult::Card {
            status: hex::encode_upper(outcome.status.to_bytes()),
            data: outcome.data.as_ref().map(WireData::of),
        }
    }

    /// Back to an [`SdkOutcome`]; `None` when no card answered.
    pub fn outcome(&self) -> Result<Option<SdkOutcome>, BadStatus> {
        match self {
            SdkResult::NoCard => Ok(None),
            SdkResult::Card { status, data } => Ok(Some(SdkOutcome {
                status: parse_status(status)?,
                data: data.clone().map(WireData::into_data),
            })),
        }
    }
}

impl WireData {
    pub fn of(data: &SdkData) -> WireData {
        match data.clone() {
            SdkData::Certificate(der) => WireData::Certificate { der },
            SdkData::RetriesLeft(count) => WireData::RetriesLeft { count },
            SdkData::Signature(signature) => WireData::Signature { signature },
            SdkData::BasicInfo(info) => WireData::BasicInfo {
                name: info.name,
                address: info.address,
                birth_date: info.birth_date,
                sex: info.sex,
            },
            SdkData::MyNumber(number) => WireData::MyNumber { number },
            SdkData::CardFace(file) => WireData::CardFace { file },
        }
    }

    pub fn into_data(self) -> SdkData {
        match self {
            WireData::Certificate { der } => SdkData::Certificate(der),
            WireData::RetriesLeft { count } => SdkData::RetriesLeft(count),
            WireData::Signature { signature } => SdkData::Signature(signature),
            WireData::BasicInfo {
                name,
                address,
                birth_date,
                sex,
            } => SdkData::BasicInfo(CardBasicInfo {
                name,
                address,
                birth_date,
                sex,
            }),
            WireData::MyNumber { number } => SdkData::MyNumber(number),
            WireData::CardFace { file } => SdkData::CardFace(file),
        }
    }
}

/// `9000`, `63C2`: a status word from four hex digits.
pub fn parse_status(text: &str) -> Result<StatusWord, BadStatus> {
    match hex::decode(text).as_deref() {
        Ok([sw1, sw2]) => Ok(StatusWord::from_bytes(*sw1, *sw2)),
        _ => Err(BadStatus(text.to_owned())),
    }
}

fn to_line(message: &impl Serialize) -> String {
    // Serialising these types cannot fail: no maps with non-string keys, no foreign impls.
    let mut line = serde_json::to_string(message).unwrap_or_default();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardHandle {
        CardHandle {
            index: 0,
            id: "felica:0123456789ABCDEF".to_owned(),
            bridge: "http://127.0.0.1:1/cards/felica:0123456789ABCDEF/apdu".to_owned(),
            reader: None,
        }
    }

    fn round_trip(message: HarnessMessage) {
        let line = message.to_line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let back = HarnessMessage::from_line(&line).unwrap();
        assert_eq!(
            serde_json::to_value(back).unwrap(),
            serde_json::to_value(message).unwrap()
        );
    }

    #[test]
    fn every_harness_message_round_trips_on_one_line() {
        round_trip(HarnessMessage::Hello {
            version: VERSION,
            role: Role::Pf,
            environment: Environment {
                base_url: "http://127.0.0.1:1".to_owned(),
                ca_url: "http://127.0.0.1:1/ca".to_owned(),
                crl_url: "http://127.0.0.1:1/crl".to_owned(),
                ocsp_url: "http://127.0.0.1:1/ocsp".to_owned(),
                jlis_url: "http://127.0.0.1:1/jlis/v1".to_owned(),
                sign_ca_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
                    .to_owned(),
                auth_ca_pem: String::new(),
                cards: vec![card()],
            },
        });
        round_trip(HarnessMessage::Bye);
        let operations = [
            Operation::Sign {
                card: card(),
                key: KeyKind::Sign,
                data: vec![0, 1, 0xFF],
                hash: HashAlgorithm::Sha256,
                pin: Some("ABC123".to_owned()),
            },
            Operation::ReadCertificate {
                card: card(),
                which: CertificateSlot::AuthCa,
                password: None,
            },
            Operation::Enrol(EnrolRequest {
                name: "a".to_owned(),
                key: KeyKind::Auth,
                certificate: vec![0x30, 0x00],
                data: b"hi".to_vec(),
                hash: HashAlgorithm::Sha256,
                signature: vec![1, 2],
            }),
            Operation::CheckStatus {
                enrolment: "a".to_owned(),
                via: StatusChannel::Ocsp,
            },
            Operation::RegisterConsent {
                enrolment: "a".to_owned(),
                consent: Consent {
                    document: vec![1],
                    signature: vec![2],
                },
            },
        ];
        for (id, operation) in operations.into_iter().enumerate() {
            round_trip(HarnessMessage::Request(Request {
                id: id as u64,
                operation,
            }));
        }
    }

    #[test]
    fn a_request_reads_as_documented() {
        let line = r#"{"type":"request","id":7,"op":"pin_status","card":{"index":0,"id":"x","bridge":"http://b"},"pin":"auth"}"#;
        match HarnessMessage::from_line(line).unwrap() {
            HarnessMessage::Request(Request {
                id: 7,
                operation: Operation::PinStatus { pin, .. },
            }) => assert_eq!(pin, PinKind::Auth),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn adapter_messages_round_trip() {
        let messages = [
            AdapterMessage::Hello {
                version: VERSION,
                name: "ref".to_owned(),
                features: vec![Feature::Ocsp, Feature::Crl],
            },
            AdapterMessage::Response(Response::result(3, serde_json::json!({"outcome": "good"}))),
            AdapterMessage::Response(Response::error(4, ErrorCode::Unsupported, "no")),
        ];
        for message in messages {
            assert_eq!(
                AdapterMessage::from_line(&message.to_line()).unwrap(),
                message
            );
        }
    }

    #[test]
    fn sdk_outcomes_survive_the_wire() {
        let outcomes = [
            SdkOutcome::status(StatusWord::retries_left(2)),
            SdkOutcome::with_data(SdkData::Signature(vec![1, 2, 3])),
            SdkOutcome::with_data(SdkData::BasicInfo(CardBasicInfo {
                name: "番号 花子".to_owned(),
                address: "東京都".to_owned(),
                birth_date: "19900101".to_owned(),
                sex: "2".to_owned(),
            })),
        ];
        for outcome in outcomes {
            let json = serde_json::to_value(SdkResult::of(&outcome)).unwrap();
            let back: SdkResult = serde_json::from_value(json).unwrap();
            assert_eq!(back.outcome().unwrap(), Some(outcome));
        }
        assert_eq!(
            serde_json::to_value(SdkResult::of(&SdkOutcome::status(StatusWord::SUCCESS))).unwrap(),
            serde_json::json!({"outcome": "card", "status": "9000"})
        );
    }

    fn refused(line: &str) -> (u64, ErrorCode, String) {
        match Incoming::from_line(line).unwrap() {
            Incoming::Refused { id, code, message } => (id, code, message),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn a_request_with_an_unknown_op_is_refused_with_its_id() {
        let (id, code, message) = refused(r#"{"type":"request","id":9,"op":"frobnicate"}"#);
        assert_eq!((id, code), (9, ErrorCode::Unsupported));
        assert!(message.contains(r#"unknown op "frobnicate""#), "{message}");
        let (id, code, message) = refused(r#"{"type":"request","id":10,"op":"check_status"}"#);
        assert_eq!((id, code), (10, ErrorCode::BadRequest));
        assert!(message.contains("enrolment"), "{message}");
        let (_, code, _) = refused(r#"{"type":"request","id":11}"#);
        assert_eq!(code, ErrorCode::BadRequest);
        assert!(matches!(
            Incoming::from_line(r#"{"type":"request","id":1,"op":"resolve_user","enrolment":"a"}"#),
            Ok(Incoming::Message(HarnessMessage::Request(_)))
        ));
        // Without an id there is nothing to answer: the protocol is broken.
        assert!(Incoming::from_line(r#"{"type":"request","op":"frobnicate"}"#).is_err());
        assert!(Incoming::from_line(r#"{"type":"hullo"}"#).is_err());
    }

    #[test]
    fn ops_lists_every_operation() {
        for op in OPS {
            let (_, code, message) =
                refused(&format!(r#"{{"type":"request","id":1,"op":"{op}"}}"#));
            assert_eq!(code, ErrorCode::BadRequest, "{op}: {message}");
            assert!(!message.contains("unknown variant"), "{op}: {message}");
        }
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        for line in [
            "",
            "not json",
            "{}",
            r#"{"type":"request","id":"x"}"#,
            "[1]",
        ] {
            assert!(AdapterMessage::from_line(line).is_err(), "{line}");
            assert!(HarnessMessage::from_line(line).is_err(), "{line}");
        }
        assert!(parse_status("90").is_err());
    }
}
