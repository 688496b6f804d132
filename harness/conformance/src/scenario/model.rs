//! The scenario file model. The doc comments here become the descriptions of
//! `scenarios/schema.json`, which editors show while authors type: write them for authors.
//!
//! Every struct and enum rejects unknown keys, so a typo fails the load instead of silently
//! testing less. Steps refer to cards by their index in `cards` and to enrolments by the name an
//! earlier `enrol` step gave them.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use mock_ca::crl::RevocationReason;
use mock_jlis::events::EventKind;
use mock_jlis::faults::{Endpoint, FaultKind, FaultRule};
use mock_jlis::world::{Cadence, OcspSigner};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_card::{CardId, StatusWord};
use time::OffsetDateTime;
use vocab::{
    CertificateSlot, Feature, HashAlgorithm, KeyKind, PinKind, RejectReason, StatusChannel,
};

use super::schema::{
    CadenceName, CardIdText, EndpointName, EventKindName, FaultKindSchema, OcspSignerName,
};

/// A jpki-sim conformance scenario: cards, then ordered steps, each checked against `expect`.
/// The id is the file's path under `scenarios/` without `.yaml` (`revocation/ocsp_after_move`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "jpki-sim scenario")]
pub struct Scenario {
    /// What the scenario checks and why it matters, in a sentence or two (shown in reports).
    pub description: String,
    /// Capabilities an adapter needs for this scenario. An adapter lacking one gets the scenario
    /// `skipped`, not `failed`. Steps that need a feature fail the load unless it is listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
    /// How bad a failure is for the adapter's users; reports sort and filter by it.
    pub importance: Importance,
    /// The cards in play, inserted when the scenario starts. Steps refer to them by index (0 is
    /// the first).
    pub cards: Vec<ScenarioCard>,
    /// Where the world clock starts (frozen; only steps move it). Absent: the runner's fixed
    /// default instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockStart>,
    /// When revocations become visible on CRLs and OCSP. Absent: `realistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<CadenceName>")]
    pub cadence: Option<Cadence>,
    /// The shape of the cards' certificate serials: `jpki` (4 bytes, as the real ones),
    /// `high_bit` (the DER INTEGER needs a leading 00), `leading_zero_nibble`, `longest` (20
    /// bytes). Absent: `default` (8 bytes, top bit clear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serials: Option<mock_ca::SerialStyle>,
    /// Who signs OCSP answers: `delegated` (a responder certificate the CA issued, embedded in
    /// each answer) or `ca` (the CA's own key). Absent: `delegated`. A PF must accept both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<OcspSignerName>")]
    pub ocsp_signer: Option<OcspSigner>,
    /// How long after issuance a certificate's linkage (old → new, sign ↔ auth) becomes
    /// visible to PFs (`90m`, as seen in the field). Absent: `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkage_lag: Option<ClockDuration>,
    /// What the CA certificates' keyUsage allows: `cert_and_crl_sign` (as JPKI's) or
    /// `cert_sign_only` (the CAs' CRLs are then signed by a key not allowed to sign them, and a
    /// PF must not believe them). Absent: `cert_and_crl_sign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key_usage: Option<mock_ca::CaKeyUsage>,
    /// What happens, in order: adapter operations (`sdk`, `pf`) and moves of the world (`event`,
    /// `clock`, `fault`) and of cards (`card`). At least one.
    pub steps: Vec<Step>,
}

/// How much a failure matters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// Security: a failure lets a revoked, forged or wrong certificate through, or locks users out.
    Critical,
    /// Correctness users will meet in normal use.
    High,
    /// Correctness in less common situations.
    Medium,
    /// Edge cases and diagnostics.
    Low,
}

/// One card of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCard {
    /// The card's contactless id; everything on the card derives from it
    /// (docs/persona-derivation.md).
    #[schemars(with = "CardIdText")]
    pub id: CardId,
    /// Persona fields that win over derivation: the fields of `--persona` files (`address`,
    /// `birth_date`, `pins: {auth_pin: "0000"}`, ...). Quote PINs. Field names are checked when
    /// the scenario loads, values when the world builds the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub persona: Option<serde_json::Value>,
    /// A name for reports (`alice`); steps still refer to the card by index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The world clock at the start of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockStart {
    /// RFC 3339 (`2026-11-01T10:07:00+09:00`).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub start: OffsetDateTime,
}

