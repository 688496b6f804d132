//! The JSON Schema of the adapter protocol, generated from [`crate::wire`] and committed as
//! `harness/protocol/schema/adapter-protocol.json`, so that adapter authors can check the lines
//! their adapter writes (and read what the harness sends) with any JSON Schema validator.
//!
//! Draft 7, as the scenario schema, for the widest choice of validators. The root accepts one
//! line of either direction; `definitions` has each direction's messages (`HarnessMessage`,
//! `AdapterMessage`) and, as `OperationResults`, the `result` each `op` answers with.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

use crate::wire::{AdapterMessage, HarnessMessage, SdkResult};
use vocab::{EnrolOutcome, LatestOutcome, StatusOutcome, UserOutcome};

/// The schema as committed in `harness/protocol/schema/adapter-protocol.json` (pretty, with a
/// final newline).
pub fn render() -> String {
    let mut generator = SchemaSettings::draft07().into_generator();
    generator.subschema_for::<OperationResults>();
    let schema = generator.into_root_schema_for::<Line>();
    // A schema is a JSON value with string keys: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// One line of the jpki-sim adapter protocol, version 1 (docs/adapter-protocol.md): a JSON
/// object whose `type` names the message. The harness sends `hello`, then one `request` per
/// scenario step, then `bye`; the adapter answers `hello` with its own `hello`, and each
/// request with a `response` of the same `id`. Unknown fields are ignored by both sides.
// Only the schema is made: no value of it exists.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(title = "jpki-sim adapter protocol, version 1")]
enum Line {
    /// Harness to adapter.
    Harness(HarnessMessage),
    /// Adapter to harness.
    Adapter(AdapterMessage),
}

/// The `result` of a `response`, by the `op` of the request it answers (a response does not
/// repeat its `op`: validate a result against the property of its request's `op`). SDK
/// operations answer what the card said; PF operations their verdict.
// Only the schema is made: no value of it exists.
#[allow(dead_code)]
#[derive(JsonSchema)]
struct OperationResults {
    /// The certificate (`data.kind` `certificate`), or the status word that refused it.
    read_certificate: SdkResult,
    /// `63Cx` with the tries left (`data.kind` `retries_left`), or a status word.
    pin_status: SdkResult,
    /// `9000`, or the status word of the refusal (`63Cx` for a wrong PIN).
    verify_pin: SdkResult,
    /// `9000`, or the status word of the refusal.
    change_pin: SdkResult,
    /// The signature (`data.kind` `signature`), or the status word that refused it.
    sign: SdkResult,
    /// The basic 4 info (`data.kind` `basic_info`), or the status word that refused them.
    read_basic_info: SdkResult,
    /// The my number (`data.kind` `my_number`), or the status word that refused it.
    read_my_number: SdkResult,
    /// The card-face file (`data.kind` `card_face`), or the status word that refused it.
    read_card_face: SdkResult,
    /// Accepted, or rejected with a reason.
    enrol: EnrolOutcome,
    /// The certificate's status now.
    check_status: StatusOutcome,
    /// Nothing to report.
    register_consent: ConsentRegistered,
    /// The holder's latest basic 4 info, or why there is none.
    latest_info: LatestOutcome,
    /// The enrolment's user, or why there is none.
    resolve_user: UserOutcome,
}

/// `{}`: the consent is registered. The harness does not read its fields.
// Only the schema is made: no value of it exists.
#[allow(dead_code)]
#[derive(JsonSchema)]
struct ConsentRegistered {}
