//! The Python helper the bundled adapters are built on (`harness/adapters/adapter_protocol.py`)
//! against the adapter protocol's committed JSON Schema: a stub adapter on the helper is fed a
//! hello and requests on stdin, and every line it writes must be a valid adapter message, each
//! result valid for its request's `op`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use adapter_protocol::{
    AdapterMessage, CardHandle, Environment, HarnessMessage, Operation, Request, Role, VERSION,
};
use serde_json::{json, Value};
use vocab::{
    CertificateSlot, Consent, EnrolRequest, HashAlgorithm, KeyKind, PinKind, StatusChannel,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A stub adapter of the role in `argv[2]` on the helper in the directory `argv[1]`. Each
/// operation answers in one of the ways the helper builds answers: a result of its own, a
/// `card_result`, or one of the helper's exceptions. The hello lists the features of the
/// bundled adapters of the role.
const STUB: &str = r#"
import sys

sys.path.insert(0, sys.argv[1])

from adapter_protocol import Failed, NoCard, UnknownEnrolment, Unsupported, card_result, serve
import jpki_cli
import opensc
import openssl_pf


class Sdk:
    def __init__(self, environment, workdir):
        self.cards = environment["cards"]

    def read_certificate(self, request):
        return card_result("9000", {"kind": "certificate", "der": bytes([0x30, 0x82]).hex()})

    def pin_status(self, request):
        return card_result(f"63C{3:X}", {"kind": "retries_left", "count": 3})

    def verify_pin(self, request):
        return card_result("63C2")

    def change_pin(self, request):
        raise Unsupported("no PIN change")

    def sign(self, request):
        return card_result("9000", {"kind": "signature", "signature": bytes(4).hex()})

    def read_basic_info(self, request):
        return card_result("9000", {"kind": "basic_info", "name": "番号 花子",
                                    "address": "東京都千代田区", "birth_date": "19900101",
                                    "sex": "2"})

    def read_my_number(self, request):
        raise NoCard()


class Pf:
    def __init__(self, environment, workdir):
        pass

    def enrol(self, request):
        return {"outcome": "rejected", "reason": "untrusted", "detail": "no chain"}

    def check_status(self, request):
        raise UnknownEnrolment(request["enrolment"])

    def register_consent(self, request):
        return {}

    def latest_info(self, request):
        raise Failed("J-LIS answered 503")

    def resolve_user(self, request):
        return {"outcome": "user", "id": request["missing"]}


role = sys.argv[2]
adapter = {"sdk": Sdk, "pf": Pf}[role]
features = {
    "sdk": sorted(set(opensc.FEATURES) | set(jpki_cli.FEATURES)),
    "pf": openssl_pf.FEATURES,
}[role]
sys.exit(serve(
    role,
    start=adapter,
    name=lambda: f"stub {role}",
    features=features,
    operations={op for op in dir(adapter) if not op.startswith("_")},
    refusal=lambda op: f"{op} is not a stub operation",
    log=lambda message: print(message, file=sys.stderr),
    workdir_prefix="adapter-schema-stub-",
))
"#;

fn card() -> CardHandle {
    CardHandle {
        index: 0,
        id: "felica:0123456789ABCDEF".to_owned(),
        bridge: "http://127.0.0.1:9/cards/0/apdu".to_owned(),
        reader: Some("Virtual PCD 00 00".to_owned()),
    }
}

fn hello(role: Role) -> HarnessMessage {
    let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_owned();
    HarnessMessage::Hello {
        version: VERSION,
        role,
        environment: Environment {
            base_url: "http://127.0.0.1:9".to_owned(),
            ca_url: "http://127.0.0.1:9/ca".to_owned(),
            crl_url: "http://127.0.0.1:9/crl".to_owned(),
            ocsp_url: "http://127.0.0.1:9/ocsp".to_owned(),
            jlis_url: "http://127.0.0.1:9/jlis/v1".to_owned(),
            sign_ca_pem: pem.clone(),
            auth_ca_pem: pem,
            cards: vec![card()],
            admin_token: None,
        },
    }
}

fn sdk_operations() -> Vec<Operation> {
    let pin = |pin| (card(), pin, "1234".to_owned());
    vec![
        Operation::ReadCertificate {
            card: card(),
            which: CertificateSlot::Auth,
            password: None,
        },
        Operation::PinStatus {
            card: card(),
            pin: PinKind::Auth,
        },
        {
            let (card, pin, value) = pin(PinKind::Auth);
            Operation::VerifyPin { card, pin, value }
        },
        Operation::ChangePin {
            card: card(),
            pin: PinKind::Auth,
            old: "1234".to_owned(),
            new: "5678".to_owned(),
        },
        Operation::Sign {
            card: card(),
            key: KeyKind::Auth,
            data: b"challenge".to_vec(),
            hash: HashAlgorithm::Sha256,
            pin: Some("1234".to_owned()),
        },
        {
            let (card, pin, value) = pin(PinKind::Text);
            Operation::ReadBasicInfo { card, pin, value }
        },
        {
            let (card, pin, value) = pin(PinKind::Text);
            Operation::ReadMyNumber { card, pin, value }
        },
        {
            let (card, pin, value) = pin(PinKind::PinA);
            Operation::ReadCardFace { card, pin, value }
        },
    ]
}

fn pf_operations() -> Vec<Operation> {
    let enrolment = || "alice".to_owned();
    vec![
        Operation::Enrol(EnrolRequest {
            name: enrolment(),
            key: KeyKind::Sign,
            certificate: vec![0x30, 0x00],
            intermediates: vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]],
            data: b"challenge".to_vec(),
            hash: HashAlgorithm::Sha256,
            signature: vec![1, 2, 3],
        }),
        Operation::CheckStatus {
            enrolment: enrolment(),
            via: StatusChannel::Ocsp,
        },
        Operation::RegisterConsent {
            enrolment: enrolment(),
            consent: Consent {
                document: b"I agree".to_vec(),
                signature: vec![4, 5],
            },
        },
        Operation::LatestInfo {
            enrolment: enrolment(),
        },
        Operation::ResolveUser {
            enrolment: enrolment(),
        },
        // Not a PF operation: the stub has no method for it.
        Operation::PinStatus {
            card: card(),
            pin: PinKind::Sign,
        },
    ]
}

