//! What a load run counts: latencies of correct answers in an HdrHistogram (microseconds),
//! failures by kind, and correct answers per second of the run. Each worker keeps its own
//! [`Stats`]; they are added at the end, exactly, which is also how results of several
//! generators merge.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use adapter_protocol::ErrorCode;
use vocab::RejectReason;

/// Significant figures kept: 0.1 % resolution at any latency.
const SIGNIFICANT_FIGURES: u8 = 3;

/// Characters of an error's detail kept as its kind's example.
const EXAMPLE_LEN: usize = 300;

/// Why one operation did not count as a correct answer. Each has a stable kind (the key of
/// `errors` in reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The adapter process died, wrote something that is not a message, or did not answer in
    /// time. Its worker stops: the process is gone or wedged.
    AdapterBroken(String),
    /// The adapter answered with an `error` instead of a result.
    Refused {
        /// The protocol's error code.
        code: ErrorCode,
        /// The adapter's message.
        message: String,
    },
    /// The adapter's `result` does not have the shape the operation returns.
    BadResult(String),
    /// The in-process reference failed as a program.
    Failed(String),
    /// The PF rejected an enrolment of a good certificate with a good signature.
    Rejected {
        /// Why the PF rejected it.
        reason: RejectReason,
        /// The PF's detail.
        detail: String,
    },
    /// The PF could not establish what it was asked (fails closed).
    Undetermined(String),
    /// A verdict other than the right one: `outcome` names it (`revoked`, `not_consented`).
    Unexpected {
        /// The verdict given.
        outcome: String,
        /// What the PF said of it.
        detail: String,
    },
    /// The latest basic 4 info is not the holder's.
    WrongInfo(String),
    /// The card refused: its status word.
    Card(String),
    /// No card answered.
    NoCard,
    /// A signature that does not verify with the card's certificate.
    BadSignature,
}

impl Failure {
    /// The kind reports count it under: `adapter_broken`, `refused:failed`,
    /// `rejected:status_undetermined`, `unexpected:revoked`, `card:6982`.
    pub fn kind(&self) -> String {
        match self {
            Failure::AdapterBroken(_) => "adapter_broken".to_owned(),
            Failure::Refused { code, .. } => format!("refused:{}", snake(code)),
            Failure::BadResult(_) => "bad_result".to_owned(),
            Failure::Failed(_) => "failed".to_owned(),
            Failure::Rejected { reason, .. } => format!("rejected:{}", snake(reason)),
            Failure::Undetermined(_) => "undetermined".to_owned(),
            Failure::Unexpected { outcome, .. } => format!("unexpected:{outcome}"),
            Failure::WrongInfo(_) => "wrong_info".to_owned(),
            Failure::Card(status) => format!("card:{status}"),
            Failure::NoCard => "no_card".to_owned(),
            Failure::BadSignature => "bad_signature".to_owned(),
        }
    }

    /// What happened, in words, for the first failure of each kind.
    pub fn detail(&self) -> String {
        match self {
            Failure::AdapterBroken(detail)
            | Failure::BadResult(detail)
            | Failure::Failed(detail)
            | Failure::Undetermined(detail)
            | Failure::WrongInfo(detail) => detail.clone(),
            Failure::Refused { message, .. } => message.clone(),
            Failure::Rejected { detail, .. } | Failure::Unexpected { detail, .. } => detail.clone(),
            Failure::Card(status) => format!("the card answered {status}"),
            Failure::NoCard => "no card in the reader".to_owned(),
            Failure::BadSignature => {
                "the signature does not verify with the card's certificate".to_owned()
            }
        }
    }

    /// Whether the worker's SUT is unusable after this.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Failure::AdapterBroken(_))
    }
}

/// Counts of one worker, or of several added together.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latencies of correct answers, microseconds.
    pub histogram: Histogram<u64>,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
    /// The first detail seen of each kind.
    pub examples: BTreeMap<String, String>,
    /// Correct answers per second of the measured phase, by the second the operation started in.
    pub throughput: Vec<u64>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            histogram: new_histogram(),
            errors: BTreeMap::new(),
            examples: BTreeMap::new(),
            throughput: Vec::new(),
        }
    }
}

