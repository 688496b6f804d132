//! The world a load run drives: one in-memory world with a frozen clock, served on a free
//! loopback port (the PF reaches OCSP, CRLs and J-LIS over HTTP), its cards provisioned with
//! progress on stderr, and per card what the operations need, computed once: the certificate,
//! a signed challenge, a signed consent, the holder's basic 4 info.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::digest;
use mock_jlis::clock::ClockMode;
use mock_jlis::persona::yyyymmdd;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig, WorldError};
use sim_card::CardId;
use x509_cert::der::Decode;
use x509_cert::Certificate;

use super::progress::Meter;
use super::LoadError;
use adapter_protocol::{CardHandle, Environment};
use reference::channel::InProcessChannel;
use reference::sdk::ReferenceSdk;
use served_world::Server;
use served_world::{correct_pin, DEFAULT_START};
use vocab::SdkData;
use vocab::{BasicInfo, Consent, EnrolRequest, PfEnvironment};
use vocab::{CertificateSlot, HashAlgorithm, KeyKind, PinKind};

/// The first four bytes of every load card's IDm: "LOAD" in ASCII. The other four count, so
/// `--cards N` always means the same N cards and the key cache serves every run after the first.
const CARD_PREFIX: u64 = 0x4C4F_4144_0000_0000;

/// The served world and its prepared cards.
pub struct LoadWorld {
    /// The world the cards live in.
    pub world: Arc<World>,
    /// The world's server on loopback; the SUT reaches the world through it.
    pub server: Server,
    /// The cards, by index.
    pub cards: Vec<LoadCard>,
}

/// One card and what the operations send for it, prepared before the measured phase.
pub struct LoadCard {
    /// The card's place in [`LoadWorld::cards`], which names its enrolment (`load-<index>`).
    pub index: usize,
    /// The card.
    pub card: Arc<ProvisionedCard>,
    /// Always in its reader.
    pub present: Arc<AtomicBool>,
    /// How an SDK adapter reaches it: the world server's APDU bridge.
    pub handle: CardHandle,
    /// The enrolment a PF is asked for: `load-<index>`, the key's certificate, a challenge
    /// signed by the card.
    pub enrolment: EnrolRequest,
    /// The key's RSAPublicKey, for checking the signatures of `sign`.
    pub public_key: Vec<u8>,
    /// The PIN or password of the key.
    pub pin: String,
    /// A consent to the latest-info service signed with the signature key (`latest-info` only).
    pub consent: Option<Consent>,
    /// The holder's basic 4 info as J-LIS must answer it (birth date as digits).
    pub info: BasicInfo,
}

impl LoadWorld {
    /// Opens the world, serves it, and provisions and prepares `cards` cards using `key`, on
    /// every core: keys from the pool of `key_pool` (or each card its own).
    pub fn open(
        cards: usize,
        key: KeyKind,
        consent: bool,
        key_cache: Option<&Path>,
        key_pool: Option<NonZeroU32>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<LoadWorld, LoadError> {
        let (world, server) = served_world::serve_on_loopback(
            |base_url| open_world(base_url, key_cache, key_pool),
            runtime,
            None,
        )?;
        let base_url = server.url();
        let meter = Meter::new("provisioning cards", cards as u64);
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let slots: Mutex<Vec<Option<LoadCard>>> = Mutex::new((0..cards).map(|_| None).collect());
        let first_error: Mutex<Option<LoadError>> = Mutex::new(None);
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(cards.max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while !failed.load(Ordering::SeqCst) {
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        if index >= cards {
                            break;
                        }
                        let id = card_id(index);
                        let prepared = world
                            .provision(&id, None)
                            .map_err(LoadError::from)
                            .and_then(|card| prepare(index, &id, card, key, consent, &base_url));
                        match prepared {
                            Ok(card) => {
                                lock(&slots)[index] = Some(card);
                                let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                                meter.set(finished as u64, String::new());
                            }
                            Err(err) => {
                                failed.store(true, Ordering::SeqCst);
                                lock(&first_error).get_or_insert(err);
                            }
                        }
                    }
                });
            }
        });
        if let Some(err) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(err);
        }
        let prepared: Vec<LoadCard> = slots
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .flatten()
            .collect();
        let keys = match key_pool {
            Some(pool) => format!("keys from a pool of {pool}"),
            None => "distinct keys".to_owned(),
        };
        meter.finish(&format!("cards provisioned: {cards} ({keys})"));
        Ok(LoadWorld {
            world,
            server,
            cards: prepared,
        })
    }

    /// What the reference PF is told.
    pub fn pf_environment(&self) -> PfEnvironment {
        served_world::pf_environment(&self.world, &self.server)
    }

    /// What an adapter is told in `hello`: every card, for an SDK.
    pub fn adapter_environment(&self) -> Environment {
        let cards = self.cards.iter().map(|card| card.handle.clone()).collect();
        served_world::adapter_environment(&self.world, &self.server, cards)
    }
}