/// One step: exactly one key says which kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// An operation of the SDK under test, on a card.
    Sdk(SdkStep),
    /// An operation of the platform (PF) under test.
    Pf(PfStep),
    /// A life event of a card's holder (moves, deaths, renewals...), applied by the world.
    Event(EventStep),
    /// Moves the world clock forward.
    Clock(ClockMove),
    /// Arms a fault on an endpoint of the world.
    Fault(FaultStep),
    /// Disarms every fault, the world's and the cards' (written as a bare `- clear_faults`).
    ClearFaults,
    /// Removes a card from its reader or inserts it again.
    Card(CardMove),
    /// The holder withdraws a consent at J-LIS: `{consent: {withdraw: sign}}` (an enrolment
    /// name). A later `latest_info` with `consent: true` registers a new one.
    Consent(ConsentMove),
}

/// A holder's move on their consents to the latest-info service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsentMove {
    /// Withdraws every consent covering the enrolment's certificate.
    Withdraw(EnrolmentName),
}

/// An SDK operation. `card` is an index into `cards` (default 0). PIN values are strings
/// (quote them: `"0123"`); where `value` is optional, absent means the card's correct value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
pub enum SdkStep {
    /// Reads a certificate of the JPKI AP; `ok` means it equals the one the world issued.
    ReadCertificate {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// Which certificate: `sign`, `auth`, `sign_ca` or `auth_ca`.
        which: CertificateSlot,
        /// The signature password, verified first: the signature certificate is behind it, the
        /// others are free. Absent: nothing is verified in this step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<PinValue>,
        /// What the SDK must come back with: `ok`, or the error it must report.
        expect: SdkExpect,
    },
    /// Asks how many tries a PIN has left, without using one.
    PinStatus {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// The PIN asked about.
        pin: PinKind,
        /// What the SDK must come back with: usually `{retries_left: N}`, or `pin_blocked`.
        expect: SdkExpect,
    },
    /// Verifies a PIN.
    VerifyPin {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// The PIN to verify.
        pin: PinKind,
        /// The value typed. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<PinValue>,
        /// What the SDK must come back with: `ok` when the value is right, `{wrong_pin: ...}` or
        /// `pin_blocked` when not.
        expect: SdkExpect,
    },
    /// Changes a PIN from `old` (default: the correct value) to `new`.
    ChangePin {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// The PIN to change.
        pin: PinKind,
        /// The current value typed. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old: Option<PinValue>,
        /// The value to set. Later steps that leave their value out still send the original one.
        new: PinValue,
        /// What the SDK must come back with.
        expect: SdkExpect,
    },
    /// Signs the hash of `data` with a JPKI key (PKCS#1 v1.5 over the DigestInfo); `ok` means
    /// the signature verifies with the card's certificate of that key.
    Sign {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// The key that signs: `sign` or `auth`.
        key: KeyKind,
        /// What is hashed and signed.
        data: SignData,
        /// The hash of the DigestInfo: `sha1`, `sha256` (default), `sha384` or `sha512`.
        #[serde(default)]
        hash: HashAlgorithm,
        /// The key's PIN (`auth`) or password (`sign`), verified in the same operation, as most
        /// SDKs sign. Absent: relies on an earlier `verify_pin` in the same session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<PinValue>,
        /// What the SDK must come back with: `ok` for a signature that verifies.
        expect: SdkExpect,
    },
    /// Reads the basic 4 info (name, address, birth date, sex) from the text AP; `ok` means
    /// they equal the card's persona.
    ReadBasicInfo {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// `text` (default) or `pin_b`.
        #[serde(default = "text_pin")]
        pin: PinKind,
        /// The value of `pin` typed. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<PinValue>,
        /// What the SDK must come back with.
        expect: SdkExpect,
    },
    /// Reads the my number from the text AP; `ok` means it equals the card's persona.
    ReadMyNumber {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// `text` (default) or `pin_a`.
        #[serde(default = "text_pin")]
        pin: PinKind,
        /// The value of `pin` typed. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<PinValue>,
        /// What the SDK must come back with.
        expect: SdkExpect,
    },
    /// Reads the card face (image and text) from the visual AP; `ok` means it equals the card's.
    ReadCardFace {
        /// The card, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// `pin_a` (default) or `pin_b`.
        #[serde(default = "pin_a")]
        pin: PinKind,
        /// The value of `pin` typed. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<PinValue>,
        /// What the SDK must come back with.
        expect: SdkExpect,
    },
}