impl Stats {
    /// A correct answer to an operation started `at` into the measured phase, after `latency`.
    pub fn record_ok(&mut self, at: Duration, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // An auto-resizing histogram only refuses values beyond u64::MAX / 2: hours of latency
        // are far below that.
        let _ = self.histogram.record(micros);
        let second = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        if second >= self.throughput.len() {
            self.throughput.resize(second + 1, 0);
        }
        self.throughput[second] += 1;
    }

    /// Counts `failure` under its kind, keeping its detail as the kind's example if it is the
    /// first.
    pub fn record_failure(&mut self, failure: &Failure) {
        let kind = failure.kind();
        if !self.examples.contains_key(&kind) {
            self.examples.insert(
                kind.clone(),
                failure.detail().chars().take(EXAMPLE_LEN).collect(),
            );
        }
        *self.errors.entry(kind).or_insert(0) += 1;
    }

    /// Adds `other`: histograms exactly, errors by kind, throughput second by second.
    pub fn merge(&mut self, other: &Stats) {
        // Both histograms resize; adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += count;
        }
        for (kind, example) in &other.examples {
            self.examples
                .entry(kind.clone())
                .or_insert_with(|| example.clone());
        }
        if other.throughput.len() > self.throughput.len() {
            self.throughput.resize(other.throughput.len(), 0);
        }
        for (mine, theirs) in self.throughput.iter_mut().zip(&other.throughput) {
            *mine += theirs;
        }
    }

    /// Correct answers.
    pub fn ok(&self) -> u64 {
        self.histogram.len()
    }

    /// Failed operations.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The percentiles of the correct answers so far; zeros when there are none.
    pub fn latency(&self) -> Latency {
        let h = &self.histogram;
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            mean: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

/// Latency percentiles of correct answers, microseconds (HdrHistogram values: within 0.1 %).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The slowest.
    pub max: u64,
    /// Mean, to 0.1 µs.
    pub mean: f64,
}

/// Why a serialised histogram was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The text is not base64.
    #[error("not base64")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 encoding.
    #[error("not an HdrHistogram V2 encoding: {0}")]
    Encoding(String),
    /// The encoding declares more bytes of counts than it holds: cut short.
    #[error("it declares {declared} bytes of counts but holds {held}")]
    Truncated {
        /// The length its header declares.
        declared: usize,
        /// The bytes after the header.
        held: usize,
    },
}

/// The histogram as base64 of its HdrHistogram V2 encoding (uncompressed, so its declared
/// length can be checked against the bytes present before decoding).
/// The same samples always give the same text: the histogram is first copied into one whose
/// range ends at its largest value (a resizing histogram's range depends on the order values
/// came in).
pub fn encode_histogram(histogram: &Histogram<u64>) -> String {
    let canonical =
        Histogram::<u64>::new_with_bounds(1, histogram.max().max(2), SIGNIFICANT_FIGURES)
            .ok()
            .and_then(|mut canonical| canonical.add(histogram).ok().map(|()| canonical));
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail, and V2 encodes every u64 histogram.
    let _ = V2Serializer::new().serialize(canonical.as_ref().unwrap_or(histogram), &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The inverse of [`encode_histogram`]; the result resizes, so any other histogram adds to it.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    // V2: cookie (4), payload length (4), normalising offset (4), digits (4), lowest (8),
    // highest (8), integer-to-double ratio (8), then the payload.
    const HEADER: usize = 40;
    let held = bytes.len().saturating_sub(HEADER);
    let declared = bytes
        .get(4..8)
        .map(|len| u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize)
        .ok_or_else(|| HistogramError::Encoding("shorter than its header".to_owned()))?;
    if declared > held {
        return Err(HistogramError::Truncated { declared, held });
    }
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|err| HistogramError::Encoding(format!("{err:?}")))?;
    let mut resizing = new_histogram();
    resizing
        .add(&decoded)
        .map_err(|err| HistogramError::Encoding(format!("{err:?}")))?;
    Ok(resizing)
}

/// An empty histogram of microseconds that resizes to any value, with the precision reports
/// use (3 significant figures).
pub fn new_histogram() -> Histogram<u64> {
    // 3 significant figures is within the bounds `new` accepts.
    Histogram::new(SIGNIFICANT_FIGURES).unwrap_or_else(|_| unreachable!("3 figures are valid"))
}

