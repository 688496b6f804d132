//! The result of a load run as data: the versioned JSON document (`--json`), and the summary
//! printed on stdout. One shape serves a single run and the merge of several generators: a run
//! is a merge of one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::{key_name, via_name, LoadConfig, LoadOp, Stop};
use super::driver::Measured;
use super::stats::{decode_histogram, encode_histogram, HistogramError, Latency, Stats};
use vocab::{KeyKind, StatusChannel};

/// The version of the JSON document. A change that would break a reader of version 1 is a new
/// version; adding fields is not.
pub const REPORT_VERSION: u32 = 1;

/// A load run's results (`jpki-sim load --json`), or the merge of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The document's version, [`REPORT_VERSION`] when written.
    pub version: u32,
    /// What was measured; only results of the same workload merge.
    pub workload: Workload,
    /// When the earliest generator's measured phase began (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The longest generator's measured phase, seconds: generators are taken to have run at
    /// the same time.
    pub duration_s: f64,
    /// Operations completed, correct or not.
    pub attempted: u64,
    /// Correct answers.
    pub ops: u64,
    /// Failed operations by kind (`undetermined`, `refused:failed`, ...).
    pub errors: BTreeMap<String, u64>,
    /// The first failure of each kind, in words.
    pub error_examples: BTreeMap<String, String>,
    /// Correct answers per second: `ops / duration_s`.
    pub ops_per_second: f64,
    /// Latency of correct answers, microseconds.
    pub latency_us: Latency,
    /// Every correct answer's latency: base64 of the HdrHistogram V2 encoding (microseconds,
    /// 3 significant figures), so merges are exact.
    pub histogram: String,
    /// Correct answers in each second of the measured phase, by the second they started in;
    /// merged generators add second by second.
    pub throughput: Vec<u64>,
    /// Each generator that contributed, in merge order.
    pub generators: Vec<Generator>,
}

/// The operation measured and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// The operation measured.
    pub op: LoadOp,
    /// The certificate PF operations use, or the key `sign` uses.
    pub key: KeyKind,
    /// The status channel (`status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<StatusChannel>,
}

/// One `jpki-sim load` process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// `ref-pf`, `ref-sdk`, `pf=COMMAND` or `sdk=COMMAND`.
    pub sut: String,
    /// Cards provisioned (`--cards`).
    pub cards: usize,
    /// The pool the cards' key pairs came from (`--key-pool`); absent: every card its own
    /// (`--distinct-keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pool: Option<u32>,
    /// Workers (`--concurrency`).
    pub concurrency: usize,
    /// When the measured phase was to end.
    pub stop: Stop,
    /// The warm-up, seconds.
    pub warmup_s: f64,
    /// What the generator ran on.
    pub machine: Machine,
    /// When its measured phase began (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Its measured phase, seconds.
    pub duration_s: f64,
    /// Operations completed, correct or not.
    pub attempted: u64,
    /// Correct answers.
    pub ops: u64,
    /// Correct answers per second.
    pub ops_per_second: f64,
}

/// The machine a generator ran on, without naming it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// The operating system, as Rust names it (`linux`, `macos`, `windows`).
    pub os: String,
    /// The CPU architecture, as Rust names it (`x86_64`, `aarch64`).
    pub arch: String,
    /// 1, 5 and 15-minute load averages when the workers started (Linux), to tell a figure of
    /// an idle machine from one of a busy machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
}

impl Machine {
    /// This machine, now.
    pub fn current() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            load_average: load_average(),
        }
    }
}

impl Workload {
    /// The workload `config` measures; `via` only for `status`.
    pub fn of(config: &LoadConfig) -> Workload {
        Workload {
            op: config.op,
            key: config.key,
            via: (config.op == LoadOp::Status).then_some(config.via),
        }
    }

    /// `status of sign certificates via ocsp`, `sign with the auth key`.
    pub fn describe(&self) -> String {
        match (self.op, self.via) {
            (LoadOp::Sign, _) => format!("sign with the {} key", key_name(self.key)),
            (op, Some(via)) => format!(
                "{op} of {} certificates via {}",
                key_name(self.key),
                via_name(via)
            ),
            (op, None) => format!("{op} of {} certificates", key_name(self.key)),
        }
    }
}

/// A load run that does not count as a success.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverBudget {
    /// Not one operation completed.
    #[error("no operation completed")]
    NothingCompleted,
    /// More operations failed than `--max-error-rate` allows.
    #[error("{:.2} % of operations failed, more than --max-error-rate {max_error_rate}", .rate * 100.0)]
    TooManyErrors {
        /// Failed operations as a fraction of those completed.
        rate: f64,
        /// The budget.
        max_error_rate: f64,
    },
}

