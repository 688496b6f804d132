//! The few PC/SC calls the runner makes of `pcscd` — is there a card in a reader, and APDUs to
//! it — through pcsc-lite's `libpcsclite.so.1` loaded at run time, so that `jpki-sim` needs
//! pcsc-lite only when it is asked to use readers (`jpki-sim run --pcsc`).
//!
//! Types and constants are pcsc-lite's on Linux (`wintypes.h`, `pcsclite.h`): `DWORD` is
//! `unsigned long`, `LONG` is `long`, contexts and card handles are `LONG`.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr, CString};
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::channel::{CardChannel, ChannelError};

/// The shared library, as Debian's `libpcsclite1` installs it.
pub const LIBRARY: &str = "libpcsclite.so.1";

type Long = c_long;
type Dword = c_ulong;

const SCARD_S_SUCCESS: Long = 0;
const SCARD_E_INSUFFICIENT_BUFFER: Long = 0x8010_0008;
const SCARD_E_UNKNOWN_READER: Long = 0x8010_0009;
const SCARD_E_TIMEOUT: Long = 0x8010_000A;
const SCARD_E_NO_SMARTCARD: Long = 0x8010_000C;
const SCARD_E_READER_UNAVAILABLE: Long = 0x8010_0017;
const SCARD_E_NO_SERVICE: Long = 0x8010_001D;
const SCARD_E_SERVICE_STOPPED: Long = 0x8010_001E;
const SCARD_E_NO_READERS_AVAILABLE: Long = 0x8010_002E;
const SCARD_W_UNRESPONSIVE_CARD: Long = 0x8010_0066;
const SCARD_W_UNPOWERED_CARD: Long = 0x8010_0067;
const SCARD_W_RESET_CARD: Long = 0x8010_0068;
const SCARD_W_REMOVED_CARD: Long = 0x8010_0069;

const SCARD_SCOPE_SYSTEM: Dword = 2;
const SCARD_SHARE_SHARED: Dword = 2;
const SCARD_PROTOCOL_ANY: Dword = 1 | 2;
const SCARD_LEAVE_CARD: Dword = 0;
const SCARD_STATE_UNAWARE: Dword = 0;
const SCARD_STATE_CHANGED: Dword = 0x0002;
const SCARD_STATE_EMPTY: Dword = 0x0010;
const SCARD_STATE_PRESENT: Dword = 0x0020;
const SCARD_STATE_MUTE: Dword = 0x0200;

/// `MAX_ATR_SIZE`.
const ATR_SIZE: usize = 33;
/// Largest response APDU: 65,536 data bytes and the status word.
const RESPONSE_SIZE: usize = 65_538;

/// `SCARD_READERSTATE`.
#[repr(C)]
struct ReaderState {
    reader: *const c_char,
    user_data: *mut c_void,
    current_state: Dword,
    event_state: Dword,
    atr_len: Dword,
    atr: [u8; ATR_SIZE],
}

/// `SCARD_IO_REQUEST`.
#[repr(C)]
struct IoRequest {
    protocol: Dword,
    pci_length: Dword,
}

