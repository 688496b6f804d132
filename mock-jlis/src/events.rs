//! Life events of a resident and what each does to their certificates (docs/jpki-pki.md):
//!
//! | event | signature certificate | authentication certificate | card |
//! |---|---|---|---|
//! | `address_change`, `name_change`, `birth_date_correction`, `sex_correction` | revoked `affiliationChanged`, re-issued (new key, new serial, linked old → new) | unchanged | basic-4-info files re-written |
//! | `death` | revoked `cessationOfOperation` (configurable) | same | deceased |
//! | `emigration` | revoked `cessationOfOperation` | same | emigrated |
//! | `loss` | revoked `keyCompromise` | same | lost |
//! | `suspension` | revoked `certificateHold` | same | suspended |
//! | `reissue` | new card generation; old certificates linked to the new ones (revoked `superseded` if still good) | same | new keys, PINs reset |
//! | `renewal` | new generation; old ones revoked `superseded`, linked old → new | same | new keys, PINs reset |
//!
//! Expiry needs no event: the clock passing notAfter expires a certificate.
//! Each event is committed to the store in one transaction before the world changes.
//!
//! `Lifecycle` borrows the parts of the world an event reads and changes: the writer lock, the
//! clock, the registry, the cards, the store, and the issuer with its key cache.

use std::sync::{Arc, Mutex, RwLock};

use mock_ca::crl::RevocationReason;
use mock_ca::{Hierarchy, IssuedCertificate, Serial};
use serde::{Deserialize, Serialize};
use sim_card::CardId;
use time::OffsetDateTime;

use crate::clock::SimClock;
use crate::overrides::PersonaOverrides;
use crate::persona::{card_expiry, Persona, Pins};
use crate::registry::{CertRecord, Registry, Revocation};
use crate::store::rows::{card_record, certificate_row};
use crate::store::{EventCommit, Store};
use crate::world::cards::Cards;
use crate::world::issuance::{Built, Issuer};
use crate::world::keys::KeyCache;
use crate::world::{card_issue_instant, CardState, Life, PersonaError, WorldError};

/// The kinds of life event (fixed names, used by scenarios and the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A move (転居, 転出入): the signature certificate is revoked `affiliation_changed` and
    /// re-issued with the new address and municipality.
    AddressChange,
    /// A new name (marriage, by default a new family name): as an address change.
    NameChange,
    /// The birth date was recorded wrongly: as an address change; the PINs derived from the
    /// birth date follow.
    BirthDateCorrection,
    /// The sex was recorded wrongly: as an address change.
    SexCorrection,
    /// The holder died: both certificates revoked `cessation_of_operation` (the ground is
    /// unconfirmed, `docs/jpki-pki.md` §2); the card becomes deceased.
    Death,
    /// The holder moved abroad (国外転出): both revoked `cessation_of_operation`.
    Emigration,
    /// A loss or theft report: both revoked `key_compromise`.
    Loss,
    /// A temporary suspension: both put on `certificate_hold`.
    Suspension,
    /// A replacement card (after a loss, a suspension, or on request): the next generation,
    /// the old certificates linked to the new ones and revoked `superseded` unless already
    /// revoked.
    Reissue,
    /// A renewal before expiry: the next generation, the old certificates revoked `superseded`
    /// and linked to the new ones.
    Renewal,
}

impl EventKind {
    /// The snake_case name the admin API, scenarios and the event log use.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::AddressChange => "address_change",
            EventKind::NameChange => "name_change",
            EventKind::BirthDateCorrection => "birth_date_correction",
            EventKind::SexCorrection => "sex_correction",
            EventKind::Death => "death",
            EventKind::Emigration => "emigration",
            EventKind::Loss => "loss",
            EventKind::Suspension => "suspension",
            EventKind::Reissue => "reissue",
            EventKind::Renewal => "renewal",
        }
    }

    /// Whether the event changes basic-4-info, and so re-issues the signature certificate.
    pub fn changes_basic_info(self) -> bool {
        matches!(
            self,
            EventKind::AddressChange
                | EventKind::NameChange
                | EventKind::BirthDateCorrection
                | EventKind::SexCorrection
        )
    }
}

/// The persona after a basic-4-info event with the requested `values` (`EventRequest::persona`),
/// read and validated as provisioning overrides are, and refused when the holder would get no
/// signature certificate, which the event re-issues. Public so that fuzz targets (fuzz/) check
/// the bodies the route takes.
pub fn event_persona(current: &Persona, values: &serde_json::Value) -> Result<Persona, WorldError> {
    let overrides = PersonaOverrides::from_yaml_str(&values.to_string(), "event persona")
        .map_err(PersonaError::from)?;
    let persona = current
        .clone()
        .with_overrides(&overrides)
        .map_err(PersonaError::from)?;
    if !persona.has_signature_certificate() {
        return Err(WorldError::NoSignatureCertificate {
            card: current.card_id.clone(),
        });
    }
    Ok(persona)
}

