//! The few PC/SC calls the runner makes of the PC/SC service — is there a card in a reader, and
//! APDUs to it — through the `pcsc` crate, so that the same code speaks to pcsc-lite on Linux
//! and to the system's PC/SC on macOS and Windows.
//!
//! The crate links the PC/SC library when `jpki-sim` is built: on Linux `libpcsclite`, found
//! through pkg-config (Debian's `libpcsclite-dev`, which `scripts/setup-debian.sh` installs), so
//! the binary needs `libpcsclite1` at run time even when no reader is used. That is the price of
//! leaving the library's ABI (its integer widths and structure layouts) to a maintained crate
//! rather than to declarations kept by hand.

use std::ffi::CString;
use std::fmt;
use std::time::{Duration, Instant};

use pcsc::{Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::channel::{CardChannel, ChannelError};

/// Largest response APDU with the header room the PC/SC library asks for: 65,536 data bytes
/// and the status word fit.
const RESPONSE_SIZE: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// A PC/SC call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcscError {
    /// No `pcscd` answers on its socket (or it stopped).
    #[error("pcscd is not running (start it with scripts/pcscd.sh start)")]
    NoService(#[source] pcsc::Error),
    /// `pcscd` has no reader of that name.
    #[error("pcscd has no reader {reader:?}; its readers are {known:?}")]
    UnknownReader {
        /// The reader asked for.
        reader: String,
        /// The readers `pcscd` has.
        known: Vec<String>,
    },
    /// A call about no reader in particular failed.
    #[error("{call} failed with {}", Code(*.source))]
    Call {
        /// The PC/SC function that failed, `SCardEstablishContext` for instance.
        call: &'static str,
        /// The PC/SC return code.
        #[source]
        source: pcsc::Error,
    },
    /// A call about one reader (its state, its card) failed.
    #[error("{call} on reader {reader:?} failed with {}", Code(*.source))]
    Reader {
        /// The PC/SC function that failed, `SCardConnect` for instance.
        call: &'static str,
        /// The reader it was called for.
        reader: String,
        /// The PC/SC return code.
        #[source]
        source: pcsc::Error,
    },
}

/// A PC/SC return code as the `pcsc` crate names it, with its value in hex (as pcsc-lite's and
/// Windows' documentation list them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(pub pcsc::Error);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pcsc::Error` is `repr(u32)`, its discriminants the PC/SC codes.
        write!(f, "{:?} (0x{:08X})", self.0, self.0 as u32)
    }
}

/// `err` from `call` as a [`PcscError`]: a service that is gone is [`PcscError::NoService`]
/// whatever the call.
fn call_error(call: &'static str, err: pcsc::Error) -> PcscError {
    match err {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => PcscError::NoService(err),
        source => PcscError::Call { call, source },
    }
}

/// A connection to `pcscd` (`SCardEstablishContext`), released when dropped.
pub struct Context {
    context: pcsc::Context,
}

impl Context {
    /// Connects to `pcscd`.
    pub fn establish() -> Result<Context, PcscError> {
        pcsc::Context::establish(Scope::System)
            .map(|context| Context { context })
            .map_err(|err| call_error("SCardEstablishContext", err))
    }

    /// The readers `pcscd` has, in its order (the order applications see).
    pub fn readers(&self) -> Result<Vec<String>, PcscError> {
        // A reader that appears between asking for the length and for the names makes the
        // buffer too small: ask again.
        let mut last = pcsc::Error::InsufficientBuffer;
        for _ in 0..3 {
            match self.context.list_readers_owned() {
                Ok(names) => {
                    return Ok(names
                        .iter()
                        .map(|name| name.to_string_lossy().into_owned())
                        .collect())
                }
                Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
                Err(pcsc::Error::InsufficientBuffer) => continue,
                Err(err) => {
                    last = err;
                    break;
                }
            }
        }
        Err(call_error("SCardListReaders", last))
    }

    /// Waits at most `timeout` until `reader` shows a card (`present`) or none; `Ok(false)`
    /// when it did not within `timeout`.
    pub fn wait_for(
        &self,
        reader: &str,
        present: bool,
        timeout: Duration,
    ) -> Result<bool, PcscError> {
        let mut states = [ReaderState::new(self.reader_name(reader)?, State::UNAWARE)];
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.context.get_status_change(left, &mut states) {
                Ok(()) => {
                    let event = states[0].event_state();
                    let reached = if present {
                        event.contains(State::PRESENT) && !event.contains(State::MUTE)
                    } else {
                        event.contains(State::EMPTY)
                    };
                    if reached {
                        return Ok(true);
                    }
                    if left.is_zero() {
                        return Ok(false);
                    }
                    // Wait for the next change from what was just seen.
                    states[0].sync_current_state();
                }
                Err(pcsc::Error::Timeout) => return Ok(false),
                Err(err) => return Err(self.reader_error("SCardGetStatusChange", reader, err)),
            }
        }
    }

    /// Connects to the card in `reader` (shared); `Ok(None)` when the reader has no card.
    fn connect(&self, reader: &str) -> Result<Option<pcsc::Card>, PcscError> {
        let name = self.reader_name(reader)?;
        match self
            .context
            .connect(&name, ShareMode::Shared, Protocols::ANY)
        {
            Ok(card) => Ok(Some(card)),
            Err(
                pcsc::Error::NoSmartcard
                | pcsc::Error::RemovedCard
                | pcsc::Error::ReaderUnavailable,
            ) => Ok(None),
            Err(err) => Err(self.reader_error("SCardConnect", reader, err)),
        }
    }

    /// `reader` as the PC/SC library takes it; a name with a NUL in it is no reader's.
    fn reader_name(&self, reader: &str) -> Result<CString, PcscError> {
        CString::new(reader).map_err(|_| self.unknown_reader(reader))
    }

    fn unknown_reader(&self, reader: &str) -> PcscError {
        PcscError::UnknownReader {
            reader: reader.to_owned(),
            known: self.readers().unwrap_or_default(),
        }
    }

    /// `err` from `call` about `reader`: an unknown reader lists the known ones.
    fn reader_error(&self, call: &'static str, reader: &str, err: pcsc::Error) -> PcscError {
        match err {
            pcsc::Error::UnknownReader => self.unknown_reader(reader),
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => PcscError::NoService(err),
            source => PcscError::Reader {
                call,
                reader: reader.to_owned(),
                source,
            },
        }
    }
}

