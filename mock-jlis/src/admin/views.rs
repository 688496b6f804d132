//! The JSON views the admin API answers with.

use mock_ca::{Hierarchy, IssuedCertificate};
use serde::Serialize;
use sim_card::CardId;
use time::OffsetDateTime;

use crate::persona::Persona;
use crate::registry::{CertStatus, Registry, Revocation};
use crate::world::{CardState, Life};

/// The JSON view of a card: `GET /admin/v1/cards/{card}` and `jpki-sim persona --json`.
#[derive(Debug, Serialize)]
pub struct CardView {
    pub card: CardId,
    pub generation: u32,
    pub life: Life,
    pub persona: Persona,
    pub certificates: CertificatesView,
    /// Every certificate the card ever had, oldest first.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize)]
pub struct CertificatesView {
    /// Absent for holders under 15 at issuance, who get no signature certificate.
    pub sign: Option<CertificateView>,
    pub auth: CertificateView,
}

#[derive(Debug, Serialize)]
pub struct CertificateView {
    /// Upper-case hex.
    pub serial: String,
    /// `good`, `revoked`, `expired` or `not_yet_issued`, as of the world's clock.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub pem: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub hierarchy: &'static str,
    pub serial: String,
    pub generation: u32,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

impl CardView {
    /// The view of `card` in `state`, with statuses as of `now`.
    pub(crate) fn of(
        card: &CardId,
        state: &CardState,
        registry: &Registry,
        now: OffsetDateTime,
    ) -> Self {
        let view = |hierarchy: Hierarchy, c: &IssuedCertificate| {
            let status = registry
                .get(hierarchy, &c.serial)
                .map_or(CertStatus::Good, |r| r.status_at(now));
            CertificateView {
                serial: c.serial.to_string(),
                status: status.name(),
                revocation: registry
                    .get(hierarchy, &c.serial)
                    .and_then(|r| r.revocation),
                not_before: c.not_before,
                not_after: c.not_after,
                pem: c.pem(),
            }
        };
        let history = registry
            .of_card(card)
            .into_iter()
            .map(|r| HistoryEntry {
                hierarchy: r.hierarchy.tag(),
                serial: r.serial.to_string(),
                generation: r.generation,
                status: r.status_at(now).name(),
                revocation: r.revocation,
                superseded_by: r.superseded_by.as_ref().map(ToString::to_string),
                not_before: r.not_before,
                not_after: r.not_after,
            })
            .collect();
        CardView {
            card: card.clone(),
            generation: state.persona.generation,
            life: state.life,
            persona: state.persona.clone(),
            certificates: CertificatesView {
                sign: state.sign.as_ref().map(|c| view(Hierarchy::Sign, c)),
                auth: view(Hierarchy::Auth, &state.auth),
            },
            history,
        }
    }
}
