//! Versioned JSON: what other tools read, and what `jpki-sim report` merges into one matrix, so
//! it carries everything the HTML cell of a result shows (detail and trace). Bump [`VERSION`]
//! when a field changes meaning or goes away, or an outcome is added; adding fields keeps it.
//!
//! Version 2 added the `known_divergence` and `unexpected_pass` outcomes, `description`, and
//! the trace of every outcome other than `pass` and `skipped` (version 1 had it only for
//! unexpected ones). Version 3 added the `not_exercised` outcome: a scenario that passed
//! without the system under test answering any of its steps, which versions 1 and 2 reported
//! as `pass`.
//!
//! [`ReportFile`] and the records below are the format: [`render`] writes them and [`parse`]
//! reads them, and their JSON Schema ([`super::schema`]) is committed as
//! `harness/conformance/schema/report.json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runner::{Listing, Outcome, ScenarioResult, TraceEntry};
use crate::scenario::{Importance, Position, ScenarioId};
use vocab::{Feature, Role};

/// The format's version, a top-level field of every report.
pub const VERSION: u32 = 3;

/// Renders `results` of the suite named `suite`, pretty-printed.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let report = ReportFile {
        version: VERSION,
        suite: suite.to_owned(),
        results: results.iter().map(ResultRecord::of).collect(),
    };
    // Through a `Value`, whose objects keep their keys sorted: every object of a report, the
    // trace entries' too, has always listed its keys in that order.
    let value = serde_json::to_value(&report).unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// A report read back: the suite it ran and its results.
#[derive(Debug, Clone)]
pub struct Report {
    /// The suite the run covered (its root, or the title `jpki-sim report` was given).
    pub suite: String,
    /// One result per scenario and adapter, in the order of the run.
    pub results: Vec<ScenarioResult>,
}

/// Why a JSON report cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The report's path.
        path: PathBuf,
        /// What reading it failed with.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON, or not shaped as a report (`version`, `suite`, `results`).
    #[error("{}: not a jpki-sim JSON report: {source}", path.display())]
    Json {
        /// The report's path.
        path: PathBuf,
        /// What parsing it failed with.
        #[source]
        source: serde_json::Error,
    },
    /// The report's `version` is outside 1 to [`VERSION`]: written by another jpki-sim.
    #[error("{}: report version {found}; this jpki-sim reads versions 1 to {VERSION}", path.display())]
    Version {
        /// The report's path.
        path: PathBuf,
        /// The version the report has.
        found: u32,
    },
    /// One result does not hold together; `index` is its position in `results`.
    #[error("{}: results[{index}]: {problem}", path.display())]
    Result {
        /// The report's path.
        path: PathBuf,
        /// The result's position in `results`, from 0.
        index: usize,
        /// What is wrong with it: an unknown outcome, a detail that does not fit, a bad id.
        problem: String,
    },
}

