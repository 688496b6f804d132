//! The adapter protocol's JSON Schema: the committed file is the one generated from the wire
//! types, it accepts every message of every variant as the harness and the bundled adapters
//! write it, and it accepts and refuses exactly what the wire types do.

use std::path::{Path, PathBuf};

use adapter_protocol::{
    schema, AdapterMessage, CardHandle, Environment, ErrorCode, HarnessMessage, Operation, Request,
    Response, SdkResult, WireData, OPS, VERSION,
};
use jsonschema::Validator;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use vocab::{
    BasicInfo, CertificateSlot, Consent, EnrolOutcome, EnrolRequest, Feature, HashAlgorithm,
    KeyKind, LatestOutcome, PinKind, RejectReason, Role, StatusChannel, StatusOutcome, UserOutcome,
};

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/adapter-protocol.json")
}

#[test]
fn schema_is_fresh() {
    let path = schema_path();
    let generated = schema::render();
    if std::env::var_os("JPKI_SIM_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "harness/protocol/schema/adapter-protocol.json is stale: the wire types changed. \
         Regenerate it with\n\
         JPKI_SIM_UPDATE_SCHEMA=1 cargo test -p adapter-protocol --test schema schema_is_fresh\n\
         and commit it."
    );
}

/// The committed schema, and validators for its root and its definitions.
struct Protocol {
    schema: Value,
    line: Validator,
}

impl Protocol {
    fn committed() -> Protocol {
        let text = std::fs::read_to_string(schema_path()).expect("the committed schema");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        let line = jsonschema::validator_for(&schema).expect("the schema compiles");
        Protocol { schema, line }
    }

    /// A validator of the schema at `pointer` (`/definitions/HarnessMessage`).
    fn at(&self, pointer: &str) -> Validator {
        assert!(
            self.schema.pointer(pointer).is_some(),
            "the schema has no {pointer}"
        );
        jsonschema::validator_for(&json!({
            "$schema": self.schema["$schema"],
            "$ref": format!("#{pointer}"),
            "definitions": self.schema["definitions"],
        }))
        .expect("the definition compiles")
    }

    /// A validator of the `result` of `op`.
    fn result_of(&self, op: &str) -> Validator {
        self.at(&format!("/definitions/OperationResults/properties/{op}"))
    }
}

/// `value` is valid, or a panic listing why not.
fn assert_valid(validator: &Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {value}\n{}", errors.join("\n"));
}

fn card() -> CardHandle {
    CardHandle {
        index: 0,
        id: "felica:0123456789ABCDEF".to_owned(),
        bridge: "http://127.0.0.1:41240/cards/0/apdu".to_owned(),
        reader: None,
    }
}

fn in_reader() -> CardHandle {
    CardHandle {
        reader: Some("Virtual PCD 00 00".to_owned()),
        ..card()
    }
}

fn environment(cards: Vec<CardHandle>) -> Environment {
    Environment {
        base_url: "http://127.0.0.1:41234".to_owned(),
        ca_url: "http://127.0.0.1:41234/ca".to_owned(),
        crl_url: "http://127.0.0.1:41234/crl".to_owned(),
        ocsp_url: "http://127.0.0.1:41234/ocsp".to_owned(),
        jlis_url: "http://127.0.0.1:41234/jlis/v1".to_owned(),
        sign_ca_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_owned(),
        auth_ca_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_owned(),
        cards,
        admin_token: None,
    }
}