/// A PC/SC call failed.
#[derive(Debug, thiserror::Error)]
pub enum PcscError {
    /// pcsc-lite is not installed (or not loadable).
    #[error("cannot load {LIBRARY} (Debian package libpcsclite1): {0}")]
    Library(String),
    /// No `pcscd` answers on its socket.
    #[error("pcscd is not running ({0}); start it with scripts/pcscd.sh start")]
    NoService(Code),
    /// `pcscd` has no reader of that name.
    #[error("pcscd has no reader {reader:?}; its readers are {known:?}")]
    UnknownReader { reader: String, known: Vec<String> },
    /// Any other failure, with the call that failed.
    #[error("{call} failed: {code}")]
    Call { call: &'static str, code: Code },
}

/// A PC/SC return code, shown as hex with its name when it is one the runner knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(pub c_long);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            SCARD_E_INSUFFICIENT_BUFFER => Some("SCARD_E_INSUFFICIENT_BUFFER"),
            SCARD_E_UNKNOWN_READER => Some("SCARD_E_UNKNOWN_READER"),
            SCARD_E_TIMEOUT => Some("SCARD_E_TIMEOUT"),
            SCARD_E_NO_SMARTCARD => Some("SCARD_E_NO_SMARTCARD"),
            SCARD_E_READER_UNAVAILABLE => Some("SCARD_E_READER_UNAVAILABLE"),
            SCARD_E_NO_SERVICE => Some("SCARD_E_NO_SERVICE"),
            SCARD_E_SERVICE_STOPPED => Some("SCARD_E_SERVICE_STOPPED"),
            SCARD_E_NO_READERS_AVAILABLE => Some("SCARD_E_NO_READERS_AVAILABLE"),
            SCARD_W_UNRESPONSIVE_CARD => Some("SCARD_W_UNRESPONSIVE_CARD"),
            SCARD_W_UNPOWERED_CARD => Some("SCARD_W_UNPOWERED_CARD"),
            SCARD_W_RESET_CARD => Some("SCARD_W_RESET_CARD"),
            SCARD_W_REMOVED_CARD => Some("SCARD_W_REMOVED_CARD"),
            _ => None,
        };
        match name {
            Some(name) => write!(f, "{name} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

/// A connection to `pcscd` (`SCardEstablishContext`), released when dropped.
pub struct Context {
    api: &'static Api,
    handle: Long,
}

impl Context {
    /// Connects to `pcscd`.
    pub fn establish() -> Result<Context, PcscError> {
        let api = Api::get()?;
        let mut handle: Long = 0;
        // SAFETY: pcsc-lite's signature; the out pointer is valid for the call.
        let rv = unsafe {
            (api.establish_context)(
                SCARD_SCOPE_SYSTEM,
                std::ptr::null(),
                std::ptr::null(),
                &mut handle,
            )
        };
        match rv {
            SCARD_S_SUCCESS => Ok(Context { api, handle }),
            SCARD_E_NO_SERVICE | SCARD_E_SERVICE_STOPPED => Err(PcscError::NoService(Code(rv))),
            _ => Err(call_error("SCardEstablishContext", rv)),
        }
    }

    /// The readers `pcscd` has, in its order (the order applications see).
    pub fn readers(&self) -> Result<Vec<String>, PcscError> {
        for _ in 0..3 {
            let mut len: Dword = 0;
            // SAFETY: a null buffer asks for the length only.
            let rv = unsafe {
                (self.api.list_readers)(
                    self.handle,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    &mut len,
                )
            };
            match rv {
                SCARD_S_SUCCESS => {}
                SCARD_E_NO_READERS_AVAILABLE => return Ok(Vec::new()),
                _ => return Err(call_error("SCardListReaders", rv)),
            }
            let mut buffer = vec![0u8; len as usize];
            // SAFETY: `buffer` holds `len` bytes, as the call is told.
            let rv = unsafe {
                (self.api.list_readers)(
                    self.handle,
                    std::ptr::null(),
                    buffer.as_mut_ptr().cast(),
                    &mut len,
                )
            };
            match rv {
                SCARD_S_SUCCESS => {
                    buffer.truncate(len as usize);
                    return Ok(buffer
                        .split(|&byte| byte == 0)
                        .filter(|name| !name.is_empty())
                        .map(|name| String::from_utf8_lossy(name).into_owned())
                        .collect());
                }
                // A reader appeared between the two calls: ask again.
                SCARD_E_INSUFFICIENT_BUFFER => continue,
                SCARD_E_NO_READERS_AVAILABLE => return Ok(Vec::new()),
                _ => return Err(call_error("SCardListReaders", rv)),
            }
        }
        Err(call_error("SCardListReaders", SCARD_E_INSUFFICIENT_BUFFER))
    }

    /// Waits at most `timeout` until `reader` shows a card (`present`) or none; `Ok(false)`
    /// when it did not within `timeout`.
    pub fn wait_for(
        &self,
        reader: &str,
        present: bool,
        timeout: Duration,
    ) -> Result<bool, PcscError> {
        let name = reader_name(reader)?;
        let mut state = ReaderState {
            reader: name.as_ptr(),
            user_data: std::ptr::null_mut(),
            current_state: SCARD_STATE_UNAWARE,
            event_state: 0,
            atr_len: 0,
            atr: [0; ATR_SIZE],
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: one valid reader state whose name outlives the call.
            let rv = unsafe {
                (self.api.get_status_change)(self.handle, left.as_millis() as Dword, &mut state, 1)
            };
            match rv {
                SCARD_S_SUCCESS => {
                    let event = state.event_state;
                    let reached = if present {
                        event & SCARD_STATE_PRESENT != 0 && event & SCARD_STATE_MUTE == 0
                    } else {
                        event & SCARD_STATE_EMPTY != 0
                    };
                    if reached {
                        return Ok(true);
                    }
                    if left.is_zero() {
                        return Ok(false);
                    }
                    state.current_state = event & !SCARD_STATE_CHANGED;
                }
                SCARD_E_TIMEOUT => return Ok(false),
                SCARD_E_UNKNOWN_READER => {
                    return Err(PcscError::UnknownReader {
                        reader: reader.to_owned(),
                        known: self.readers().unwrap_or_default(),
                    })
                }
                SCARD_E_NO_SERVICE | SCARD_E_SERVICE_STOPPED => {
                    return Err(PcscError::NoService(Code(rv)))
                }
                _ => return Err(call_error("SCardGetStatusChange", rv)),
            }
        }
    }

    /// Connects to the card in `reader` (shared); `Ok(None)` when the reader has no card.
    fn connect(&self, reader: &str) -> Result<Option<(Long, Dword)>, PcscError> {
        let name = reader_name(reader)?;
        let mut card: Long = 0;
        let mut protocol: Dword = 0;
        // SAFETY: a NUL-terminated reader name and valid out pointers.
        let rv = unsafe {
            (self.api.connect)(
                self.handle,
                name.as_ptr(),
                SCARD_SHARE_SHARED,
                SCARD_PROTOCOL_ANY,
                &mut card,
                &mut protocol,
            )
        };
        match rv {
            SCARD_S_SUCCESS => Ok(Some((card, protocol))),
            SCARD_E_NO_SMARTCARD | SCARD_W_REMOVED_CARD | SCARD_E_READER_UNAVAILABLE => Ok(None),
            SCARD_E_UNKNOWN_READER => Err(PcscError::UnknownReader {
                reader: reader.to_owned(),
                known: self.readers().unwrap_or_default(),
            }),
            _ => Err(call_error("SCardConnect", rv)),
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: a context this value established and nothing else releases.
        unsafe {
            (self.api.release_context)(self.handle);
        }
    }
}

/// The card in one reader as an SDK reaches it through `pcscd`: connected on the first APDU,
/// kept connected (so verified PINs stay verified between operations, as with an application
/// that holds its card handle), and reconnected after the card was reset.
pub struct PcscChannel {
    reader: String,
    context: Option<Context>,
    card: Option<(Long, Dword)>,
    /// Why the last APDU failed, when it was not for want of a card.
    pub failure: Option<String>,
}

impl PcscChannel {
    pub fn new(reader: &str) -> PcscChannel {
        PcscChannel {
            reader: reader.to_owned(),
            context: None,
            card: None,
            failure: None,
        }
    }

    /// The reader this channel talks to.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Drops the connection (the card was taken out); the next APDU connects again.
    pub fn disconnect(&mut self) {
        if let (Some(context), Some((card, _))) = (&self.context, self.card.take()) {
            // SAFETY: a handle this channel connected and has not disconnected.
            unsafe {
                (context.api.disconnect)(card, SCARD_LEAVE_CARD);
            }
        }
    }

    fn fail(&mut self, failure: String) -> ChannelError {
        self.failure = Some(failure);
        ChannelError::ShortResponse { len: 0 }
    }

    /// Sends one APDU on the current connection: the response, or the PC/SC code.
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Long> {
        let (Some(context), Some((card, protocol))) = (&self.context, self.card) else {
            return Err(SCARD_E_NO_SMARTCARD);
        };
        let send = IoRequest {
            protocol,
            pci_length: std::mem::size_of::<IoRequest>() as Dword,
        };
        let mut response = vec![0u8; RESPONSE_SIZE];
        let mut len = response.len() as Dword;
        // SAFETY: the buffers are valid for the lengths given; a null receive PCI is allowed.
        let rv = unsafe {
            (context.api.transmit)(
                card,
                &send,
                apdu.as_ptr(),
                apdu.len() as Dword,
                std::ptr::null_mut(),
                response.as_mut_ptr(),
                &mut len,
            )
        };
        if rv == SCARD_S_SUCCESS {
            response.truncate(len as usize);
            Ok(response)
        } else {
            Err(rv)
        }
    }

    fn ensure_connected(&mut self) -> Result<(), ChannelError> {
        if self.card.is_some() {
            return Ok(());
        }
        if self.context.is_none() {
            match Context::establish() {
                Ok(context) => self.context = Some(context),
                Err(err) => return Err(self.fail(err.to_string())),
            }
        }
        let connected = match &self.context {
            Some(context) => context.connect(&self.reader),
            None => Ok(None),
        };
        match connected {
            Ok(Some(card)) => {
                self.card = Some(card);
                Ok(())
            }
            Ok(None) => Err(ChannelError::NoCard),
            Err(err) => Err(self.fail(err.to_string())),
        }
    }
}

impl CardChannel for PcscChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        self.failure = None;
        self.ensure_connected()?;
        match self.exchange(apdu) {
            Ok(response) => Ok(response),
            // Another application reset the card, pcscd powered it down while idle, or the card
            // was taken out since the last APDU (and may be back): connect again and resend
            // once, as an application does; no card now is `NoCard`.
            Err(SCARD_W_RESET_CARD | SCARD_W_UNPOWERED_CARD | SCARD_W_REMOVED_CARD) => {
                self.disconnect();
                self.ensure_connected()?;
                self.exchange(apdu).map_err(|rv| self.transmit_error(rv))
            }
            Err(rv) => Err(self.transmit_error(rv)),
        }
    }
}

impl PcscChannel {
    fn transmit_error(&mut self, rv: Long) -> ChannelError {
        match rv {
            SCARD_W_REMOVED_CARD | SCARD_E_NO_SMARTCARD | SCARD_E_READER_UNAVAILABLE => {
                self.disconnect();
                ChannelError::NoCard
            }
            _ => {
                let message = format!("SCardTransmit to {:?} failed: {}", self.reader, Code(rv));
                self.fail(message)
            }
        }
    }
}

impl Drop for PcscChannel {
    fn drop(&mut self) {
        self.disconnect();
    }
}

fn reader_name(reader: &str) -> Result<CString, PcscError> {
    CString::new(reader).map_err(|_| PcscError::UnknownReader {
        reader: reader.to_owned(),
        known: Vec::new(),
    })
}

fn call_error(call: &'static str, rv: Long) -> PcscError {
    PcscError::Call {
        call,
        code: Code(rv),
    }
}

type EstablishContext =
    unsafe extern "C" fn(Dword, *const c_void, *const c_void, *mut Long) -> Long;
type ReleaseContext = unsafe extern "C" fn(Long) -> Long;
type ListReaders = unsafe extern "C" fn(Long, *const c_char, *mut c_char, *mut Dword) -> Long;
type GetStatusChange = unsafe extern "C" fn(Long, Dword, *mut ReaderState, Dword) -> Long;
type Connect =
    unsafe extern "C" fn(Long, *const c_char, Dword, Dword, *mut Long, *mut Dword) -> Long;
type Disconnect = unsafe extern "C" fn(Long, Dword) -> Long;
type Transmit = unsafe extern "C" fn(
    Long,
    *const IoRequest,
    *const u8,
    Dword,
    *mut IoRequest,
    *mut u8,
    *mut Dword,
) -> Long;

/// The pcsc-lite entry points the runner uses.
struct Api {
    establish_context: EstablishContext,
    release_context: ReleaseContext,
    list_readers: ListReaders,
    get_status_change: GetStatusChange,
    connect: Connect,
    disconnect: Disconnect,
    transmit: Transmit,
}

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}

