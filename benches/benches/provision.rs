//! Persona derivation and card provisioning through `World`.
//!
//! - `provision/persona_derive`: `Persona::derive` alone (hashing and table look-ups).
//! - `provision/rsa_keygen`: one deterministic RSA-2048 key (`KeySeed::derive_key`), the unit of
//!   the cold path.
//! - `provision/world_cold_key_cache`: `World::provision` of a new card into a fresh in-memory
//!   store that holds only the CA keys: six card keys are generated (on as many threads as the
//!   machine has cores), two certificates issued, the card personalised.
//! - `provision/world_warm_key_cache`: the same card provisioned again with every key cached:
//!   what a restart of `jpki-sim up` costs per card.
//!
//! `cargo bench -p jpki-sim-benches --bench provision`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use mock_ca::{CaKeyRole, KeySeed};
use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use mock_jlis::Persona;
use sim_card::CardId;

const CARD: &str = "felica:0123456789ABCDEF";

/// The CA generation `World` uses today. If it changes, the cold setup derives the CA keys
/// itself: slower set-up, same measurement.
const CA_GENERATION: u32 = 1;

fn config() -> WorldConfig {
    WorldConfig::new("http://127.0.0.1:8700")
}

fn provision(c: &mut Criterion) {
    let card: CardId = CARD.parse().expect("valid card id");
    let mut group = c.benchmark_group("provision");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.bench_function("persona_derive", |b| {
        b.iter(|| Persona::derive(black_box(&card), black_box(1)))
    });

    // Key generation and cold provisioning: hundreds of ms per iteration.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));

    let seed = KeySeed::for_authority(CA_GENERATION, CaKeyRole::OcspResponder);
    group.bench_function("rsa_keygen", |b| {
        b.iter(|| seed.derive_key().expect("key derivation"))
    });

    let ca_keys: Vec<(KeySeed, Vec<u8>)> = [CaKeyRole::SignCa, CaKeyRole::AuthCa]
        .into_iter()
        .map(|role| {
            let seed = KeySeed::for_authority(CA_GENERATION, role);
            let key = seed.derive_key().expect("CA key derivation");
            (seed, key.pkcs8_der().to_vec())
        })
        .collect();
    let world_with_ca_keys = || {
        let store = Store::in_memory().expect("in-memory store");
        for (seed, pkcs8) in &ca_keys {
            store.put_key(seed.as_bytes(), pkcs8).expect("cache CA key");
        }
        World::open(config(), store, None).expect("open world")
    };
    group.bench_function("world_cold_key_cache", |b| {
        // The world is dropped outside the timed region.
        b.iter_batched_ref(
            world_with_ca_keys,
            |world| world.provision(&card, None).expect("provision"),
            BatchSize::PerIteration,
        )
    });

    let world = world_with_ca_keys();
    world.provision(&card, None).expect("provision");
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Auto)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("world_warm_key_cache", |b| {
        b.iter(|| {
            world
                .provision_generation(&card, 1, None)
                .expect("provision")
        })
    });

    group.finish();
}

criterion_group!(benches, provision);
criterion_main!(benches);
