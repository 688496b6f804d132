//! Deterministic RSA-2048 key generation over many seeds, one thread, for the comparison with
//! `openssl genrsa 2048` (docs/performance.md, "Key generation"):
//!
//! `cargo run --release -p jpki-sim-benches --example keygen_rate -- [KEYS]`
//!
//! derives KEYS keys (default 40) from as many distinct seeds (`KeySeed::for_pool(i, Sign)` for
//! slots 1_000_000 + i, which no load run uses, so no cache is involved) with
//! `KeySeed::derive_key`, timing each, and prints the mean, median, minimum and maximum per key
//! and the CPU time of the thread. A prime search takes a different time for every seed (that is
//! why one fixed seed, as the criterion bench uses, says little about the mean): compare means
//! over tens of keys on both sides.

use std::time::Instant;

use mock_ca::{KeyRole, KeySeed};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys: u32 = match std::env::args().nth(1) {
        Some(text) => text.parse().map_err(|_| "usage: keygen_rate [KEYS]")?,
        None => 40,
    };
    if keys == 0 {
        return Err("KEYS must be at least 1".into());
    }
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let mut times = Vec::with_capacity(keys as usize);
    for i in 0..keys {
        let seed = KeySeed::for_pool(1_000_000 + i, KeyRole::Sign);
        let start = Instant::now();
        std::hint::black_box(seed.derive_key()?);
        times.push(start.elapsed().as_secs_f64());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds() - cpu_before;
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let median = times[times.len() / 2];
    println!(
        "keys: {keys}; per key: mean {:.1} ms, median {:.1} ms, min {:.1} ms, max {:.1} ms; \
         wall {wall:.2} s, thread CPU {cpu:.2} s ({:.1} ms a key)",
        mean * 1e3,
        median * 1e3,
        times[0] * 1e3,
        times[times.len() - 1] * 1e3,
        cpu / f64::from(keys) * 1e3,
    );
    Ok(())
}

/// The calling thread's CPU time (user + system), from `/proc/thread-self/stat`; 0 where
/// unreadable.
fn thread_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ: 100 on every Linux the kernel ABI promises to user space.
    (ticks(11) + ticks(12)) / 100.0
}