/// `POST /admin/v1/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// The card the event happens to; it must be provisioned.
    pub card: CardId,
    /// What happens.
    pub kind: EventKind,
    /// New persona values for basic-4-info changes (e.g. `{"address": ..., "municipality_code":
    /// ...}`); without them a plausible new value is derived.
    #[serde(default)]
    pub persona: Option<serde_json::Value>,
    /// Overrides the reason the event revokes with (e.g. death as `unspecified`).
    #[serde(default)]
    pub reason: Option<RevocationReason>,
}

/// What an event did.
#[derive(Debug, Clone, Serialize)]
pub struct EventOutcome {
    /// The event's id in the store's event log, increasing from 1.
    pub id: i64,
    /// The card it happened to.
    pub card: CardId,
    /// What happened.
    pub kind: EventKind,
    /// When, by the world clock (RFC 3339, UTC); the revocation time of what it revoked.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The certificates this event revoked; ones revoked before keep their first revocation
    /// and are not listed.
    pub revoked: Vec<RevokedCertificate>,
    /// The certificates this event issued (a new signature certificate, or a new generation's).
    pub issued: Vec<IssuedSerial>,
    /// The card's life after the event.
    pub life: Life,
}

/// A certificate an event revoked.
#[derive(Debug, Clone, Serialize)]
pub struct RevokedCertificate {
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// Upper-case hex.
    pub serial: String,
    /// The revocation reason recorded.
    pub reason: RevocationReason,
}

/// A certificate an event issued.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedSerial {
    /// `sign` or `auth`.
    pub hierarchy: &'static str,
    /// Upper-case hex.
    pub serial: String,
}

/// The parts of the world a life event changes (see [`crate::world::World::apply_event`]).
pub(crate) struct Lifecycle<'w> {
    /// Serialises events with provisioning and consents: each reads, commits, then publishes.
    pub(crate) writer: &'w Mutex<()>,
    pub(crate) clock: &'w SimClock,
    pub(crate) registry: &'w RwLock<Registry>,
    pub(crate) cards: &'w Cards,
    pub(crate) store: &'w Store,
    pub(crate) issuer: &'w Issuer,
    pub(crate) keys: &'w KeyCache,
}

