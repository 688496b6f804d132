//! A self-contained HTML page: the conformance matrix, scenarios down and adapters across, the
//! outcome in each cell (colour and name; a scenario the system under test took no part in
//! shows `not exercised`, never a pass). A failure, hang, known divergence or unexpected pass
//! opens to its step, expected against actual, the divergence's reason, and the trace. No
//! scripts, no external files: it is attached to CI runs and opened offline.

use std::fmt::Write as _;

use super::text::{escape, trace_text};
use super::Tally;
use crate::runner::{Outcome, ScenarioResult};
use crate::scenario::ScenarioId;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
.pass{background:#e6f4e6}.fail,.hang{background:#fbe3e3}.skipped{background:#f2f2f2}.error{background:#fff1d6}\
.not_exercised{background:#fff;color:#777}\
.known_divergence{background:#fdf5c9}.unexpected_pass{background:#ead9f5}\
summary{cursor:pointer}dt{font-weight:bold}dd{margin:0 0 .3em 1em}\
pre{font-size:.85em;white-space:pre-wrap}";

/// Renders `results` of the suite named `suite`: one column per adapter, in the order the
/// adapters first appear in `results`, one row per scenario id.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let mut adapters: Vec<&str> = Vec::new();
    for result in results {
        if !adapters.contains(&result.adapter.as_str()) {
            adapters.push(&result.adapter);
        }
    }
    let mut ids: Vec<&ScenarioId> = results.iter().map(|r| &r.id).collect();
    ids.sort();
    ids.dedup();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p>{1}</p>\n<table>\n<tr><th>scenario</th>",
        escape(suite),
        counts(&Tally::of(results)),
    );
    for adapter in &adapters {
        let _ = write!(html, "<th>{}</th>", escape(adapter));
    }
    html.push_str("</tr>\n");
    if adapters.len() > 1 {
        html.push_str("<tr><th>outcomes</th>");
        for adapter in &adapters {
            let theirs: Vec<ScenarioResult> = results
                .iter()
                .filter(|r| r.adapter == *adapter)
                .cloned()
                .collect();
            let _ = write!(
                html,
                "<td><small>{}</small></td>",
                counts(&Tally::of(&theirs))
            );
        }
        html.push_str("</tr>\n");
    }
    for id in ids {
        let row: Vec<&ScenarioResult> = results.iter().filter(|r| r.id == *id).collect();
        let description = row.first().map_or("", |r| r.description.as_str());
        let _ = write!(
            html,
            "<tr><td><code>{}</code><br><small>{}</small></td>",
            escape(&id.to_string()),
            escape(description)
        );
        for adapter in &adapters {
            match row.iter().find(|r| r.adapter == *adapter) {
                Some(result) => html.push_str(&cell(result)),
                None => html.push_str("<td></td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

/// `3 passed, 1 failed, ...`: every count that is not zero (`0 passed` when all are).
fn counts(tally: &Tally) -> String {
    let parts: Vec<String> = [
        (tally.passed, "passed", "passed"),
        (tally.failed, "failed", "failed"),
        (tally.hung, "hung", "hung"),
        (tally.skipped, "skipped", "skipped"),
        (tally.not_exercised, "not exercised", "not exercised"),
        (
            tally.known_divergences,
            "known divergence",
            "known divergences",
        ),
        (
            tally.unexpected_passes,
            "unexpected pass",
            "unexpected passes",
        ),
        (tally.errors, "harness error", "harness errors"),
    ]
    .iter()
    .filter(|(count, _, _)| *count > 0)
    .map(|(count, one, many)| format!("{count} {}", if *count == 1 { one } else { many }))
    .collect();
    if parts.is_empty() {
        "0 passed".to_owned()
    } else {
        parts.join(", ")
    }
}

fn cell(result: &ScenarioResult) -> String {
    let class = result.outcome.name();
    let label = label(&result.outcome);
    match &result.outcome {
        Outcome::Pass => format!("<td class=\"{class}\">{label}</td>"),
        Outcome::Skipped { .. } | Outcome::NotExercised { .. } => {
            let summary = result.summary();
            // `not exercised: the PF under test ...` under the label `not exercised`.
            let why = summary
                .strip_prefix("not exercised: ")
                .unwrap_or(summary.as_str());
            format!(
                "<td class=\"{class}\">{label}<br><small>{}</small></td>",
                escape(why)
            )
        }
        outcome => {
            let step = match outcome {
                Outcome::KnownDivergence { actual, .. } => failing_step(actual),
                other => failing_step(other),
            }
            .map_or_else(String::new, |step| format!(" at step {}", step + 1));
            let mut body = String::new();
            explain(result, outcome, &mut body);
            if !result.trace.is_empty() {
                let _ = write!(body, "<pre>{}</pre>", escape(&trace_text(result)));
            }
            format!("<td class=\"{class}\"><details><summary>{label}{step}</summary>{body}</details></td>")
        }
    }
}

/// The outcome's name for people.
fn label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::KnownDivergence { .. } => "known divergence",
        Outcome::UnexpectedPass { .. } => "unexpected pass",
        Outcome::NotExercised { .. } => "not exercised",
        other => other.name(),
    }
}

fn failing_step(outcome: &Outcome) -> Option<usize> {
    match outcome {
        Outcome::Fail { step, .. } | Outcome::Hang { step, .. } => Some(*step),
        _ => None,
    }
}

/// What went wrong, as HTML: where, expected against actual, and why it is known.
fn explain(result: &ScenarioResult, outcome: &Outcome, html: &mut String) {
    let at = |position: &crate::scenario::Position| {
        escape(&format!(
            "{}:{}:{}",
            result.path.display(),
            position.line,
            position.column
        ))
    };
    match outcome {
        Outcome::Pass | Outcome::Skipped { .. } | Outcome::NotExercised { .. } => {}
        Outcome::Fail {
            step,
            position,
            expected,
            actual,
        } => {
            let _ = write!(
                html,
                "<p>step {} at <code>{}</code></p><dl><dt>expected</dt><dd><code>{}</code></dd><dt>actual</dt><dd><code>{}</code></dd></dl>",
                step + 1,
                at(position),
                escape(expected),
                escape(actual)
            );
        }
        Outcome::Hang {
            step,
            position,
            after,
        } => {
            let _ = write!(
                html,
                "<p>step {} at <code>{}</code>: no answer after {:.1} s</p>",
                step + 1,
                at(position),
                after.as_secs_f64()
            );
        }
        Outcome::Error { message } => {
            let _ = write!(html, "<p>harness error: {}</p>", escape(message));
        }
        Outcome::KnownDivergence { listing, actual } => {
            let _ = write!(
                html,
                "<dl><dt>reason</dt><dd>{} <small>(<code>{}</code>)</small></dd></dl>",
                escape(&listing.reason),
                escape(&listing.at())
            );
            explain(result, actual, html);
        }
        Outcome::UnexpectedPass { listing } => {
            let _ = write!(
                html,
                "<dl><dt>reason</dt><dd>{}</dd></dl><p>listed as a known divergence but passed: remove it from <code>{}</code></p>",
                escape(&listing.reason),
                escape(&listing.at())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }

    #[test]
    fn html_matrix_of_two_adapters() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_matrix()));
    }
}
