//! The card side of vsmartcard's vpcd protocol (`docs/pcsc.md`).
//!
//! vpcd is an IFD handler inside `pcscd` that listens on TCP (default port 35963 for reader
//! `Virtual PCD 00 00`); the card is the TCP client. Every message in both directions is a 2-byte
//! big-endian length and a payload. A 1-byte payload is a control code (0 power off, 1 power on,
//! 2 reset, 4 get ATR; only 4 is answered); a longer one is a command APDU, answered with the
//! response APDU. Connecting is inserting the card, closing the socket is removing it.
//!
//! Two facts shape this client: vpcd writes a frame's length and payload separately, so without
//! `TCP_QUICKACK` re-armed after every read each APDU stalls ~40 ms on a delayed ACK; and vpcd has
//! no timeouts and serialises all its readers, so the card must answer every request and must
//! never send an empty frame (that hangs the driver).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::SharedCard;

/// vpcd's default listening port (slot 0 of the Debian reader stanza).
pub const DEFAULT_PORT: u16 = 35963;

/// Control codes vpcd sends as 1-byte payloads.
mod control {
    pub const POWER_OFF: u8 = 0x00;
    pub const POWER_ON: u8 = 0x01;
    pub const RESET: u8 = 0x02;
    pub const GET_ATR: u8 = 0x04;
}

/// Why a vpcd connection ended. Each ends that connection only; the client reconnects.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// vpcd closed the socket (pcscd stopped or the reader went away); not counted as a
    /// protocol error.
    #[error("vpcd closed the connection")]
    Closed,
    /// vpcd sent a frame of length 0.
    #[error("vpcd sent a zero-length frame, which the protocol never uses")]
    EmptyFrame,
    /// The card produced no bytes for a request (it left the field: a `pulled` card fault);
    /// sending that frame would hang the driver, so the connection is dropped, which the
    /// reader sees as the card removed, and the card is inserted again.
    #[error("the card answered nothing: it left the reader's field")]
    EmptyResponse,
    /// Reading or writing the socket failed for another reason.
    #[error("vpcd I/O failed")]
    Io(#[from] io::Error),
}

/// Reconnection backoff when vpcd (pcscd) is not listening yet or went away.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first wait before connecting again (default 50 ms); it doubles with every failed
    /// attempt in a row.
    pub initial: Duration,
    /// The longest wait between attempts (default 1 s).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
        }
    }
}

/// Statistics a running client exposes, for tests and the `up` status line.
#[derive(Debug, Default)]
pub struct VpcdStats {
    /// Connections made to vpcd (card insertions), reconnections included.
    pub connections: std::sync::atomic::AtomicU64,
    /// Command APDUs answered (control codes not counted).
    pub apdus: std::sync::atomic::AtomicU64,
    /// Connections that ended on an error other than vpcd closing the socket.
    pub protocol_errors: std::sync::atomic::AtomicU64,
}

/// A card attached to one vpcd slot, served on a background thread until dropped or stopped.
pub struct VpcdClient {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
    stats: Arc<VpcdStats>,
    thread: Option<JoinHandle<()>>,
}

impl VpcdClient {
    /// Starts serving `card` to the vpcd listener at `addr`, reconnecting with `backoff` whenever
    /// the connection fails or ends.
    pub fn spawn(addr: impl ToSocketAddrs, card: SharedCard, backoff: Backoff) -> io::Result<Self> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "vpcd address resolved to nothing",
            )
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stream = Arc::new(Mutex::new(None));
        let stats = Arc::new(VpcdStats::default());
        let worker = Worker {
            addr,
            card,
            backoff,
            stop: stop.clone(),
            stream: stream.clone(),
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("vpcd-{}", addr.port()))
            .spawn(move || worker.run())?;
        Ok(VpcdClient {
            addr,
            stop,
            stream,
            stats,
            thread: Some(thread),
        })
    }

    /// The vpcd listener the card is attached to (its port names the reader slot).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters of the running client, updated by its background thread.
    pub fn stats(&self) -> &VpcdStats {
        &self.stats
    }

    /// Removes the card (closes the socket) and ends the background thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(stream) = self
            .stream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for VpcdClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    addr: SocketAddr,
    card: SharedCard,
    backoff: Backoff,
    stop: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
    stats: Arc<VpcdStats>,
}

