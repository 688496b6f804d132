//! Mapping between the world's records and the store's rows: certificates, cards and consents.
//! Times are RFC 3339 text and revocation reasons their snake_case names, as the APIs spell them.

use mock_ca::{Hierarchy, Serial};
use sim_card::CardId;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{CardRecord, CertificateRow, ConsentRow};
use crate::consent::{Consent, ServiceError};
use crate::registry::{CertRecord, Revocation};
use crate::world::{CardState, WorldError};

/// The store row of a card; the persona is kept verbatim once events changed it.
pub(crate) fn card_record(card: &CardId, state: &CardState, persona_changed: bool) -> CardRecord {
    CardRecord {
        card: card.to_string(),
        generation: state.persona.generation,
        overrides: state.overrides.clone(),
        persona_json: persona_changed
            .then(|| serde_json::to_string(&state.persona).expect("personas serialise")),
        sign_revision: state.sign_revision,
        life: state.life.as_str().to_owned(),
    }
}

pub(crate) fn certificate_row(record: &CertRecord, der: &[u8]) -> CertificateRow {
    CertificateRow {
        serial_hex: record.serial.to_string(),
        hierarchy: record.hierarchy.tag().to_owned(),
        card: record.card.to_string(),
        generation: record.generation,
        revision: record.revision,
        municipality_code: record.municipality_code.clone(),
        prefecture_romaji: record.prefecture_romaji.clone(),
        municipality_romaji: record.municipality_romaji.clone(),
        not_before: rfc3339(record.not_before),
        not_after: rfc3339(record.not_after),
        revoked_at: record.revocation.map(|r| rfc3339(r.at)),
        reason: record.revocation.map(|r| reason_name(r.reason)),
        superseded_by: record.superseded_by.as_ref().map(ToString::to_string),
        der: der.to_vec(),
    }
}

/// The snake_case name a reason serialises to (what the store and the APIs use).
pub(crate) fn reason_name(reason: mock_ca::crl::RevocationReason) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => unreachable!("revocation reasons serialise as strings"),
    }
}

pub(crate) fn record_from_row(row: &CertificateRow) -> Result<CertRecord, WorldError> {
    let corrupt = |what: String| WorldError::CorruptState {
        card: row.card.clone(),
        what,
    };
    let time = |text: &str| {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| corrupt(format!("time {text:?}: {e}")))
    };
    let hierarchy = match row.hierarchy.as_str() {
        "sign" => Hierarchy::Sign,
        "auth" => Hierarchy::Auth,
        other => return Err(corrupt(format!("hierarchy {other:?}"))),
    };
    let serial = |text: &str| {
        text.parse::<Serial>()
            .map_err(|e| corrupt(format!("serial {text:?}: {e}")))
    };
    let revocation = match (&row.revoked_at, &row.reason) {
        (Some(at), Some(reason)) => Some(Revocation {
            at: time(at)?,
            reason: serde_json::from_value(serde_json::Value::String(reason.clone()))
                .map_err(|e| corrupt(format!("reason {reason:?}: {e}")))?,
        }),
        _ => None,
    };
    Ok(CertRecord {
        serial: serial(&row.serial_hex)?,
        hierarchy,
        card: row
            .card
            .parse()
            .map_err(|e: sim_card::CardIdError| corrupt(e.to_string()))?,
        generation: row.generation,
        revision: row.revision,
        municipality_code: row.municipality_code.clone(),
        prefecture_romaji: row.prefecture_romaji.clone(),
        municipality_romaji: row.municipality_romaji.clone(),
        not_before: time(&row.not_before)?,
        not_after: time(&row.not_after)?,
        revocation,
        superseded_by: row.superseded_by.as_deref().map(serial).transpose()?,
    })
}

pub(crate) fn consent_from_row(row: &ConsentRow) -> Result<Consent, ServiceError> {
    let time = |text: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| ServiceError::CorruptState(format!("consent {}: {text:?}: {e}", row.id)))
    };
    Ok(Consent {
        consent_id: row.id,
        serial: row.serial_hex.clone(),
        granted_at: time(&row.granted_at)?,
        expires_at: time(&row.expires_at)?,
        withdrawn_at: row.withdrawn_at.as_deref().map(time).transpose()?,
        document_sha256: row.document_sha256.clone(),
    })
}

/// An RFC 3339 instant as the store keeps it.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC instants format")
}
