//! The messages of the adapter protocol, version 1 (docs/adapter-protocol.md): one JSON object
//! per line, `type` naming the message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_card::StatusWord;

use vocab::{
    CardBasicInfo, CertificateSlot, Consent, EnrolRequest, Feature, HashAlgorithm, KeyKind,
    PinKind, Role, SdkData, SdkOutcome, StatusChannel,
};

/// The protocol version this harness speaks.
pub const VERSION: u32 = 1;

/// What the harness sends (on the adapter's stdin, or as the body of a `POST`), by `type`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HarnessMessage {
    /// The first message: who the adapter is to be and where the world is.
    Hello {
        /// The protocol version, `1`. An adapter that does not speak it exits non-zero.
        version: u32,
        /// What the adapter is to be: the SDK (card side) or the PF (verifier side).
        role: Role,
        /// The scenario's world: its URLs, trust anchors and cards.
        environment: Environment,
    },
    /// One operation of a scenario step, to be answered with a `response` of the same `id`.
    Request(Request),
    /// The scenario is over: the adapter exits 0.
    Bye,
}

/// What an adapter sends (on its stdout, or as the body of a `200`), by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AdapterMessage {
    /// The answer to `hello`: the adapter's name and the features it supports.
    Hello {
        /// The protocol version the adapter speaks, `1`.
        version: u32,
        /// The adapter's name and version, for logs (`acme-pf 2.3`).
        name: String,
        /// The scenario features the adapter supports in its role; a scenario needing one of
        /// that role it does not list is skipped.
        features: Vec<Feature>,
    },
    /// The answer to the request with the same `id`.
    Response(Response),
}

/// Where a scenario's world is, as `hello` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// Present when the world is served off loopback (`jpki-sim run --listen ADDR`): send it as
    /// `Authorization: Bearer TOKEN` to the admin routes (`/admin/v1/clock`) and the APDU bridge.
    /// Absent on loopback, where nothing needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

/// How an SDK reaches one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardHandle {
    /// The card's index in the scenario.
    pub index: usize,
    /// The card's id (`felica:0123456789ABCDEF`).
    pub id: String,
    /// The HTTP APDU bridge: `POST` a command APDU (raw bytes), get the response APDU.
    pub bridge: String,
    /// The PC/SC reader the card is in (with `--pcsc`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
}

/// One operation, numbered; the response carries the same `id`. Its `op` names the operation,
/// and the other fields are the operation's.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// Counts up from 1 within a scenario.
    pub id: u64,
    /// The operation, by `op`.
    #[serde(flatten)]
    pub operation: Operation,
}

/// The operations of both roles, by `op`. SDK operations carry the `card` to act on; PF
/// operations after `enrol` name the `enrolment`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, strum::EnumDiscriminants)]
#[serde(tag = "op", rename_all = "snake_case")]
#[strum_discriminants(
    name(Op),
    doc = "An operation's `op`, without its fields.",
    derive(strum::EnumIter, strum::IntoStaticStr),
    strum(serialize_all = "snake_case")
)]
pub enum Operation {
    /// SDK: read a JPKI certificate, verifying the signature password first when given.
    ReadCertificate {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which certificate.
        which: CertificateSlot,
        /// The signature password, verified before reading (the signature certificate is
        /// behind it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    /// SDK: tries a PIN has left (an empty VERIFY, no try used).
    PinStatus {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN.
        pin: PinKind,
    },
    /// SDK: verify a PIN.
    VerifyPin {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN.
        pin: PinKind,
        /// The PIN as typed (ASCII).
        value: String,
    },
    /// SDK: change a PIN from `old` to `new`.
    ChangePin {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN.
        pin: PinKind,
        /// The current PIN, verified first.
        old: String,
        /// The new PIN.
        new: String,
    },
    /// SDK: sign the `hash` DigestInfo of `data`, verifying `pin` first when given.
    Sign {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which key signs.
        key: KeyKind,
        /// The data to hash and sign (hex).
        #[serde(with = "hex::serde")]
        #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
        data: Vec<u8>,
        /// The digest of `data` in the DigestInfo the card signs.
        hash: HashAlgorithm,
        /// The key's PIN, verified in the same operation; without it, an earlier `verify_pin`
        /// holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
    },
    /// SDK: read the basic 4 info from the text AP after verifying `pin`.
    ReadBasicInfo {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN opens the text AP: `text` or `pin_b`.
        pin: PinKind,
        /// The PIN as typed (ASCII).
        value: String,
    },
    /// SDK: read the my number from the text AP after verifying `pin`.
    ReadMyNumber {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN opens the text AP: `text` or `pin_a`.
        pin: PinKind,
        /// The PIN as typed (ASCII).
        value: String,
    },
    /// SDK: read the card-face file from the visual AP after verifying `pin`.
    ReadCardFace {
        /// The card, as `hello` listed it.
        card: CardHandle,
        /// Which PIN opens the visual AP: `pin_a` or `pin_b`.
        pin: PinKind,
        /// The PIN as typed (ASCII).
        value: String,
    },
    // The PF operations are the methods of `vocab::Platform`.
    /// PF: verify a signature and its certificate (chain to the right hierarchy's anchor,
    /// validity at the world's time, revocation status) and, if all hold, enrol the holder
    /// under `name`.
    Enrol(EnrolRequest),
    /// PF: re-check an enrolled certificate's status now.
    CheckStatus {
        /// The enrolment's `name`.
        enrolment: String,
        /// Where to learn the status.
        via: StatusChannel,
    },
    /// PF: register the holder's consent for the latest-4-info service.
    RegisterConsent {
        /// The enrolment's `name` (a signature enrolment).
        enrolment: String,
        /// The signed consent.
        consent: Consent,
    },
    /// PF: fetch the holder's latest basic 4 info from J-LIS.
    LatestInfo {
        /// The enrolment's `name`.
        enrolment: String,
    },
    /// PF: the stable user behind an enrolment, across renewals, re-issues and sign ↔ auth.
    ResolveUser {
        /// The enrolment's `name`.
        enrolment: String,
    },
}

/// An answer: `result` (the operation's outcome) or `error` (the adapter could not do it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Response {
    /// The `id` of the request answered.
    pub id: u64,
    /// The operation's outcome, verdicts included, in the shape `OperationResults` gives for
    /// the request's `op`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Instead of `result`: the adapter could not perform the operation at all. It fails the
    /// step, not the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReply>,
}

