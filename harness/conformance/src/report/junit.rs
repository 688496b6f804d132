//! JUnit XML: one `<testcase>` per scenario, in one `<testsuite>` per adapter (named after the
//! suite, and the adapter when a merged report has several); the shape GitLab, Jenkins and
//! GitHub test reporters read.
//!
//! A known divergence is a `<skipped>` test case whose message is the divergence (reason, then
//! the failing step with expected and actual), with the trace in `<system-out>`. Reported as
//! passed, it would count towards the pass rate that dashboards show and its note would be
//! buried in the output few people open; reported as skipped, it fails no build, is counted
//! apart, and GitLab, Jenkins and GitHub reporters all show the message next to it. An
//! unexpected pass is a `<failure>`: the expectations file must lose the entry. A scenario the
//! system under test took no part in (`not_exercised`) is a `<skipped>` test case too, its
//! message saying so: crediting it as passed would count what was never tried.

use std::fmt::Write as _;

use super::text::{escape, trace_text};
use super::Tally;
use crate::runner::{Outcome, ScenarioResult};

/// Renders `results` of the suite named `suite`.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let mut adapters: Vec<&str> = Vec::new();
    for result in results {
        if !adapters.contains(&result.adapter.as_str()) {
            adapters.push(&result.adapter);
        }
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    if adapters.len() <= 1 {
        testsuite(&mut xml, suite, results);
    } else {
        for adapter in adapters {
            let theirs: Vec<ScenarioResult> = results
                .iter()
                .filter(|r| r.adapter == adapter)
                .cloned()
                .collect();
            testsuite(&mut xml, &format!("{suite} ({adapter})"), &theirs);
        }
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn testsuite(xml: &mut String, name: &str, results: &[ScenarioResult]) {
    let tally = Tally::of(results);
    let seconds: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">",
        escape(name),
        results.len(),
        tally.failed + tally.hung + tally.unexpected_passes,
        tally.errors,
        tally.skipped + tally.not_exercised + tally.known_divergences,
    );
    for result in results {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}.{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&result.adapter),
            escape(result.id.area()),
            escape(&result.id.to_string()),
            escape(&result.path.display().to_string()),
            result.duration.as_secs_f64(),
        );
        match &result.outcome {
            Outcome::Pass => xml.push_str("/>\n"),
            Outcome::Skipped { .. } | Outcome::NotExercised { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&result.summary())
                );
            }
            Outcome::KnownDivergence { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>",
                    escape(&result.summary())
                );
                if !result.trace.is_empty() {
                    let _ = writeln!(
                        xml,
                        "      <system-out>{}</system-out>",
                        escape(&trace_text(result))
                    );
                }
                xml.push_str("    </testcase>\n");
            }
            Outcome::Fail { .. } | Outcome::Hang { .. } | Outcome::UnexpectedPass { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    escape(&result.summary()),
                    result.outcome.name(),
                    escape(&trace_text(result)),
                );
            }
            Outcome::Error { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                    escape(&result.summary()),
                    escape(&trace_text(result)),
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }

    #[test]
    fn junit_report_of_two_adapters_has_a_testsuite_each() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_matrix()));
    }
}