/// A PF operation. Enrolments are named by `enrol` and referred to by later steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
pub enum PfStep {
    /// The card signs `data` with `key` through the harness's own client; the PF verifies the
    /// signature, the certificate chain and the certificate's status, and enrols the holder.
    Enrol {
        /// The card that signs, as an index into `cards`. Default 0.
        #[serde(default)]
        card: usize,
        /// The key the request claims, whose certificate the PF is given: `sign` or `auth`.
        key: KeyKind,
        /// What is signed. Absent: a fresh random challenge.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<SignData>,
        /// The key's PIN or password. Absent: the card's correct value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<PinValue>,
        /// The name later steps use for this enrolment (its certificate and user).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<EnrolmentName>,
        /// The key whose certificate is presented and which signs, while the request still
        /// claims `key`: the other key's presents a certificate of the wrong hierarchy.
        /// Absent: `key`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        present_as: Option<KeyKind>,
        /// Whether the harness flips a bit of the data after the card signed it, so that the
        /// signature no longer matches. Default false.
        #[serde(default, skip_serializing_if = "is_false")]
        tamper: bool,
        /// A forgery presented instead of the card's genuine certificate, made from it: same
        /// serial, subject and key, so the card's signature verifies and the status services
        /// vouch for the serial, and wrong in exactly one way (docs/conformance.md).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forgery: Option<mock_ca::forgery::CertificateForgery>,
        /// What the PF must answer: `accepted`, or `{rejected: {reason: ...}}`.
        expect: EnrolExpect,
    },
    /// The PF checks the status of an enrolled certificate now.
    CheckStatus {
        /// The enrolment whose certificate is checked, named by an earlier `enrol`.
        enrolment: EnrolmentName,
        /// How the PF checks it: `ocsp` or `crl`.
        via: StatusChannel,
        /// The status the PF must report.
        expect: StatusExpect,
    },
    /// The PF asks J-LIS for the holder's latest basic 4 info (signature enrolments only).
    LatestInfo {
        /// The enrolment whose holder is looked up, named by an earlier `enrol` of the `sign`
        /// key.
        enrolment: EnrolmentName,
        /// Whether the holder consented: the harness registers a consent signed with the card's
        /// signature key before the first request for this enrolment. Default true.
        #[serde(default = "yes")]
        consent: bool,
        /// What the PF must answer.
        expect: LatestInfoExpect,
    },
    /// The PF resolves the stable user behind an enrolment (J-LIS linkage).
    ResolveUser {
        /// The enrolment whose user is resolved, named by an earlier `enrol`.
        enrolment: EnrolmentName,
        /// Who the PF must resolve it to.
        expect: UserExpect,
    },
}

/// A life event, as `POST /admin/v1/events` applies it (docs/revocation.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventStep {
    /// Index into `cards` (default 0).
    #[serde(default)]
    pub card: usize,
    /// What happens to the holder (`address_change`, `death`, `renewal`, ...).
    #[schemars(with = "EventKindName")]
    pub kind: EventKind,
    /// New persona values for a basic-4-info change (`{address: ..., municipality_code:
    /// "13101"}`); absent: a plausible new value is derived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub persona: Option<serde_json::Value>,
    /// Overrides the reason the event revokes with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevocationReason>,
    /// What the world does with the event. Absent: `applied`. A refusal the scenario did not
    /// expect, or an event applied that it expected refused, stops the scenario as broken.
    #[serde(default, skip_serializing_if = "EventExpect::is_applied")]
    pub expect: EventExpect,
}

/// Whether the world applies a life event or refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EventExpect {
    /// J-LIS records it: certificates are revoked and issued as docs/revocation.md says.
    #[default]
    Applied,
    /// J-LIS refuses it and nothing changes: `{refused: card_not_active}`.
    Refused(EventRefusal),
}

impl EventExpect {
    fn is_applied(&self) -> bool {
        *self == EventExpect::Applied
    }
}

/// Why the world refuses a life event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventRefusal {
    /// The card is no longer active (its holder died or emigrated, it was lost, suspended or
    /// superseded); only a re-issue takes a lost or suspended card.
    CardNotActive,
    /// A basic-4-info change for a holder under 15 at issuance, who has no signature
    /// certificate to revoke and re-issue.
    NoSignatureCertificate,
}

