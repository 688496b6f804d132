//! The world: the simulated CAs, the clock, the provisioned cards, every certificate issued, and
//! the store that makes them durable.
//!
//! [`World`] composes parts, each in its own module, and wires them:
//!
//! | part | module | what it owns |
//! |---|---|---|
//! | key cache | `world/keys.rs` | derived RSA keys, paid for once per machine |
//! | issuer | `world/issuance.rs` | the two CAs as issuers: card certificates and images |
//! | publisher | [`mock_ca::publication`] | CRLs, OCSP, their cadences and caches |
//! | registry | [`crate::registry`] | every certificate issued, with revocations and successors |
//! | cards | `world/cards.rs`, `world/pins.rs` | provisioned cards, their card OS and PIN persistence |
//! | clock | [`crate::clock`] | the simulated time everything reads |
//! | faults | [`crate::faults`] | armed fault-injection rules |
//! | store | [`crate::store`] | the SQLite state behind all of the above |
//! | services | [`crate::consent`] | the J-LIS services over the registry and the store |
//! | life events | [`crate::events`] | what an event revokes, re-issues and re-personalises |
//!
//! The services and life events borrow only the parts they use (`World::services`,
//! `World::lifecycle`); the publisher reads the registry through the world's
//! [`mock_ca::publication::RevocationSource`] implementation (`world/publication.rs`).
//!
//! Provisioning a card derives its persona (plus overrides), derives or loads its keys, issues its
//! certificates, personalises a [`CardImage`] and restores the card's PIN counters. Life events
//! (`events.rs`) change the persona, revoke and re-issue certificates and re-personalise the card
//! in place, so a reader holding the card sees the new files at once. Every change is committed to
//! the store before it becomes visible.

pub(crate) mod cards;
pub(crate) mod issuance;
pub(crate) mod keys;
mod pins;
mod publication;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use mock_ca::ocsp::{OcspRequest, ResponderCertificate};
use mock_ca::publication::Publisher;
use mock_ca::{
    CaKeyRole, CertificateAuthority, IssuedCertificate, KeyMaterial, KeySeed, Serial, SerialStyle,
};
use sim_card::{CardId, CardImage};
use time::OffsetDateTime;

pub use crate::admin::views::{CardView, CertificateView, CertificatesView, HistoryEntry};
pub use cards::{CardState, Life, ProvisionedCard};
pub use mock_ca::publication::{Cadence, CrlPartition, OcspSigner};
pub use mock_ca::Hierarchy;

pub(crate) use cards::card_issue_instant;
use issuance::Built;

use crate::clock::{ClockError, ClockMode, SimClock};
use crate::consent::{
    Consent, ConsentGrant, LatestInfo, Linkage, ServiceError, Services, StatusView,
};
use crate::events::{EventOutcome, EventRequest, Lifecycle};
use crate::overrides::{LoadError, OverrideError, PersonaOverrides};
use crate::persona::Persona;
use crate::personalise::PersonaliseError;
use crate::registry::{CertRecord, CertStatus, Registry};
use crate::store::{rows, Store, StoreError};
use cards::Cards;
use issuance::Issuer;
use keys::KeyCache;

/// Generation of the simulated CA hierarchies.
const CA_GENERATION: u32 = 1;