/// The lock's value, whatever a panicking holder left (each slot is written whole).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Card `index` of every load run: `felica:4C4F4144` and the index in eight hex digits.
pub fn card_id(index: usize) -> CardId {
    let idm = CARD_PREFIX | (index as u64 & 0xFFFF_FFFF);
    format!("felica:{idm:016X}")
        .parse()
        .unwrap_or_else(|_| unreachable!("16 hex digits are an IDm"))
}

fn prepare(
    index: usize,
    id: &CardId,
    card: Arc<ProvisionedCard>,
    key: KeyKind,
    consent: bool,
    base_url: &str,
) -> Result<LoadCard, LoadError> {
    let persona = card.state().persona;
    let present = Arc::new(AtomicBool::new(true));
    let failed = |what: &str, detail: String| LoadError::Preparation {
        card: id.to_string(),
        what: what.to_owned(),
        detail,
    };
    let mut sdk = ReferenceSdk::new(InProcessChannel::new(card.clone(), present.clone()));
    let (slot, pin_kind) = match key {
        KeyKind::Sign => (CertificateSlot::Sign, PinKind::Sign),
        KeyKind::Auth => (CertificateSlot::Auth, PinKind::Auth),
    };
    let pin = correct_pin(&persona, pin_kind);
    let sign = |sdk: &mut ReferenceSdk<InProcessChannel>, key, pin: &str, data: &[u8]| match sdk
        .sign(key, data, HashAlgorithm::Sha256, Some(pin.as_bytes()))
    {
        Ok(outcome) => match outcome.data {
            Some(SdkData::Signature(signature)) => Ok(signature),
            _ => Err(format!("status {}", outcome.status)),
        },
        Err(err) => Err(err.to_string()),
    };
    let password = (key == KeyKind::Sign).then_some(pin.as_bytes());
    let certificate = match sdk.read_certificate(slot, password) {
        Ok(outcome) => match outcome.data {
            Some(SdkData::Certificate(der)) => der,
            _ => {
                return Err(failed(
                    "reading its certificate",
                    format!("status {}", outcome.status),
                ))
            }
        },
        Err(err) => return Err(failed("reading its certificate", err.to_string())),
    };
    let public_key = Certificate::from_der(&certificate)
        .map_err(|err| failed("parsing its certificate", err.to_string()))?
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let challenge = digest::digest(
        &digest::SHA256,
        format!("jpki-sim load challenge {index}").as_bytes(),
    )
    .as_ref()
    .to_vec();
    let signature = sign(&mut sdk, key, &pin, &challenge).map_err(|err| failed("signing", err))?;
    let name = format!("load-{index}");
    let consent = if consent {
        let document = format!(
            "jpki-sim consent: the holder of enrolment {name} of a load run consents to the latest \
             basic 4 info service"
        )
        .into_bytes();
        let password = correct_pin(&persona, PinKind::Sign);
        let signature = sign(&mut sdk, KeyKind::Sign, &password, &document)
            .map_err(|err| failed("signing the consent", err))?;
        Some(Consent {
            document,
            signature,
        })
    } else {
        None
    };
    Ok(LoadCard {
        index,
        handle: CardHandle {
            index,
            id: id.to_string(),
            bridge: format!("{base_url}/cards/{id}/apdu"),
            reader: None,
        },
        enrolment: EnrolRequest {
            name,
            key,
            certificate,
            intermediates: Vec::new(),
            data: challenge,
            hash: HashAlgorithm::Sha256,
            signature,
        },
        public_key,
        pin,
        consent,
        info: BasicInfo {
            name: persona.name.clone(),
            address: persona.address.clone(),
            birth_date: yyyymmdd(persona.birth_date),
            sex: persona.sex.code().to_string(),
            name_substitute_flags: Some(persona.name_substitute_flags.clone()),
            address_substitute_flags: Some(persona.address_substitute_flags.clone()),
        },
        card,
        present,
    })
}

fn open_world(
    base_url: &str,
    key_cache: Option<&Path>,
    key_pool: Option<NonZeroU32>,
) -> Result<World, WorldError> {
    let mut config = WorldConfig::new(base_url);
    config.clock = Some(ClockMode::Frozen { at: DEFAULT_START });
    config.key_pool = key_pool;
    let world = World::open(
        config,
        Store::in_memory()?,
        served_world::open_key_cache(key_cache),
    )?;
    // Every pool key at once, on every core, before any card needs one.
    world.prepare_key_pool()?;
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_cards_have_fixed_ids() {
        assert_eq!(card_id(0).to_string(), "felica:4C4F414400000000");
        assert_eq!(card_id(255).to_string(), "felica:4C4F4144000000FF");
    }
}