impl LoadReport {
    /// The report of one run.
    pub fn of_run(config: &LoadConfig, measured: &Measured, machine: Machine) -> LoadReport {
        let stats = &measured.stats;
        // Milliseconds are plenty for lining generators up.
        let started_at = measured
            .started_at
            .replace_millisecond(measured.started_at.millisecond())
            .unwrap_or(measured.started_at);
        let duration_s = seconds(measured.duration);
        let generator = Generator {
            sut: config.sut.to_string(),
            cards: config.cards,
            key_pool: config.key_pool.map(std::num::NonZeroU32::get),
            concurrency: config.concurrency,
            stop: config.stop,
            warmup_s: seconds(config.warmup),
            machine,
            started_at,
            duration_s,
            attempted: stats.ok() + stats.failed(),
            ops: stats.ok(),
            ops_per_second: rate(stats.ok(), duration_s),
        };
        LoadReport::assemble(
            Workload::of(config),
            vec![generator],
            stats,
            started_at,
            duration_s,
        )
    }

    /// A report of `generators` whose counts, added, are `stats`.
    pub fn assemble(
        workload: Workload,
        generators: Vec<Generator>,
        stats: &Stats,
        started_at: OffsetDateTime,
        duration_s: f64,
    ) -> LoadReport {
        LoadReport {
            version: REPORT_VERSION,
            workload,
            started_at,
            duration_s,
            attempted: stats.ok() + stats.failed(),
            ops: stats.ok(),
            errors: stats.errors.clone(),
            error_examples: stats.examples.clone(),
            ops_per_second: rate(stats.ok(), duration_s),
            latency_us: stats.latency(),
            histogram: encode_histogram(&stats.histogram),
            throughput: stats.throughput.clone(),
            generators,
        }
    }

    /// The counts back as [`Stats`], for merging.
    pub fn stats(&self) -> Result<Stats, HistogramError> {
        Ok(Stats {
            histogram: decode_histogram(&self.histogram)?,
            errors: self.errors.clone(),
            examples: self.error_examples.clone(),
            throughput: self.throughput.clone(),
        })
    }

    /// Failed operations.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Failed operations as a fraction of those completed (0 when none completed).
    pub fn error_rate(&self) -> f64 {
        if self.attempted == 0 {
            0.0
        } else {
            self.failed() as f64 / self.attempted as f64
        }
    }

    /// Whether the run kept within its error budget: `Err` says how it did not.
    pub fn within_budget(&self, max_error_rate: f64) -> Result<(), OverBudget> {
        if self.attempted == 0 {
            return Err(OverBudget::NothingCompleted);
        }
        let rate = self.error_rate();
        if rate > max_error_rate {
            return Err(OverBudget::TooManyErrors {
                rate,
                max_error_rate,
            });
        }
        Ok(())
    }

    /// The JSON document, pretty-printed, newline-terminated.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// The summary printed on stdout.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        let mut distinct: Vec<&str> = self.generators.iter().map(|g| g.sut.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let cards: usize = self.generators.iter().map(|g| g.cards).sum();
        let workers: usize = self.generators.iter().map(|g| g.concurrency).sum();
        let mut pools: Vec<Option<u32>> = self.generators.iter().map(|g| g.key_pool).collect();
        pools.dedup();
        let keys = match pools.as_slice() {
            [Some(pool)] => format!("keys from a pool of {pool}"),
            [None] | [] => "distinct keys".to_owned(),
            _ => "keys pooled in some generators".to_owned(),
        };
        let _ = writeln!(
            text,
            "{} against {}: {cards} cards ({keys}), {workers} workers",
            self.workload.describe(),
            distinct.join(", ")
        );
        if self.generators.len() > 1 {
            let _ = writeln!(
                text,
                "merged from {} generators started within {:.3} s",
                self.generators.len(),
                self.start_spread()
            );
        }
        let warmup = self.generators.first().map_or(String::new(), |g| {
            format!(" after a {:.1} s warm-up", g.warmup_s)
        });
        let _ = writeln!(
            text,
            "duration: {:.3} s{warmup}, started {}",
            self.duration_s,
            rfc3339(self.started_at)
        );
        let _ = writeln!(
            text,
            "operations: {} completed, {} correct, {} errors ({:.2} %)",
            self.attempted,
            self.ops,
            self.failed(),
            self.error_rate() * 100.0
        );
        let _ = writeln!(
            text,
            "throughput: {:.1} correct answers/s",
            self.ops_per_second
        );
        let l = &self.latency_us;
        let _ = writeln!(
            text,
            "latency (ms): p50 {}  p90 {}  p99 {}  max {}  mean {:.3}",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.max),
            l.mean / 1000.0
        );
        if self.errors.is_empty() {
            text.push_str("errors: none\n");
        } else {
            text.push_str("errors by kind:\n");
            for (kind, count) in &self.errors {
                let example = self
                    .error_examples
                    .get(kind)
                    .map_or(String::new(), |e| format!(", e.g. {e}"));
                let _ = writeln!(text, "  {kind}: {count}{example}");
            }
        }
        if let Some(load) = self.generators.iter().find_map(|g| g.machine.load_average) {
            let cores = self.generators.first().map_or(0, |g| g.machine.cores);
            let _ = writeln!(
                text,
                "machine: {cores} cores, load average {:.2} {:.2} {:.2} at the start",
                load[0], load[1], load[2]
            );
        }
        text
    }

    /// Why the merged figures may mislead: generators whose measured phases did not start
    /// together (within a second, or a tenth of the run) were not loading the SUT at the same
    /// time, and ops/s assumes they were.
    pub fn overlap_warning(&self) -> Option<String> {
        let spread = self.start_spread();
        (spread > 1.0_f64.max(self.duration_s / 10.0)).then(|| {
            format!(
                "the generators started {spread:.1} s apart and the longest measured for {:.1} s: \
                 the merged ops/s counts them as if they had run at the same time",
                self.duration_s
            )
        })
    }

    /// Seconds between the first and the last generator's start.
    pub fn start_spread(&self) -> f64 {
        let starts = self.generators.iter().map(|g| g.started_at);
        match (starts.clone().min(), starts.max()) {
            (Some(first), Some(last)) => (last - first).as_seconds_f64(),
            _ => 0.0,
        }
    }
}

