//! The JSON Schema of scenario files, generated from the model and committed as
//! `scenarios/schema.json` so that editors can complete and check scenarios as they are typed.
//!
//! Draft 7, because it is the draft YAML editors (yaml-language-server) support best.
//!
//! The model uses the world's own types for events, reasons, endpoints, faults and cadences, so
//! that a scenario means exactly what the admin API means. Those types live in crates that do
//! not depend on `schemars`; the mirrors below describe them, and the tests prove each mirror
//! has the same names as its original.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use super::model::Scenario;

/// The schema of scenario files, as committed in `scenarios/schema.json` (pretty, with a final
/// newline).
pub fn render() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    // A schema is a JSON value with string keys: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `sim_card::CardId` as text.
pub(crate) struct CardIdText;

impl JsonSchema for CardIdText {
    fn schema_name() -> Cow<'static, str> {
        "CardId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(felica:[0-9A-Fa-f]{16}|typea:([0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20}))$",
            "description": "`felica:<IDm, 16 hex>` or `typea:<UID, 8, 14 or 20 hex>`."
        })
    }
}

/// `mock_jlis::world::Cadence`.
// Values are only made by the tests: the schema needs the types.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Cadence")]
pub(crate) enum CadenceName {
    /// CRLs issued daily at 00:00 JST; OCSP data refreshed on 15-minute boundaries.
    Realistic,
    /// Every change is visible at once on both channels.
    Instant,
}

/// `mock_jlis::world::OcspSigner`.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "OcspSigner")]
pub(crate) enum OcspSignerName {
    /// A delegated responder certificate, issued by the CA with id-kp-OCSPSigning, embedded in
    /// each answer.
    Delegated,
    /// The CA's own key; no certificate in the answer.
    Ca,
}

/// `mock_jlis::events::EventKind` (docs/revocation.md has what each does).
// Values are only made by the tests: the schema needs the types.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "EventKind")]
pub(crate) enum EventKindName {
    /// Signature certificate revoked `affiliation_changed` and re-issued; basic 4 info rewritten.
    AddressChange,
    /// As `address_change`.
    NameChange,
    /// As `address_change`.
    BirthDateCorrection,
    /// As `address_change`.
    SexCorrection,
    /// Both certificates revoked `cessation_of_operation`.
    Death,
    /// Both certificates revoked `cessation_of_operation`.
    Emigration,
    /// Both certificates revoked `key_compromise`.
    Loss,
    /// Both certificates revoked `certificate_hold`.
    Suspension,
    /// A new card generation replacing a lost or suspended one; new keys, PINs reset.
    Reissue,
    /// A new card generation; the old certificates revoked `superseded`; new keys, PINs reset.
    Renewal,
}

/// `mock_jlis::faults::Endpoint`.
// Values are only made by the tests: the schema needs the types.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Endpoint")]
pub(crate) enum EndpointName {
    /// `/crl/...`
    Crl,
    /// `/ocsp`
    Ocsp,
    /// `/jlis/v1/...`
    Jlis,
    /// `/ca/...`
    Ca,
    /// `/cards/{card}/apdu` (the APDU bridge).
    Bridge,
}

/// `mock_jlis::faults::FaultKind`.
// Values are only made by the tests: the schema needs the types.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(rename = "FaultKind")]
pub(crate) enum FaultKindSchema {
    /// Any endpoint: the connection drops without a complete response.
    ConnectionReset,
    /// Any endpoint: HTTP 503.
    Unavailable,
    /// Any endpoint: the answer comes `millis` milliseconds late.
    Delay { millis: u64 },
    /// Any endpoint: HTTP 200 with bytes that are not the expected format.
    Garbage,
    /// Any endpoint: the whole service is down (J-LIS maintenance), 503 `service_down`.
    Down,
    /// OCSP: responseStatus `tryLater`.
    TryLater,
    /// OCSP: another unsuccessful responseStatus, with no status in it.
    UnsuccessfulOcsp {
        status: mock_ca::ocsp::OcspErrorStatus,
    },
    /// OCSP: a genuine signed answer saying `unknown` for the certificate.
    OcspUnknown,
    /// OCSP: a well-formed response signed by a key nobody certified.
    WrongKey,
    /// OCSP: thisUpdate and nextUpdate a day old.
    StaleThisUpdate,
    /// OCSP: a correctly signed response echoing a nonce other than the request's.
    ForeignNonce,
    /// OCSP: a correctly signed response without the nonce the request carried.
    NoNonce,
    /// CRL: the previous day's CRL.
    YesterdaysCrl,
    /// CRL: a CRL whose nextUpdate has passed.
    ExpiredCrl,
    /// OCSP: a forged answer, wrong in exactly one way a PF must check (docs/conformance.md).
    ForgedOcsp {
        forgery: mock_ca::forgery::OcspForgery,
    },
    /// CRL: a forged CRL, wrong in exactly one way a PF must check (docs/conformance.md).
    ForgedCrl {
        forgery: mock_ca::forgery::CrlForgery,
    },
    /// CRL: the full list answers 503; the partitions are served.
    FullCrlWithheld,
}