impl Lifecycle<'_> {
    /// Applies a life event: commits it with everything it changes, then updates the card.
    pub(crate) fn apply(&self, request: &EventRequest) -> Result<EventOutcome, WorldError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let card = self
            .cards
            .get(&request.card)
            .ok_or_else(|| WorldError::UnknownCard(request.card.clone()))?;
        let now = self.clock.now();
        let before = card.state();
        let kind = request.kind;
        // Reissue replaces a lost or suspended card; every other event needs an active one.
        let allowed = match kind {
            EventKind::Reissue => {
                matches!(before.life, Life::Active | Life::Lost | Life::Suspended)
            }
            _ => before.life == Life::Active,
        };
        if !allowed {
            return Err(WorldError::NotActive {
                card: request.card.clone(),
                life: before.life,
                event: kind.name(),
            });
        }
        // Changed records, each with whether this event revoked it.
        let mut changed: Vec<(CertRecord, bool)> = Vec::new();
        let revoke = |hierarchy: Hierarchy,
                      serial: &Serial,
                      reason: RevocationReason,
                      successor: Option<&Serial>| {
            let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
            registry.get(hierarchy, serial).map(|record| {
                let mut record = record.clone();
                let newly_revoked = record.revocation.is_none();
                if newly_revoked {
                    record.revocation = Some(Revocation { at: now, reason });
                }
                if let Some(successor) = successor {
                    record.superseded_by = Some(successor.clone());
                }
                (record, newly_revoked)
            })
        };

        let (after, image, new_records) = if kind.changes_basic_info() {
            let old_sign =
                before
                    .sign
                    .clone()
                    .ok_or_else(|| WorldError::NoSignatureCertificate {
                        card: request.card.clone(),
                    })?;
            let persona = self.changed_persona(&before.persona, kind, request.persona.as_ref())?;
            // The event re-issues the signature certificate, so the changed holder must still
            // get one (15 or older at issuance).
            if !persona.has_signature_certificate() {
                return Err(WorldError::NoSignatureCertificate {
                    card: request.card.clone(),
                });
            }
            let revision = before.sign_revision + 1;
            let issued_at = card_issue_instant(&persona);
            let built = self.build(&persona, revision, issued_at, Some(now), Some(&before.auth))?;
            let new_sign = built
                .sign
                .clone()
                .expect("an adult's card keeps a signature certificate");
            let reason = request
                .reason
                .unwrap_or(RevocationReason::AffiliationChanged);
            changed.extend(revoke(
                Hierarchy::Sign,
                &old_sign.serial,
                reason,
                Some(&new_sign.serial),
            ));
            let after = CardState {
                persona,
                sign: Some(new_sign),
                auth: before.auth.clone(),
                sign_revision: revision,
                life: Life::Active,
                overrides: before.overrides.clone(),
            };
            let records: Vec<_> = after
                .records(&request.card)
                .into_iter()
                .filter(|(r, _)| r.hierarchy == Hierarchy::Sign)
                .collect();
            (after, Some(built.image), records)
        } else if matches!(kind, EventKind::Reissue | EventKind::Renewal) {
            let persona = next_generation(&before.persona, now)?;
            let built = self.build(&persona, 0, now, None, None)?;
            let after = CardState {
                persona,
                sign: built.sign.clone(),
                auth: built.auth.clone(),
                sign_revision: 0,
                life: Life::Active,
                overrides: None,
            };
            let reason = request.reason.unwrap_or(RevocationReason::Superseded);
            if let (Some(old), Some(new)) = (&before.sign, &after.sign) {
                changed.extend(revoke(
                    Hierarchy::Sign,
                    &old.serial,
                    reason,
                    Some(&new.serial),
                ));
            }
            changed.extend(revoke(
                Hierarchy::Auth,
                &before.auth.serial,
                reason,
                Some(&after.auth.serial),
            ));
            let records = after.records(&request.card);
            (after, Some(built.image), records)
        } else {
            let (reason, life) = match kind {
                EventKind::Death => (RevocationReason::CessationOfOperation, Life::Deceased),
                EventKind::Emigration => (RevocationReason::CessationOfOperation, Life::Emigrated),
                EventKind::Loss => (RevocationReason::KeyCompromise, Life::Lost),
                EventKind::Suspension => (RevocationReason::CertificateHold, Life::Suspended),
                _ => unreachable!("basic-info and generation events are handled above"),
            };
            let reason = request.reason.unwrap_or(reason);
            if let Some(sign) = &before.sign {
                changed.extend(revoke(Hierarchy::Sign, &sign.serial, reason, None));
            }
            changed.extend(revoke(Hierarchy::Auth, &before.auth.serial, reason, None));
            let mut after = before.clone();
            after.life = life;
            (after, None, Vec::new())
        };

        let persona_changed =
            after.persona != Persona::derive(&request.card, after.persona.generation);
        let mut rows: Vec<_> = changed
            .iter()
            .map(|(r, _)| {
                let der = certificate_der(&before, r);
                certificate_row(r, &der)
            })
            .collect();
        rows.extend(new_records.iter().map(|(r, der)| certificate_row(r, der)));
        let commit = EventCommit {
            card: request.card.to_string(),
            kind: kind.name().to_owned(),
            at: rfc3339(now),
            body: serde_json::json!({
                "kind": kind,
                "persona": request.persona,
                "reason": request.reason,
            })
            .to_string(),
            card_record: Some(card_record(&request.card, &after, persona_changed)),
            certificates: rows,
        };
        let id = self.store.commit_event(&commit)?;

        let revoked = changed
            .iter()
            .filter(|(_, newly_revoked)| *newly_revoked)
            .map(|(r, _)| RevokedCertificate {
                hierarchy: r.hierarchy.tag(),
                serial: r.serial.to_string(),
                reason: r
                    .revocation
                    .map_or(RevocationReason::Unspecified, |rev| rev.reason),
            })
            .collect();
        let issued = new_records
            .iter()
            .map(|(r, _)| IssuedSerial {
                hierarchy: r.hierarchy.tag(),
                serial: r.serial.to_string(),
            })
            .collect();
        let life = after.life;
        self.registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert_all(
                changed
                    .into_iter()
                    .map(|(r, _)| r)
                    .chain(new_records.into_iter().map(|(r, _)| r)),
            );
        match image {
            Some(image) => {
                self.cards.install(&request.card, after, image)?;
            }
            None => card_set_state(&card, after),
        }
        Ok(EventOutcome {
            id,
            card: request.card.clone(),
            kind,
            at: now,
            revoked,
            issued,
            life,
        })
    }

    /// The persona after a basic-4-info change: the requested values, or derived ones.
    fn changed_persona(
        &self,
        current: &Persona,
        kind: EventKind,
        requested: Option<&serde_json::Value>,
    ) -> Result<Persona, WorldError> {
        if let Some(values) = requested {
            return event_persona(current, values);
        }
        // A plausible new value: the same field of the persona of another (synthetic) card id,
        // salted with the number of events so repeated changes differ.
        let salt = self.store.event_count(&current.card_id.to_string())?;
        let other = Persona::derive(&donor_card(&current.card_id, salt), 1);
        let mut next = current.clone();
        match kind {
            EventKind::AddressChange => {
                next.address = other.address;
                next.address_substitute_flags = other.address_substitute_flags;
                next.prefecture = other.prefecture;
                next.prefecture_romaji = other.prefecture_romaji;
                next.municipality = other.municipality;
                next.municipality_romaji = other.municipality_romaji;
                next.municipality_code = other.municipality_code;
            }
            EventKind::NameChange => {
                // A change of family name (marriage): keep the given name.
                let given =
                    |name: &str| name.split('\u{3000}').nth(1).unwrap_or_default().to_owned();
                let family =
                    |name: &str| name.split('\u{3000}').next().unwrap_or_default().to_owned();
                let given_romaji = current
                    .name_romaji
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let family_romaji = other
                    .name_romaji
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                next.name = format!("{}\u{3000}{}", family(&other.name), given(&current.name));
                next.name_kana = format!(
                    "{}\u{3000}{}",
                    family(&other.name_kana),
                    given(&current.name_kana)
                );
                next.name_romaji = format!("{family_romaji} {given_romaji}");
                next.name_substitute_flags = "0".repeat(next.name.chars().count());
            }
            EventKind::BirthDateCorrection => {
                next.birth_date = current.birth_date.next_day().unwrap_or(current.birth_date);
            }
            EventKind::SexCorrection => {
                next.sex = match current.sex {
                    crate::persona::Sex::Male => crate::persona::Sex::Female,
                    _ => crate::persona::Sex::Male,
                };
            }
            _ => unreachable!("only basic-4-info events change the persona"),
        }
        if next.birth_date != current.birth_date {
            next.pins = recompute_pins(&next)?;
        }
        Ok(next)
    }

    /// Issues certificates and personalises the image of `persona` (see [`Issuer::build`]).
    fn build(
        &self,
        persona: &Persona,
        sign_revision: u32,
        issued_at: OffsetDateTime,
        sign_issued_at: Option<OffsetDateTime>,
        keep_auth: Option<&IssuedCertificate>,
    ) -> Result<Built, WorldError> {
        self.issuer.build(
            self.keys,
            persona,
            sign_revision,
            issued_at,
            sign_issued_at,
            keep_auth,
        )
    }
}