/// Microseconds as milliseconds with three decimals.
pub fn ms(micros: u64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// `at` in RFC 3339, as the documents and summaries write times.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// `count / seconds`, to 0.1, and 0 for an empty interval.
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        (count as f64 / seconds * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// A duration in seconds, to the millisecond.
pub fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_verdict_follows_the_error_budget() {
        let report = fixed_report();
        assert!(matches!(
            report.within_budget(0.0),
            Err(OverBudget::TooManyErrors { .. })
        ));
        assert_eq!(report.within_budget(0.01), Ok(()));
        let nothing = LoadReport {
            attempted: 0,
            ..fixed_report()
        };
        assert_eq!(
            nothing.within_budget(1.0),
            Err(OverBudget::NothingCompleted)
        );
    }
    use crate::stats::Failure;

    /// A fixed report: two errors of one kind, one of another, latencies from 0.8 to 40 ms.
    pub fn fixed_report() -> LoadReport {
        let mut stats = Stats::default();
        for i in 0..3_000u64 {
            let at = Duration::from_millis(i);
            let latency = Duration::from_micros(
                800 + (i * 37) % 3_000 + if i % 500 == 0 { 40_000 } else { 0 },
            );
            stats.record_ok(at, latency);
        }
        stats.record_failure(&Failure::Undetermined(
            "OCSP: the responder answered HTTP 503".to_owned(),
        ));
        stats.record_failure(&Failure::Undetermined("again".to_owned()));
        stats.record_failure(&Failure::Unexpected {
            outcome: "revoked".to_owned(),
            detail: r#"{"outcome":"revoked","reason":"key_compromise"}"#.to_owned(),
        });
        let started_at = datetime!(2026-11-22 03:00:00 UTC);
        let generator = Generator {
            sut: "ref-pf".to_owned(),
            cards: 100,
            key_pool: Some(64),
            concurrency: 8,
            stop: Stop::Duration(Duration::from_secs(3)),
            warmup_s: 1.0,
            machine: Machine {
                cores: 2,
                os: "linux".to_owned(),
                arch: "x86_64".to_owned(),
                load_average: Some([0.12, 0.5, 1.0]),
            },
            started_at,
            duration_s: 3.0,
            attempted: 3_003,
            ops: 3_000,
            ops_per_second: 1_000.0,
        };
        LoadReport::assemble(
            Workload {
                op: LoadOp::Status,
                key: KeyKind::Sign,
                via: Some(StatusChannel::Ocsp),
            },
            vec![generator],
            &stats,
            started_at,
            3.0,
        )
    }

    #[test]
    fn json_report_of_a_fixed_run() {
        insta::assert_snapshot!(fixed_report().to_json());
    }

    #[test]
    fn summary_of_a_fixed_run() {
        insta::assert_snapshot!(fixed_report().summary());
    }

    #[test]
    fn the_json_reads_back_as_it_was() {
        let report = fixed_report();
        let back: LoadReport = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.stats().unwrap().ok(), 3_000);
    }

    #[test]
    fn counts_add_up() {
        let report = fixed_report();
        assert_eq!(report.attempted, report.ops + report.failed());
        assert_eq!(report.throughput.iter().sum::<u64>(), report.ops);
        assert_eq!(report.ops_per_second, 1_000.0);
        assert!((report.error_rate() - 3.0 / 3_003.0).abs() < 1e-12);
    }

    #[test]
    fn milliseconds_keep_three_decimals() {
        assert_eq!(ms(1_234), "1.234");
        assert_eq!(ms(45), "0.045");
        assert_eq!(ms(12_000), "12.000");
    }
}
