//! A self-contained HTML page: a summary first (a bar of outcomes per system under test, the
//! counts by area and by importance, the time taken), then the conformance matrix by area,
//! scenarios down and adapters across, the outcome in each cell (colour and name; a scenario
//! the system under test took no part in shows `not exercised`, never a pass). A failure, hang,
//! known divergence or unexpected pass opens to its step, expected against actual, the
//! divergence's reason, and the trace. No external files: it is attached to CI runs and opened
//! offline. One small inline script adds a search box (also read from `#search=TEXT` in the
//! address); without scripts the page loses only that.

use std::fmt::Write as _;

use super::text::{escape, trace_text};
use super::Tally;
use crate::runner::{Outcome, ScenarioResult};
use crate::scenario::ScenarioId;

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:2em;max-width:90em}\
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
td.n{text-align:right}\
.pass{background:#e6f4e6}.fail,.hang{background:#fbe3e3}.skipped{background:#f2f2f2}.error{background:#fff1d6}\
.not_exercised{background:#fff;color:#777}\
.known_divergence{background:#fdf5c9}.unexpected_pass{background:#ead9f5}\
summary{cursor:pointer}dt{font-weight:bold}dd{margin:0 0 .3em 1em}\
pre{font-size:.85em;white-space:pre-wrap}tr.area th{background:#eef;font-size:1.05em}\
.filter{margin:1em 0}\
body:has(#problems:checked) tr.row-quiet{display:none}";

/// The search box: shows it, hides the scenario rows whose text does not contain the query
/// (case-insensitive) and the areas left empty, and keeps the query in the address so that a
/// filtered view can be linked to.
const SEARCH_SCRIPT: &str = "<script>(function(){\
var box=document.getElementById('search');document.getElementById('search-label').hidden=false;\
function apply(){var q=box.value.trim().toLowerCase();\
document.querySelectorAll('tr.row-quiet,tr.row-problem').forEach(function(r){r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});\
document.querySelectorAll('tr.area').forEach(function(a){var n=a.nextElementSibling,any=false;\
while(n&&!n.classList.contains('area')){if(!n.hidden){any=true;}n=n.nextElementSibling;}a.hidden=!any;});}\
box.addEventListener('input',function(){apply();try{history.replaceState(null,'',box.value?'#search='+encodeURIComponent(box.value):location.pathname);}catch(e){}});\
var m=location.hash.match(/^#search=(.*)$/);if(m){box.value=decodeURIComponent(m[1]);}apply();\
})();</script>\n";

/// The outcome classes in the order summaries list them, with their names for people and
/// their colours in the summary picture.
const KINDS: [(&str, &str, &str); 8] = [
    ("pass", "passed", "#5cb85c"),
    ("fail", "failed", "#d9534f"),
    ("hang", "hung", "#a94442"),
    ("error", "harness error", "#f0ad4e"),
    ("known_divergence", "known divergence", "#e6c619"),
    ("unexpected_pass", "unexpected pass", "#9b59b6"),
    ("skipped", "skipped", "#bbbbbb"),
    ("not_exercised", "not exercised", "#dddddd"),
];

/// Renders `results` of the suite named `suite`: a title naming what was tested, a summary
/// (a bar per adapter, counts by area and by importance, the time taken), then the matrix by
/// area — scenarios down, one column per adapter in the order they first appear, one row per
/// scenario id. "Only problems" hides the rows where every outcome is as expected, without
/// scripts (CSS `:has`); without it every row shows.
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
    let title = format!(
        "jpki-sim conformance: {}",
        if adapters.is_empty() {
            "no results".to_owned()
        } else {
            adapters.join(" · ")
        }
    );
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p>suite <code>{1}</code>, {2} scenarios; jpki-sim {3} (simulator: test keys, not the real JPKI)</p>\n",
        escape(&title),
        escape(suite),
        ids.len(),
        env!("CARGO_PKG_VERSION"),
    );
    summary(&mut html, &adapters, results);
    html.push_str("<h2>Scenarios</h2>\n<p class=\"filter\"><label><input type=\"checkbox\" id=\"problems\"> only problems (failures, hangs, errors, divergences)</label> <label id=\"search-label\" hidden>search <input type=\"search\" id=\"search\" placeholder=\"id, description, step, trace\"></label></p>\n<table>\n<tr><th>scenario</th><th>importance</th>");
    for adapter in &adapters {
        let _ = write!(html, "<th>{}</th>", escape(adapter));
    }
    html.push_str("</tr>\n");
    let mut area = "";
    for id in ids {
        if id.area() != area {
            area = id.area();
            let _ = writeln!(
                html,
                "<tr class=\"area\"><th colspan=\"{}\" id=\"area-{1}\">{1}</th></tr>",
                adapters.len() + 2,
                escape(area)
            );
        }
        let row: Vec<&ScenarioResult> = results.iter().filter(|r| r.id == *id).collect();
        let description = row.first().map_or("", |r| r.description.as_str());
        let importance = row.first().map_or("", |r| importance_name(r.importance));
        let quiet = row.iter().all(|r| {
            matches!(
                r.outcome,
                Outcome::Pass | Outcome::Skipped { .. } | Outcome::NotExercised { .. }
            )
        });
        let _ = write!(
            html,
            "<tr class=\"{}\"><td><code>{}</code><br><small>{}</small></td><td>{importance}</td>",
            if quiet { "row-quiet" } else { "row-problem" },
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
    html.push_str("</table>\n");
    html.push_str(SEARCH_SCRIPT);
    html.push_str("</body>\n</html>\n");
    html
}

/// The summary: per adapter a bar of its outcomes and their counts, then the counts by area
/// and by importance, and the time the scenarios took.
fn summary(html: &mut String, adapters: &[&str], results: &[ScenarioResult]) {
    html.push_str("<h2>Summary</h2>\n<table>\n<tr><th>system under test</th><th>outcomes</th><th></th><th>scenario time</th></tr>\n");
    for adapter in adapters {
        let theirs: Vec<&ScenarioResult> =
            results.iter().filter(|r| r.adapter == *adapter).collect();
        let seconds: f64 = theirs.iter().map(|r| r.duration.as_secs_f64()).sum();
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{seconds:.1} s</td></tr>",
            escape(adapter),
            bar(&theirs),
            counts(&Tally::of(
                &theirs.iter().map(|r| (*r).clone()).collect::<Vec<_>>()
            )),
        );
    }
    html.push_str("</table>\n");
    let mut areas: Vec<&str> = results.iter().map(|r| r.id.area()).collect();
    areas.sort_unstable();
    areas.dedup();
    breakdown(html, "By area", &areas, results, |r, area| {
        r.id.area() == area
    });
    let importances: Vec<&str> = ["critical", "high", "medium", "low"]
        .into_iter()
        .filter(|name| {
            results
                .iter()
                .any(|r| importance_name(r.importance) == *name)
        })
        .collect();
    breakdown(html, "By importance", &importances, results, |r, name| {
        importance_name(r.importance) == name
    });
}

/// A table of outcome counts, one row per group.
fn breakdown(
    html: &mut String,
    title: &str,
    groups: &[&str],
    results: &[ScenarioResult],
    belongs: impl Fn(&ScenarioResult, &str) -> bool,
) {
    let _ = write!(html, "<h3>{title}</h3>\n<table>\n<tr><th></th>");
    for (_, name, _) in KINDS {
        let _ = write!(html, "<th>{name}</th>");
    }
    html.push_str("</tr>\n");
    for group in groups {
        let _ = write!(html, "<tr><th>{}</th>", escape(group));
        for (class, _, _) in KINDS {
            let count = results
                .iter()
                .filter(|r| belongs(r, group) && r.outcome.name() == class)
                .count();
            if count == 0 {
                html.push_str("<td class=\"n\"></td>");
            } else {
                let _ = write!(html, "<td class=\"n {class}\">{count}</td>");
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
}

/// An inline SVG bar, one segment per outcome kind in proportion to its count, each titled.
fn bar(results: &[&ScenarioResult]) -> String {
    const WIDTH: f64 = 300.0;
    let total = results.len().max(1) as f64;
    let mut svg = format!(
        "<svg width=\"{WIDTH}\" height=\"14\" role=\"img\" aria-label=\"outcomes\"><rect width=\"{WIDTH}\" height=\"14\" fill=\"#f8f8f8\"/>"
    );
    let mut x = 0.0;
    for (class, name, colour) in KINDS {
        let count = results.iter().filter(|r| r.outcome.name() == class).count();
        if count == 0 {
            continue;
        }
        let width = WIDTH * count as f64 / total;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" width=\"{width:.1}\" height=\"14\" fill=\"{colour}\"><title>{count} {name}</title></rect>"
        );
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

fn importance_name(importance: crate::scenario::Importance) -> &'static str {
    use crate::scenario::Importance::*;
    match importance {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
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