/// A clock move: `{advance: 15m}` or `{set: 2027-01-01T00:00:00Z}`. The clock only moves forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClockMove {
    /// Forward by a duration: a number and a unit (`s m h d w`), combinable (`1h30m`).
    Advance(ClockDuration),
    /// To an instant, RFC 3339.
    Set(
        #[serde(with = "time::serde::rfc3339")]
        #[schemars(with = "String", extend("format" = "date-time"))]
        OffsetDateTime,
    ),
}

/// A fault rule, as `POST /admin/v1/faults` arms it (docs/revocation.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// The endpoint of the world that misbehaves.
    #[schemars(with = "EndpointName")]
    pub endpoint: Endpoint,
    /// How it misbehaves; some faults apply to one endpoint only.
    #[schemars(with = "FaultKindSchema")]
    pub fault: FaultKind,
    /// Applies to the next `count` requests (at least 1). Absent: until the scenario ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u32>,
}

/// A card move: `{remove: 0}` or `{insert: 0}` (indices into `cards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CardMove {
    /// Takes the card out of its reader.
    Remove(usize),
    /// Puts a removed card back.
    Insert(usize),
    /// Makes the card misbehave on purpose, over every transport:
    /// `{fault: {card: 0, fault: {kind: no_diagnosis, on: sign}, count: 1}}`.
    Fault(CardFaultStep),
}

/// A card fault to arm (docs/card.md, "Card faults").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardFaultStep {
    /// Index into `cards` (default 0).
    #[serde(default)]
    pub card: usize,
    /// What goes wrong: `wrong_le` (READ BINARY answers `6C xx`), `{kind: no_diagnosis, on:
    /// sign}` (`6F 00`), `{kind: slow, millis: 50}`, `{kind: pulled, on: sign}` (the card
    /// leaves the field), `truncated_file` (files end at half their length).
    pub fault: sim_card::card::faults::CardFault,
    /// Applies to the next `count` commands it concerns, then disarms; absent: until
    /// `clear_faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// What to sign: `{text: "..."}` (its UTF-8 bytes) or `{hex: "01 02 ..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SignData {
    /// Text, signed as its UTF-8 bytes.
    Text(String),
    /// Bytes in hex (`"01 02 0A"`).
    Hex(HexBytes),
}

/// What an SDK operation must come back with. Named outcomes are what SDKs report in their own
/// terms; `status` pins the exact status word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SdkExpect {
    /// Success, with the data the world holds (see each operation).
    Ok,
    /// `pin_status` only: this many tries left (`63Cx`; 0 is the same as `pin_blocked`).
    RetriesLeft(u8),
    /// `63Cx`: the PIN was wrong and `x` tries are left.
    WrongPin {
        /// The tries left after this one.
        retries_left: u8,
    },
    /// The PIN is blocked: `63C0` on the try that blocked it and on a `pin_status`, `6984` on
    /// any later verify or change.
    PinBlocked,
    /// `6982`: security status not satisfied (the PIN protecting it was not verified).
    SecurityStatus,
    /// The SDK reports a failure, never data: any status word but `9000`, or an error (a
    /// truncated file, an answer that does not parse).
    Failed,
    /// No card answers: it was removed.
    NoCard,
    /// `read_certificate` (`sign`, `auth`) and `sign` only: the SDK reports that the card holds
    /// no such certificate (JPKI EF `0008` says none, as for a holder under 15 at issuance),
    /// whatever the refusal that made it look.
    NoCertificate,
    /// The exact status word, 4 hex digits (`"6A82"`).
    Status(ExpectedStatus),
    /// Any one of these (`{any_of: [{status: "6F00"}, ok]}`): where reporting a refusal and
    /// recovering from it (sending the command again, with a result the harness still checks)
    /// are both right.
    AnyOf(Vec<SdkExpect>),
}

impl SdkExpect {
    /// Whether an `any_of`, here or nested, lists nothing.
    pub fn has_empty_any_of(&self) -> bool {
        match self {
            SdkExpect::AnyOf(choices) => {
                choices.is_empty() || choices.iter().any(SdkExpect::has_empty_any_of)
            }
            _ => false,
        }
    }

