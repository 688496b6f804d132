//! The adapter protocol's JSON lines, both ways: any line decodes or gets a precise error.

use adapter_protocol::wire::{AdapterMessage, HarnessMessage, Incoming};

/// One input.
pub fn run(bytes: &[u8]) {
    let Ok(line) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = Incoming::from_line(line);
    let _ = HarnessMessage::from_line(line);
    let _ = AdapterMessage::from_line(line);
}
