//! The world: the simulated CAs, the clock, the provisioned cards, every certificate issued, and
//! the store that makes them durable.
//!
//! Provisioning a card derives its persona (plus overrides), derives or loads its keys, issues its
//! certificates, personalises a [`CardImage`] and restores the card's PIN counters. Life events
//! (`events.rs`) change the persona, revoke and re-issue certificates and re-personalise the card
//! in place, so a reader holding the card sees the new files at once. Every change is committed to
//! the store before it becomes visible.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use mock_ca::ocsp::{OcspCache, OcspResponder, ResponderCertificate, ResponderSigner};
use mock_ca::{
    CaKeyRole, CertificateAuthority, Holder, IssuanceRequest, IssuedCertificate, KeyMaterial,
    KeyRole, KeySeed, MunicipalityCode, Serial, SubjectId, SubstituteFlags,
};
use serde::{Deserialize, Serialize};
use sim_card::transport::SharedCard;
use sim_card::{Card, CardId, CardImage, PinObserver, PinPersistError, PinSnapshot};
use time::{OffsetDateTime, Time};

pub use mock_ca::Hierarchy;

use crate::clock::{ClockError, ClockMode, SimClock};
use crate::overrides::{LoadError, OverrideError, PersonaOverrides};
use crate::persona::Persona;
use crate::personalise::{personalise, CardCredentials, PersonaliseError};
use crate::registry::{CertRecord, CertStatus, Registry, Revocation};
use crate::store::{CardRecord, CertificateRow, Store, StoreError};

/// Generation of the simulated CA hierarchies.
const CA_GENERATION: u32 = 1;

/// Why a world operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("no card {0} is provisioned")]
    UnknownCard(CardId),
    #[error("persona overrides are invalid")]
    Persona(#[from] PersonaError),
    #[error("certificate authority failed")]
    Ca(#[from] mock_ca::Error),
    #[error("personalisation failed")]
    Personalise(#[from] PersonaliseError),
    #[error("the card image was rejected by the card OS")]
    Card(#[from] sim_card::CardError),
    #[error("state store failed")]
    Store(#[from] StoreError),
    #[error("stored state of {card} is unreadable: {what}")]
    CorruptState { card: String, what: String },
    #[error("{card} is {life}: a {event} event needs an active card")]
    NotActive {
        card: CardId,
        life: Life,
        event: &'static str,
    },
    #[error("{card} has no signature certificate (holder under 15 at issuance)")]
    NoSignatureCertificate { card: CardId },
    #[error(transparent)]
    Clock(#[from] ClockError),
    #[error("{0} already went through life events; persona overrides apply to fresh cards only")]
    HasHistory(CardId),
    #[error("no municipality with code {0:?} is known")]
    UnknownMunicipality(String),
}

/// Bad persona overrides, from a file or a request body.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Invalid(#[from] OverrideError),
}

/// When revocations become visible (jpki-pki.md: CRL daily, OCSP every 15 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// CRLs issued daily at 00:00 JST, OCSP data refreshed on 15-minute boundaries.
    #[default]
    Realistic,
    /// Every change is visible at once on both channels.
    Instant,
}

/// How to build a world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The public base URL written into certificates (CRL and OCSP locations).
    pub base_url: String,
    pub cadence: Cadence,
    /// The clock to start from when the store has none (default: follow real time).
    pub clock: Option<ClockMode>,
    /// How long after issuance a certificate's linkage (old → new, sign ↔ auth) becomes visible
    /// to PFs; zero by default, about 90 minutes in the field (jpki-pki.md, Linkage).
    pub linkage_lag: std::time::Duration,
    pub ocsp_signer: OcspSigner,
}

impl WorldConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        WorldConfig {
            base_url: base_url.into(),
            cadence: Cadence::Realistic,
            clock: None,
            linkage_lag: std::time::Duration::ZERO,
            ocsp_signer: OcspSigner::Delegated,
        }
    }
}

/// A card's standing in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Life {
    Active,
    Deceased,
    Emigrated,
    Lost,
    Suspended,
}