const RTLD_NOW: c_int = 2;

impl Api {
    /// The library, loaded once per process and never unloaded.
    fn get() -> Result<&'static Api, PcscError> {
        static API: OnceLock<Result<Api, String>> = OnceLock::new();
        API.get_or_init(Api::load)
            .as_ref()
            .map_err(|err| PcscError::Library(err.clone()))
    }

    fn load() -> Result<Api, String> {
        let library = CString::new(LIBRARY).map_err(|err| err.to_string())?;
        // SAFETY: dlopen with a NUL-terminated name; the handle is kept for the process's life.
        let handle = unsafe { dlopen(library.as_ptr(), RTLD_NOW) };
        if handle.is_null() {
            return Err(last_dl_error());
        }
        let symbol = |name: &str| -> Result<*mut c_void, String> {
            let c_name = CString::new(name).map_err(|err| err.to_string())?;
            // SAFETY: a live handle and a NUL-terminated symbol name.
            let address = unsafe { dlsym(handle, c_name.as_ptr()) };
            if address.is_null() {
                Err(format!("{name}: {}", last_dl_error()))
            } else {
                Ok(address)
            }
        };
        // SAFETY: each symbol is pcsc-lite's function of that name, with the signature
        // declared in `Api` (pcsc-lite's winscard.h on Linux).
        unsafe {
            Ok(Api {
                establish_context: std::mem::transmute::<*mut c_void, EstablishContext>(symbol(
                    "SCardEstablishContext",
                )?),
                release_context: std::mem::transmute::<*mut c_void, ReleaseContext>(symbol(
                    "SCardReleaseContext",
                )?),
                list_readers: std::mem::transmute::<*mut c_void, ListReaders>(symbol(
                    "SCardListReaders",
                )?),
                get_status_change: std::mem::transmute::<*mut c_void, GetStatusChange>(symbol(
                    "SCardGetStatusChange",
                )?),
                connect: std::mem::transmute::<*mut c_void, Connect>(symbol("SCardConnect")?),
                disconnect: std::mem::transmute::<*mut c_void, Disconnect>(symbol(
                    "SCardDisconnect",
                )?),
                transmit: std::mem::transmute::<*mut c_void, Transmit>(symbol("SCardTransmit")?),
            })
        }
    }
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message valid until the next dl call.
    unsafe {
        let message = dlerror();
        if message.is_null() {
            "unknown dynamic loader error".to_owned()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn reader_state_has_pcsc_lite_layout() {
        // Five pointer-sized fields, the ATR buffer, padding to pointer alignment.
        assert_eq!(std::mem::size_of::<ReaderState>(), 80);
        assert_eq!(std::mem::size_of::<IoRequest>(), 16);
    }

    #[test]
    fn codes_name_themselves() {
        assert_eq!(
            Code(SCARD_E_NO_SMARTCARD).to_string(),
            "SCARD_E_NO_SMARTCARD (0x8010000C)"
        );
        assert_eq!(Code(0x8010_0031).to_string(), "0x80100031");
    }
}