/// Reads the JSON report at `path`.
pub fn read(path: &Path) -> Result<Report, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses a JSON report of version 1 or [`VERSION`]; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Report, ReadError> {
    let json_error = |source| ReadError::Json {
        path: path.to_owned(),
        source,
    };
    // The results one by one, so that an error names the result it is in.
    let report: ReportFile<Value> = serde_json::from_str(text).map_err(json_error)?;
    if !(1..=VERSION).contains(&report.version) {
        return Err(ReadError::Version {
            path: path.to_owned(),
            found: report.version,
        });
    }
    let results = report
        .results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            ResultRecord::read(result)
                .and_then(ResultRecord::into_result)
                .map_err(|problem| ReadError::Result {
                    path: path.to_owned(),
                    index,
                    problem,
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Report {
        suite: report.suite,
        results,
    })
}

/// A JSON report as written and read: `jpki-sim run --json` writes one, `jpki-sim report`
/// merges several. Readers ignore fields they do not know, so that fields can be added
/// without a new `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "jpki-sim JSON report")]
pub struct ReportFile<R = ResultRecord> {
    /// The format's version: 3. Version 2 lacked the `not_exercised` outcome (it reported
    /// such scenarios as `pass`); version 1 also lacked the `known_divergence` and
    /// `unexpected_pass` outcomes and `description`, and had traces of unexpected outcomes
    /// only.
    #[schemars(range(min = 1, max = VERSION))]
    pub version: u32,
    /// The suite the run covered (its root, or the title `jpki-sim report` was given).
    pub suite: String,
    /// One result per scenario and adapter, in the order of the run.
    pub results: Vec<R>,
}

/// The result of one scenario against one adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResultRecord {
    /// The scenario id, `<area>/<name>`.
    #[schemars(regex(pattern = r"^[a-z0-9_]+/[a-z0-9_]+$"))]
    pub id: String,
    /// The scenario file, as the run named it.
    pub file: String,
    /// What the scenario checks and why (absent from version 1).
    #[serde(default)]
    pub description: String,
    /// The adapter (SDK and PF) the scenario ran against: the column of the matrix.
    pub adapter: String,
    /// How much a failure of the scenario matters.
    pub importance: Importance,
    /// How the scenario ended, and what it says about it.
    #[serde(flatten)]
    pub outcome: OutcomeRecord,
    /// Whether the outcome is an expected one (`pass`, `skipped`, `not_exercised`,
    /// `known_divergence`); always written, recomputed from the outcome when read.
    #[serde(default)]
    pub expected: bool,
    /// How long the scenario took, in milliseconds.
    pub duration_ms: u64,
    /// Every APDU, PF call, world move and request to the world server up to the end (or the
    /// failing step), for every outcome other than `pass`, `skipped` and `not_exercised`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceEntry>>,
}

/// A result's `outcome`, with its `detail` for every outcome but `pass`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum OutcomeRecord {
    /// Every step returned what it expects.
    Pass,
    /// A step returned something else.
    Fail(FailDetail),
    /// The adapter lacks features the scenario needs; not a failure.
    Skipped(SkippedDetail),
    /// Every step returned what it expects, but the system under test answered none of them
    /// (the bundled reference played them all): neither a pass nor a failure.
    NotExercised(NotExercisedDetail),
    /// A step had no answer within the step timeout.
    Hang(HangDetail),
    /// The harness itself failed; says nothing about the adapter.
    Error(ErrorDetail),
    /// A failure or hang the adapter's expectations file lists, with its reason.
    KnownDivergence(DivergenceDetail),
    /// A pass the expectations file lists as a divergence: the entry is stale.
    UnexpectedPass(ListingDetail),
}

/// The outcome a known divergence actually had, with its detail, by `outcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ActualRecord {
    /// A pass.
    Pass,
    /// A failure.
    Fail(FailDetail),
    /// A skip.
    Skipped(SkippedDetail),
    /// A scenario not exercised.
    NotExercised(NotExercisedDetail),
    /// A hang.
    Hang(HangDetail),
    /// A harness error.
    Error(ErrorDetail),
    /// A known divergence.
    KnownDivergence(Box<DivergenceDetail>),
    /// An unexpected pass.
    UnexpectedPass(ListingDetail),
}

/// The step that returned something else than it expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FailDetail {
    /// The step's index, from 0.
    pub step: usize,
    /// The step's line in the scenario file, from 1.
    pub line: usize,
    /// The step's column in the scenario file, from 1.
    pub column: usize,
    /// What the step expects.
    pub expected: String,
    /// What it got.
    pub actual: String,
}

/// The features a skipped scenario needs that the adapter does not list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkippedDetail {
    /// The features missing.
    pub missing: Vec<Feature>,
}

/// Who was under test in a scenario not exercised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotExercisedDetail {
    /// The roles systems under test played (`sdk`, `pf`), none of which answered a step.
    pub under_test: Vec<Role>,
}

