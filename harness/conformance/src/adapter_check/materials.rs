//! What the probes need from a world: one served world with one card, the card's certificates
//! and signatures made in process (so that an `enrol` probe carries a real chain and a real
//! signature), and the handle an SDK adapter reaches the card by.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use adapter_protocol::{CardHandle, Environment};
use mock_jlis::clock::ClockMode;
use mock_jlis::persona::Persona;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig};
use reference::channel::InProcessChannel;
use reference::sdk::ReferenceSdk;
use served_world::Server;
use sim_card::CardId;
use vocab::{CertificateSlot, HashAlgorithm, KeyKind, PinKind, SdkData};

use super::CheckError;

/// The card every probe uses.
pub const CARD: &str = "felica:0123456789ABCDEF";

/// The world the adapter is pointed at, kept up for the whole check.
pub struct Materials {
    /// Kept alive: the server runs on it.
    _runtime: tokio::runtime::Runtime,
    world: Arc<World>,
    server: Server,
    card: Arc<ProvisionedCard>,
}

/// A certificate of the card and a signature of its key over some data.
pub struct Signed {
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The data signed.
    pub data: Vec<u8>,
    /// PKCS#1 v1.5 over the SHA-256 DigestInfo of `data`.
    pub signature: Vec<u8>,
}

impl Materials {
    /// A world frozen at the harness's usual start, served on loopback, with [`CARD`].
    pub fn new(key_cache: Option<&Path>) -> Result<Materials, CheckError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(CheckError::Runtime)?;
        let (world, server) = served_world::serve_on_loopback(
            |base_url| {
                let mut config = WorldConfig::new(base_url);
                config.clock = Some(ClockMode::Frozen {
                    at: served_world::DEFAULT_START,
                });
                let cache = served_world::open_key_cache(key_cache);
                World::open(config, Store::in_memory()?, cache)
            },
            runtime.handle(),
            None,
        )
        .map_err(|err| CheckError::World(err.to_string()))?;
        let id: CardId = CARD
            .parse()
            .map_err(|err| CheckError::World(format!("{CARD}: {err}")))?;
        let card = world
            .provision(&id, None)
            .map_err(|err| CheckError::World(err.to_string()))?;
        Ok(Materials {
            _runtime: runtime,
            world,
            server,
            card,
        })
    }

    /// What `hello` tells the adapter; an SDK gets [`Materials::card_handle`].
    pub fn environment(&self, cards: Vec<CardHandle>) -> Environment {
        served_world::adapter_environment(&self.world, &self.server, cards)
    }

    /// The card as an SDK adapter reaches it: the world's own APDU bridge.
    pub fn card_handle(&self) -> CardHandle {
        CardHandle {
            index: 0,
            id: CARD.to_owned(),
            bridge: format!("{}/cards/{CARD}/apdu", self.server.url()),
            reader: None,
        }
    }

    /// The holder's persona (its PINs and my number).
    pub fn persona(&self) -> Persona {
        self.card.state().persona
    }

    /// The right value of `pin`.
    pub fn pin(&self, pin: PinKind) -> String {
        served_world::correct_pin(&self.persona(), pin)
    }

    /// The card's `key` certificate and its signature over `data`, made through the card's
    /// APDU interface in process.
    pub fn signed(&self, key: KeyKind, data: &[u8]) -> Result<Signed, CheckError> {
        let channel = InProcessChannel::new(self.card.clone(), Arc::new(AtomicBool::new(true)));
        let mut sdk = ReferenceSdk::new(channel);
        let (slot, pin) = match key {
            KeyKind::Auth => (CertificateSlot::Auth, self.pin(PinKind::Auth)),
            KeyKind::Sign => (CertificateSlot::Sign, self.pin(PinKind::Sign)),
        };
        let password = (key == KeyKind::Sign).then_some(pin.as_bytes());
        let certificate = match sdk.read_certificate(slot, password) {
            Ok(outcome) => match outcome.data {
                Some(SdkData::Certificate(der)) => der,
                _ => {
                    return Err(CheckError::World(format!(
                        "the card did not give its {key:?} certificate: {}",
                        outcome.status
                    )))
                }
            },
            Err(err) => return Err(CheckError::World(err.to_string())),
        };
        let signature = match sdk.sign(key, data, HashAlgorithm::Sha256, Some(pin.as_bytes())) {
            Ok(outcome) => match outcome.data {
                Some(SdkData::Signature(signature)) => signature,
                _ => {
                    return Err(CheckError::World(format!(
                        "the card did not sign with its {key:?} key: {}",
                        outcome.status
                    )))
                }
            },
            Err(err) => return Err(CheckError::World(err.to_string())),
        };
        Ok(Signed {
            certificate,
            data: data.to_vec(),
            signature,
        })
    }
}