impl Worker {
    fn run(self) {
        let mut delay = self.backoff.initial;
        let mut last_refused_logged = false;
        while !self.stop.load(Ordering::SeqCst) {
            match TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)) {
                Ok(stream) => {
                    delay = self.backoff.initial;
                    last_refused_logged = false;
                    self.stats.connections.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(addr = %self.addr, "card inserted into vpcd");
                    match self.serve(stream) {
                        Err(VpcdError::EmptyResponse) => {
                            tracing::info!(addr = %self.addr, "the card left the field; inserting it again")
                        }
                        Ok(()) | Err(VpcdError::Closed) => {
                            if !self.stop.load(Ordering::SeqCst) {
                                tracing::info!(addr = %self.addr, "vpcd closed the connection; reconnecting")
                            }
                        }
                        Err(err) => {
                            if !self.stop.load(Ordering::SeqCst) {
                                self.stats.protocol_errors.fetch_add(1, Ordering::Relaxed);
                                tracing::error!(addr = %self.addr, error = %err, "vpcd connection dropped; reconnecting");
                            }
                        }
                    }
                    // A dropped connection is a removal: the card loses power.
                    self.with_card(|card| card.power_off());
                }
                Err(err) => {
                    if !last_refused_logged {
                        tracing::warn!(addr = %self.addr, error = %err, "vpcd not reachable yet; retrying with backoff");
                        last_refused_logged = true;
                    }
                }
            }
            self.sleep_unless_stopped(delay);
            delay = (delay * 2).min(self.backoff.max);
        }
    }

    fn serve(&self, stream: TcpStream) -> Result<(), VpcdError> {
        stream.set_nodelay(true)?;
        *self.stream.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream.try_clone()?);
        if self.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut reader = stream.try_clone()?;
        let mut writer = stream;
        let mut payload = Vec::with_capacity(512);
        let mut out = Vec::with_capacity(512);
        loop {
            read_frame(&mut reader, &mut payload)?;
            let response = match payload.as_slice() {
                [] => return Err(VpcdError::EmptyFrame),
                [code] => match *code {
                    control::POWER_OFF => {
                        self.with_card(|card| card.power_off());
                        continue;
                    }
                    control::POWER_ON => {
                        self.with_card(|card| card.power_on());
                        continue;
                    }
                    control::RESET => {
                        self.with_card(|card| card.reset());
                        continue;
                    }
                    control::GET_ATR => self.with_card(|card| card.atr()),
                    other => {
                        tracing::warn!(code = other, "unknown vpcd control code ignored");
                        continue;
                    }
                },
                command => {
                    self.stats.apdus.fetch_add(1, Ordering::Relaxed);
                    self.with_card(|card| card.transmit(command))
                }
            };
            if response.is_empty() {
                return Err(VpcdError::EmptyResponse);
            }
            write_frame(&mut writer, &response, &mut out)?;
        }
    }

    fn with_card<T>(&self, f: impl FnOnce(&mut dyn super::VirtualCard) -> T) -> T {
        let mut card = self.card.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut *card)
    }

    fn sleep_unless_stopped(&self, total: Duration) {
        let step = Duration::from_millis(20);
        let mut slept = Duration::ZERO;
        while slept < total && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(step);
            slept += step;
        }
    }
}

/// Reads one frame from vpcd, re-arming `TCP_QUICKACK` before each read: sending our previous
/// response put the socket back into delayed-ACK mode, and vpcd 0.8 holds a frame's payload until
/// its length is acknowledged.
fn read_frame(reader: &mut TcpStream, payload: &mut Vec<u8>) -> Result<(), VpcdError> {
    set_quickack(reader);
    let mut len = [0u8; 2];
    if let Err(err) = reader.read_exact(&mut len) {
        return Err(match err.kind() {
            io::ErrorKind::UnexpectedEof => VpcdError::Closed,
            _ => VpcdError::Io(err),
        });
    }
    set_quickack(reader);
    let len = u16::from_be_bytes(len) as usize;
    payload.resize(len, 0);
    reader.read_exact(payload).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => VpcdError::Closed,
        _ => VpcdError::Io(err),
    })?;
    set_quickack(reader);
    Ok(())
}

/// Writes length and payload in one `write` so vpcd never waits on a half frame.
fn write_frame(writer: &mut impl Write, payload: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "response longer than 65535 bytes",
        )
    })?;
    buf.clear();
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    writer.write_all(buf)
}

