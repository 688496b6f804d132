//! Merging the JSON results of several load generators that ran at the same time against one
//! system under test (`jpki-sim load --merge a.json b.json`): operations and errors add,
//! histograms add exactly, throughput adds second by second (each generator's seconds counted
//! from its own start), the duration is the longest. Files that do not describe the same
//! workload, or that are not what they claim, are refused with the file and what is wrong.

use std::path::{Path, PathBuf};

use super::report::{LoadReport, Workload, REPORT_VERSION};
use super::stats::{HistogramError, Stats};

/// Why results could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No file was given.
    #[error("nothing to merge: give at least one result file")]
    Nothing,
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON, or not the shape of a load result.
    #[error("{path} is not a load result")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A file is a load result of another version.
    #[error(
        "{path} is a load result of version {found}; this jpki-sim reads version {REPORT_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it declares, in words when it declares none.
        found: String,
    },
    /// A file's `histogram` does not decode.
    #[error("{path}: its histogram is unreadable")]
    Histogram {
        /// The file.
        path: PathBuf,
        /// Why it does not decode.
        #[source]
        source: HistogramError,
    },
    /// A file's counts disagree with each other (its histogram and `ops`, for instance): edited or
    /// cut short.
    #[error("{path}: {detail}")]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// Which counts disagree, and how.
        detail: String,
    },
    /// Two files measured different workloads.
    #[error(
        "{path} measured {theirs}, but {first} measured {ours}: only the same workload merges"
    )]
    Workload {
        /// The file that differs.
        path: PathBuf,
        /// Its workload, in words.
        theirs: String,
        /// The first file given, whose workload the others must match.
        first: PathBuf,
        /// The first file's workload, in words.
        ours: String,
    },
    /// Two files hold the same generator's run: one result given twice.
    #[error("{path} holds a run (started {started_at}) that {first} holds too: each generator's result must be given once")]
    Duplicate {
        /// The later file.
        path: PathBuf,
        /// The file that holds the run already.
        first: PathBuf,
        /// When that run started (RFC 3339).
        started_at: String,
    },
}

/// Reads a `--json` result, checking its version first (so that another version's shape is
/// reported as a version, not as a missing field) and that its counts agree.
pub fn read(path: &Path) -> Result<LoadReport, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// [`read`] of text already read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<LoadReport, MergeError> {
    let json_error = |source| MergeError::Json {
        path: path.to_owned(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_error)?;
    match value.get("version") {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(REPORT_VERSION.into()) => {}
        Some(other) => {
            return Err(MergeError::Version {
                path: path.to_owned(),
                found: other.to_string(),
            })
        }
        None => {
            return Err(MergeError::Version {
                path: path.to_owned(),
                found: "(none: no `version` field)".to_owned(),
            })
        }
    }
    let report: LoadReport = serde_json::from_value(value).map_err(json_error)?;
    let stats = report.stats().map_err(|source| MergeError::Histogram {
        path: path.to_owned(),
        source,
    })?;
    check_counts(&report, &stats).map_err(|detail| MergeError::Inconsistent {
        path: path.to_owned(),
        detail,
    })?;
    Ok(report)
}

/// Merges results read from the paths given, in that order.
pub fn merge(inputs: &[(PathBuf, LoadReport)]) -> Result<LoadReport, MergeError> {
    let Some((first_path, first)) = inputs.first() else {
        return Err(MergeError::Nothing);
    };
    let workload: Workload = first.workload;
    let mut stats = Stats::default();
    let mut generators = Vec::new();
    let mut started_at = first.started_at;
    let mut duration_s: f64 = 0.0;
    let mut seen: Vec<(&PathBuf, &super::report::Generator)> = Vec::new();
    for (path, report) in inputs {
        if report.workload != workload {
            return Err(MergeError::Workload {
                path: path.clone(),
                theirs: report.workload.describe(),
                first: first_path.clone(),
                ours: workload.describe(),
            });
        }
        for generator in &report.generators {
            if let Some((first, _)) = seen.iter().find(|(_, g)| *g == generator) {
                return Err(MergeError::Duplicate {
                    path: path.clone(),
                    first: (*first).clone(),
                    started_at: super::report::rfc3339(generator.started_at),
                });
            }
            seen.push((path, generator));
        }
        let theirs = report.stats().map_err(|source| MergeError::Histogram {
            path: path.clone(),
            source,
        })?;
        stats.merge(&theirs);
        generators.extend(report.generators.iter().cloned());
        started_at = started_at.min(report.started_at);
        duration_s = duration_s.max(report.duration_s);
    }
    Ok(LoadReport::assemble(
        workload, generators, &stats, started_at, duration_s,
    ))
}