/// The card in one reader as an SDK reaches it through `pcscd`: connected on the first APDU,
/// kept connected (so verified PINs stay verified between operations, as with an application
/// that holds its card handle), and reconnected after the card was reset.
pub struct PcscChannel {
    reader: String,
    context: Option<Context>,
    card: Option<pcsc::Card>,
}

impl PcscChannel {
    /// A channel to the card in `reader`, named as `pcscd` lists it. Nothing is called until the
    /// first APDU, so a missing reader or service shows as that APDU's error.
    pub fn new(reader: &str) -> PcscChannel {
        PcscChannel {
            reader: reader.to_owned(),
            context: None,
            card: None,
        }
    }

    /// The reader this channel talks to.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Drops the connection (the card was taken out), leaving the card as it is; the next APDU
    /// connects again.
    pub fn disconnect(&mut self) {
        if let Some(card) = self.card.take() {
            // A handle pcscd will not release is stale (the card or pcscd is gone); dropping
            // it lets the crate try once more, and nothing is left to do after that.
            let _ = card.disconnect(Disposition::LeaveCard);
        }
    }

    /// Sends one APDU on the current connection: the response, or the PC/SC error.
    fn exchange(&self, apdu: &[u8]) -> Result<Vec<u8>, pcsc::Error> {
        let Some(card) = &self.card else {
            return Err(pcsc::Error::NoSmartcard);
        };
        let mut response = vec![0u8; RESPONSE_SIZE];
        let len = card.transmit(apdu, &mut response)?.len();
        response.truncate(len);
        Ok(response)
    }

    fn ensure_connected(&mut self) -> Result<(), ChannelError> {
        if self.card.is_some() {
            return Ok(());
        }
        let context = match self.context.take() {
            Some(context) => context,
            None => Context::establish().map_err(transport)?,
        };
        let connected = context.connect(&self.reader);
        self.context = Some(context);
        match connected {
            Ok(Some(card)) => {
                self.card = Some(card);
                Ok(())
            }
            Ok(None) => Err(ChannelError::NoCard),
            Err(err) => Err(self.fail(err)),
        }
    }

    /// `err` as the channel's error. When pcscd is gone the context is dead too: the next APDU
    /// establishes a new one (pcscd may be back by then).
    fn fail(&mut self, err: PcscError) -> ChannelError {
        if matches!(err, PcscError::NoService(_)) {
            self.disconnect();
            self.context = None;
        }
        transport(err)
    }

    fn transmit_error(&mut self, err: pcsc::Error) -> ChannelError {
        match err {
            pcsc::Error::RemovedCard
            | pcsc::Error::NoSmartcard
            | pcsc::Error::ReaderUnavailable => {
                self.disconnect();
                ChannelError::NoCard
            }
            err => {
                let err = match &self.context {
                    Some(context) => context.reader_error("SCardTransmit", &self.reader, err),
                    None => call_error("SCardTransmit", err),
                };
                self.fail(err)
            }
        }
    }
}

fn transport(err: PcscError) -> ChannelError {
    ChannelError::Transport(err.into())
}

impl CardChannel for PcscChannel {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        self.ensure_connected()?;
        match self.exchange(apdu) {
            Ok(response) => Ok(response),
            // Another application reset the card, pcscd powered it down while idle, or the card
            // was taken out since the last APDU (and may be back): connect again and resend
            // once, as an application does; no card now is `NoCard`.
            Err(pcsc::Error::ResetCard | pcsc::Error::UnpoweredCard | pcsc::Error::RemovedCard) => {
                self.disconnect();
                self.ensure_connected()?;
                self.exchange(apdu).map_err(|err| self.transmit_error(err))
            }
            Err(err) => Err(self.transmit_error(err)),
        }
    }
}

impl Drop for PcscChannel {
    fn drop(&mut self) {
        self.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_themselves() {
        assert_eq!(
            Code(pcsc::Error::NoSmartcard).to_string(),
            "NoSmartcard (0x8010000C)"
        );
        assert_eq!(
            Code(pcsc::Error::RemovedCard).to_string(),
            "RemovedCard (0x80100069)"
        );
    }

    #[test]
    fn errors_name_the_call_and_reader_and_keep_the_cause() {
        let err = PcscError::Reader {
            call: "SCardTransmit",
            reader: "Virtual PCD 00 00".to_owned(),
            source: pcsc::Error::CommError,
        };
        assert_eq!(
            vocab::error_chain(&err),
            "SCardTransmit on reader \"Virtual PCD 00 00\" failed with CommError (0x80100013): \
             An internal communications error has been detected"
        );
        let err = call_error("SCardEstablishContext", pcsc::Error::NoService);
        assert!(err.to_string().contains("scripts/pcscd.sh start"), "{err}");
    }
}