/// Runs the stub as `role` on `input` (lines, newlines included) and returns what it wrote.
fn session(role: &str, input: &[String]) -> Vec<String> {
    let mut child = Command::new("python3")
        .args(["-c", STUB])
        .arg(root().join("harness/adapters"))
        .arg(role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    for line in input {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the stub exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The committed schema, with validators for an adapter's lines and for each `op`'s result.
struct Schema {
    schema: Value,
}

impl Schema {
    fn committed() -> Schema {
        let path = root().join("harness/protocol/schema/adapter-protocol.json");
        let text = std::fs::read_to_string(path).expect("the committed schema");
        Schema {
            schema: serde_json::from_str(&text).expect("the schema is JSON"),
        }
    }

    fn at(&self, pointer: &str) -> jsonschema::Validator {
        assert!(self.schema.pointer(pointer).is_some(), "no {pointer}");
        jsonschema::validator_for(&json!({
            "$schema": self.schema["$schema"],
            "$ref": format!("#{pointer}"),
            "definitions": self.schema["definitions"],
        }))
        .expect("the schema compiles")
    }
}

fn check(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {value}\n{}", errors.join("\n"));
}

/// Drives a stub of `role` through `hello`, one request per operation and `bye`, validates
/// every line it writes, and returns each answer's `result` or `error.code` by `op`.
fn answers(role: Role, operations: Vec<Operation>) -> Vec<(String, String)> {
    let schema = Schema::committed();
    let adapter = schema.at("/definitions/AdapterMessage");
    let mut input = vec![hello(role).to_line()];
    let mut ops = BTreeMap::new();
    for (operation, id) in operations.into_iter().zip(1..) {
        let op = serde_json::to_value(&operation).unwrap()["op"]
            .as_str()
            .unwrap()
            .to_owned();
        ops.insert(id, op);
        input.push(HarnessMessage::Request(Request { id, operation }).to_line());
    }
    // An op this protocol does not have.
    ops.insert(99, "frobnicate".to_owned());
    input.push(r#"{"type":"request","id":99,"op":"frobnicate"}"#.to_owned() + "\n");
    input.push(HarnessMessage::Bye.to_line());

    let lines = session(role.name(), &input);
    assert_eq!(
        lines.len(),
        input.len() - 1,
        "an answer per message but bye"
    );
    let mut answers = Vec::new();
    for line in &lines {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        check(&adapter, &value, "an adapter message");
        AdapterMessage::from_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        if value["type"] == "hello" {
            let features = value["features"].to_string().replace('"', "");
            answers.push(("hello".to_owned(), features));
            continue;
        }
        let op = &ops[&value["id"].as_u64().expect("an id")];
        let answer = match (&value.get("result"), &value.get("error")) {
            (Some(result), None) => {
                let result_schema =
                    schema.at(&format!("/definitions/OperationResults/properties/{op}"));
                check(&result_schema, result, &format!("the result of {op}"));
                result
                    .get("outcome")
                    .map_or_else(|| result.to_string(), Value::to_string)
            }
            (None, Some(error)) => error["code"].to_string(),
            _ => panic!("a response with result or error: {line}"),
        };
        answers.push((op.clone(), answer.replace('"', "")));
    }
    answers
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(op, answer)| (op.to_string(), answer.to_string()))
        .collect()
}

#[test]
fn an_sdk_on_the_helper_writes_only_valid_messages() {
    let answers = answers(Role::Sdk, sdk_operations());
    assert_eq!(
        answers,
        pairs(&[
            ("hello", r#"[card_removal,pcsc,sign_key,text_ap]"#),
            ("read_certificate", "card"),
            ("pin_status", "card"),
            ("verify_pin", "card"),
            ("change_pin", "unsupported"),
            ("sign", "card"),
            ("read_basic_info", "card"),
            ("read_my_number", "no_card"),
            ("read_card_face", "unsupported"),
            ("frobnicate", "unsupported"),
        ])
    );
}

#[test]
fn a_pf_on_the_helper_writes_only_valid_messages() {
    let answers = answers(Role::Pf, pf_operations());
    assert_eq!(
        answers,
        pairs(&[
            ("hello", r#"[ocsp,crl,faults,world_clock]"#),
            ("enrol", "rejected"),
            ("check_status", "unknown_enrolment"),
            ("register_consent", "{}"),
            ("latest_info", "failed"),
            ("resolve_user", "failed"),
            ("pin_status", "unsupported"),
            ("frobnicate", "unsupported"),
        ])
    );
}

#[test]
fn a_request_before_hello_is_answered_with_a_valid_error() {
    let schema = Schema::committed();
    let adapter = schema.at("/definitions/AdapterMessage");
    let request = HarnessMessage::Request(Request {
        id: 1,
        operation: Operation::LatestInfo {
            enrolment: "alice".to_owned(),
        },
    });
    let lines = session("pf", &[request.to_line()]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let value: Value = serde_json::from_str(&lines[0]).unwrap();
    check(&adapter, &value, "the answer to a request before hello");
    assert_eq!(value["error"]["code"], "failed", "{value}");
}