/// Every operation, each optional field both given and left out.
fn operations() -> Vec<Operation> {
    let pin = |pin| (card(), pin, "1234".to_owned());
    vec![
        Operation::ReadCertificate {
            card: card(),
            which: CertificateSlot::Auth,
            password: None,
        },
        Operation::ReadCertificate {
            card: in_reader(),
            which: CertificateSlot::Sign,
            password: Some("ABC123".to_owned()),
        },
        Operation::PinStatus {
            card: card(),
            pin: PinKind::PinB,
        },
        {
            let (card, pin, value) = pin(PinKind::Auth);
            Operation::VerifyPin { card, pin, value }
        },
        Operation::ChangePin {
            card: card(),
            pin: PinKind::Text,
            old: "1234".to_owned(),
            new: "5678".to_owned(),
        },
        Operation::Sign {
            card: card(),
            key: KeyKind::Sign,
            data: vec![0, 1, 0xAB, 0xFF],
            hash: HashAlgorithm::Sha384,
            pin: Some("ABC123".to_owned()),
        },
        Operation::Sign {
            card: card(),
            key: KeyKind::Auth,
            data: Vec::new(),
            hash: HashAlgorithm::Sha1,
            pin: None,
        },
        {
            let (card, pin, value) = pin(PinKind::Text);
            Operation::ReadBasicInfo { card, pin, value }
        },
        {
            let (card, pin, value) = pin(PinKind::PinA);
            Operation::ReadMyNumber { card, pin, value }
        },
        {
            let (card, pin, value) = pin(PinKind::PinB);
            Operation::ReadCardFace { card, pin, value }
        },
        Operation::Enrol(EnrolRequest {
            name: "alice".to_owned(),
            key: KeyKind::Auth,
            certificate: vec![0x30, 0x82, 0x01, 0x0A],
            intermediates: vec![vec![0x30, 0x00]],
            data: b"challenge".to_vec(),
            hash: HashAlgorithm::Sha256,
            signature: vec![0x5A; 8],
        }),
        Operation::CheckStatus {
            enrolment: "alice".to_owned(),
            via: StatusChannel::Crl,
        },
        Operation::RegisterConsent {
            enrolment: "alice".to_owned(),
            consent: Consent {
                document: b"I agree".to_vec(),
                signature: vec![1, 2, 3],
            },
        },
        Operation::LatestInfo {
            enrolment: "alice".to_owned(),
        },
        Operation::ResolveUser {
            enrolment: "alice".to_owned(),
        },
    ]
}

fn harness_messages() -> Vec<HarnessMessage> {
    let mut messages = vec![
        HarnessMessage::Hello {
            version: VERSION,
            role: Role::Sdk,
            environment: environment(vec![card(), in_reader()]),
        },
        HarnessMessage::Hello {
            version: VERSION,
            role: Role::Pf,
            environment: environment(Vec::new()),
        },
        HarnessMessage::Bye,
    ];
    messages.extend(
        operations()
            .into_iter()
            .zip(1..)
            .map(|(operation, id)| HarnessMessage::Request(Request { id, operation })),
    );
    messages
}

fn adapter_messages() -> Vec<AdapterMessage> {
    let mut messages = vec![
        AdapterMessage::Hello {
            version: VERSION,
            name: "acme-pf 2.3".to_owned(),
            features: Feature::all().into_iter().collect(),
        },
        AdapterMessage::Hello {
            version: VERSION,
            name: String::new(),
            features: Vec::new(),
        },
        AdapterMessage::Response(Response::result(1, json!({"outcome": "good"}))),
    ];
    for code in [
        ErrorCode::Unsupported,
        ErrorCode::BadRequest,
        ErrorCode::UnknownEnrolment,
        ErrorCode::Failed,
    ] {
        messages.push(AdapterMessage::Response(Response::error(
            2,
            code,
            "no text AP support",
        )));
    }
    messages
}