/// Why an adapter did not perform an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorReply {
    /// The kind of refusal.
    pub code: ErrorCode,
    /// What went wrong, for the report.
    pub message: String,
}

/// The kinds of `error` an adapter answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The adapter does not implement the operation or the role, or does not know the `op`.
    Unsupported,
    /// A PF operation named an enrolment the adapter does not know.
    UnknownEnrolment,
    /// The operation failed as a program (transport down, card data unparsable).
    Failed,
    /// The request names a known `op` but its fields do not parse (one missing, or of the
    /// wrong type).
    BadRequest,
}

/// An SDK operation's result, by `outcome`: what the card said, or that no card answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SdkResult {
    /// The card answered: the status word of the APDU that decided the operation, and on
    /// success its data.
    Card {
        /// The status word, four hex digits (`9000`, `63C2`).
        #[schemars(regex(pattern = r"^[0-9A-Fa-f]{4}$"))]
        status: String,
        /// What the operation read or computed, when it succeeded with data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<WireData>,
    },
    /// The card is not in its reader (the bridge answered `409`, or PC/SC found no card).
    NoCard,
}

/// What an SDK operation read or computed, by `kind`; bytes are hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireData {
    /// `read_certificate`: the certificate read.
    Certificate {
        /// The certificate, DER (hex).
        #[serde(with = "hex::serde")]
        #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
        der: Vec<u8>,
    },
    /// `pin_status`: the tries the PIN has left.
    RetriesLeft {
        /// Tries left (the `x` of `63Cx`).
        count: u8,
    },
    /// `sign`: the signature.
    Signature {
        /// The PKCS#1 v1.5 signature (hex).
        #[serde(with = "hex::serde")]
        #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
        signature: Vec<u8>,
    },
    /// `read_basic_info`: the basic 4 info of the text AP.
    BasicInfo {
        /// The name (UTF-8).
        name: String,
        /// The address (UTF-8).
        address: String,
        /// The birth date, `YYYYMMDD`.
        birth_date: String,
        /// Sex as the JIS X 0303 digit.
        sex: String,
    },
    /// `read_my_number`: the my number.
    MyNumber {
        /// The 12 digits.
        number: String,
    },
    /// `read_card_face`: the visual AP's card-face file.
    CardFace {
        /// The file as read (hex).
        #[serde(with = "hex::serde")]
        #[schemars(with = "String", regex(pattern = r"^([0-9A-Fa-f]{2})*$"))]
        file: Vec<u8>,
    },
    /// `read_certificate` or `sign`: the card holds no such certificate or key (JPKI EF `0008`
    /// says so, as for a holder under 15 at issuance, who has no signature certificate);
    /// `status` is the refusal that made the SDK look.
    NoCertificate,
}

/// A harness message as an adapter reads it: a request whose `op` it cannot take is still
/// answered, with its `id`, instead of breaking the protocol.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A message of this protocol.
    Message(HarnessMessage),
    /// A request (its `id` is known) that cannot be performed as written: answer with `error`.
    Refused {
        /// The request's `id`, for the `response`.
        id: u64,
        /// [`ErrorCode::Unsupported`] for an unknown `op`, [`ErrorCode::BadRequest`] otherwise.
        code: ErrorCode,
        /// What was wrong with the request, for the report.
        message: String,
    },
}

/// Every `op` of [`Operation`], as on the wire (derived from the enum, so none is missing).
pub static OPS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    use strum::IntoEnumIterator;
    Op::iter().map(<&'static str>::from).collect()
});

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

    /// Parses one line (trailing newline allowed) as a harness message; the adapter side uses
    /// [`Incoming::from_line`] instead, to refuse unknown operations with an error reply.
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

    /// Parses one line (trailing newline allowed) as an adapter message.
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
    /// A successful reply to request `id`.
    pub fn result(id: u64, result: serde_json::Value) -> Response {
        Response {
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failed reply to request `id`: `code` for the harness, `message` for people.
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
    /// The wire form of what an SDK operation read or produced.
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
            SdkData::NoCertificate => WireData::NoCertificate,
        }
    }

    /// Back to the [`SdkData`] the wire form carries.
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
            WireData::NoCertificate => SdkData::NoCertificate,
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
                admin_token: None,
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
                intermediates: Vec::new(),
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
        for &op in OPS.iter() {
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