/// The snake_case serde name of a unit variant.
fn snake(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Every recorded value with its count: what two histograms must agree on to be the same
    /// samples (`==` also compares their allocated ranges, which resizing makes differ).
    fn recorded(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn failures_have_stable_kinds() {
        let kinds: Vec<String> = [
            Failure::AdapterBroken("gone".to_owned()),
            Failure::Refused {
                code: ErrorCode::UnknownEnrolment,
                message: "x".to_owned(),
            },
            Failure::Rejected {
                reason: RejectReason::StatusUndetermined,
                detail: String::new(),
            },
            Failure::Undetermined(String::new()),
            Failure::Unexpected {
                outcome: "revoked".to_owned(),
                detail: String::new(),
            },
            Failure::Card("6982".to_owned()),
            Failure::BadSignature,
        ]
        .iter()
        .map(Failure::kind)
        .collect();
        assert_eq!(
            kinds,
            [
                "adapter_broken",
                "refused:unknown_enrolment",
                "rejected:status_undetermined",
                "undetermined",
                "unexpected:revoked",
                "card:6982",
                "bad_signature"
            ]
        );
    }

    #[test]
    fn correct_answers_count_by_the_second_they_started_in() {
        let mut stats = Stats::default();
        stats.record_ok(ms(10), ms(2));
        stats.record_ok(ms(999), ms(3));
        stats.record_ok(ms(2_500), ms(4));
        stats.record_failure(&Failure::Undetermined("responder down".to_owned()));
        stats.record_failure(&Failure::Undetermined("another".to_owned()));
        assert_eq!(stats.throughput, vec![2, 0, 1]);
        assert_eq!(stats.ok(), 3);
        assert_eq!(stats.failed(), 2);
        assert_eq!(stats.errors["undetermined"], 2);
        assert_eq!(stats.examples["undetermined"], "responder down");
        let latency = stats.latency();
        // Within HdrHistogram's resolution (0.1 %) of the 3 ms median and the 4 ms maximum.
        assert!(
            stats.histogram.equivalent(latency.p50, 3_000),
            "{latency:?}"
        );
        assert!(
            stats.histogram.equivalent(latency.max, 4_000),
            "{latency:?}"
        );
        assert!(
            !stats.histogram.equivalent(latency.p50, 2_000),
            "{latency:?}"
        );
    }

    #[test]
    fn an_empty_run_has_zero_latency_not_garbage() {
        assert_eq!(Stats::default().latency(), Latency::default());
    }

    #[test]
    fn a_histogram_survives_encoding() {
        let mut stats = Stats::default();
        for n in [1, 10, 100, 1_000, 10_000, 1_000_000] {
            stats.record_ok(Duration::ZERO, Duration::from_micros(n));
        }
        let back = decode_histogram(&encode_histogram(&stats.histogram)).unwrap();
        assert_eq!(recorded(&back), recorded(&stats.histogram));
        assert_eq!(back.len(), 6);
    }

    #[test]
    fn a_truncated_histogram_is_refused_with_its_lengths() {
        let mut h = new_histogram();
        h.record(1234).unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(encode_histogram(&h))
            .unwrap();
        bytes.truncate(bytes.len() - 1);
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(matches!(
            decode_histogram(&text),
            Err(HistogramError::Truncated { .. })
        ));
        assert!(matches!(
            decode_histogram("not base64!"),
            Err(HistogramError::Base64(_))
        ));
    }

    proptest! {
        /// Merging per-worker stats is the same as one worker recording every sample.
        #[test]
        fn merged_stats_equal_recording_everything_in_one(
            parts in prop::collection::vec(
                prop::collection::vec((0u64..5_000, 1u64..5_000_000), 0..50),
                1..6,
            )
        ) {
            let mut merged = Stats::default();
            let mut single = Stats::default();
            for part in &parts {
                let mut worker = Stats::default();
                for &(at, micros) in part {
                    worker.record_ok(ms(at), Duration::from_micros(micros));
                    single.record_ok(ms(at), Duration::from_micros(micros));
                }
                merged.merge(&worker);
            }
            prop_assert_eq!(recorded(&merged.histogram), recorded(&single.histogram));
            prop_assert_eq!(&merged.throughput, &single.throughput);
            prop_assert_eq!(merged.latency(), single.latency());
            // And exactly so through the report encoding.
            let through = decode_histogram(&encode_histogram(&merged.histogram)).unwrap();
            prop_assert_eq!(recorded(&through), recorded(&single.histogram));
        }

        #[test]
        fn garbage_histograms_are_errors_not_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let _ = decode_histogram(&text);
        }
    }
}