/// Every result shape, as `(op, result)`.
fn results() -> Vec<(&'static str, Value)> {
    let card = |status: &str, data: Option<WireData>| SdkResult::Card {
        status: status.to_owned(),
        data,
    };
    let sdk = [
        (
            "read_certificate",
            card(
                "9000",
                Some(WireData::Certificate {
                    der: vec![0x30, 0x00],
                }),
            ),
        ),
        ("read_certificate", card("6982", None)),
        (
            "pin_status",
            card("63C3", Some(WireData::RetriesLeft { count: 3 })),
        ),
        ("verify_pin", card("63c2", None)),
        ("change_pin", card("9000", None)),
        (
            "sign",
            card(
                "9000",
                Some(WireData::Signature {
                    signature: vec![0x5A; 4],
                }),
            ),
        ),
        (
            "read_basic_info",
            card(
                "9000",
                Some(WireData::BasicInfo {
                    name: "番号 花子".to_owned(),
                    address: "東京都千代田区".to_owned(),
                    birth_date: "19900101".to_owned(),
                    sex: "2".to_owned(),
                }),
            ),
        ),
        (
            "read_my_number",
            card(
                "9000",
                Some(WireData::MyNumber {
                    number: "123456789012".to_owned(),
                }),
            ),
        ),
        (
            "read_card_face",
            card(
                "9000",
                Some(WireData::CardFace {
                    file: vec![0x5F, 0x01],
                }),
            ),
        ),
        ("read_card_face", SdkResult::NoCard),
    ];
    let mut results: Vec<(&str, Value)> = sdk
        .iter()
        .map(|(op, result)| (*op, value(result)))
        .collect();
    let enrol = [
        EnrolOutcome::Accepted,
        EnrolOutcome::Rejected {
            reason: RejectReason::StatusUndetermined,
            detail: "the OCSP responder is down".to_owned(),
        },
    ];
    results.extend(enrol.iter().map(|r| ("enrol", value(r))));
    let status = [
        StatusOutcome::Good,
        StatusOutcome::Unknown,
        StatusOutcome::Revoked { reason: None },
        StatusOutcome::Undetermined {
            detail: "stale answer".to_owned(),
        },
    ];
    results.extend(status.iter().map(|r| ("check_status", value(r))));
    // Every revocation reason, by the names the schema lists.
    let protocol = Protocol::committed();
    let reasons = protocol.schema["definitions"]["RevocationReason"]["oneOf"]
        .as_array()
        .expect("RevocationReason lists its names")
        .iter()
        .map(|variant| variant["const"].clone())
        .collect::<Vec<_>>();
    assert_eq!(reasons.len(), 10);
    for reason in reasons {
        let revoked: StatusOutcome =
            serde_json::from_value(json!({"outcome": "revoked", "reason": reason})).unwrap();
        results.push(("check_status", value(&revoked)));
        let latest: LatestOutcome = serde_json::from_value(
            json!({"outcome": "latest_certificate_revoked", "reason": reason}),
        )
        .unwrap();
        results.push(("latest_info", value(&latest)));
    }
    results.push(("register_consent", json!({})));
    let latest = [
        LatestOutcome::Info {
            info: BasicInfo {
                name: "番号 花子".to_owned(),
                address: "東京都千代田区".to_owned(),
                birth_date: "1990-01-01".to_owned(),
                sex: "2".to_owned(),
                name_substitute_flags: Some("00100".to_owned()),
                address_substitute_flags: None,
            },
            changed: true,
        },
        LatestOutcome::NotConsented,
        LatestOutcome::ConsentWithdrawn,
        LatestOutcome::ConsentExpired,
        LatestOutcome::LatestCertificateUnknown,
        LatestOutcome::LatestCertificateExpired,
        LatestOutcome::LatestCertificateRevoked { reason: None },
        LatestOutcome::Undetermined {
            detail: "J-LIS is down".to_owned(),
        },
    ];
    results.extend(latest.iter().map(|r| ("latest_info", value(r))));
    let user = [
        UserOutcome::User {
            id: "user-1".to_owned(),
        },
        UserOutcome::NotLinkedYet,
        UserOutcome::Undetermined {
            detail: "no linkage".to_owned(),
        },
    ];
    results.extend(user.iter().map(|r| ("resolve_user", value(r))));
    results
}

fn value(result: &impl serde::Serialize) -> Value {
    serde_json::to_value(result).unwrap()
}