    /// Whether this expectation, or one of its `any_of` choices, satisfies `test`.
    pub fn any(&self, test: &dyn Fn(&SdkExpect) -> bool) -> bool {
        match self {
            SdkExpect::AnyOf(choices) => choices.iter().any(|c| c.any(test)),
            other => test(other),
        }
    }
}

/// What an `enrol` must come back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EnrolExpect {
    /// The PF verified the signature and the chain, found the certificate good, and enrolled.
    Accepted,
    /// The PF refused, for `reason` when given (`{rejected: {}}`: any reason).
    Rejected {
        /// The reason the PF must give. Absent: any reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RejectReason>,
    },
}

/// What a `check_status` must come back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StatusExpect {
    /// Valid and not revoked.
    Good,
    /// Revoked, for `reason` when given (`{revoked: {reason: affiliation_changed}}`).
    Revoked {
        /// The revocation reason the PF must report. Absent: any reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RevocationReason>,
    },
    /// The responder does not know the certificate.
    Unknown,
    /// The PF got no trustworthy answer (service down, `tryLater`, a response signed by the
    /// wrong key, stale data) and says so instead of `good`: it fails closed.
    Undetermined,
    /// Any one of these (`{any_of: [good, undetermined]}`): where the specifications leave a
    /// choice, such as retrying after a transient failure or failing closed at once, every
    /// safe answer passes.
    AnyOf(Vec<StatusExpect>),
}

impl StatusExpect {
    /// Whether an `any_of`, here or nested, lists nothing.
    pub fn has_empty_any_of(&self) -> bool {
        match self {
            StatusExpect::AnyOf(choices) => {
                choices.is_empty() || choices.iter().any(StatusExpect::has_empty_any_of)
            }
            _ => false,
        }
    }

    /// Whether `outcome` is one this expectation accepts.
    pub fn accepts(&self, outcome: &vocab::StatusOutcome) -> bool {
        use vocab::StatusOutcome;
        match (self, outcome) {
            (StatusExpect::AnyOf(choices), _) => choices.iter().any(|c| c.accepts(outcome)),
            (StatusExpect::Good, StatusOutcome::Good)
            | (StatusExpect::Unknown, StatusOutcome::Unknown)
            | (StatusExpect::Undetermined, StatusOutcome::Undetermined { .. }) => true,
            (StatusExpect::Revoked { reason: want }, StatusOutcome::Revoked { reason }) => {
                want.is_none() || want == reason
            }
            _ => false,
        }
    }
}

/// What a `latest_info` must come back with (docs/jlis-api.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LatestInfoExpect {
    /// The 4 info, equal to the holder's current persona; `changed`: whether the latest
    /// certificate differs from the enrolled one.
    Info {
        /// Whether the latest certificate differs from the enrolled one (renewed or re-issued).
        changed: bool,
    },
    /// No consent covers the enrolled certificate (`consent: false`).
    NotConsented,
    /// The holder withdrew the consent that covered it.
    ConsentWithdrawn,
    /// The consent covering it has expired.
    ConsentExpired,
    /// The successor certificate is not linked yet (linkage lag).
    LatestCertificateUnknown,
    /// The holder's newest certificate is past its expiry.
    LatestCertificateExpired,
    /// The latest certificate is revoked (death, emigration, loss, suspension).
    LatestCertificateRevoked {
        /// The revocation reason the PF must report. Absent: any reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RevocationReason>,
    },
    /// J-LIS gave no usable answer and the PF says so.
    Undetermined,
}

/// What a `resolve_user` must come back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UserExpect {
    /// A user, whichever.
    Resolved,
    /// The same user as the named enrolment (across renewal, re-issue, sign ↔ auth).
    SameUserAs(EnrolmentName),
    /// Another user than the named enrolment's.
    DifferentUserFrom(EnrolmentName),
    /// The linkage is not visible yet (lag) and the PF says so.
    NotLinkedYet,
}

/// A PIN or password as typed. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PinValue(String);

/// Bytes written as hex, spaces allowed between bytes (`"01 02 0A"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

/// A status word written as 4 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedStatus(pub StatusWord);

/// The name of an enrolment: lower-case ASCII letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EnrolmentName(String);

/// A clock advance, parsed like the admin API's (`15m`, `1h30m`, `1d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockDuration(pub Duration);

