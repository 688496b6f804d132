//! Scenario cards in real PC/SC readers (`jpki-sim run --pcsc`, docs/pcsc.md): each card of a
//! scenario that has `sdk` steps goes into a vpcd reader of `pcscd` for the scenario's length,
//! so that an SDK under test reaches it through the PC/SC stack as it would a physical card.
//!
//! Readers are leased: a scenario takes as many as it has cards (card i in the i-th reader
//! configured), holds them until it ends, and hands them back empty (pcscd shows no card). A
//! lease is an exclusive lock on one file per reader under the temporary directory
//! ([`lock_path`]), so that scenarios running at once, a second `jpki-sim run --pcsc` and the
//! PC/SC tests never put two cards in one reader.
//!
//! The card in a reader is the world's card object itself (the one the APDU bridge reaches),
//! wrapped so that every APDU `pcscd` relays lands in the scenario's trace.

use std::fs::File;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sim_card::transport::vpcd::{Backoff, VpcdClient};
use sim_card::transport::{SharedCard, VirtualCard};

use super::trace::{Trace, TraceEntry, TracingChannel};
use super::world::ScenarioWorld;
use reference::channel::pcsc::{Context, PcscChannel, PcscError};
use reference::channel::{CardChannel, ChannelError};

/// How long pcscd may take to see a card come or go: it polls vpcd readers every 400 ms.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a scenario waits for free readers before it gives up (other processes may hold
/// them for a whole test run).
const LEASE_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a leased reader may take to show empty before its card counts as a stray.
const STRAY_SETTLE: Duration = Duration::from_secs(1);

/// How long a scenario waits for a stray card (one no lease put there) to leave its reader.
const STRAY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a waiting scenario tries the reader locks again.
const LEASE_RETRY: Duration = Duration::from_millis(100);

/// One reader a scenario card can be put in: vpcd's listening address for that slot, and the
/// name `pcscd` gives the reader (what PC/SC applications select it by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSlot {
    /// The reader's name as `pcscd` lists it.
    pub name: String,
    /// Where vpcd listens for this slot's card.
    pub vpcd: SocketAddr,
}

impl ReaderSlot {
    /// The four readers `scripts/pcscd.sh` configures: two vpcd stanzas of two slots each.
    pub fn pcscd_sh() -> Vec<ReaderSlot> {
        [
            ("Virtual PCD 00 00", 35963),
            ("Virtual PCD 00 01", 35964),
            ("Virtual PCD B 00 00", 35965),
            ("Virtual PCD B 00 01", 35966),
        ]
        .into_iter()
        .map(|(name, port)| ReaderSlot {
            name: name.to_owned(),
            vpcd: SocketAddr::from(([127, 0, 0, 1], port)),
        })
        .collect()
    }

    /// `NAME=HOST:PORT`, as `--reader` takes it: the reader name as pcscd lists it
    /// (`opensc-tool -l`), and its vpcd slot's address.
    pub fn parse(text: &str) -> Result<ReaderSlot, String> {
        let (name, address) = text.rsplit_once('=').ok_or_else(|| {
            format!("{text:?} is not NAME=HOST:PORT (e.g. \"Virtual PCD 00 00=127.0.0.1:35963\")")
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{text:?}: the reader name is empty"));
        }
        let vpcd = address
            .trim()
            .to_socket_addrs()
            .map_err(|err| format!("{text:?}: {address:?} is not HOST:PORT ({err})"))?
            .next()
            .ok_or_else(|| format!("{text:?}: {address:?} resolves to no address"))?;
        Ok(ReaderSlot {
            name: name.to_owned(),
            vpcd,
        })
    }

    /// The lock file that leases this reader.
    pub fn lock_path(&self) -> PathBuf {
        lock_path(self.vpcd.port())
    }
}

/// The lock file of the reader on vpcd port `port`: whoever holds an exclusive lock on it
/// (`flock`) may put a card in that reader. Keyed by port, the one thing every user of a vpcd
/// slot knows.
pub fn lock_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("jpki-sim-vpcd-{port}.lock"))
}

/// Opens and locks `port`'s reader lock, waiting for other holders: what a test that puts
/// its own cards in readers takes.
pub fn lock_reader(port: u16) -> std::io::Result<File> {
    let file = open_lock(&lock_path(port))?;
    file.lock()?;
    Ok(file)
}

