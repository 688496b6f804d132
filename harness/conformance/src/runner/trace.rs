//! The trace of a scenario: what was sent to the card and the PF, and what came back, so that a
//! failure can be understood without running it again.

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sim_card::{Apdu, StatusWord};

use reference::channel::{CardChannel, ChannelError};

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceEntry {
    /// A step starts (0-based index, and what it is).
    Step {
        /// The step's index, from 0.
        index: usize,
        /// The step in words (`sdk verify_pin`, `clock`, ...).
        summary: String,
    },
    /// An APDU exchange with card `card`: the command as spaced hex, its name, and the status
    /// word (absent when no card answered).
    Apdu {
        /// The card, as an index into the scenario's `cards`.
        card: usize,
        /// The command APDU, spaced hex, with PIN values redacted.
        command: String,
        /// The command's name (`SELECT`, `VERIFY`, ...).
        name: String,
        /// The response data's length in bytes, the status word not counted.
        response_len: usize,
        /// The status word, 4 hex digits; absent when no card answered.
        status: Option<String>,
    },
    /// A call to the PF and its result.
    Pf {
        /// The operation.
        op: String,
        /// What the PF was asked, in words.
        request: String,
        /// What it answered, in words.
        result: String,
    },
    /// A move of the world (event, clock, fault, card).
    World {
        /// The move, with what it did.
        action: String,
    },
    /// A request to the scenario's world server (CRL, OCSP, J-LIS, CA certificates) and its
    /// answer; the path is cut after 96 characters (an OCSP GET carries the whole request).
    Http {
        /// The request method.
        method: String,
        /// The path and query, cut after 96 characters.
        path: String,
        /// The response's HTTP status.
        status: u16,
        /// The request body's declared length.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_len: Option<u64>,
        /// The response body's length, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_len: Option<u64>,
        /// From the request arriving to its response being ready, microseconds.
        micros: u64,
    },
}

/// A trace shared between the scenario thread and the watchdog that reports a hang.
#[derive(Debug, Clone, Default)]
pub struct Trace(Arc<Mutex<Vec<TraceEntry>>>);

impl Trace {
    /// Appends `entry`; a trace poisoned by a panicking step keeps working.
    pub fn push(&self, entry: TraceEntry) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    /// The entries so far.
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A [`CardChannel`] that records every exchange in a [`Trace`].
pub struct TracingChannel<C> {
    inner: C,
    card: usize,
    trace: Trace,
}

impl<C> TracingChannel<C> {
    /// Wraps `inner`, recording its exchanges as card `card`'s in `trace`.
    pub fn new(inner: C, card: usize, trace: Trace) -> TracingChannel<C> {
        TracingChannel { inner, card, trace }
    }
}

impl<C: CardChannel> CardChannel for TracingChannel<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ChannelError> {
        let result = self.inner.transmit(apdu);
        let (response_len, status) = match &result {
            Ok(response) if response.len() >= 2 => {
                let sw = &response[response.len() - 2..];
                (
                    response.len() - 2,
                    Some(StatusWord::from_bytes(sw[0], sw[1]).to_string()),
                )
            }
            Ok(response) => (response.len(), None),
            Err(_) => (0, None),
        };
        self.trace.push(TraceEntry::Apdu {
            card: self.card,
            command: redacted_hex(apdu),
            name: Apdu::parse(apdu)
                .map(|parsed| parsed.command_name())
                .unwrap_or("MALFORMED")
                .to_owned(),
            response_len,
            status,
        });
        result
    }
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEntry::Step { index, summary } => write!(f, "step {}: {summary}", index + 1),
            TraceEntry::Apdu {
                card,
                command,
                name,
                response_len,
                status,
            } => {
                write!(f, "  card {card} > {command}  ({name})\n  card {card} < ")?;
                match status {
                    Some(status) if *response_len > 0 => {
                        write!(f, "[{response_len} bytes] {status}")
                    }
                    Some(status) => f.write_str(status),
                    None => f.write_str("no card"),
                }
            }
            TraceEntry::Pf {
                op,
                request,
                result,
            } => write!(f, "  pf {op}({request}) -> {result}"),
            TraceEntry::World { action } => write!(f, "  world: {action}"),
            TraceEntry::Http {
                method,
                path,
                status,
                request_len,
                response_len,
                micros,
            } => {
                let size =
                    |len: &Option<u64>| len.map_or_else(String::new, |n| format!(" [{n} bytes]"));
                write!(
                    f,
                    "  http {method} {path}{} -> {status}{} in {:.1} ms",
                    size(request_len),
                    size(response_len),
                    *micros as f64 / 1000.0
                )
            }
        }
    }
}

impl TraceEntry {
    /// The trace line of an exchange with the world server.
    pub fn http(exchange: served_world::HttpExchange) -> TraceEntry {
        const MAX_PATH: usize = 96;
        let mut path = exchange.path;
        if path.len() > MAX_PATH {
            let mut cut = MAX_PATH;
            while !path.is_char_boundary(cut) {
                cut -= 1;
            }
            path.truncate(cut);
            path.push('…');
        }
        TraceEntry::Http {
            method: exchange.method,
            path,
            status: exchange.status,
            request_len: exchange.request_len.filter(|&n| n > 0),
            response_len: exchange.response_len,
            micros: u64::try_from(exchange.elapsed.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// The command as hex, with the PIN of a VERIFY or CHANGE REFERENCE DATA left out: reports are
/// shared, and a PIN in a CI log teaches bad habits even when it is a simulator's.
fn redacted_hex(apdu: &[u8]) -> String {
    match apdu {
        [_, 0x20 | 0x24, _, _, lc, data @ ..] if !data.is_empty() => {
            format!(
                "{} {lc:02X} [PIN, {} bytes]",
                spaced_hex(&apdu[..4]),
                data.len()
            )
        }
        _ => spaced_hex(apdu),
    }
}

/// Bytes as upper-case hex pairs separated by spaces (`00 A4 04 0C`), as transcripts write them.
pub fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use served_world::HttpExchange;
    use std::time::Duration;

    #[test]
    fn an_http_exchange_keeps_its_path_short_and_reads_as_one_line() {
        let entry = TraceEntry::http(HttpExchange {
            method: "GET".to_owned(),
            path: format!("/ocsp/{}", "A".repeat(200)),
            status: 200,
            request_len: Some(0),
            response_len: Some(1498),
            elapsed: Duration::from_micros(612),
        });
        let line = entry.to_string();
        assert_eq!(
            line,
            format!(
                "  http GET /ocsp/{}… -> 200 [1498 bytes] in 0.6 ms",
                "A".repeat(90)
            )
        );
    }
}