impl Life {
    pub fn as_str(self) -> &'static str {
        match self {
            Life::Active => "active",
            Life::Deceased => "deceased",
            Life::Emigrated => "emigrated",
            Life::Lost => "lost",
            Life::Suspended => "suspended",
        }
    }

    fn parse(text: &str) -> Option<Life> {
        [
            Life::Active,
            Life::Deceased,
            Life::Emigrated,
            Life::Lost,
            Life::Suspended,
        ]
        .into_iter()
        .find(|l| l.as_str() == text)
    }
}

impl std::fmt::Display for Life {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the simulator knows. Shared by the HTTP routes and the card transports.
pub struct World {
    pub(crate) store: Arc<Store>,
    key_cache: Option<Store>,
    sign_ca: CertificateAuthority,
    auth_ca: CertificateAuthority,
    pub(crate) clock: SimClock,
    pub(crate) cadence: Cadence,
    pub(crate) linkage_lag: std::time::Duration,
    pub(crate) registry: RwLock<Registry>,
    cards: RwLock<BTreeMap<CardId, Arc<ProvisionedCard>>>,
    /// Serialises provisioning and life events: each reads, commits, then publishes.
    pub(crate) writer: Mutex<()>,
    faults: crate::faults::Faults,
    pub(crate) crls: crate::publish::CrlCache,
    pub(crate) ocsp: crate::publish::OcspService,
    ocsp_signer: OcspSigner,
}

/// Who signs OCSP responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspSigner {
    /// A delegated responder certificate (id-kp-OCSPSigning) issued by each CA.
    #[default]
    Delegated,
    /// The CA key itself.
    Ca,
}

/// A card: its current state and its running card OS (shared with transports).
pub struct ProvisionedCard {
    pub id: CardId,
    state: RwLock<CardState>,
    card: Arc<Mutex<Card>>,
}

/// What a card currently is. Replaced as a whole by life events.
#[derive(Debug, Clone)]
pub struct CardState {
    pub persona: Persona,
    pub sign: Option<IssuedCertificate>,
    pub auth: IssuedCertificate,
    pub sign_revision: u32,
    pub life: Life,
    pub(crate) overrides: Option<String>,
}