/// Readers could not be leased, or pcscd did not see a card come or go.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The scenario has more cards than readers were configured.
    #[error(
        "the scenario has {cards} cards but only {} PC/SC reader{} configured ({}): give more with --reader NAME=HOST:PORT",
        .configured.len(),
        if .configured.len() == 1 { " is" } else { "s are" },
        .configured.join(", ")
    )]
    TooFew {
        /// How many cards the scenario has.
        cards: usize,
        /// The readers configured.
        configured: Vec<String>,
    },
    /// Others held the readers for the whole wait.
    #[error(
        "readers {} did not come free within {} s (lock files held: {})",
        .wanted.join(", "),
        .waited.as_secs(),
        .held.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Busy {
        /// The readers the scenario needs.
        wanted: Vec<String>,
        /// How long it waited.
        waited: Duration,
        /// The lock files held by others.
        held: Vec<PathBuf>,
    },
    /// A reader's lock file cannot be opened or locked.
    #[error("cannot lock {}", .path.display())]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// Why it could not be opened or locked.
        #[source]
        source: std::io::Error,
    },
    /// Asking `pcscd` about the readers failed.
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    /// A card no lease put there sits in a reader the scenario needs.
    #[error(
        "reader {reader:?} kept showing a card for {} s though no lease held it: something attached a card to vpcd port {port} without taking its lock ({})",
        STRAY_TIMEOUT.as_secs(),
        lock_path(*.port).display()
    )]
    Occupied {
        /// The reader.
        reader: String,
        /// Its vpcd port.
        port: u16,
    },
    /// pcscd did not see the card that was put in.
    #[error(
        "pcscd did not show card {card} in reader {reader:?} within {} s of attaching it to vpcd {vpcd}",
        PRESENCE_TIMEOUT.as_secs()
    )]
    NotPresent {
        /// The card, as an index into the scenario's `cards`.
        card: usize,
        /// The reader it was put in.
        reader: String,
        /// The vpcd address it was attached to.
        vpcd: SocketAddr,
    },
    /// pcscd kept showing a card that was taken out.
    #[error(
        "pcscd still showed card {card} in reader {reader:?} {} s after it was taken out",
        PRESENCE_TIMEOUT.as_secs()
    )]
    NotEmpty {
        /// The card, as an index into the scenario's `cards`.
        card: usize,
        /// The reader.
        reader: String,
    },
    /// The vpcd client for the card could not start.
    #[error("cannot attach card {card} to vpcd {vpcd}")]
    Attach {
        /// The card, as an index into the scenario's `cards`.
        card: usize,
        /// The vpcd address.
        vpcd: SocketAddr,
        /// Why the client could not connect.
        #[source]
        source: std::io::Error,
    },
}

/// A scenario's cards in their leased readers. Dropping it takes every card out, waits until
/// pcscd shows the readers empty, and only then releases the leases.
pub struct Readers {
    context: Context,
    cards: Vec<CardInReader>,
    /// The lock files, released last.
    _locks: Vec<File>,
}

struct CardInReader {
    slot: ReaderSlot,
    card: SharedCard,
    client: Option<VpcdClient>,
    /// The reference SDK's connection, when it plays the SDK in process.
    channel: PcscChannel,
}

impl Readers {
    /// Leases the first reader configured for card 0, the second for card 1, ... (waiting
    /// while others hold them), puts each card in its reader, and waits until pcscd shows every
    /// one. Fixed places, as `jpki-sim up` attaches card i to port PORT+i: card 0 is always in
    /// the first reader, which is where tools that take the first reader look.
    pub fn attach(
        world: &ScenarioWorld,
        readers: &[ReaderSlot],
        trace: &Trace,
    ) -> Result<Readers, ReaderError> {
        let count = world.cards.len();
        if count > readers.len() {
            return Err(ReaderError::TooFew {
                cards: count,
                configured: readers.iter().map(|r| r.name.clone()).collect(),
            });
        }
        let context = Context::establish()?;
        let slots = &readers[..count];
        let locks = lease_empty(&context, slots)?;
        let mut attached = Readers {
            context,
            cards: Vec::with_capacity(count),
            _locks: locks,
        };
        for (index, (card, slot)) in world.cards.iter().zip(slots.iter().cloned()).enumerate() {
            let traced: SharedCard = Arc::new(Mutex::new(TracingCard::new(
                card.shared(),
                index,
                trace.clone(),
            )));
            attached.cards.push(CardInReader {
                channel: PcscChannel::new(&slot.name),
                slot,
                card: traced,
                client: None,
            });
        }
        let started = Instant::now();
        for index in 0..count {
            attached.connect(index)?;
        }
        for index in 0..count {
            attached.await_presence(index, true)?;
            trace.push(TraceEntry::World {
                action: format!(
                    "card {index} in reader {:?} (pcscd showed it after {} ms)",
                    attached.cards[index].slot.name,
                    started.elapsed().as_millis()
                ),
            });
        }
        Ok(attached)
    }

    /// The reader card `index` is in, by the name PC/SC applications know it by.
    pub fn reader(&self, index: usize) -> Option<&str> {
        self.cards.get(index).map(|card| card.slot.name.as_str())
    }