/// Re-arms `TCP_QUICKACK`; Linux clears it after each delayed-ACK decision.
fn set_quickack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        let one: libc::c_int = 1;
        // SAFETY: a valid socket fd and a correctly sized option value.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::VirtualCard;
    use std::net::TcpListener;

    /// Answers every APDU with its INS byte and `90 00`; records power events.
    struct EchoCard {
        events: Arc<Mutex<Vec<&'static str>>>,
    }

    impl VirtualCard for EchoCard {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]
        }
        fn power_on(&mut self) {
            self.events.lock().unwrap().push("on");
        }
        fn power_off(&mut self) {
            self.events.lock().unwrap().push("off");
        }
        fn reset(&mut self) {
            self.events.lock().unwrap().push("reset");
        }
        fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
            vec![command[1], 0x90, 0x00]
        }
    }

    fn send(stream: &mut TcpStream, payload: &[u8]) {
        let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        stream.write_all(&frame).unwrap();
    }

    fn receive(stream: &mut TcpStream) -> Vec<u8> {
        let mut payload = Vec::new();
        read_frame(stream, &mut payload).unwrap();
        payload
    }

    fn fake_vpcd() -> (TcpListener, SharedCard, Arc<Mutex<Vec<&'static str>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let card: SharedCard = Arc::new(Mutex::new(EchoCard {
            events: events.clone(),
        }));
        (listener, card, events)
    }

    #[test]
    fn answers_atr_power_and_apdus_as_vpcd_expects() {
        let (listener, card, events) = fake_vpcd();
        let client =
            VpcdClient::spawn(listener.local_addr().unwrap(), card, Backoff::default()).unwrap();
        let (mut vpcd, _) = listener.accept().unwrap();
        send(&mut vpcd, &[control::POWER_ON]);
        send(&mut vpcd, &[control::GET_ATR]);
        assert_eq!(
            receive(&mut vpcd),
            vec![0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]
        );
        // vpcd 0.8 writes the length and the payload separately.
        vpcd.write_all(&[0x00, 0x05]).unwrap();
        vpcd.write_all(&[0x00, 0xA4, 0x04, 0x0C, 0x00]).unwrap();
        assert_eq!(receive(&mut vpcd), vec![0xA4, 0x90, 0x00]);
        send(&mut vpcd, &[control::RESET]);
        send(&mut vpcd, &[control::GET_ATR]);
        assert_eq!(receive(&mut vpcd).len(), 9);
        send(&mut vpcd, &[control::POWER_OFF]);
        send(&mut vpcd, &[0x00, 0xB0, 0x00, 0x00, 0x04]);
        assert_eq!(receive(&mut vpcd), vec![0xB0, 0x90, 0x00]);
        assert_eq!(*events.lock().unwrap(), vec!["on", "reset", "off"]);
        assert_eq!(client.stats().apdus.load(Ordering::Relaxed), 2);
        client.stop();
    }

    #[test]
    fn empty_frame_closes_the_connection_and_the_card_comes_back() {
        let (listener, card, _) = fake_vpcd();
        let client =
            VpcdClient::spawn(listener.local_addr().unwrap(), card, Backoff::default()).unwrap();
        let (mut first, _) = listener.accept().unwrap();
        send(&mut first, &[]);
        let mut buf = [0u8; 1];
        assert_eq!(
            first.read(&mut buf).unwrap(),
            0,
            "card must close after a malformed frame"
        );
        let (mut second, _) = listener.accept().unwrap();
        send(&mut second, &[control::GET_ATR]);
        assert_eq!(receive(&mut second).len(), 9);
        assert_eq!(client.stats().protocol_errors.load(Ordering::Relaxed), 1);
        assert_eq!(client.stats().connections.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn waits_for_vpcd_to_start_listening() {
        // Reserve a port, close it, start the card, then start listening: the card must connect.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let events = Arc::new(Mutex::new(Vec::new()));
        let card: SharedCard = Arc::new(Mutex::new(EchoCard { events }));
        let client = VpcdClient::spawn(("127.0.0.1", port), card, Backoff::default()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (mut vpcd, _) = listener.accept().unwrap();
        send(&mut vpcd, &[control::GET_ATR]);
        assert_eq!(receive(&mut vpcd).len(), 9);
        drop(client);
    }

    #[test]
    fn unknown_control_code_gets_no_reply_and_keeps_the_connection() {
        let (listener, card, _) = fake_vpcd();
        let _client =
            VpcdClient::spawn(listener.local_addr().unwrap(), card, Backoff::default()).unwrap();
        let (mut vpcd, _) = listener.accept().unwrap();
        send(&mut vpcd, &[0x07]);
        send(&mut vpcd, &[control::GET_ATR]);
        assert_eq!(receive(&mut vpcd).len(), 9);
    }
}