impl World {
    /// Opens a world over `store`, restoring its clock, certificates and cards. Without a state
    /// directory, pass an in-memory store and a `key_cache` store so key generation is still paid
    /// only once per machine.
    pub fn open(
        config: WorldConfig,
        store: Store,
        key_cache: Option<Store>,
    ) -> Result<World, WorldError> {
        let cache = key_cache.as_ref().unwrap_or(&store);
        let seeds = [
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::SignCa),
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::AuthCa),
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::OcspResponder),
        ];
        let [sign_key, auth_key, responder_key] =
            <[KeyMaterial; 3]>::try_from(derive_keys(cache, &seeds)?)
                .unwrap_or_else(|_| unreachable!("three seeds give three keys"));
        let clock_mode = match store.clock()? {
            Some(json) => serde_json::from_str(&json).map_err(|e| WorldError::CorruptState {
                card: "(clock)".into(),
                what: e.to_string(),
            })?,
            None => config
                .clock
                .unwrap_or(ClockMode::Following { offset_seconds: 0 }),
        };
        let sign_ca = CertificateAuthority::from_key(
            Hierarchy::Sign,
            CA_GENERATION,
            &config.base_url,
            &sign_key,
        )?;
        let auth_ca = CertificateAuthority::from_key(
            Hierarchy::Auth,
            CA_GENERATION,
            &config.base_url,
            &auth_key,
        )?;
        let responder = |ca: &CertificateAuthority| -> Result<OcspResponder, WorldError> {
            let signer = match config.ocsp_signer {
                OcspSigner::Ca => ResponderSigner::Ca,
                OcspSigner::Delegated => ResponderSigner::Delegated {
                    certificate: ResponderCertificate::issue(
                        ca,
                        &responder_key,
                        ca.not_before(),
                        ca.not_after(),
                    )?,
                    key: responder_key.clone(),
                },
            };
            Ok(OcspResponder::new(ca, signer)?)
        };
        let ocsp = crate::publish::OcspService {
            sign: responder(&sign_ca)?,
            auth: responder(&auth_ca)?,
            cache: OcspCache::default(),
        };
        let world = World {
            sign_ca,
            auth_ca,
            crls: crate::publish::CrlCache::default(),
            ocsp,
            ocsp_signer: config.ocsp_signer,
            store: Arc::new(store),
            key_cache,
            clock: SimClock::new(clock_mode),
            cadence: config.cadence,
            linkage_lag: config.linkage_lag,
            registry: RwLock::new(Registry::default()),
            cards: RwLock::new(BTreeMap::new()),
            writer: Mutex::new(()),
            faults: crate::faults::Faults::default(),
        };
        world.restore()?;
        Ok(world)
    }

    pub fn ca(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        match hierarchy {
            Hierarchy::Sign => &self.sign_ca,
            Hierarchy::Auth => &self.auth_ca,
        }
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn ocsp_signer(&self) -> OcspSigner {
        self.ocsp_signer
    }

    /// The delegated OCSP responder certificate of `hierarchy`, if responses are delegated.
    pub fn ocsp_responder_certificate(&self, hierarchy: Hierarchy) -> Option<Vec<u8>> {
        (self.ocsp_signer == OcspSigner::Delegated).then(|| {
            let key = self.key_of(KeySeed::for_authority(
                CA_GENERATION,
                CaKeyRole::OcspResponder,
            ))?;
            let ca = self.ca(hierarchy);
            ResponderCertificate::issue(ca, &key, ca.not_before(), ca.not_after())
                .ok()
                .map(|c| c.der().to_vec())
        })?
    }

    /// An OCSP responder that claims to answer for `hierarchy` but signs with a key nobody
    /// certified (the `wrong_key` fault).
    pub(crate) fn impostor_responder(&self, hierarchy: Hierarchy) -> Option<OcspResponder> {
        let key = self.key_of(KeySeed::for_authority(u32::MAX, CaKeyRole::OcspResponder))?;
        OcspResponder::impostor(self.ca(hierarchy), &key).ok()
    }

    fn key_of(&self, seed: KeySeed) -> Option<KeyMaterial> {
        cached_key(self.key_cache.as_ref().unwrap_or(&self.store), &seed).ok()
    }

    /// The armed fault-injection rules.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.faults
    }

    pub fn cadence(&self) -> Cadence {
        self.cadence
    }

    pub fn linkage_lag(&self) -> std::time::Duration {
        self.linkage_lag
    }

    /// Moves the clock (persisted first).
    pub fn set_clock(&self, mode: ClockMode) -> Result<OffsetDateTime, WorldError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let json = serde_json::to_string(&mode).expect("clock modes serialise");
        self.store.put_clock(&json)?;
        self.clock.apply(mode);
        Ok(self.clock.now())
    }

    /// Provisions `card` (idempotent: an already provisioned card is returned as it is, unless
    /// new overrides are given, which re-personalise it keeping its PIN state).
    pub fn provision(
        &self,
        card: &CardId,
        overrides_yaml: Option<&str>,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        if overrides_yaml.is_none() {
            if let Some(existing) = self.card(card) {
                return Ok(existing);
            }
        }
        if let Some(existing) = self.card(card) {
            let state = existing.state();
            if state.overrides.as_deref() == overrides_yaml {
                return Ok(existing);
            }
            // Re-personalising would silently undo re-issued certificates and revocations.
            if state.sign_revision > 0 || state.life != Life::Active || state.persona.generation > 1
            {
                return Err(WorldError::HasHistory(card.clone()));
            }
        }
        self.provision_generation(card, 1, overrides_yaml)
    }

    /// Provisions `card` at an explicit generation (`jpki-sim persona --generation`).
    pub fn provision_generation(
        &self,
        card: &CardId,
        generation: u32,
        overrides_yaml: Option<&str>,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut persona = Persona::derive(card, generation);
        if let Some(yaml) = overrides_yaml {
            let overrides = PersonaOverrides::from_yaml_str(yaml, "persona overrides")
                .map_err(PersonaError::from)?;
            persona = persona
                .with_overrides(&overrides)
                .map_err(PersonaError::from)?;
        }
        let issued_at = card_issue_instant(&persona);
        let built = self.build(&persona, 0, issued_at, None, None)?;
        let state = CardState {
            persona,
            sign: built.sign,
            auth: built.auth,
            sign_revision: 0,
            life: Life::Active,
            overrides: overrides_yaml.map(str::to_owned),
        };
        let records = state.records(card);
        self.store.put_card(
            &state.card_record(card, false),
            &records
                .iter()
                .map(|(r, der)| certificate_row(r, der))
                .collect::<Vec<_>>(),
        )?;
        self.publish_records(records);
        self.install(card, state, built.image)
    }

    pub fn card(&self, card: &CardId) -> Option<Arc<ProvisionedCard>> {
        self.cards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(card)
            .cloned()
    }

    pub fn cards(&self) -> Vec<Arc<ProvisionedCard>> {
        self.cards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The status of a certificate as of `at`, if this world issued it.
    pub fn certificate_status(
        &self,
        hierarchy: Hierarchy,
        serial: &Serial,
        at: OffsetDateTime,
    ) -> Option<CertStatus> {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        registry.get(hierarchy, serial).map(|r| r.status_at(at))
    }

    /// A copy of a certificate's record.
    pub fn certificate(&self, hierarchy: Hierarchy, serial: &Serial) -> Option<CertRecord> {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        registry.get(hierarchy, serial).cloned()
    }

    /// The admin API's view of a card (DESIGN §4).
    pub fn view(&self, card: &ProvisionedCard) -> CardView {
        let now = self.now();
        let state = card.state();
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let view = |hierarchy: Hierarchy, c: &IssuedCertificate| {
            let status = registry
                .get(hierarchy, &c.serial)
                .map_or(CertStatus::Good, |r| r.status_at(now));
            CertificateView {
                serial: c.serial.to_string(),
                status: status_name(&status),
                revocation: registry
                    .get(hierarchy, &c.serial)
                    .and_then(|r| r.revocation),
                not_before: c.not_before,
                not_after: c.not_after,
                pem: c.pem(),
            }
        };
        let history = registry
            .of_card(&card.id)
            .into_iter()
            .map(|r| HistoryEntry {
                hierarchy: r.hierarchy.tag(),
                serial: r.serial.to_string(),
                generation: r.generation,
                status: status_name(&r.status_at(now)),
                revocation: r.revocation,
                superseded_by: r.superseded_by.as_ref().map(ToString::to_string),
                not_before: r.not_before,
                not_after: r.not_after,
            })
            .collect();
        CardView {
            card: card.id.clone(),
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

    /// Issues certificates and personalises a card image for `persona`. The signature
    /// certificate is issued at `sign_issued_at` (re-issues happen later than the card).
    pub(crate) fn build(
        &self,
        persona: &Persona,
        sign_revision: u32,
        issued_at: OffsetDateTime,
        sign_issued_at: Option<OffsetDateTime>,
        keep_auth: Option<&IssuedCertificate>,
    ) -> Result<Built, WorldError> {
        let card = &persona.card_id;
        let canonical = card.to_string();
        let generation = persona.generation;
        let seeds = [
            KeySeed::for_card_revision(&canonical, generation, sign_revision, KeyRole::Sign)?,
            KeySeed::for_card(&canonical, generation, KeyRole::Auth)?,
            KeySeed::for_card(&canonical, generation, KeyRole::TextAp)?,
            KeySeed::for_card(&canonical, generation, KeyRole::VisualAp)?,
            KeySeed::for_card(&canonical, generation, KeyRole::CommonAp)?,
            KeySeed::for_card(&canonical, generation, KeyRole::JukiAp)?,
        ];
        let keys = derive_keys(self.key_cache.as_ref().unwrap_or(&self.store), &seeds)?;
        let [sign_key, auth_key, text_key, visual_key, common_key, juki_key] =
            <[KeyMaterial; 6]>::try_from(keys)
                .unwrap_or_else(|_| unreachable!("six seeds give six keys"));
        let holder = holder(persona, &canonical, generation)?;
        let request =
            |hierarchy: Hierarchy, serial: Serial, at: OffsetDateTime, key: &KeyMaterial| {
                self.ca(hierarchy).issue(&IssuanceRequest {
                    holder: holder.clone(),
                    serial,
                    issued_at: at,
                    not_after: None,
                    card_expires_on: Some(persona.card_expires_on),
                    subject_public_key: key.spki_der().to_vec(),
                })
            };
        let sign = if persona.has_signature_certificate() {
            let serial =
                Serial::for_card_revision(&canonical, generation, sign_revision, Hierarchy::Sign)?;
            Some(request(
                Hierarchy::Sign,
                serial,
                sign_issued_at.unwrap_or(issued_at),
                &sign_key,
            )?)
        } else {
            None
        };
        let auth = match keep_auth {
            Some(auth) => auth.clone(),
            None => request(
                Hierarchy::Auth,
                Serial::for_card(&canonical, generation, Hierarchy::Auth)?,
                issued_at,
                &auth_key,
            )?,
        };
        let image = personalise(
            persona,
            &CardCredentials {
                sign_cert_der: sign.as_ref().map(|c| c.der.clone()),
                sign_ca_der: self.sign_ca.certificate_der().to_vec(),
                auth_cert_der: auth.der.clone(),
                auth_ca_der: self.auth_ca.certificate_der().to_vec(),
                sign_key_pkcs8: sign_key.pkcs8_der().to_vec(),
                auth_key_pkcs8: auth_key.pkcs8_der().to_vec(),
                text_ap_key_pkcs8: text_key.pkcs8_der().to_vec(),
                visual_ap_key_pkcs8: visual_key.pkcs8_der().to_vec(),
                common_ap_key_pkcs8: common_key.pkcs8_der().to_vec(),
                juki_ap_key_pkcs8: juki_key.pkcs8_der().to_vec(),
            },
        )?;
        Ok(Built { sign, auth, image })
    }

    /// Makes `state` and `image` the card's current ones: a new card OS (PINs of this generation
    /// from the store) swapped into the shared slot transports hold.
    pub(crate) fn install(
        &self,
        card: &CardId,
        state: CardState,
        image: CardImage,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        let card_os = self.card_os(card, state.persona.generation, Arc::new(image))?;
        let mut cards = self.cards.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = cards.get(card) {
            *existing.card.lock().unwrap_or_else(|e| e.into_inner()) = card_os;
            *existing.state.write().unwrap_or_else(|e| e.into_inner()) = state;
            return Ok(existing.clone());
        }
        let provisioned = Arc::new(ProvisionedCard {
            id: card.clone(),
            state: RwLock::new(state),
            card: Arc::new(Mutex::new(card_os)),
        });
        cards.insert(card.clone(), provisioned.clone());
        Ok(provisioned)
    }

    /// Adds or replaces certificate records after they were committed.
    pub(crate) fn publish_records(&self, records: Vec<(CertRecord, Vec<u8>)>) {
        let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
        for (record, _) in records {
            registry.insert(record);
        }
    }

    fn card_os(
        &self,
        card: &CardId,
        generation: u32,
        image: Arc<CardImage>,
    ) -> Result<Card, WorldError> {
        let key = card.to_string();
        let pins = match self.store.pin_state(&key, generation)? {
            Some(json) => serde_json::from_str::<PinSnapshot>(&json).map_err(|e| {
                WorldError::CorruptState {
                    card: key.clone(),
                    what: format!("PIN state: {e}"),
                }
            })?,
            None => PinSnapshot::default(),
        };
        let mut card_os = Card::new(image, pins)?;
        card_os.set_pin_observer(Box::new(StorePinObserver {
            store: self.store.clone(),
            card: key,
            generation,
        }));
        Ok(card_os)
    }

    /// Rebuilds certificates and cards from the store.
    fn restore(&self) -> Result<(), WorldError> {
        let mut ders: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
        {
            let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
            for row in self.store.certificates()? {
                let record = record_from_row(&row)?;
                ders.insert((row.hierarchy.clone(), row.serial_hex.clone()), row.der);
                registry.insert(record);
            }
        }
        for record in self.store.cards()? {
            let Ok(card) = record.card.parse::<CardId>() else {
                tracing::warn!(card = %record.card, "skipping an unparsable card id in the store");
                continue;
            };
            let corrupt = |what: String| WorldError::CorruptState {
                card: record.card.clone(),
                what,
            };
            let persona = match &record.persona_json {
                Some(json) => serde_json::from_str::<Persona>(json)
                    .map_err(|e| corrupt(format!("persona: {e}")))?,
                None => {
                    let mut persona = Persona::derive(&card, record.generation);
                    if let Some(yaml) = &record.overrides {
                        let o = PersonaOverrides::from_yaml_str(yaml, "stored overrides")
                            .map_err(PersonaError::from)?;
                        persona = persona.with_overrides(&o).map_err(PersonaError::from)?;
                    }
                    persona
                }
            };
            let canonical = card.to_string();
            let sign_serial = Serial::for_card_revision(
                &canonical,
                record.generation,
                record.sign_revision,
                Hierarchy::Sign,
            )?;
            let auth_serial = Serial::for_card(&canonical, record.generation, Hierarchy::Auth)?;
            let stored = |hierarchy: Hierarchy, serial: &Serial| -> Option<IssuedCertificate> {
                let der = ders.get(&(hierarchy.tag().to_owned(), serial.to_string()))?;
                let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
                let r = registry.get(hierarchy, serial)?;
                Some(IssuedCertificate {
                    der: der.clone(),
                    serial: serial.clone(),
                    not_before: r.not_before,
                    not_after: r.not_after,
                })
            };
            let auth = stored(Hierarchy::Auth, &auth_serial)
                .ok_or_else(|| corrupt("the authentication certificate is missing".into()))?;
            let sign = stored(Hierarchy::Sign, &sign_serial);
            // Rebuilding re-issues identical bytes (deterministic keys and signatures), but the
            // stored certificates are authoritative.
            let built = self.build(
                &persona,
                record.sign_revision,
                auth.not_before,
                sign.as_ref().map(|s| s.not_before),
                Some(&auth),
            )?;
            let state = CardState {
                persona,
                sign: sign.or(built.sign),
                auth,
                sign_revision: record.sign_revision,
                life: Life::parse(&record.life).unwrap_or(Life::Active),
                overrides: record.overrides.clone(),
            };
            self.install(&card, state, built.image)?;
        }
        Ok(())
    }
}

/// Certificates and image produced by [`World::build`].
pub(crate) struct Built {
    pub sign: Option<IssuedCertificate>,
    pub auth: IssuedCertificate,
    pub image: CardImage,
}

impl CardState {
    /// Registry records (with DER) of the card's current certificates.
    pub(crate) fn records(&self, card: &CardId) -> Vec<(CertRecord, Vec<u8>)> {
        let mut records = vec![(
            self.record(card, Hierarchy::Auth, &self.auth, 0),
            self.auth.der.clone(),
        )];
        if let Some(sign) = &self.sign {
            records.push((
                self.record(card, Hierarchy::Sign, sign, self.sign_revision),
                sign.der.clone(),
            ));
        }
        records
    }

    fn record(
        &self,
        card: &CardId,
        hierarchy: Hierarchy,
        c: &IssuedCertificate,
        revision: u32,
    ) -> CertRecord {
        CertRecord {
            serial: c.serial.clone(),
            hierarchy,
            card: card.clone(),
            generation: self.persona.generation,
            revision,
            municipality_code: self.persona.municipality_code.clone(),
            prefecture_romaji: self.persona.prefecture_romaji.clone(),
            municipality_romaji: self.persona.municipality_romaji.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            revocation: None,
            superseded_by: None,
        }
    }

    /// The store row; the persona is kept verbatim once events changed it.
    pub(crate) fn card_record(&self, card: &CardId, persona_changed: bool) -> CardRecord {
        CardRecord {
            card: card.to_string(),
            generation: self.persona.generation,
            overrides: self.overrides.clone(),
            persona_json: persona_changed
                .then(|| serde_json::to_string(&self.persona).expect("personas serialise")),
            sign_revision: self.sign_revision,
            life: self.life.as_str().to_owned(),
        }
    }
}

impl ProvisionedCard {
    /// One APDU exchange with the card (the HTTP bridge and in-process clients).
    pub fn transmit(&self, command: &[u8]) -> Vec<u8> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transmit(command)
    }

    /// The card for transports (vpcd) that share it with the bridge. Life events swap the card
    /// OS inside this slot, so an attached transport keeps working.
    pub fn shared(&self) -> SharedCard {
        self.card.clone()
    }

    /// The card's files as personalised now (life events rewrite them): what an SDK reading
    /// the card must get back.
    pub fn image(&self) -> Arc<sim_card::CardImage> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .image()
            .clone()
    }

    /// A copy of the card's current state.
    pub fn state(&self) -> CardState {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn replace_state(&self, state: CardState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// The current PIN state of the running card OS.
    pub fn pin_snapshot(&self) -> PinSnapshot {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pin_snapshot()
    }
}

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

pub(crate) fn status_name(status: &CertStatus) -> &'static str {
    match status {
        CertStatus::Good => "good",
        CertStatus::Revoked { .. } => "revoked",
        CertStatus::Expired => "expired",
        CertStatus::NotYetIssued => "not_yet_issued",
    }
}

/// Cards are issued at 10:00 JST (01:00Z) on their issue day.
pub(crate) fn card_issue_instant(persona: &Persona) -> OffsetDateTime {
    OffsetDateTime::new_utc(
        persona.card_issued_on,
        Time::from_hms(1, 0, 0).expect("valid time"),
    )
}

pub(crate) fn certificate_row(record: &CertRecord, der: &[u8]) -> CertificateRow {
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("UTC instants format")
    };
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

fn record_from_row(row: &CertificateRow) -> Result<CertRecord, WorldError> {
    let corrupt = |what: String| WorldError::CorruptState {
        card: row.card.clone(),
        what,
    };
    let time = |text: &str| {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| corrupt(format!("time {text:?}: {e}")))
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

struct StorePinObserver {
    store: Arc<Store>,
    card: String,
    generation: u32,
}

impl PinObserver for StorePinObserver {
    fn pins_changed(&self, snapshot: &PinSnapshot) -> Result<(), PinPersistError> {
        let json =
            serde_json::to_string(snapshot).map_err(|err| PinPersistError::Store(Box::new(err)))?;
        self.store
            .put_pin_state(&self.card, self.generation, &json)
            .map_err(|err| PinPersistError::Store(Box::new(err)))
    }
}

fn holder(persona: &Persona, canonical: &str, generation: u32) -> Result<Holder, WorldError> {
    let municipality_code = MunicipalityCode::parse(&persona.municipality_code)?;
    Ok(Holder {
        name: persona.name.clone(),
        name_substitute_flags: SubstituteFlags::parse(&persona.name_substitute_flags)?,
        address: persona.address.clone(),
        address_substitute_flags: SubstituteFlags::parse(&persona.address_substitute_flags)?,
        birth_date: persona.birth_date,
        sex: mock_ca::Sex::from_code(persona.sex.code())?,
        prefecture_romaji: persona.prefecture_romaji.clone(),
        municipality_romaji: persona.municipality_romaji.clone(),
        municipality_code,
        auth_cn: SubjectId::derive(canonical, generation, Hierarchy::Auth, municipality_code)?,
        sign_cn: SubjectId::derive(canonical, generation, Hierarchy::Sign, municipality_code)?,
    })
}

/// Derives (or loads from `cache`) the keys of `seeds`, generating missing ones in parallel.
fn derive_keys(cache: &Store, seeds: &[KeySeed]) -> Result<Vec<KeyMaterial>, WorldError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = seeds.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|seed| cached_key(cache, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn cached_key(cache: &Store, seed: &KeySeed) -> Result<KeyMaterial, WorldError> {
    if let Some(pkcs8) = cache.cached_key(seed.as_bytes())? {
        match KeyMaterial::from_pkcs8_der(&pkcs8) {
            Ok(key) => return Ok(key),
            Err(err) => {
                tracing::warn!(error = %err, "ignoring an unreadable cached key; deriving it again")
            }
        }
    }
    let key = seed.derive_key()?;
    cache.put_key(seed.as_bytes(), key.pkcs8_der())?;
    Ok(key)
}