    /// Takes card `index` out of its reader and waits until pcscd shows the reader empty;
    /// how long that took.
    pub fn remove(&mut self, index: usize) -> Result<Duration, ReaderError> {
        let started = Instant::now();
        let Some(card) = self.cards.get_mut(index) else {
            return Ok(Duration::ZERO);
        };
        card.channel.disconnect();
        if let Some(client) = card.client.take() {
            client.stop();
        }
        self.await_presence(index, false)?;
        Ok(started.elapsed())
    }

    /// Puts card `index` back in its reader and waits until pcscd shows it; how long that took.
    pub fn insert(&mut self, index: usize) -> Result<Duration, ReaderError> {
        let started = Instant::now();
        if self
            .cards
            .get(index)
            .is_none_or(|card| card.client.is_some())
        {
            return Ok(Duration::ZERO);
        }
        self.connect(index)?;
        self.await_presence(index, true)?;
        Ok(started.elapsed())
    }

    /// The reference SDK's PC/SC connection to card `index`.
    pub fn channel(&mut self, index: usize) -> Option<&mut PcscChannel> {
        self.cards.get_mut(index).map(|card| &mut card.channel)
    }

    fn connect(&mut self, index: usize) -> Result<(), ReaderError> {
        let card = &mut self.cards[index];
        let client = VpcdClient::spawn(card.slot.vpcd, card.card.clone(), Backoff::default())
            .map_err(|source| ReaderError::Attach {
                card: index,
                vpcd: card.slot.vpcd,
                source,
            })?;
        card.client = Some(client);
        Ok(())
    }

    fn await_presence(&self, index: usize, present: bool) -> Result<(), ReaderError> {
        let slot = &self.cards[index].slot;
        if self
            .context
            .wait_for(&slot.name, present, PRESENCE_TIMEOUT)?
        {
            Ok(())
        } else if present {
            Err(ReaderError::NotPresent {
                card: index,
                reader: slot.name.clone(),
                vpcd: slot.vpcd,
            })
        } else {
            Err(ReaderError::NotEmpty {
                card: index,
                reader: slot.name.clone(),
            })
        }
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        for card in &mut self.cards {
            card.channel.disconnect();
            if let Some(client) = card.client.take() {
                client.stop();
            }
        }
        for index in 0..self.cards.len() {
            if let Err(err) = self.await_presence(index, false) {
                tracing::warn!(error = %err, "a reader is handed back with a card still showing");
            }
        }
    }
}

/// Leases `readers` (all of them) once pcscd shows them empty. The previous holder of a lease
/// waited for its cards to go, so a card still showing was put there by something that takes
/// no lock (a `jpki-sim up` of its own): the lease waits for it to go, up to [`STRAY_TIMEOUT`].
fn lease_empty(context: &Context, readers: &[ReaderSlot]) -> Result<Vec<File>, ReaderError> {
    let started = Instant::now();
    let mut warned = false;
    loop {
        let locks = lease(readers, LEASE_TIMEOUT)?;
        let mut stray = None;
        for slot in readers {
            // A card whose holder just died is gone at pcscd's next poll (400 ms).
            if !context.wait_for(&slot.name, false, STRAY_SETTLE)? {
                stray = Some(slot);
                break;
            }
        }
        let Some(stray) = stray else {
            return Ok(locks);
        };
        drop(locks);
        if started.elapsed() > STRAY_TIMEOUT {
            return Err(ReaderError::Occupied {
                reader: stray.name.clone(),
                port: stray.vpcd.port(),
            });
        }
        if !warned {
            tracing::warn!(reader = %stray.name, "a card no lease put there is in the reader; waiting for it to go");
            warned = true;
        }
        std::thread::sleep(STRAY_SETTLE);
    }
}

/// Locks every one of `readers`, all or none at a time so that two scenarios waiting for
/// readers never hold half each. Waits up to `timeout` while others hold any of them.
fn lease(readers: &[ReaderSlot], timeout: Duration) -> Result<Vec<File>, ReaderError> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut locks = Vec::with_capacity(readers.len());
        let mut held = Vec::new();
        for slot in readers {
            let path = slot.lock_path();
            let file = open_lock(&path).map_err(|source| ReaderError::LockFile {
                path: path.clone(),
                source,
            })?;
            match file.try_lock() {
                Ok(()) => locks.push(file),
                Err(std::fs::TryLockError::WouldBlock) => held.push(path),
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(ReaderError::LockFile { path, source })
                }
            }
        }
        if held.is_empty() {
            return Ok(locks);
        }
        drop(locks);
        if Instant::now() >= deadline {
            return Err(ReaderError::Busy {
                wanted: readers.iter().map(|r| r.name.clone()).collect(),
                waited: timeout,
                held,
            });
        }
        std::thread::sleep(LEASE_RETRY);
    }
}

