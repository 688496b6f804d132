//! JUnit XML: one `<testcase>` per scenario, in one `<testsuite>`; the shape GitLab, Jenkins and
//! GitHub test reporters read.
//!
//! A known divergence is a `<skipped>` test case whose message is the divergence (reason, then
//! the failing step with expected and actual), with the trace in `<system-out>`. Reported as
//! passed, it would count towards the pass rate that dashboards show and its note would be
//! buried in the output few people open; reported as skipped, it fails no build, is counted
//! apart, and GitLab, Jenkins and GitHub reporters all show the message next to it. An
//! unexpected pass is a `<failure>`: the expectations file must lose the entry.

use std::fmt::Write as _;

use super::text::{escape, trace_text};
use super::Tally;
use crate::runner::{Outcome, ScenarioResult};

/// Renders `results` of the suite named `suite`.
pub fn render(suite: &str, results: &[ScenarioResult]) -> String {
    let tally = Tally::of(results);
    let seconds: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">",
        escape(suite),
        results.len(),
        tally.failed + tally.hung + tally.unexpected_passes,
        tally.errors,
        tally.skipped + tally.known_divergences,
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
            Outcome::Skipped { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&result.summary())
                );
            }
            Outcome::KnownDivergence { .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&result.summary()),
                    escape(&trace_text(result)),
                );
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
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_report_of_every_outcome() {
        insta::assert_snapshot!(render("scenarios", &crate::report::sample_results()));
    }
}
