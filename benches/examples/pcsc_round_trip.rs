//! Round trips of one APDU through PC/SC, on whatever card is in a reader: the client side of
//! `compare.sh`'s comparison of our card with vsmartcard's `vicc`, so that both cards are timed
//! by the same code through the same pcscd and vpcd.
//!
//! `cargo run --release -p jpki-sim-benches --example pcsc_round_trip -- READER APDU_HEX [SECONDS]`
//!
//! Waits up to 20 s for a card in READER that answers APDU_HEX (connecting again while pcscd
//! still powers up or resets a card that just came), insists on `90 00`, warms up for 0.5 s, then sends it back to back for SECONDS (default 5) and times each
//! SCardTransmit. Prints a human line on stderr, and on stdout `round_trips`, `median_ms`,
//! `mean_ms`, `p90_ms` and `p99_ms`, each followed by its value.

use std::ffi::CString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jpki_sim_benches::apdu;
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode, MAX_BUFFER_SIZE};

fn main() -> ExitCode {
    match measure() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pcsc_round_trip: {message}");
            ExitCode::FAILURE
        }
    }
}

fn measure() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: pcsc_round_trip READER APDU_HEX [SECONDS]";
    let reader = args.next().ok_or(usage)?;
    let command = args.next().ok_or(usage)?;
    let command: Vec<u8> = hex_bytes(&command).ok_or_else(|| format!("{command:?} is not hex"))?;
    let seconds: f64 = match args.next() {
        Some(text) => text
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0)
            .ok_or_else(|| format!("{text:?} is not a positive number of seconds"))?,
        None => 5.0,
    };
    let reader_c = CString::new(reader.clone()).map_err(|_| "NUL in the reader name")?;
    let ctx = Context::establish(Scope::User).map_err(|e| format!("SCardEstablishContext: {e}"))?;

    // A card that has just come into the reader may still be powered up or reset by pcscd
    // (vicc is): until the first APDU is answered, connect again.
    let mut buf = [0u8; MAX_BUFFER_SIZE];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (card, sw) = loop {
        let attempt = ctx
            .connect(&reader_c, ShareMode::Shared, Protocols::ANY)
            .and_then(|card| {
                let sw = apdu::status(card.transmit(&command, &mut buf)?);
                Ok((card, sw))
            });
        match attempt {
            Ok(answered) => break answered,
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "no card in {reader:?} answered within 20 s (last error: {e})"
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let send = |buf: &mut [u8]| -> Result<u16, String> {
        let response = card
            .transmit(&command, buf)
            .map_err(|e| format!("SCardTransmit: {e}"))?;
        Ok(apdu::status(response))
    };
    if sw != 0x9000 {
        return Err(format!(
            "the card in {reader:?} answered {sw:04X} to {}, not 9000",
            hex_text(&command)
        ));
    }
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(500) {
        send(&mut buf)?;
    }
    let limit = Duration::from_secs_f64(seconds);
    let mut times = Vec::with_capacity(100_000);
    let started = Instant::now();
    while started.elapsed() < limit {
        let sent = Instant::now();
        let sw = send(&mut buf)?;
        times.push(sent.elapsed());
        if sw != 0x9000 {
            return Err(format!("status {sw:04X} after {} round trips", times.len()));
        }
    }
    card.disconnect(Disposition::LeaveCard)
        .map_err(|(_, e)| format!("SCardDisconnect: {e}"))?;

    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    let mean = ms(times.iter().sum::<Duration>()) / times.len() as f64;
    eprintln!(
        "pcsc_round_trip: {} in {reader}: {} round trips in {seconds} s, median {:.3} ms, mean {mean:.3} ms, p99 {:.3} ms",
        hex_text(&command),
        times.len(),
        at(0.5),
        at(0.99)
    );
    println!("round_trips {}", times.len());
    println!("median_ms {:.4}", at(0.5));
    println!("mean_ms {mean:.4}");
    println!("p90_ms {:.4}", at(0.9));
    println!("p99_ms {:.4}", at(0.99));
    Ok(())
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
