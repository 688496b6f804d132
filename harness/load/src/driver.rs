//! The measured run: one thread per worker, each with its own SUT. A worker prepares its cards,
//! waits for the others, warms up, then repeats the operation over its cards in turn, timing
//! each one into its own [`Stats`] (no shared lock on the hot path), until the duration is over
//! or the operations are all claimed. The main thread shows progress meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::config::{LoadConfig, Stop};
use super::progress::Meter;
use super::stats::Stats;
use super::target::Target;
use super::world::LoadWorld;
use super::LoadError;

/// How often progress is redrawn.
const TICK: Duration = Duration::from_millis(250);

/// What the measured phase gave.
pub struct Measured {
    /// Every worker's counts, added.
    pub stats: Stats,
    /// When the measured phase began (after the warm-up), host time.
    pub started_at: OffsetDateTime,
    /// From the start of the measured phase to the end of its last operation.
    pub duration: Duration,
    /// Workers that stopped early, and why (their adapter broke).
    pub lost: Vec<String>,
}

/// Shared between the workers and the progress display.
struct Shared<'a> {
    config: &'a LoadConfig,
    world: &'a LoadWorld,
    /// Workers done preparing, and how many were started (set once all are spawned): the
    /// measured phase starts for all of them at once.
    arrived: AtomicUsize,
    spawned: OnceLock<usize>,
    /// Set when a worker could not start or prepare: the others stop after the barrier.
    abort: AtomicBool,
    /// The first reason to abort.
    failure: Mutex<Option<LoadError>>,
    /// When the workers passed the barrier, and the same instant in host time.
    start: OnceLock<(Instant, OffsetDateTime)>,
    /// Operations claimed so far (`--ops`).
    claimed: AtomicU64,
    prepared: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    finished: AtomicUsize,
}

/// Runs `config` against `world`'s cards.
pub fn drive(config: &LoadConfig, world: &LoadWorld) -> Result<Measured, LoadError> {
    let shared = Shared {
        config,
        world,
        arrived: AtomicUsize::new(0),
        spawned: OnceLock::new(),
        abort: AtomicBool::new(false),
        failure: Mutex::new(None),
        start: OnceLock::new(),
        claimed: AtomicU64::new(0),
        prepared: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        finished: AtomicUsize::new(0),
    };
    let results: Vec<Result<WorkerResult, LoadError>> = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(config.concurrency);
        for worker in 0..config.concurrency {
            let shared = &shared;
            let spawned = std::thread::Builder::new()
                .name(format!("load worker {worker}"))
                .spawn_scoped(scope, move || run_worker(worker, shared));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(err) => {
                    abort(shared, LoadError::Thread(err));
                    break;
                }
            }
        }
        let _ = shared.spawned.set(handles.len());
        show_progress(&shared, handles.len());
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(LoadError::Worker("a worker panicked".to_owned())))
            })
            .collect()
    });
    if let Some(err) = shared
        .failure
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
    {
        return Err(err);
    }
    let (_, started_at) = shared
        .start
        .get()
        .copied()
        .unwrap_or((Instant::now(), OffsetDateTime::now_utc()));
    let mut stats = Stats::default();
    let mut duration = Duration::ZERO;
    let mut lost = Vec::new();
    for result in results {
        let result = result?;
        stats.merge(&result.stats);
        duration = duration.max(result.last_end);
        lost.extend(result.lost);
    }
    Ok(Measured {
        stats,
        started_at: started_at + config.warmup,
        duration,
        lost,
    })
}

struct WorkerResult {
    stats: Stats,
    /// When its last measured operation ended, from the start of the measured phase.
    last_end: Duration,
    lost: Option<String>,
}

fn run_worker(worker: usize, shared: &Shared<'_>) -> Result<WorkerResult, LoadError> {
    let result = start_and_measure(worker, shared);
    shared.finished.fetch_add(1, Ordering::SeqCst);
    result
}