/// The step that had no answer in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HangDetail {
    /// The step's index, from 0.
    pub step: usize,
    /// The step's line in the scenario file, from 1.
    pub line: usize,
    /// The step's column in the scenario file, from 1.
    pub column: usize,
    /// How long the harness waited, in milliseconds.
    pub after_ms: u64,
}

/// What failed in the harness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// The error and its causes.
    pub message: String,
}

/// A known divergence: its entry in the expectations file, and what actually happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivergenceDetail {
    /// The entry's reason.
    pub reason: String,
    /// Where the entry is.
    pub listed_at: ListedAt,
    /// The outcome the scenario had (a `fail` or a `hang`), with its detail.
    pub actual: ActualRecord,
}

/// An entry of an adapter's expectations file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListingDetail {
    /// The entry's reason.
    pub reason: String,
    /// Where the entry is.
    pub listed_at: ListedAt,
}

/// Where an expectations entry starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListedAt {
    /// The expectations file.
    pub file: String,
    /// Its line, from 1.
    pub line: usize,
    /// Its column, from 1.
    pub column: usize,
}

/// The outcomes by name, as in [`OutcomeRecord`].
const OUTCOMES: [&str; 8] = [
    "pass",
    "fail",
    "skipped",
    "not_exercised",
    "hang",
    "error",
    "known_divergence",
    "unexpected_pass",
];

impl ResultRecord {
    /// The record of a result.
    pub fn of(result: &ScenarioResult) -> ResultRecord {
        let traced = !matches!(
            result.outcome,
            Outcome::Pass | Outcome::Skipped { .. } | Outcome::NotExercised { .. }
        );
        ResultRecord {
            id: result.id.to_string(),
            file: result.path.display().to_string(),
            description: result.description.clone(),
            adapter: result.adapter.clone(),
            importance: result.importance,
            outcome: OutcomeRecord::of(&result.outcome),
            expected: result.outcome.is_expected(),
            duration_ms: millis(result.duration),
            trace: traced.then(|| result.trace.clone()),
        }
    }

    /// A record from its JSON; the error names the outcome whose detail does not fit.
    fn read(mut value: Value) -> Result<ResultRecord, String> {
        let name = value
            .get("outcome")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let (Some("pass"), Some(result)) = (name.as_deref(), value.as_object_mut()) {
            // A pass has no detail: one given is ignored, as it always was.
            result.remove("detail");
        }
        let detail = value.get("detail").cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|err| match name {
            Some(name) if !OUTCOMES.contains(&name.as_str()) => format!(
                "unknown outcome {name:?}: expected pass, fail, skipped, not_exercised, hang, \
                 error, known_divergence or unexpected_pass"
            ),
            Some(name) => {
                let outcome = serde_json::json!({ "outcome": name, "detail": detail });
                match serde_json::from_value::<OutcomeRecord>(outcome) {
                    Err(err) => format!("detail of {name}: {err}"),
                    Ok(_) => err.to_string(),
                }
            }
            None => err.to_string(),
        })
    }

    /// The result the record stands for.
    pub fn into_result(self) -> Result<ScenarioResult, String> {
        let id: ScenarioId = self.id.parse().map_err(|err| format!("id: {err}"))?;
        Ok(ScenarioResult {
            id,
            path: PathBuf::from(self.file),
            description: self.description,
            importance: self.importance,
            adapter: self.adapter,
            outcome: self.outcome.into_outcome(),
            trace: self.trace.unwrap_or_default(),
            duration: Duration::from_millis(self.duration_ms),
        })
    }
}