/// The totals a file states must be the ones its histogram, errors and series give.
fn check_counts(report: &LoadReport, stats: &Stats) -> Result<(), String> {
    if stats.ok() != report.ops {
        return Err(format!(
            "`ops` is {} but its histogram holds {} latencies",
            report.ops,
            stats.ok()
        ));
    }
    let series: u64 = report.throughput.iter().sum();
    if series != report.ops {
        return Err(format!(
            "`ops` is {} but `throughput` adds up to {series}",
            report.ops
        ));
    }
    if report.attempted != report.ops + report.failed() {
        return Err(format!(
            "`attempted` is {} but `ops` ({}) and `errors` ({}) add up to {}",
            report.attempted,
            report.ops,
            report.failed(),
            report.ops + report.failed()
        ));
    }
    if report.generators.is_empty() {
        return Err("`generators` is empty".to_owned());
    }
    if !(report.duration_s.is_finite() && report.duration_s >= 0.0) {
        return Err(format!(
            "`duration_s` is {}, not a duration",
            report.duration_s
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::LoadOp;
    use crate::report::tests::fixed_report;
    use crate::stats::Failure;

    fn input(name: &str, report: LoadReport) -> (PathBuf, LoadReport) {
        (PathBuf::from(name), report)
    }

    /// The fixed report as another generator: a second later, fewer operations, another error.
    fn second_generator() -> LoadReport {
        let mut stats = Stats::default();
        for i in 0..500u64 {
            stats.record_ok(
                Duration::from_millis(i * 8),
                Duration::from_micros(2_000 + i),
            );
        }
        stats.record_failure(&Failure::Undetermined("the other one".to_owned()));
        stats.record_failure(&Failure::Card("6982".to_owned()));
        let mut generator = fixed_report().generators[0].clone();
        generator.started_at += time::Duration::seconds(1);
        generator.duration_s = 4.0;
        generator.attempted = 502;
        generator.ops = 500;
        generator.ops_per_second = 125.0;
        LoadReport::assemble(
            fixed_report().workload,
            vec![generator.clone()],
            &stats,
            generator.started_at,
            4.0,
        )
    }

    #[test]
    fn two_generators_add_up() {
        let (a, b) = (fixed_report(), second_generator());
        let merged = merge(&[input("a.json", a.clone()), input("b.json", b.clone())]).unwrap();
        assert_eq!(merged.ops, a.ops + b.ops);
        assert_eq!(merged.attempted, a.attempted + b.attempted);
        assert_eq!(merged.errors["undetermined"], 3);
        assert_eq!(merged.errors["card:6982"], 1);
        assert_eq!(
            merged.error_examples["undetermined"],
            a.error_examples["undetermined"]
        );
        assert_eq!(merged.duration_s, 4.0);
        assert_eq!(merged.started_at, a.started_at);
        assert_eq!(merged.ops_per_second, 875.0);
        assert_eq!(merged.generators.len(), 2);
        let series: Vec<u64> = (0..4)
            .map(|s| a.throughput.get(s).unwrap_or(&0) + b.throughput.get(s).unwrap_or(&0))
            .collect();
        assert_eq!(merged.throughput, series);
        let histogram = merged.stats().unwrap().histogram;
        assert_eq!(histogram.len(), 3_500);
        assert_eq!(
            histogram.max(),
            a.stats()
                .unwrap()
                .histogram
                .max()
                .max(b.stats().unwrap().histogram.max())
        );
    }

    #[test]
    fn generators_that_did_not_run_together_are_warned_about() {
        let together = merge(&[input("a", fixed_report()), input("b", second_generator())]);
        assert_eq!(together.unwrap().overlap_warning(), None);
        let mut later = second_generator();
        later.generators[0].started_at += time::Duration::seconds(100);
        let apart = merge(&[input("a", fixed_report()), input("b", later)]).unwrap();
        assert_eq!(
            apart.overlap_warning().unwrap(),
            "the generators started 101.0 s apart and the longest measured for 4.0 s: the merged \
             ops/s counts them as if they had run at the same time"
        );
    }

    #[test]
    fn merging_is_associative() {
        let (a, b, c) = (fixed_report(), second_generator(), {
            let mut c = second_generator();
            c.generators[0].started_at += time::Duration::seconds(1);
            c
        });
        let ab = merge(&[input("a", a.clone()), input("b", b.clone())]).unwrap();
        let ab_c = merge(&[input("ab", ab), input("c", c.clone())]).unwrap();
        let bc = merge(&[input("b", b), input("c", c)]).unwrap();
        let a_bc = merge(&[input("a", a), input("bc", bc)]).unwrap();
        assert_eq!(ab_c, a_bc);
    }

    #[test]
    fn a_merged_file_reads_back() {
        let merged = merge(&[
            input("a.json", fixed_report()),
            input("b.json", second_generator()),
        ])
        .unwrap();
        let back = parse(Path::new("m.json"), &merged.to_json()).unwrap();
        assert_eq!(back, merged);
    }

    #[test]
    fn different_operations_do_not_merge() {
        let mut other = second_generator();
        other.workload.op = LoadOp::Enrol;
        other.workload.via = None;
        let err = merge(&[input("a.json", fixed_report()), input("b.json", other)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.json measured enrol of sign certificates, but a.json measured status of sign \
             certificates via ocsp: only the same workload merges"
        );
    }

    #[test]
    fn the_same_run_twice_is_refused() {
        let err = merge(&[
            input("a.json", fixed_report()),
            input("copy.json", fixed_report()),
        ])
        .unwrap_err();
        assert!(
            matches!(&err, MergeError::Duplicate { path, .. } if path == Path::new("copy.json")),
            "{err}"
        );
    }

    #[test]
    fn another_version_is_named_as_such() {
        let mut json: serde_json::Value = serde_json::from_str(&fixed_report().to_json()).unwrap();
        json["version"] = serde_json::json!(2);
        json["renamed"] = json["ops"].take();
        let err = parse(Path::new("v2.json"), &json.to_string()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "v2.json is a load result of version 2; this jpki-sim reads version 1"
        );
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let path = Path::new("bad.json");
        let err = parse(path, "{\"version\": 1, \"ops\": }").unwrap_err();
        assert_eq!(err.to_string(), "bad.json is not a load result");
        let err = parse(path, "{\"version\": 1}").unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(cause, "missing field `workload`");
        let mut report = fixed_report();
        report.ops += 1;
        let err = parse(path, &report.to_json()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.json: `ops` is 3001 but its histogram holds 3000 latencies"
        );
        let mut report = fixed_report();
        report.histogram = "AAAA".to_owned();
        assert!(matches!(
            parse(path, &report.to_json()).unwrap_err(),
            MergeError::Histogram { .. }
        ));
    }
}
