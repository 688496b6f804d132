//! Versioned JSON: what other tools read. Bump [`VERSION`] when a field changes meaning or
//! goes away; adding fields keeps it.

use serde_json::{json, Value};

use crate::runner::{Outcome, ScenarioResult};

/// The format's version, a top-level field of every report.
pub const VERSION: u32 = 1;

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

fn result(result: &ScenarioResult) -> Value {
    let mut value = json!({
        "id": result.id.to_string(),
        "file": result.path.display().to_string(),
        "adapter": result.adapter,
        "importance": result.importance,
        "outcome": result.outcome.name(),
        "expected": result.outcome.is_expected(),
        "duration_ms": u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
    });
    let detail = match &result.outcome {
        Outcome::Pass => None,
        Outcome::Fail {
            step,
            position,
            expected,
            actual,
        } => Some(json!({
            "step": step,
            "line": position.line,
            "column": position.column,
            "expected": expected,
            "actual": actual,
        })),
        Outcome::Skipped { missing } => Some(json!({
            "missing": missing.iter().map(|f| f.name()).collect::<Vec<_>>(),
        })),
        Outcome::Hang {
            step,
            position,
            after,
        } => Some(json!({
            "step": step,
            "line": position.line,
            "column": position.column,
            "after_ms": u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
        })),
        Outcome::Error { message } => Some(json!({ "message": message })),
    };
    if let (Some(detail), Some(object)) = (detail, value.as_object_mut()) {
        object.insert("detail".to_owned(), detail);
        if !result.outcome.is_expected() {
            object.insert("trace".to_owned(), json!(result.trace));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }
}