impl OutcomeRecord {
    /// The record of an outcome.
    pub fn of(outcome: &Outcome) -> OutcomeRecord {
        match outcome {
            Outcome::Pass => OutcomeRecord::Pass,
            Outcome::Fail {
                step,
                position,
                expected,
                actual,
            } => OutcomeRecord::Fail(FailDetail {
                step: *step,
                line: position.line,
                column: position.column,
                expected: expected.clone(),
                actual: actual.clone(),
            }),
            Outcome::Skipped { missing } => OutcomeRecord::Skipped(SkippedDetail {
                missing: missing.clone(),
            }),
            Outcome::NotExercised { under_test } => {
                OutcomeRecord::NotExercised(NotExercisedDetail {
                    under_test: under_test.clone(),
                })
            }
            Outcome::Hang {
                step,
                position,
                after,
            } => OutcomeRecord::Hang(HangDetail {
                step: *step,
                line: position.line,
                column: position.column,
                after_ms: millis(*after),
            }),
            Outcome::Error { message } => OutcomeRecord::Error(ErrorDetail {
                message: message.clone(),
            }),
            Outcome::KnownDivergence { listing, actual } => {
                let listed = ListingDetail::of(listing);
                OutcomeRecord::KnownDivergence(DivergenceDetail {
                    reason: listed.reason,
                    listed_at: listed.listed_at,
                    actual: ActualRecord::from(OutcomeRecord::of(actual)),
                })
            }
            Outcome::UnexpectedPass { listing } => {
                OutcomeRecord::UnexpectedPass(ListingDetail::of(listing))
            }
        }
    }

    /// The outcome the record stands for.
    pub fn into_outcome(self) -> Outcome {
        let position = |line, column| Position { line, column };
        match self {
            OutcomeRecord::Pass => Outcome::Pass,
            OutcomeRecord::Fail(d) => Outcome::Fail {
                step: d.step,
                position: position(d.line, d.column),
                expected: d.expected,
                actual: d.actual,
            },
            OutcomeRecord::Skipped(d) => Outcome::Skipped { missing: d.missing },
            OutcomeRecord::NotExercised(d) => Outcome::NotExercised {
                under_test: d.under_test,
            },
            OutcomeRecord::Hang(d) => Outcome::Hang {
                step: d.step,
                position: position(d.line, d.column),
                after: Duration::from_millis(d.after_ms),
            },
            OutcomeRecord::Error(d) => Outcome::Error { message: d.message },
            OutcomeRecord::KnownDivergence(d) => Outcome::KnownDivergence {
                listing: ListingDetail {
                    reason: d.reason,
                    listed_at: d.listed_at,
                }
                .into_listing(),
                actual: Box::new(OutcomeRecord::from(d.actual).into_outcome()),
            },
            OutcomeRecord::UnexpectedPass(d) => Outcome::UnexpectedPass {
                listing: d.into_listing(),
            },
        }
    }
}

impl From<OutcomeRecord> for ActualRecord {
    fn from(record: OutcomeRecord) -> ActualRecord {
        match record {
            OutcomeRecord::Pass => ActualRecord::Pass,
            OutcomeRecord::Fail(d) => ActualRecord::Fail(d),
            OutcomeRecord::Skipped(d) => ActualRecord::Skipped(d),
            OutcomeRecord::NotExercised(d) => ActualRecord::NotExercised(d),
            OutcomeRecord::Hang(d) => ActualRecord::Hang(d),
            OutcomeRecord::Error(d) => ActualRecord::Error(d),
            OutcomeRecord::KnownDivergence(d) => ActualRecord::KnownDivergence(Box::new(d)),
            OutcomeRecord::UnexpectedPass(d) => ActualRecord::UnexpectedPass(d),
        }
    }
}

impl From<ActualRecord> for OutcomeRecord {
    fn from(record: ActualRecord) -> OutcomeRecord {
        match record {
            ActualRecord::Pass => OutcomeRecord::Pass,
            ActualRecord::Fail(d) => OutcomeRecord::Fail(d),
            ActualRecord::Skipped(d) => OutcomeRecord::Skipped(d),
            ActualRecord::NotExercised(d) => OutcomeRecord::NotExercised(d),
            ActualRecord::Hang(d) => OutcomeRecord::Hang(d),
            ActualRecord::Error(d) => OutcomeRecord::Error(d),
            ActualRecord::KnownDivergence(d) => OutcomeRecord::KnownDivergence(*d),
            ActualRecord::UnexpectedPass(d) => OutcomeRecord::UnexpectedPass(d),
        }
    }
}