impl Step {
    /// The step's key in the file (`sdk`, `pf`, ...), for messages and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Sdk(_) => "sdk",
            Step::Pf(_) => "pf",
            Step::Event(_) => "event",
            Step::Clock(_) => "clock",
            Step::Fault(_) => "fault",
            Step::ClearFaults => "clear_faults",
            Step::Card(_) => "card",
            Step::Consent(_) => "consent",
        }
    }

    /// The features this step needs an adapter to have.
    pub fn features(&self) -> Vec<Feature> {
        match self {
            Step::Sdk(step) => step.features(),
            Step::Pf(step) => step.features(),
            Step::Fault(_) | Step::ClearFaults => vec![Feature::Faults],
            Step::Card(CardMove::Fault(CardFaultStep {
                fault: sim_card::card::faults::CardFault::Pulled { .. },
                ..
            })) => vec![Feature::CardRemoval],
            // The card itself misbehaves: every transport carries it, no adapter can lack it.
            Step::Card(CardMove::Fault(_)) => vec![],
            Step::Card(_) => vec![Feature::CardRemoval],
            Step::Consent(_) => vec![Feature::LatestInfo],
            Step::Event(_) | Step::Clock(_) => Vec::new(),
        }
    }
}

impl SdkStep {
    /// The `op` name.
    pub fn op(&self) -> &'static str {
        self.into()
    }

    /// The index of the card the operation uses.
    pub fn card(&self) -> usize {
        match *self {
            SdkStep::ReadCertificate { card, .. }
            | SdkStep::PinStatus { card, .. }
            | SdkStep::VerifyPin { card, .. }
            | SdkStep::ChangePin { card, .. }
            | SdkStep::Sign { card, .. }
            | SdkStep::ReadBasicInfo { card, .. }
            | SdkStep::ReadMyNumber { card, .. }
            | SdkStep::ReadCardFace { card, .. } => card,
        }
    }

    /// What the operation must come back with.
    pub fn expect(&self) -> &SdkExpect {
        match self {
            SdkStep::ReadCertificate { expect, .. }
            | SdkStep::PinStatus { expect, .. }
            | SdkStep::VerifyPin { expect, .. }
            | SdkStep::ChangePin { expect, .. }
            | SdkStep::Sign { expect, .. }
            | SdkStep::ReadBasicInfo { expect, .. }
            | SdkStep::ReadMyNumber { expect, .. }
            | SdkStep::ReadCardFace { expect, .. } => expect,
        }
    }

    /// The PIN kinds a read accepts, for the operations whose PIN is selectable.
    pub fn accepted_pins(&self) -> Option<&'static [PinKind]> {
        match self {
            SdkStep::ReadBasicInfo { .. } => Some(&[PinKind::Text, PinKind::PinB]),
            SdkStep::ReadMyNumber { .. } => Some(&[PinKind::Text, PinKind::PinA]),
            SdkStep::ReadCardFace { .. } => Some(&[PinKind::PinA, PinKind::PinB]),
            _ => None,
        }
    }

    fn features(&self) -> Vec<Feature> {
        let pin_feature = |pin: PinKind| match pin {
            PinKind::Auth => None,
            PinKind::Sign => Some(Feature::SignKey),
            PinKind::Text => Some(Feature::TextAp),
            PinKind::PinA | PinKind::PinB => Some(Feature::VisualAp),
        };
        match *self {
            SdkStep::ReadCertificate { which, .. } => (which == CertificateSlot::Sign)
                .then_some(Feature::SignKey)
                .into_iter()
                .collect(),
            SdkStep::PinStatus { pin, .. } | SdkStep::VerifyPin { pin, .. } => {
                pin_feature(pin).into_iter().collect()
            }
            SdkStep::ChangePin { pin, .. } => [Some(Feature::PinChange), pin_feature(pin)]
                .into_iter()
                .flatten()
                .collect(),
            SdkStep::Sign { key, .. } => (key == KeyKind::Sign)
                .then_some(Feature::SignKey)
                .into_iter()
                .collect(),
            SdkStep::ReadBasicInfo { .. } | SdkStep::ReadMyNumber { .. } => vec![Feature::TextAp],
            SdkStep::ReadCardFace { .. } => vec![Feature::VisualAp],
        }
    }
}