/// The next card generation of the same person, issued today.
fn next_generation(current: &Persona, now: OffsetDateTime) -> Result<Persona, WorldError> {
    let mut next = Persona::derive(&current.card_id, current.generation + 1);
    next.name = current.name.clone();
    next.name_kana = current.name_kana.clone();
    next.name_romaji = current.name_romaji.clone();
    next.name_substitute_flags = current.name_substitute_flags.clone();
    next.address = current.address.clone();
    next.address_substitute_flags = current.address_substitute_flags.clone();
    next.prefecture = current.prefecture.clone();
    next.prefecture_romaji = current.prefecture_romaji.clone();
    next.municipality = current.municipality.clone();
    next.municipality_romaji = current.municipality_romaji.clone();
    next.municipality_code = current.municipality_code.clone();
    next.birth_date = current.birth_date;
    next.sex = current.sex;
    next.my_number = current.my_number.clone();
    next.card_issued_on = now.date();
    next.card_expires_on = card_expiry(next.birth_date, next.card_issued_on);
    next.pins = recompute_pins(&next)?;
    Ok(next)
}

/// The stored DER of a certificate whose record an event changes.
fn certificate_der(state: &CardState, record: &CertRecord) -> Vec<u8> {
    let current = |c: &Option<IssuedCertificate>| {
        c.as_ref()
            .filter(|c| c.serial == record.serial)
            .map(|c| c.der.clone())
    };
    current(&state.sign)
        .or_else(|| (state.auth.serial == record.serial).then(|| state.auth.der.clone()))
        .unwrap_or_default()
}

/// A card id, derived from `card` and `salt`, whose persona lends new basic-4-info values.
fn donor_card(card: &CardId, salt: u64) -> CardId {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"jpki-sim/event-donor/v1\0");
    hash.update(card.to_string().as_bytes());
    hash.update(salt.to_be_bytes());
    let digest = hash.finalize();
    let mut idm = [0u8; 8];
    idm.copy_from_slice(&digest[..8]);
    CardId::Felica(idm)
}

fn card_set_state(card: &Arc<crate::world::ProvisionedCard>, state: CardState) {
    card.replace_state(state);
}

fn recompute_pins(persona: &Persona) -> Result<Pins, WorldError> {
    Pins::defaults(
        &persona.my_number,
        persona.birth_date,
        persona.card_expires_on,
        &persona.security_code,
    )
    .map_err(|e| WorldError::CorruptState {
        card: persona.card_id.to_string(),
        what: format!("birth date {} is before the Meiji era", e.date),
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC instants format")
}
