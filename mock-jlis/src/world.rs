//! The world: the simulated CAs, the provisioned cards and the store that makes them durable.
//!
//! Provisioning a card derives its persona (plus overrides), derives or loads its keys, issues its
//! certificates, personalises a [`CardImage`] and restores the card's PIN counters from the store.
//! Derived keys are cached as PKCS#8, so only the first provisioning of a card pays for RSA key
//! generation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use mock_ca::{
    CaKeyRole, CertificateAuthority, Holder, IssuanceRequest, IssuedCertificate, KeyMaterial,
    KeyRole, KeySeed, MunicipalityCode, Serial, SubjectId, SubstituteFlags,
};
use serde::Serialize;
use sim_card::transport::SharedCard;
use sim_card::{Card, CardId, CardImage, PinObserver, PinPersistError, PinSnapshot};
use time::{OffsetDateTime, Time};

pub use mock_ca::Hierarchy;

use crate::overrides::{LoadError, OverrideError, PersonaOverrides};
use crate::persona::Persona;
use crate::personalise::{personalise, CardCredentials, PersonaliseError};
use crate::store::{CardRecord, Store, StoreError};

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
    #[error("stored PIN state of {card} is unreadable")]
    PinState {
        card: CardId,
        #[source]
        source: serde_json::Error,
    },
}

/// Bad persona overrides, from a file or a request body.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Invalid(#[from] OverrideError),
}

/// How to build a world.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The public base URL written into certificates (CRL and OCSP locations).
    pub base_url: String,
}

/// Everything the simulator knows. Shared by the HTTP routes and the card transports.
pub struct World {
    store: Arc<Store>,
    key_cache: Option<Store>,
    sign_ca: CertificateAuthority,
    auth_ca: CertificateAuthority,
    cards: RwLock<BTreeMap<CardId, Arc<ProvisionedCard>>>,
}

/// A card with its persona, certificates and running card OS.
pub struct ProvisionedCard {
    pub persona: Persona,
    pub sign: Option<IssuedCertificate>,
    pub auth: IssuedCertificate,
    card: Arc<Mutex<Card>>,
}