impl ListingDetail {
    fn of(listing: &Listing) -> ListingDetail {
        ListingDetail {
            reason: listing.reason.clone(),
            listed_at: ListedAt {
                file: listing.file.display().to_string(),
                line: listing.position.line,
                column: listing.position.column,
            },
        }
    }

    fn into_listing(self) -> Listing {
        Listing {
            reason: self.reason,
            file: PathBuf::from(self.listed_at.file),
            position: Position {
                line: self.listed_at.line,
                column: self.listed_at.column,
            },
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }

    #[test]
    fn a_report_reads_back_to_the_same_results() {
        let results = crate::report::sample_results();
        let text = render("scenarios", &results);
        let report = parse(&text, Path::new("r.json")).unwrap();
        assert_eq!(report.suite, "scenarios");
        assert_eq!(report.results.len(), results.len());
        for (read, written) in report.results.iter().zip(&results) {
            assert_eq!(read.id, written.id);
            assert_eq!(read.outcome, written.outcome, "{}", written.id);
            assert_eq!(read.description, written.description);
            assert_eq!(read.adapter, written.adapter);
            assert_eq!(read.path, written.path);
            assert_eq!(read.duration, written.duration);
            if !matches!(
                written.outcome,
                Outcome::Pass | Outcome::Skipped { .. } | Outcome::NotExercised { .. }
            ) {
                assert_eq!(read.trace, written.trace, "{}", written.id);
            }
        }
    }

    #[test]
    fn unreadable_reports_say_what_is_wrong() {
        let error = |text: &str| parse(text, Path::new("r.json")).unwrap_err().to_string();
        assert_eq!(
            error(r#"{"version":9,"suite":"s","results":[]}"#),
            "r.json: report version 9; this jpki-sim reads versions 1 to 3"
        );
        assert!(error("[1]").starts_with("r.json: not a jpki-sim JSON report: "));
        let result = |outcome: &str, detail: &str| {
            format!(
                r#"{{"version":2,"suite":"s","results":[{{"id":"card/x","file":"f","adapter":"a","importance":"low","outcome":"{outcome}","duration_ms":1,"detail":{detail}}}]}}"#
            )
        };
        assert_eq!(
            error(&result(
                "fail",
                r#"{"step":1,"line":2,"column":3,"expected":"x"}"#
            )),
            "r.json: results[0]: detail of fail: missing field `actual`"
        );
        assert_eq!(
            error(&result("great", "{}")),
            "r.json: results[0]: unknown outcome \"great\": expected pass, fail, skipped, \
             not_exercised, hang, error, known_divergence or unexpected_pass"
        );
    }

    #[test]
    fn a_pass_reads_whatever_detail_it_has_and_other_outcomes_need_theirs() {
        let result = |rest: &str| {
            let text = format!(
                r#"{{"version":1,"suite":"s","results":[{{"id":"card/x","file":"f","adapter":"a","importance":"low","duration_ms":1,{rest}}}]}}"#
            );
            parse(&text, Path::new("r.json")).map(|report| report.results[0].outcome.clone())
        };
        for detail in ["", r#","detail":null"#, r#","detail":{"message":"m"}"#] {
            assert_eq!(
                result(&format!(r#""outcome":"pass"{detail}"#)).unwrap(),
                Outcome::Pass
            );
        }
        assert_eq!(
            result(r#""outcome":"error""#).unwrap_err().to_string(),
            "r.json: results[0]: detail of error: invalid type: null, expected struct ErrorDetail"
        );
    }
}