fn start_and_measure(worker: usize, shared: &Shared<'_>) -> Result<WorkerResult, LoadError> {
    let config = shared.config;
    let cards = config.cards_of(worker);
    let prepared = prepare(worker, &cards, shared);
    wait_for_the_others(shared);
    let mut target = match prepared {
        Some(target) if !shared.abort.load(Ordering::SeqCst) => target,
        Some(target) => {
            target.stop();
            return Ok(idle());
        }
        None => return Ok(idle()),
    };
    let (start, _) = *shared
        .start
        .get_or_init(|| (Instant::now(), OffsetDateTime::now_utc()));
    let measure_from = start + config.warmup;
    let mut stats = Stats::default();
    let mut last_end = Duration::ZERO;
    let mut lost = None;
    for &card in cards.iter().cycle() {
        let card = &shared.world.cards[card];
        let began = Instant::now();
        let measured = began >= measure_from;
        if measured {
            let over = match config.stop {
                Stop::Duration(duration) => began >= measure_from + duration,
                Stop::Ops(total) => shared.claimed.fetch_add(1, Ordering::SeqCst) >= total,
            };
            if over {
                break;
            }
        }
        let result = target.perform(card);
        let ended = Instant::now();
        let fatal = matches!(&result, Err(failure) if failure.is_fatal());
        if measured || fatal {
            let at = began.saturating_duration_since(measure_from);
            match &result {
                Ok(()) => {
                    stats.record_ok(at, ended - began);
                    shared.ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(failure) => {
                    stats.record_failure(failure);
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            last_end = last_end.max(ended.saturating_duration_since(measure_from));
        }
        if let (true, Err(failure)) = (fatal, &result) {
            lost = Some(format!("worker {worker}: {}", failure.detail()));
            break;
        }
    }
    target.stop();
    Ok(WorkerResult {
        stats,
        last_end,
        lost,
    })
}

/// Starts the worker's SUT and prepares its cards; `None` (with the reason in `shared`) when
/// either failed.
fn prepare(worker: usize, cards: &[usize], shared: &Shared<'_>) -> Option<Target> {
    let fail = |err: LoadError| abort(shared, err);
    let mut target = match Target::start(shared.config, shared.world) {
        Ok(target) => target,
        Err(source) => {
            fail(LoadError::SutStart { worker, source });
            return None;
        }
    };
    for &index in cards {
        if shared.abort.load(Ordering::SeqCst) {
            break;
        }
        let card = &shared.world.cards[index];
        if let Err(failure) = target.prepare(card) {
            fail(LoadError::SutPreparation {
                card: card.handle.id.clone(),
                worker,
                kind: failure.kind(),
                detail: failure.detail(),
            });
            break;
        }
        shared.prepared.fetch_add(1, Ordering::Relaxed);
    }
    Some(target)
}

/// Stops every worker at the start line; the first reason is kept.
fn abort(shared: &Shared<'_>, err: LoadError) {
    shared.abort.store(true, Ordering::SeqCst);
    let mut failure = shared.failure.lock().unwrap_or_else(|e| e.into_inner());
    failure.get_or_insert(err);
}

/// Waits until every spawned worker has prepared, or the run is aborted.
fn wait_for_the_others(shared: &Shared<'_>) {
    let arrived = shared.arrived.fetch_add(1, Ordering::SeqCst) + 1;
    loop {
        if shared.abort.load(Ordering::SeqCst) {
            return;
        }
        if let Some(&spawned) = shared.spawned.get() {
            if arrived >= spawned || shared.arrived.load(Ordering::SeqCst) >= spawned {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn idle() -> WorkerResult {
    WorkerResult {
        stats: Stats::default(),
        last_end: Duration::ZERO,
        lost: None,
    }
}

/// Shows preparation, then the measured phase, until every worker has finished.
fn show_progress(shared: &Shared<'_>, workers: usize) {
    let config = shared.config;
    let to_prepare: u64 = (0..workers).map(|w| config.cards_of(w).len() as u64).sum();
    let needs_preparation = matches!(
        config.op,
        super::config::LoadOp::Status | super::config::LoadOp::LatestInfo
    );
    if needs_preparation {
        let meter = Meter::new("enrolling cards", to_prepare);
        while shared.start.get().is_none() && shared.finished.load(Ordering::SeqCst) < workers {
            meter.set(shared.prepared.load(Ordering::Relaxed), String::new());
            std::thread::sleep(TICK);
        }
        meter.finish(&format!(
            "enrolled: {} cards in {workers} workers",
            shared.prepared.load(Ordering::Relaxed)
        ));
    }
    if shared.abort.load(Ordering::SeqCst) {
        return;
    }
    let (total, unit) = match config.stop {
        Stop::Duration(duration) => ((config.warmup + duration).as_secs().max(1), "seconds"),
        Stop::Ops(ops) => (ops, "ops"),
    };
    let meter = Meter::new(&format!("measuring ({unit})"), total);
    let mut last = (Instant::now(), 0u64);
    let mut rate = 0.0;
    while shared.finished.load(Ordering::SeqCst) < workers {
        std::thread::sleep(TICK);
        let Some(&(start, _)) = shared.start.get() else {
            continue;
        };
        let (ok, failed) = (
            shared.ok.load(Ordering::Relaxed),
            shared.failed.load(Ordering::Relaxed),
        );
        let now = Instant::now();
        let since = now.duration_since(last.0).as_secs_f64();
        if since >= 1.0 {
            rate = (ok - last.1) as f64 / since;
            last = (now, ok);
        }
        let position = match config.stop {
            Stop::Duration(_) => now.duration_since(start).as_secs(),
            Stop::Ops(_) => ok + failed,
        };
        let phase = if now < start + config.warmup {
            "warming up".to_owned()
        } else {
            format!("{ok} ok, {failed} errors, {rate:.0} ops/s")
        };
        meter.set(position, phase);
    }
    let (ok, failed) = (
        shared.ok.load(Ordering::Relaxed),
        shared.failed.load(Ordering::Relaxed),
    );
    if shared.abort.load(Ordering::SeqCst) {
        meter.finish("not measured: the system under test could not be prepared");
    } else {
        meter.finish(&format!("measured: {ok} ok, {failed} errors"));
    }
}