#[test]
fn the_schema_is_a_draft_7_schema() {
    let protocol = Protocol::committed();
    assert_eq!(
        protocol.schema["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
    if let Err(error) = jsonschema::meta::validate(&protocol.schema) {
        panic!("the schema is not a valid JSON Schema: {error}");
    }
}

#[test]
fn every_harness_message_validates() {
    let protocol = Protocol::committed();
    let harness = protocol.at("/definitions/HarnessMessage");
    let messages = harness_messages();
    let ops: std::collections::BTreeSet<String> = messages
        .iter()
        .filter_map(|m| match m {
            HarnessMessage::Request(request) => Some(
                serde_json::to_value(&request.operation).unwrap()["op"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(ops.len(), OPS.len(), "a request of every op");
    for message in messages {
        let value: Value = serde_json::from_str(&message.to_line()).unwrap();
        assert_valid(&harness, &value, "a harness message");
        assert_valid(&protocol.line, &value, "a line");
    }
}

#[test]
fn every_adapter_message_validates() {
    let protocol = Protocol::committed();
    let adapter = protocol.at("/definitions/AdapterMessage");
    for message in adapter_messages() {
        let value: Value = serde_json::from_str(&message.to_line()).unwrap();
        assert_valid(&adapter, &value, "an adapter message");
        assert_valid(&protocol.line, &value, "a line");
    }
}

#[test]
fn every_result_validates_against_its_op() {
    let protocol = Protocol::committed();
    let results = results();
    for &op in OPS.iter() {
        assert!(
            results.iter().any(|(of, _)| *of == op),
            "no sample result of {op}"
        );
    }
    for (op, result) in results {
        assert_valid(&protocol.result_of(op), &result, op);
        // And as the result of a response line.
        let line = AdapterMessage::Response(Response::result(1, result)).to_line();
        assert_valid(
            &protocol.line,
            &serde_json::from_str(&line).unwrap(),
            "a response",
        );
    }
}

#[test]
fn operation_results_has_an_entry_per_op() {
    let protocol = Protocol::committed();
    let properties = protocol.schema["definitions"]["OperationResults"]["properties"]
        .as_object()
        .expect("OperationResults has properties");
    let mut listed: Vec<&str> = properties.keys().map(String::as_str).collect();
    let mut ops = OPS.to_vec();
    listed.sort_unstable();
    ops.sort_unstable();
    assert_eq!(listed, ops);
}

/// Whether the wire types take `value` as a message from the harness.
fn harness_takes(value: &Value) -> bool {
    HarnessMessage::from_line(&value.to_string()).is_ok()
}

/// Whether the wire types take `value` as a message from an adapter.
fn adapter_takes(value: &Value) -> bool {
    AdapterMessage::from_line(&value.to_string()).is_ok()
}

fn parses<T: DeserializeOwned>(value: &Value) -> bool {
    serde_json::from_value::<T>(value.clone()).is_ok()
}

/// Whether the harness takes `value` as the result of `op` (what `RemoteSdk` and
/// `RemotePlatform` read it as).
fn harness_takes_result(op: &str, value: &Value) -> bool {
    match op {
        "enrol" => parses::<EnrolOutcome>(value),
        "check_status" => parses::<StatusOutcome>(value),
        // The harness does not read it; the protocol says `{}`.
        "register_consent" => value.is_object(),
        "latest_info" => parses::<LatestOutcome>(value),
        "resolve_user" => parses::<UserOutcome>(value),
        _ => serde_json::from_value::<SdkResult>(value.clone())
            .is_ok_and(|result| result.outcome().is_ok()),
    }
}

const CARD: &str = r#"{"index":0,"id":"felica:0123456789ABCDEF","bridge":"http://b"}"#;

fn with_card(line: &str) -> Value {
    serde_json::from_str(&line.replace("CARD", CARD)).unwrap()
}

#[test]
fn the_schema_takes_exactly_what_the_harness_messages_take() {
    let protocol = Protocol::committed();
    let harness = protocol.at("/definitions/HarnessMessage");
    let environment = serde_json::to_string(&environment(Vec::new())).unwrap();
    let hello = |role: &str| {
        serde_json::from_str::<Value>(&format!(
            r#"{{"type":"hello","version":1,"role":"{role}","environment":{environment}}}"#
        ))
        .unwrap()
    };
    let cases: Vec<(Value, bool)> = vec![
        (hello("pf"), true),
        (hello("verifier"), false),
        (json!({"type": "hello", "version": 1, "role": "pf"}), false),
        (json!({"type": "bye"}), true),
        (json!({"type": "bye", "reason": "done"}), true),
        (json!({"type": "hullo"}), false),
        (json!({"type": "response", "id": 1, "result": {}}), false),
        (json!({}), false),
        (json!([1]), false),
        (json!("bye"), false),
        (
            with_card(r#"{"type":"request","id":1,"op":"pin_status","card":CARD,"pin":"auth"}"#),
            true,
        ),
        (
            with_card(
                r#"{"type":"request","id":1,"op":"pin_status","card":CARD,"pin":"auth","extra":[1]}"#,
            ),
            true,
        ),
        (
            with_card(r#"{"type":"request","op":"pin_status","card":CARD,"pin":"auth"}"#),
            false,
        ),
        (
            with_card(r#"{"type":"request","id":-1,"op":"pin_status","card":CARD,"pin":"auth"}"#),
            false,
        ),
        (
            with_card(r#"{"type":"request","id":"1","op":"pin_status","card":CARD,"pin":"auth"}"#),
            false,
        ),
        (
            with_card(r#"{"type":"request","id":1,"op":"pin_status","card":CARD,"pin":"pin_c"}"#),
            false,
        ),
        (
            with_card(r#"{"type":"request","id":1,"op":"pin_status","card":CARD}"#),
            false,
        ),
        (
            json!({"type": "request", "id": 1, "op": "frobnicate"}),
            false,
        ),
        (json!({"type": "request", "id": 1}), false),
        (
            json!({"type": "request", "id": 1, "op": "pin_status", "pin": "auth",
                   "card": {"index": 0, "id": "x"}}),
            false,
        ),
        (
            json!({"type": "request", "id": 1, "op": "pin_status", "pin": "auth",
                   "card": {"index": 0, "id": "x", "bridge": "http://b", "reader": null}}),
            true,
        ),
        (
            json!({"type": "request", "id": 1, "op": "check_status", "enrolment": "a"}),
            false,
        ),
        (
            json!({"type": "request", "id": 1, "op": "check_status", "enrolment": "a",
                   "via": "ldap"}),
            false,
        ),
        (
            with_card(
                r#"{"type":"request","id":1,"op":"sign","card":CARD,"key":"auth","data":"00ABff","hash":"sha256"}"#,
            ),
            true,
        ),
        (
            with_card(
                r#"{"type":"request","id":1,"op":"sign","card":CARD,"key":"auth","data":"abc","hash":"sha256"}"#,
            ),
            false,
        ),
        (
            with_card(
                r#"{"type":"request","id":1,"op":"sign","card":CARD,"key":"auth","data":"zz","hash":"sha256"}"#,
            ),
            false,
        ),
        (
            with_card(
                r#"{"type":"request","id":1,"op":"sign","card":CARD,"key":"auth","data":"00","hash":"md5"}"#,
            ),
            false,
        ),
        (
            json!({"type": "request", "id": 1, "op": "register_consent", "enrolment": "a",
                   "consent": {"document": "01"}}),
            false,
        ),
        (
            json!({"type": "request", "id": 1, "op": "enrol", "name": "a", "key": "sign",
                   "certificate": "3000", "data": "", "hash": "sha1", "signature": "01"}),
            true,
        ),
        (
            json!({"type": "request", "id": 1, "op": "enrol", "name": "a", "key": "sign",
                   "certificate": "3000", "data": "", "hash": "sha1"}),
            false,
        ),
    ];
    for (value, taken) in cases {
        assert_eq!(harness_takes(&value), taken, "the wire types on {value}");
        assert_eq!(harness.is_valid(&value), taken, "the schema on {value}");
    }
}

#[test]
fn the_schema_takes_exactly_what_the_adapter_messages_take() {
    let protocol = Protocol::committed();
    let adapter = protocol.at("/definitions/AdapterMessage");
    let cases: Vec<(Value, bool)> = vec![
        (
            json!({"type": "hello", "version": 1, "name": "x", "features": ["ocsp"]}),
            true,
        ),
        (json!({"type": "hello", "version": 1, "name": "x"}), false),
        (
            json!({"type": "hello", "version": 1, "name": "x", "features": ["teleport"]}),
            false,
        ),
        (json!({"type": "hello", "name": "x", "features": []}), false),
        (
            json!({"type": "response", "id": 1, "result": {"outcome": "good"}}),
            true,
        ),
        (
            json!({"type": "response", "id": 1, "result": null, "extra": 2}),
            true,
        ),
        (
            json!({"type": "response", "result": {"outcome": "good"}}),
            false,
        ),
        (
            json!({"type": "response", "id": 1, "error": {"code": "failed", "message": "m"}}),
            true,
        ),
        (
            json!({"type": "response", "id": 1, "error": {"code": "nope", "message": "m"}}),
            false,
        ),
        (
            json!({"type": "response", "id": 1, "error": {"code": "failed"}}),
            false,
        ),
        (
            json!({"type": "response", "id": 1, "error": "failed"}),
            false,
        ),
        (json!({"type": "result", "id": 1, "result": {}}), false),
        (json!({"type": "bye"}), false),
    ];
    for (value, taken) in cases {
        assert_eq!(adapter_takes(&value), taken, "the wire types on {value}");
        assert_eq!(adapter.is_valid(&value), taken, "the schema on {value}");
    }
}

#[test]
fn the_schema_takes_exactly_the_results_the_harness_takes() {
    let protocol = Protocol::committed();
    let cases: Vec<(&str, Value, bool)> = vec![
        ("check_status", json!({"outcome": "revoked"}), true),
        (
            "check_status",
            json!({"outcome": "revoked", "reason": null}),
            true,
        ),
        (
            "check_status",
            json!({"outcome": "revoked", "reason": "lost"}),
            false,
        ),
        ("check_status", json!({"outcome": "fine"}), false),
        ("check_status", json!({"outcome": "undetermined"}), false),
        ("check_status", json!({"status": "good"}), false),
        (
            "enrol",
            json!({"outcome": "rejected", "reason": "untrusted"}),
            false,
        ),
        (
            "enrol",
            json!({"outcome": "rejected", "reason": "forged", "detail": "d"}),
            false,
        ),
        ("enrol", json!({"outcome": "accepted", "user": "u"}), true),
        (
            "latest_info",
            json!({"outcome": "info", "changed": false}),
            false,
        ),
        ("resolve_user", json!({"outcome": "user"}), false),
        ("register_consent", json!({}), true),
        ("register_consent", json!("ok"), false),
        ("sign", json!({"outcome": "card", "status": "9000"}), true),
        ("sign", json!({"outcome": "card", "status": "900"}), false),
        ("sign", json!({"outcome": "card", "status": "90G0"}), false),
        ("sign", json!({"outcome": "card"}), false),
        ("sign", json!({"outcome": "no_card"}), true),
        (
            "pin_status",
            json!({"outcome": "card", "status": "63C3", "data": {"kind": "retries_left", "count": 300}}),
            false,
        ),
        (
            "pin_status",
            json!({"outcome": "card", "status": "63C3", "data": {"kind": "tries", "count": 3}}),
            false,
        ),
        (
            "read_certificate",
            json!({"outcome": "card", "status": "9000", "data": {"kind": "certificate", "der": "30 00"}}),
            false,
        ),
        (
            "read_certificate",
            json!({"outcome": "card", "status": "9000", "data": null}),
            true,
        ),
    ];
    for (op, value, taken) in cases {
        assert_eq!(
            harness_takes_result(op, &value),
            taken,
            "the harness on the {op} result {value}"
        );
        assert_eq!(
            protocol.result_of(op).is_valid(&value),
            taken,
            "the schema on the {op} result {value}"
        );
    }
}