impl World {
    /// Opens a world over `store`. Without a state directory, pass an in-memory store and a
    /// `key_cache` store so key generation is still paid only once per machine.
    pub fn open(
        config: WorldConfig,
        store: Store,
        key_cache: Option<Store>,
    ) -> Result<World, WorldError> {
        let cache = key_cache.as_ref().unwrap_or(&store);
        let seeds = [
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::SignCa),
            KeySeed::for_authority(CA_GENERATION, CaKeyRole::AuthCa),
        ];
        let [sign_key, auth_key] = <[KeyMaterial; 2]>::try_from(derive_keys(cache, &seeds)?)
            .unwrap_or_else(|_| unreachable!("two seeds give two keys"));
        let world = World {
            sign_ca: CertificateAuthority::from_key(
                Hierarchy::Sign,
                CA_GENERATION,
                &config.base_url,
                &sign_key,
            )?,
            auth_ca: CertificateAuthority::from_key(
                Hierarchy::Auth,
                CA_GENERATION,
                &config.base_url,
                &auth_key,
            )?,
            store: Arc::new(store),
            key_cache,
            cards: RwLock::new(BTreeMap::new()),
        };
        for record in world.store.cards()? {
            let Ok(card) = record.card.parse::<CardId>() else {
                tracing::warn!(card = %record.card, "skipping an unparsable card id in the store");
                continue;
            };
            world.provision_generation(&card, record.generation, record.overrides.as_deref())?;
        }
        Ok(world)
    }

    pub fn ca(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        match hierarchy {
            Hierarchy::Sign => &self.sign_ca,
            Hierarchy::Auth => &self.auth_ca,
        }
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
        let generation = self.card(card).map_or(1, |c| c.persona.generation);
        self.provision_generation(card, generation, overrides_yaml)
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

    /// The admin API's view of a card (DESIGN §4).
    pub fn view(&self, card: &ProvisionedCard) -> CardView {
        let certificate = |c: &IssuedCertificate| CertificateView {
            serial: c.serial.to_string(),
            status: "good",
            not_before: c.not_before,
            not_after: c.not_after,
            pem: c.pem(),
        };
        CardView {
            card: card.persona.card_id.clone(),
            generation: card.persona.generation,
            persona: card.persona.clone(),
            certificates: CertificatesView {
                sign: card.sign.as_ref().map(certificate),
                auth: certificate(&card.auth),
            },
        }
    }

    /// Provisions `card` at an explicit generation (renewals and `jpki-sim persona --generation`).
    pub fn provision_generation(
        &self,
        card: &CardId,
        generation: u32,
        overrides_yaml: Option<&str>,
    ) -> Result<Arc<ProvisionedCard>, WorldError> {
        let mut persona = Persona::derive(card, generation);
        if let Some(yaml) = overrides_yaml {
            let overrides = PersonaOverrides::from_yaml_str(yaml, "persona overrides")
                .map_err(PersonaError::from)?;
            persona = persona
                .with_overrides(&overrides)
                .map_err(PersonaError::from)?;
        }
        let canonical = card.to_string();
        let roles = [
            KeyRole::Sign,
            KeyRole::Auth,
            KeyRole::TextAp,
            KeyRole::VisualAp,
            KeyRole::CommonAp,
            KeyRole::JukiAp,
        ];
        let seeds = roles
            .iter()
            .map(|role| KeySeed::for_card(&canonical, generation, *role))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = derive_keys(self.key_cache.as_ref().unwrap_or(&self.store), &seeds)?;
        let [sign_key, auth_key, text_key, visual_key, common_key, juki_key] =
            <[KeyMaterial; 6]>::try_from(keys)
                .unwrap_or_else(|_| unreachable!("six seeds give six keys"));

        let holder = holder(&persona, &canonical, generation)?;
        let issued_at = OffsetDateTime::new_utc(
            persona.card_issued_on,
            Time::from_hms(1, 0, 0).expect("valid time"),
        );
        let request =
            |hierarchy: Hierarchy, key: &KeyMaterial| -> Result<IssuedCertificate, WorldError> {
                Ok(self.ca(hierarchy).issue(&IssuanceRequest {
                    holder: holder.clone(),
                    serial: Serial::for_card(&canonical, generation, hierarchy)?,
                    issued_at,
                    not_after: None,
                    card_expires_on: Some(persona.card_expires_on),
                    subject_public_key: key.spki_der().to_vec(),
                })?)
            };
        let sign = if persona.has_signature_certificate() {
            Some(request(Hierarchy::Sign, &sign_key)?)
        } else {
            None
        };
        let auth = request(Hierarchy::Auth, &auth_key)?;
        let image = personalise(
            &persona,
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
        let card_os = self.card_os(card, generation, Arc::new(image))?;
        self.store.put_card(&CardRecord {
            card: canonical,
            generation,
            overrides: overrides_yaml.map(str::to_owned),
        })?;
        let provisioned = Arc::new(ProvisionedCard {
            persona,
            sign,
            auth,
            card: Arc::new(Mutex::new(card_os)),
        });
        self.cards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(card.clone(), provisioned.clone());
        Ok(provisioned)
    }

    fn card_os(
        &self,
        card: &CardId,
        generation: u32,
        image: Arc<CardImage>,
    ) -> Result<Card, WorldError> {
        let key = card.to_string();
        let pins = match self.store.pin_state(&key, generation)? {
            Some(json) => serde_json::from_str::<PinSnapshot>(&json).map_err(|source| {
                WorldError::PinState {
                    card: card.clone(),
                    source,
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
}

impl ProvisionedCard {
    /// One APDU exchange with the card (the HTTP bridge and in-process clients).
    pub fn transmit(&self, command: &[u8]) -> Vec<u8> {
        self.card
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transmit(command)
    }

    /// The card for transports (vpcd) that share it with the bridge.
    pub fn shared(&self) -> SharedCard {
        self.card.clone()
    }
}

/// The JSON view of a card: `GET /admin/v1/cards/{card}` and `jpki-sim persona --json`.
#[derive(Debug, Serialize)]
pub struct CardView {
    pub card: CardId,
    pub generation: u32,
    pub persona: Persona,
    pub certificates: CertificatesView,
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
    /// Revocation status; every certificate is good until life events exist.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub pem: String,
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