fn open_lock(path: &std::path::Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// A world card as vpcd serves it: the same card object, with every APDU recorded in the
/// scenario's trace.
struct TracingCard {
    card: SharedCard,
    traced: TracingChannel<SharedChannel>,
}

impl TracingCard {
    fn new(card: SharedCard, index: usize, trace: Trace) -> TracingCard {
        TracingCard {
            traced: TracingChannel::new(SharedChannel(card.clone()), index, trace),
            card,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn VirtualCard) -> T) -> T {
        let mut card = self.card.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut *card)
    }
}

impl VirtualCard for TracingCard {
    fn atr(&self) -> Vec<u8> {
        self.with(|card| card.atr())
    }
    fn power_on(&mut self) {
        self.with(|card| card.power_on())
    }
    fn power_off(&mut self) {
        self.with(|card| card.power_off())
    }
    fn reset(&mut self) {
        self.with(|card| card.reset())
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        // The shared channel always answers; `6F 00` would only stand for a bug here.
        self.traced
            .transmit(command)
            .unwrap_or_else(|_| vec![0x6F, 0x00])
    }
}

/// The shared card as a [`CardChannel`], for [`TracingChannel`].
struct SharedChannel(SharedCard);

impl CardChannel for SharedChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .transmit(apdu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_flag_takes_name_and_vpcd_address() {
        let slot = ReaderSlot::parse("Virtual PCD 00 01=127.0.0.1:35964").unwrap();
        assert_eq!(slot.name, "Virtual PCD 00 01");
        assert_eq!(slot.vpcd, SocketAddr::from(([127, 0, 0, 1], 35964)));
        assert_eq!(slot, ReaderSlot::pcscd_sh()[1]);
        // A name may contain `=`; the address is what follows the last one.
        assert_eq!(
            ReaderSlot::parse("A=B=127.0.0.1:1").unwrap().name,
            "A=B".to_owned()
        );
    }

    #[test]
    fn malformed_reader_flags_say_what_is_wrong() {
        let missing = ReaderSlot::parse("Virtual PCD 00 00").unwrap_err();
        assert!(missing.contains("is not NAME=HOST:PORT"), "{missing}");
        let no_name = ReaderSlot::parse(" =127.0.0.1:35963").unwrap_err();
        assert!(no_name.contains("the reader name is empty"), "{no_name}");
        let no_port = ReaderSlot::parse("R=127.0.0.1").unwrap_err();
        assert!(no_port.contains("is not HOST:PORT"), "{no_port}");
    }

    #[test]
    fn too_few_readers_names_the_configured_ones() {
        let err = ReaderError::TooFew {
            cards: 2,
            configured: vec!["Virtual PCD 00 00".to_owned()],
        };
        assert_eq!(
            err.to_string(),
            "the scenario has 2 cards but only 1 PC/SC reader is configured (Virtual PCD 00 00): give more with --reader NAME=HOST:PORT"
        );
    }

    /// Readers on ports no one else uses, so the test never waits for a real run's leases.
    fn test_readers(ports: &[u16]) -> Vec<ReaderSlot> {
        ports
            .iter()
            .map(|&port| ReaderSlot {
                name: format!("test reader {port}"),
                vpcd: SocketAddr::from(([127, 0, 0, 1], port)),
            })
            .collect()
    }

    #[test]
    fn leases_are_exclusive_across_holders() {
        let readers = test_readers(&[1, 2, 3]);
        let _first = lease(&readers[..2], Duration::ZERO).unwrap();
        // A scenario wanting either leased reader waits, then says who holds them.
        for wanted in [&readers[..2], &readers[..1]] {
            match lease(wanted, Duration::ZERO).unwrap_err() {
                ReaderError::Busy { held, .. } => {
                    let expected: Vec<_> = wanted.iter().map(ReaderSlot::lock_path).collect();
                    assert_eq!(held, expected);
                }
                other => panic!("expected Busy, got {other}"),
            }
        }
        assert!(lease(&readers[2..], Duration::ZERO).is_ok());
    }

    #[test]
    fn a_lease_is_all_or_nothing_and_released_when_dropped() {
        let readers = test_readers(&[4, 5]);
        let held = lease(&readers[1..], Duration::ZERO).unwrap();
        // Reader 4 is free but reader 5 is not: nothing stays locked by the failed attempt.
        assert!(lease(&readers, Duration::ZERO).is_err());
        let only = lease(&readers[..1], Duration::ZERO).unwrap();
        drop(only);
        drop(held);
        assert!(lease(&readers, Duration::ZERO).is_ok());
    }

    #[test]
    fn a_lease_waits_for_a_reader_another_holder_frees() {
        let readers = test_readers(&[6]);
        let held = lock_reader(6).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        assert!(lease(&readers, Duration::from_secs(10)).is_ok());
        releaser.join().unwrap();
    }
}
