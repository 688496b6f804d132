//! Versioned JSON: what other tools read, and what `jpki-sim report` merges into one matrix, so
//! it carries everything the HTML cell of a result shows (detail and trace). Bump [`VERSION`]
//! when a field changes meaning or goes away, or an outcome is added; adding fields keeps it.
//!
//! Version 2 added the `known_divergence` and `unexpected_pass` outcomes, `description`, and
//! the trace of every outcome other than `pass` and `skipped` (version 1 had it only for
//! unexpected ones).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::runner::{Listing, Outcome, ScenarioResult, TraceEntry};
use crate::scenario::{Importance, Position, ScenarioId};
use vocab::Feature;

/// The format's version, a top-level field of every report.
pub const VERSION: u32 = 2;

/// Renders `results` of the suite named `suite`, pretty-printed.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let report = json!({
        "version": VERSION,
        "suite": suite,
        "results": results.iter().map(result).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// A report read back: the suite it ran and its results.
#[derive(Debug, Clone)]
pub struct Report {
    pub suite: String,
    pub results: Vec<ScenarioResult>,
}

/// Why a JSON report cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a jpki-sim JSON report: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: report version {found}; this jpki-sim reads versions 1 to {VERSION}", path.display())]
    Version { path: PathBuf, found: u32 },
    /// One result does not hold together; `index` is its position in `results`.
    #[error("{}: results[{index}]: {problem}", path.display())]
    Result {
        path: PathBuf,
        index: usize,
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
    let report: ReportIn = serde_json::from_str(text).map_err(json_error)?;
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
            result.into_result().map_err(|problem| ReadError::Result {
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

fn result(result: &ScenarioResult) -> Value {
    let mut value = json!({
        "id": result.id.to_string(),
        "file": result.path.display().to_string(),
        "description": result.description,
        "adapter": result.adapter,
        "importance": result.importance,
        "outcome": result.outcome.name(),
        "expected": result.outcome.is_expected(),
        "duration_ms": millis(result.duration),
    });
    if let (Some(detail), Some(object)) = (detail(&result.outcome), value.as_object_mut()) {
        object.insert("detail".to_owned(), detail);
        if !matches!(result.outcome, Outcome::Skipped { .. }) {
            object.insert("trace".to_owned(), json!(result.trace));
        }
    }
    value
}

/// What an outcome other than a pass says, as the `detail` object.
fn detail(outcome: &Outcome) -> Option<Value> {
    Some(match outcome {
        Outcome::Pass => return None,
        Outcome::Fail {
            step,
            position,
            expected,
            actual,
        } => json!({
            "step": step,
            "line": position.line,
            "column": position.column,
            "expected": expected,
            "actual": actual,
        }),
        Outcome::Skipped { missing } => json!({
            "missing": missing.iter().map(|f| f.name()).collect::<Vec<_>>(),
        }),
        Outcome::Hang {
            step,
            position,
            after,
        } => json!({
            "step": step,
            "line": position.line,
            "column": position.column,
            "after_ms": millis(*after),
        }),
        Outcome::Error { message } => json!({ "message": message }),
        Outcome::KnownDivergence { listing, actual } => {
            let mut inner = detail(actual).unwrap_or_else(|| json!({}));
            if let Some(object) = inner.as_object_mut() {
                object.insert("outcome".to_owned(), json!(actual.name()));
            }
            let mut value = listed(listing);
            if let Some(object) = value.as_object_mut() {
                object.insert("actual".to_owned(), inner);
            }
            value
        }
        Outcome::UnexpectedPass { listing } => listed(listing),
    })
}

fn listed(listing: &Listing) -> Value {
    json!({
        "reason": listing.reason,
        "listed_at": {
            "file": listing.file.display().to_string(),
            "line": listing.position.line,
            "column": listing.position.column,
        },
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Deserialize)]
struct ReportIn {
    version: u32,
    suite: String,
    results: Vec<ResultIn>,
}

#[derive(Deserialize)]
struct ResultIn {
    id: String,
    file: PathBuf,
    #[serde(default)]
    description: String,
    adapter: String,
    importance: Importance,
    outcome: String,
    duration_ms: u64,
    #[serde(default)]
    detail: Option<Value>,
    #[serde(default)]
    trace: Vec<TraceEntry>,
}

impl ResultIn {
    fn into_result(self) -> Result<ScenarioResult, String> {
        let id: ScenarioId = self.id.parse().map_err(|err| format!("id: {err}"))?;
        let outcome = outcome_of(&self.outcome, self.detail.unwrap_or(Value::Null))?;
        Ok(ScenarioResult {
            id,
            path: self.file,
            description: self.description,
            importance: self.importance,
            adapter: self.adapter,
            outcome,
            trace: self.trace,
            duration: Duration::from_millis(self.duration_ms),
        })
    }
}

/// The fields of every `detail` shape; each outcome takes the ones it needs.
#[derive(Deserialize)]
struct DetailIn {
    step: Option<usize>,
    line: Option<usize>,
    column: Option<usize>,
    expected: Option<String>,
    actual: Option<Value>,
    after_ms: Option<u64>,
    missing: Option<Vec<Feature>>,
    message: Option<String>,
    reason: Option<String>,
    listed_at: Option<ListedAtIn>,
}

#[derive(Deserialize)]
struct ListedAtIn {
    file: PathBuf,
    line: usize,
    column: usize,
}

/// Rebuilds an outcome from its name and `detail` object, naming the first field missing.
fn outcome_of(name: &str, detail: Value) -> Result<Outcome, String> {
    if name == "pass" {
        return Ok(Outcome::Pass);
    }
    let detail: DetailIn =
        serde_json::from_value(detail).map_err(|err| format!("detail of {name}: {err}"))?;
    let need = |field: &str| format!("detail of {name}: missing field `{field}`");
    let position = |d: &DetailIn| -> Result<Position, String> {
        Ok(Position {
            line: d.line.ok_or_else(|| need("line"))?,
            column: d.column.ok_or_else(|| need("column"))?,
        })
    };
    let listing = |d: DetailIn| -> Result<Listing, String> {
        let at = d.listed_at.ok_or_else(|| need("listed_at"))?;
        Ok(Listing {
            reason: d.reason.ok_or_else(|| need("reason"))?,
            file: at.file,
            position: Position {
                line: at.line,
                column: at.column,
            },
        })
    };
    Ok(match name {
        "fail" => Outcome::Fail {
            step: detail.step.ok_or_else(|| need("step"))?,
            position: position(&detail)?,
            expected: detail.expected.clone().ok_or_else(|| need("expected"))?,
            actual: match detail.actual {
                Some(Value::String(actual)) => actual,
                _ => return Err(need("actual")),
            },
        },
        "hang" => Outcome::Hang {
            step: detail.step.ok_or_else(|| need("step"))?,
            position: position(&detail)?,
            after: Duration::from_millis(detail.after_ms.ok_or_else(|| need("after_ms"))?),
        },
        "skipped" => Outcome::Skipped {
            missing: detail.missing.ok_or_else(|| need("missing"))?,
        },
        "error" => Outcome::Error {
            message: detail.message.ok_or_else(|| need("message"))?,
        },
        "known_divergence" => {
            let mut actual = detail.actual.clone().ok_or_else(|| need("actual"))?;
            let inner = actual
                .as_object_mut()
                .and_then(|object| object.remove("outcome"))
                .and_then(|outcome| outcome.as_str().map(str::to_owned))
                .ok_or_else(|| need("actual.outcome"))?;
            Outcome::KnownDivergence {
                actual: Box::new(outcome_of(&inner, actual)?),
                listing: listing(detail)?,
            }
        }
        "unexpected_pass" => Outcome::UnexpectedPass {
            listing: listing(detail)?,
        },
        other => {
            return Err(format!(
                "unknown outcome {other:?}: expected pass, fail, skipped, hang, error, \
                 known_divergence or unexpected_pass"
            ))
        }
    })
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
            if !matches!(written.outcome, Outcome::Pass | Outcome::Skipped { .. }) {
                assert_eq!(read.trace, written.trace, "{}", written.id);
            }
        }
    }

    #[test]
    fn unreadable_reports_say_what_is_wrong() {
        let error = |text: &str| parse(text, Path::new("r.json")).unwrap_err().to_string();
        assert_eq!(
            error(r#"{"version":9,"suite":"s","results":[]}"#),
            "r.json: report version 9; this jpki-sim reads versions 1 to 2"
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
            "r.json: results[0]: unknown outcome \"great\": expected pass, fail, skipped, hang, \
             error, known_divergence or unexpected_pass"
        );
    }
}