impl PfStep {
    /// The `op` name.
    pub fn op(&self) -> &'static str {
        self.into()
    }

    fn features(&self) -> Vec<Feature> {
        match self {
            PfStep::Enrol {
                key, present_as, ..
            } => (*key == KeyKind::Sign || *present_as == Some(KeyKind::Sign))
                .then_some(Feature::SignKey)
                .into_iter()
                .collect(),
            PfStep::CheckStatus { via, .. } => vec![match via {
                StatusChannel::Ocsp => Feature::Ocsp,
                StatusChannel::Crl => Feature::Crl,
            }],
            PfStep::LatestInfo { .. } => vec![Feature::LatestInfo],
            PfStep::ResolveUser { .. } => vec![Feature::Linkage],
        }
    }
}

impl FaultStep {
    /// The rule to arm.
    pub fn rule(&self) -> FaultRule {
        FaultRule {
            endpoint: self.endpoint,
            fault: self.fault,
            count: self.count,
        }
    }
}

/// The default PIN of the text AP's reads.
fn text_pin() -> PinKind {
    PinKind::Text
}

/// The default PIN of the card-face read.
fn pin_a() -> PinKind {
    PinKind::PinA
}

fn yes() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl PinValue {
    /// A value as the scenario file gives it.
    pub fn new(value: impl Into<String>) -> PinValue {
        PinValue(value.into())
    }

    /// The characters to send to the card.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PinValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinValue(<redacted>)")
    }
}

impl Serialize for PinValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PinValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PinVisitor;
        impl Visitor<'_> for PinVisitor {
            type Value = PinValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted PIN (\"1234\")")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PinValue, E> {
                Ok(PinValue(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<PinValue, E> {
                Err(E::custom(
                    "a PIN must be quoted (\"1234\"): a bare number loses its leading zeros",
                ))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PinValue, E> {
                self.visit_u64(v.unsigned_abs())
            }
        }
        deserializer.deserialize_str(PinVisitor)
    }
}

impl JsonSchema for PinValue {
    fn schema_name() -> Cow<'static, str> {
        "PinValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A PIN or password as typed, quoted (\"0123\")."
        })
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode_upper(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let digits: String = text.split(' ').collect();
        hex::decode(&digits).map(HexBytes).map_err(|_| {
            de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"pairs of hex digits, spaces allowed between pairs (\"01 02 0A\")",
            )
        })
    }
}

impl JsonSchema for HexBytes {
    fn schema_name() -> Cow<'static, str> {
        "HexBytes".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(?:[0-9A-Fa-f]{2} ?)*$",
            "description": "Bytes as hex, spaces allowed between bytes (\"01 02 0A\")."
        })
    }
}

impl Serialize for ExpectedStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:04X}", self.0 .0))
    }
}

impl<'de> Deserialize<'de> for ExpectedStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = ExpectedStatus;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status word as 4 hex digits (\"6982\")")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpectedStatus, E> {
                let valid = v.len() == 4 && v.bytes().all(|b| b.is_ascii_hexdigit());
                match u16::from_str_radix(v, 16) {
                    Ok(sw) if valid => Ok(ExpectedStatus(StatusWord(sw))),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            // `9000` and `6982` read as numbers in YAML; their digits are the hex we want.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpectedStatus, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_str(StatusVisitor)
    }
}

impl JsonSchema for ExpectedStatus {
    fn schema_name() -> Cow<'static, str> {
        "StatusWord".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9A-Fa-f]{4}$",
            "description": "A status word, SW1 SW2 as 4 hex digits (\"63C2\")."
        })
    }
}

impl EnrolmentName {
    /// The name as the scenario writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnrolmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EnrolmentName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(EnrolmentName(text))
        } else {
            Err(de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"an enrolment name of lower-case ASCII letters, digits and `_`",
            ))
        }
    }
}

impl JsonSchema for EnrolmentName {
    fn schema_name() -> Cow<'static, str> {
        "EnrolmentName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9_]+$",
            "description": "An enrolment named by an earlier `enrol` step."
        })
    }
}

impl Serialize for ClockDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}s", self.0.as_secs()))
    }
}

impl<'de> Deserialize<'de> for ClockDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        mock_jlis::clock::parse_duration(&text)
            .map(ClockDuration)
            .map_err(de::Error::custom)
    }
}

impl JsonSchema for ClockDuration {
    fn schema_name() -> Cow<'static, str> {
        "ClockDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+[smhdw])+$",
            "description": "A duration: numbers with units s, m, h, d, w (`15m`, `1h30m`)."
        })
    }
}