#[cfg(test)]
mod tests {
    use mock_jlis::events::EventKind;
    use mock_jlis::faults::{Endpoint, FaultKind};
    use mock_jlis::world::{Cadence, OcspSigner};
    use serde::de::DeserializeOwned;

    use super::*;

    // Exhaustive matches: a variant added to an original breaks the build here.
    fn cadence(c: Cadence) -> CadenceName {
        match c {
            Cadence::Realistic => CadenceName::Realistic,
            Cadence::Instant => CadenceName::Instant,
        }
    }

    fn ocsp_signer(s: OcspSigner) -> OcspSignerName {
        match s {
            OcspSigner::Delegated => OcspSignerName::Delegated,
            OcspSigner::Ca => OcspSignerName::Ca,
        }
    }

    fn event(k: EventKind) -> EventKindName {
        use EventKindName as M;
        match k {
            EventKind::AddressChange => M::AddressChange,
            EventKind::NameChange => M::NameChange,
            EventKind::BirthDateCorrection => M::BirthDateCorrection,
            EventKind::SexCorrection => M::SexCorrection,
            EventKind::Death => M::Death,
            EventKind::Emigration => M::Emigration,
            EventKind::Loss => M::Loss,
            EventKind::Suspension => M::Suspension,
            EventKind::Reissue => M::Reissue,
            EventKind::Renewal => M::Renewal,
        }
    }

    fn endpoint(e: Endpoint) -> EndpointName {
        match e {
            Endpoint::Crl => EndpointName::Crl,
            Endpoint::Ocsp => EndpointName::Ocsp,
            Endpoint::Jlis => EndpointName::Jlis,
            Endpoint::Ca => EndpointName::Ca,
            Endpoint::Bridge => EndpointName::Bridge,
        }
    }

    fn fault(f: FaultKind) -> FaultKindSchema {
        use FaultKindSchema as M;
        match f {
            FaultKind::ConnectionReset => M::ConnectionReset,
            FaultKind::Unavailable => M::Unavailable,
            FaultKind::Delay { millis } => M::Delay { millis },
            FaultKind::Garbage => M::Garbage,
            FaultKind::Down => M::Down,
            FaultKind::TryLater => M::TryLater,
            FaultKind::UnsuccessfulOcsp { status } => M::UnsuccessfulOcsp { status },
            FaultKind::OcspUnknown => M::OcspUnknown,
            FaultKind::WrongKey => M::WrongKey,
            FaultKind::StaleThisUpdate => M::StaleThisUpdate,
            FaultKind::ForeignNonce => M::ForeignNonce,
            FaultKind::NoNonce => M::NoNonce,
            FaultKind::YesterdaysCrl => M::YesterdaysCrl,
            FaultKind::ExpiredCrl => M::ExpiredCrl,
            FaultKind::ForgedOcsp { forgery } => M::ForgedOcsp { forgery },
            FaultKind::ForgedCrl { forgery } => M::ForgedCrl { forgery },
            FaultKind::FullCrlWithheld => M::FullCrlWithheld,
        }
    }

    /// Each mirror value reads as an original that maps back to it, with the same serde form.
    fn same_names<O, M>(mirrors: &[M], back: fn(O) -> M)
    where
        O: DeserializeOwned + Serialize,
        M: Serialize + PartialEq + std::fmt::Debug + Copy,
    {
        for &mirror in mirrors {
            let json = serde_json::to_value(mirror).unwrap();
            let original: O = serde_json::from_value(json.clone())
                .unwrap_or_else(|e| panic!("{mirror:?} ({json}) is not an original name: {e}"));
            assert_eq!(serde_json::to_value(&original).unwrap(), json);
            assert_eq!(back(original), mirror);
        }
    }

    #[test]
    fn mirrors_have_the_names_of_the_world_types() {
        same_names(&[CadenceName::Realistic, CadenceName::Instant], cadence);
        same_names(
            &[OcspSignerName::Delegated, OcspSignerName::Ca],
            ocsp_signer,
        );
        use EventKindName as E;
        same_names(
            &[
                E::AddressChange,
                E::NameChange,
                E::BirthDateCorrection,
                E::SexCorrection,
                E::Death,
                E::Emigration,
                E::Loss,
                E::Suspension,
                E::Reissue,
                E::Renewal,
            ],
            event,
        );
        use EndpointName as P;
        same_names(&[P::Crl, P::Ocsp, P::Jlis, P::Ca, P::Bridge], endpoint);
        use FaultKindSchema as F;
        same_names(
            &[
                F::ConnectionReset,
                F::Unavailable,
                F::Delay { millis: 250 },
                F::Garbage,
                F::Down,
                F::TryLater,
                F::UnsuccessfulOcsp {
                    status: mock_ca::ocsp::OcspErrorStatus::Unauthorized,
                },
                F::OcspUnknown,
                F::WrongKey,
                F::StaleThisUpdate,
                F::ForeignNonce,
                F::NoNonce,
                F::YesterdaysCrl,
                F::ExpiredCrl,
            ],
            fault,
        );
    }

    #[test]
    fn schema_is_draft_7_and_ends_with_a_newline() {
        let text = render();
        assert!(text.ends_with("}\n"));
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["additionalProperties"], false);
    }
}
