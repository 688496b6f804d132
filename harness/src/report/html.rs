//! A self-contained HTML page: scenarios down, adapters across, the outcome in each cell; a
//! failure opens to its step and trace. No scripts, no external files: it is attached to CI
//! runs and opened offline.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::text::{escape, trace_text};
use super::Tally;
use crate::runner::ScenarioResult;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}\
.pass{background:#e6f4e6}.fail,.hang{background:#fbe3e3}.skipped{background:#f2f2f2}.error{background:#fff1d6}\
pre{font-size:.85em;white-space:pre-wrap}";

/// Renders `results` of the suite named `suite`.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let adapters: BTreeSet<&str> = results.iter().map(|r| r.adapter.as_str()).collect();
    let ids: BTreeSet<String> = results.iter().map(|r| r.id.to_string()).collect();
    let tally = Tally::of(results);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p>{1} passed, {2} failed, {3} skipped, {4} hung, {5} errors</p>\n<table>\n<tr><th>scenario</th>",
        escape(suite),
        tally.passed,
        tally.failed,
        tally.skipped,
        tally.hung,
        tally.errors,
    );
    for adapter in &adapters {
        let _ = write!(html, "<th>{}</th>", escape(adapter));
    }
    html.push_str("</tr>\n");
    for id in &ids {
        let description = results
            .iter()
            .find(|r| r.id.to_string() == *id)
            .map_or("", |r| r.description.as_str());
        let _ = write!(
            html,
            "<tr><td><code>{}</code><br><small>{}</small></td>",
            escape(id),
            escape(description)
        );
        for adapter in &adapters {
            match results
                .iter()
                .find(|r| r.id.to_string() == *id && r.adapter == *adapter)
            {
                Some(result) => html.push_str(&cell(result)),
                None => html.push_str("<td></td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

fn cell(result: &ScenarioResult) -> String {
    let name = result.outcome.name();
    if result.outcome.is_expected()
        && !matches!(result.outcome, crate::runner::Outcome::Skipped { .. })
    {
        return format!("<td class=\"{name}\">{name}</td>");
    }
    if result.outcome.is_expected() {
        return format!(
            "<td class=\"{name}\">{name}<br><small>{}</small></td>",
            escape(&result.summary())
        );
    }
    format!(
        "<td class=\"{name}\"><details><summary>{name}: {}</summary><pre>{}</pre></details></td>",
        escape(&result.summary()),
        escape(&trace_text(result))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }
}