/// Why a world operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The card id names no provisioned card (`404 card_not_found`).
    #[error("no card {0} is provisioned")]
    UnknownCard(CardId),
    /// A forgery signed by the holder's key, of a certificate no card of the world holds now.
    #[error("the certificate to forge from is on none of this world's cards")]
    ForgeryOfForeignCertificate,
    /// Persona overrides do not parse or do not validate (`422 invalid_persona`).
    #[error("persona overrides are invalid")]
    Persona(#[from] PersonaError),
    /// A CA could not issue or sign: a simulator fault (`503 world_unavailable`).
    #[error("certificate authority failed")]
    Ca(#[from] mock_ca::Error),
    /// The persona and certificates could not be laid out as card files (`503`).
    #[error("personalisation failed")]
    Personalise(#[from] PersonaliseError),
    /// The card OS refused the personalised image (`503`).
    #[error("the card image was rejected by the card OS")]
    Card(#[from] sim_card::CardError),
    /// The SQLite store failed; nothing was changed (`503 world_unavailable`).
    #[error("state store failed")]
    Store(#[from] StoreError),
    /// A stored row cannot be read back, or a publication failure with no variant of its own
    /// (`503 world_unavailable`).
    #[error("stored state of {card} is unreadable: {what}")]
    CorruptState {
        /// The card id, or what the state belongs to in parentheses (`(clock)`, `(crl)`).
        card: String,
        /// What is wrong with it.
        what: String,
    },
    /// A life event met a card whose life does not allow it: every event needs an active card,
    /// a re-issue also takes a lost or suspended one (`409 card_not_active`).
    #[error("{card} is {life}: a {event} event needs an active card")]
    NotActive {
        /// The card.
        card: CardId,
        /// What it is now.
        life: Life,
        /// The event's kind, snake_case.
        event: &'static str,
    },
    /// A basic-4-info change for a holder under 15 at issuance, who has no signature
    /// certificate to revoke and re-issue (`409 no_signature_certificate`).
    #[error("{card} has no signature certificate (holder under 15 at issuance)")]
    NoSignatureCertificate {
        /// The card.
        card: CardId,
    },
    /// A clock move that goes backwards (`409 clock_backwards`) or does not parse
    /// (`400 invalid_clock`).
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// Provisioning asked for another persona (or generation) than the one an already
    /// provisioned card's certificates were issued for (`409 persona_conflict`). Certificates
    /// never change under their serial: a new name or address is a life event.
    #[error(
        "{card} is already provisioned {detail}, and its certificates never change: provision \
         it without a persona to get it as it is, or change the holder with a life event \
         (POST /admin/v1/events, e.g. name_change or address_change)"
    )]
    PersonaConflict {
        /// The card.
        card: CardId,
        /// How the request differs from what the card was provisioned with.
        detail: String,
    },
    /// A CRL partition names a municipality code neither issued to nor tabulated
    /// (`404 not_found`).
    #[error("no municipality with code {0:?} is known")]
    UnknownMunicipality(String),
}

/// Bad persona overrides, from a file or a request body.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// The YAML (or JSON) does not parse, or names an unknown field.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A value parses but breaks a rule (`docs/persona-derivation.md` §7).
    #[error(transparent)]
    Invalid(#[from] OverrideError),
}

/// How to build a world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The public base URL written into certificates (CRL and OCSP locations).
    pub base_url: String,
    /// When CRLs and OCSP publish revocations: `realistic` (daily CRL at 00:00 JST, 15-minute
    /// OCSP windows) or `instant` (`docs/revocation.md`, cadences).
    pub cadence: Cadence,
    /// The clock to start from when the store has none (default: follow real time).
    pub clock: Option<ClockMode>,
    /// How long after issuance a certificate's linkage (old → new, sign ↔ auth) becomes visible
    /// to PFs; zero by default, about 90 minutes in the field (docs/jpki-pki.md §7).
    pub linkage_lag: std::time::Duration,
    /// Who signs OCSP answers: a delegated responder certificate (default) or the CA key.
    pub ocsp_signer: OcspSigner,
    /// The shape of card certificate serials (default: 8 bytes, top bit clear). Serials are
    /// derived again when a state is reopened, so a state directory must be reopened with the
    /// style it was made with; scenario worlds live in memory.
    pub serial_style: SerialStyle,
    /// What the CA certificates' keyUsage allows (default: certificates and CRLs, as JPKI's).
    pub ca_key_usage: mock_ca::CaKeyUsage,
    /// Card keys drawn from a pool of this many (`None`, the default: every card its own keys).
    /// Certificates, serials and personas stay distinct per card; only the key pairs repeat,
    /// which load runs accept to provision thousands of cards without thousands of key
    /// generations (docs/performance.md, "Load mode").
    pub key_pool: Option<std::num::NonZeroU32>,
}

impl WorldConfig {
    /// The defaults behind `base_url`: realistic cadence, the clock following real time, no
    /// linkage lag, delegated OCSP responders.
    pub fn new(base_url: impl Into<String>) -> Self {
        WorldConfig {
            base_url: base_url.into(),
            cadence: Cadence::Realistic,
            clock: None,
            linkage_lag: std::time::Duration::ZERO,
            ocsp_signer: OcspSigner::Delegated,
            serial_style: SerialStyle::Default,
            ca_key_usage: mock_ca::CaKeyUsage::default(),
            key_pool: None,
        }
    }
}

/// Everything the simulator knows. Shared by the HTTP routes and the card transports.
pub struct World {
    store: Arc<Store>,
    keys: KeyCache,
    issuer: Issuer,
    publisher: Arc<Publisher>,
    clock: SimClock,
    linkage_lag: std::time::Duration,
    registry: RwLock<Registry>,
    cards: Cards,
    /// Serialises provisioning, life events, clock moves and consents: each reads, commits,
    /// then publishes.
    writer: Mutex<()>,
    faults: crate::faults::Faults,
    journal: crate::journal::Journal,
    ocsp_signer: OcspSigner,
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
        let store = Arc::new(store);
        let keys = KeyCache::new(key_cache, store.clone(), config.key_pool.is_some());
        // Cards sharing a pool's keys also share their parsed form.
        let key_ring = config.key_pool.map(|_| Arc::new(sim_card::KeyRing::new()));
        let seeds = [
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::SignCa),
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::AuthCa),
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::OcspResponder),
        ];
        let [sign_key, auth_key, responder_key] =
            <[KeyMaterial; 3]>::try_from(keys.derive(&seeds)?)
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
        let authority = |hierarchy: Hierarchy, key: &KeyMaterial| {
            CertificateAuthority::from_key_with(
                hierarchy,
                CA_GENERATION,
                &config.base_url,
                key,
                config.ca_key_usage,
            )
            .map(Arc::new)
        };
        let issuer = Issuer {
            sign_ca: authority(Hierarchy::Sign, &sign_key)?,
            auth_ca: authority(Hierarchy::Auth, &auth_key)?,
            serial_style: config.serial_style,
            key_pool: config.key_pool,
            key_ring: key_ring.clone(),
        };
        let publisher = Publisher::new(
            issuer.sign_ca.clone(),
            issuer.auth_ca.clone(),
            config.cadence,
            config.ocsp_signer,
            &responder_key,
        )?;
        let world = World {
            cards: Cards::new(store.clone(), key_ring),
            store,
            keys,
            issuer,
            publisher: Arc::new(publisher),
            clock: SimClock::new(clock_mode),
            linkage_lag: config.linkage_lag,
            registry: RwLock::new(Registry::default()),
            writer: Mutex::new(()),
            faults: crate::faults::Faults::default(),
            journal: crate::journal::Journal::default(),
            ocsp_signer: config.ocsp_signer,
        };
        world.restore()?;
        Ok(world)
    }

    /// The CA of `hierarchy`, to read its certificate (DER, PEM) or name.
    pub fn ca(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        self.issuer.ca(hierarchy)
    }

    /// The simulated clock; move it through [`World::set_clock`], which persists the move.
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Now by the world clock: what every status, consent expiry and linkage lag is read at.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Who signs this world's OCSP answers.
    pub fn ocsp_signer(&self) -> OcspSigner {
        self.ocsp_signer
    }

    /// The CRL and OCSP publisher of this world's CAs (what `/crl` and `/ocsp` serve).
    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }

    /// The delegated OCSP responder certificate of `hierarchy`, if responses are delegated.
    pub fn ocsp_responder_certificate(&self, hierarchy: Hierarchy) -> Option<Vec<u8>> {
        (self.ocsp_signer == OcspSigner::Delegated).then(|| {
            let key = self.keys.key_of(KeySeed::for_authority(
                CA_GENERATION,
                CaKeyRole::OcspResponder,
            ))?;
            let ca = self.ca(hierarchy);
            ResponderCertificate::issue(ca, &key, ca.not_before(), ca.not_after())
                .ok()
                .map(|c| c.der().to_vec())
        })?
    }

    /// The key `seed` derives, from this world's key cache (derived and cached on first use):
    /// services built on the world (the Digital Agency's) get their test keys paid for once
    /// per machine, like the CAs'.
    pub fn derived_key(&self, seed: KeySeed) -> Result<KeyMaterial, WorldError> {
        let mut keys = self.keys.derive(&[seed])?;
        keys.pop().ok_or_else(|| WorldError::CorruptState {
            card: "(key cache)".into(),
            what: "no key derived".into(),
        })
    }

    /// The armed fault-injection rules.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.faults
    }

    /// The last requests the world's routes answered.
    pub fn journal(&self) -> &crate::journal::Journal {
        &self.journal
    }

    /// The CRL and OCSP cadence the world was opened with.
    pub fn cadence(&self) -> Cadence {
        self.publisher.cadence()
    }

    /// How long after notBefore a certificate's links become visible (see [`WorldConfig`]).
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

    /// Derives (or loads) every key of the world's key pool at once, on every core, and keeps
    /// them in memory: cards provisioned afterwards find their keys there. Returns how many keys
    /// the pool holds (2 per slot and the applets' 4); 0 without a pool. Without it, the first
    /// cards each generate their slot's keys, and two cards meeting the same missing slot at once
    /// generate it twice.
    pub fn prepare_key_pool(&self) -> Result<usize, WorldError> {
        let seeds = self.issuer.pool_seeds();
        self.keys.derive(&seeds)?;
        Ok(seeds.len())
    }

    /// Provisions `card` in its first generation (idempotent; see
    /// [`World::provision_generation`]).
    pub fn provision(
        &self,
        card: &CardId,
        overrides_yaml: Option<&str>,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        self.provision_generation(card, 1, overrides_yaml)
    }

    /// Provisions `card` at an explicit generation (`jpki-sim persona --generation`): derives its
    /// persona, applies `overrides_yaml`, issues its certificates and personalises it.
    ///
    /// Certificates never change once issued, so an already provisioned card is never
    /// re-personalised: it is answered as it is (life events and all) when the request asks for
    /// what it was provisioned with — no overrides, or overrides giving the same persona, in the
    /// generation it was provisioned in — and refused with [`WorldError::PersonaConflict`]
    /// otherwise. Overrides that do not parse or validate are refused first
    /// ([`WorldError::Persona`]). A renewal or re-issue does not keep the overrides a card was
    /// provisioned with, so after one only a request without overrides is answered.
    pub fn provision_generation(
        &self,
        card: &CardId,
        generation: u32,
        overrides_yaml: Option<&str>,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        let persona = provisioning_persona(card, generation, overrides_yaml)?;
        if let Some(existing) = self.card(card) {
            self.check_same_provisioning(&existing, generation, overrides_yaml.map(|_| &persona))?;
            return Ok(existing);
        }
        // Keys, certificates and the image depend on the persona alone, so they are built
        // outside the writer lock: cards provision in parallel, and only the commit below is
        // serialised.
        let issued_at = card_issue_instant(&persona);
        let built = self.build(&persona, 0, issued_at, None, None)?;
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = self.card(card) {
            // Provisioned by another request while this one was building.
            self.check_same_provisioning(&existing, generation, overrides_yaml.map(|_| &persona))?;
            return Ok(existing);
        }
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
            &rows::card_record(card, &state, false),
            &records
                .iter()
                .map(|(r, der)| rows::certificate_row(r, der))
                .collect::<Vec<_>>(),
        )?;
        self.publish_records(records);
        self.install(card, state, built.image)
    }

    /// Whether a provisioning request for an existing card asks for what it was provisioned
    /// with: the same first generation and, when the request has overrides, the same persona.
    fn check_same_provisioning(
        &self,
        existing: &ProvisionedCard,
        generation: u32,
        requested: Option<&Persona>,
    ) -> Result<(), WorldError> {
        let conflict = |detail: String| WorldError::PersonaConflict {
            card: existing.id.clone(),
            detail,
        };
        let state = existing.state();
        let first = {
            let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
            registry
                .of_card(&existing.id)
                .iter()
                .map(|r| r.generation)
                .min()
                .unwrap_or(state.persona.generation)
        };
        if first != generation {
            return Err(conflict(format!(
                "from generation {first}, not {generation}"
            )));
        }
        let Some(requested) = requested else {
            return Ok(());
        };
        if state.persona.generation != first {
            return Err(conflict(format!(
                "and was renewed or re-issued since (generation {} now), so the persona it was \
                 provisioned with is no longer known",
                state.persona.generation
            )));
        }
        let provisioned = provisioning_persona(&existing.id, first, state.overrides.as_deref())?;
        if *requested != provisioned {
            return Err(conflict("with another persona".into()));
        }
        Ok(())
    }

    /// The provisioned card with this id, if any; provisioning is explicit.
    pub fn card(&self, card: &CardId) -> Option<Arc<ProvisionedCard>> {
        self.cards.get(card)
    }

    /// Every provisioned card.
    pub fn cards(&self) -> Vec<Arc<ProvisionedCard>> {
        self.cards.all()
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

    /// The admin API's view of a card (docs/contracts.md §4).
    pub fn view(&self, card: &ProvisionedCard) -> CardView {
        let now = self.now();
        let state = card.state();
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let mut view = CardView::of(&card.id, &state, &registry, now);
        view.persona.pins = pins::current_pins(&view.persona.pins, &card.pin_snapshot());
        view
    }

    /// The CRL `partition` of `hierarchy` as published now (DER), honouring CRL faults.
    pub fn crl(
        &self,
        hierarchy: Hierarchy,
        partition: &CrlPartition,
    ) -> Result<Arc<Vec<u8>>, WorldError> {
        self.publisher
            .crl(self, hierarchy, partition)
            .map_err(|err| match err {
                mock_ca::publication::PublicationError::UnknownMunicipality(code) => {
                    WorldError::UnknownMunicipality(code)
                }
                mock_ca::publication::PublicationError::Ca(err) => WorldError::Ca(err),
                // The enum is non-exhaustive; a failure it adds later still reaches the client
                // as `world_unavailable`, with its message.
                other => WorldError::CorruptState {
                    card: "(crl)".into(),
                    what: other.to_string(),
                },
            })
    }

    /// thisUpdate, nextUpdate and cRLNumber of the CRL of `hierarchy` current at `now`, over the
    /// registry as it is now (on the instant cadence the number counts the revocations made by
    /// `now`; see `docs/revocation.md`, cRLNumber).
    pub fn crl_schedule(
        &self,
        hierarchy: Hierarchy,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime, u64) {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let issue = self.publisher.crl_issue(hierarchy, now, &*registry);
        (issue.this_update, issue.next_update, issue.number)
    }

    /// Answers an OCSP request (DER) as of now on the world's cadence, honouring OCSP faults.
    pub fn ocsp(&self, request_der: &[u8]) -> Arc<[u8]> {
        self.publisher.ocsp(self, request_der)
    }

    /// Answers a parsed OCSP request.
    pub fn ocsp_request(&self, request: &OcspRequest) -> Arc<[u8]> {
        self.publisher.ocsp_request(self, request)
    }

    /// Applies a life event: commits it with everything it changes, then updates the card.
    pub fn apply_event(&self, request: &EventRequest) -> Result<EventOutcome, WorldError> {
        self.lifecycle().apply(request)
    }

    /// The parts a life event changes.
    fn lifecycle(&self) -> Lifecycle<'_> {
        Lifecycle {
            writer: &self.writer,
            clock: &self.clock,
            registry: &self.registry,
            cards: &self.cards,
            store: &self.store,
            issuer: &self.issuer,
            keys: &self.keys,
        }
    }

    /// Records the holder's consent (see [`crate::consent`]).
    pub fn grant_consent(&self, grant: &ConsentGrant) -> Result<Consent, ServiceError> {
        self.services().grant_consent(grant)
    }

    /// Withdraws every consent covering `serial`; answers the newest.
    pub fn withdraw_consent(&self, serial: &Serial) -> Result<Consent, ServiceError> {
        self.services().withdraw_consent(serial)
    }

    /// The consents covering `serial` (given with it or a predecessor), oldest first.
    pub fn consents(&self, serial: &Serial) -> Result<Vec<Consent>, ServiceError> {
        self.services().consents(serial)
    }

    /// The latest basic-4-info service for a PF that enrolled `enrolled`.
    pub fn latest_info(&self, enrolled: &Serial) -> Result<LatestInfo, ServiceError> {
        self.services().latest_info(enrolled)
    }

    /// Linkage of a certificate as visible now.
    pub fn linkage(&self, hierarchy: Hierarchy, serial: &Serial) -> Result<Linkage, ServiceError> {
        self.services().linkage(hierarchy, serial)
    }

    /// The status of a certificate as of now.
    pub fn status_view(
        &self,
        hierarchy: Hierarchy,
        serial: &Serial,
    ) -> Result<StatusView, ServiceError> {
        self.services().status_view(hierarchy, serial)
    }

    /// The J-LIS services over this world's registry, store and cards.
    pub(crate) fn services(&self) -> Services<'_> {
        Services {
            registry: &self.registry,
            store: &self.store,
            clock: &self.clock,
            cards: &self.cards,
            writer: &self.writer,
            sign_ca: self.issuer.ca(Hierarchy::Sign),
            linkage_lag: self.linkage_lag,
        }
    }

    /// Issues certificates and personalises a card image for `persona` (see [`Issuer::build`]).
    fn build(
        &self,
        persona: &Persona,
        sign_revision: u32,
        issued_at: OffsetDateTime,
        sign_issued_at: Option<OffsetDateTime>,
        keep_auth: Option<&IssuedCertificate>,
    ) -> Result<Built, WorldError> {
        self.issuer.build(
            &self.keys,
            persona,
            sign_revision,
            issued_at,
            sign_issued_at,
            keep_auth,
        )
    }

    /// Makes `state` and `image` the card's current ones (see [`Cards::install`]).
    fn install(
        &self,
        card: &CardId,
        state: CardState,
        image: CardImage,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        self.cards.install(card, state, image)
    }

    /// Adds or replaces certificate records after they were committed.
    fn publish_records(&self, records: Vec<(CertRecord, Vec<u8>)>) {
        self.registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert_all(records.into_iter().map(|(record, _)| record));
    }

    /// Rebuilds certificates and cards from the store.
    fn restore(&self) -> Result<(), WorldError> {
        let mut ders: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
        {
            let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
            for row in self.store.certificates()? {
                let record = rows::record_from_row(&row)?;
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
            let sign_serial = self.issuer.serial(
                &canonical,
                record.generation,
                record.sign_revision,
                Hierarchy::Sign,
            )?;
            let auth_serial =
                self.issuer
                    .serial(&canonical, record.generation, 0, Hierarchy::Auth)?;
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

/// The persona `card` is provisioned with in `generation`: derived, then overridden.
fn provisioning_persona(
    card: &CardId,
    generation: u32,
    overrides_yaml: Option<&str>,
) -> Result<Persona, WorldError> {
    let persona = Persona::derive(card, generation);
    let Some(yaml) = overrides_yaml else {
        return Ok(persona);
    };
    let overrides =
        PersonaOverrides::from_yaml_str(yaml, "persona overrides").map_err(PersonaError::from)?;
    Ok(persona
        .with_overrides(&overrides)
        .map_err(PersonaError::from)?)
}
