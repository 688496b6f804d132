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
    /// The canonical card id.
    pub card: CardId,
    /// The current card generation (1 for the first card, +1 per renewal).
    pub generation: u32,
    /// Whether the card is active, or why not (dead, emigrated, lost, suspended).
    pub life: Life,
    /// The holder's persona now, PINs included (`docs/persona-derivation.md` §6).
    pub persona: Persona,
    /// The certificates on the card now.
    pub certificates: CertificatesView,
    /// Every certificate the card ever had, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// `GET /admin/v1/cards`: every provisioned card, in card-id order.
#[derive(Debug, Serialize)]
pub struct CardList {
    /// One line per card.
    pub cards: Vec<CardSummary>,
}

/// A card in the list: enough to pick one and fetch its view.
#[derive(Debug, Serialize)]
pub struct CardSummary {
    /// The canonical card id.
    pub card: CardId,
    /// The current card generation.
    pub generation: u32,
    /// Whether the card is active, or why not.
    pub life: Life,
    /// The signature certificate's serial (upper-case hex); absent for holders under 15.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
    /// The authentication certificate's serial (upper-case hex).
    pub auth: String,
}

impl CardSummary {
    pub(crate) fn of(card: &CardId, state: &CardState) -> Self {
        CardSummary {
            card: card.clone(),
            generation: state.persona.generation,
            life: state.life,
            sign: state.sign.as_ref().map(|c| c.serial.to_string()),
            auth: state.auth.serial.to_string(),
        }
    }
}

/// The two certificates a card holds now.
#[derive(Debug, Serialize)]
pub struct CertificatesView {
    /// Absent for holders under 15 at issuance, who get no signature certificate.
    pub sign: Option<CertificateView>,
    /// The authentication certificate; every holder has one.
    pub auth: CertificateView,
}

/// One certificate on the card, with its status by the world clock.
#[derive(Debug, Serialize)]
pub struct CertificateView {
    /// Upper-case hex.
    pub serial: String,
    /// `good`, `revoked`, `expired` or `not_yet_issued`, as of the world's clock.
    pub status: &'static str,
    /// When and why it was revoked; absent while it never was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// Start of validity (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (RFC 3339, UTC): 14:59:59Z, i.e. 23:59:59 JST.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The certificate itself, PEM.
    pub pem: String,
}

/// A certificate the card had in any generation, as the registry knows it.
#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// Upper-case hex.
    pub serial: String,
    /// The card generation it was issued for.
    pub generation: u32,
    /// `good`, `revoked`, `expired` or `not_yet_issued`, as of the world's clock.
    pub status: &'static str,
    /// When and why it was revoked; absent while it never was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// The serial (upper-case hex) of the certificate that replaced it; absent for the newest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Start of validity (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (RFC 3339, UTC).
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
