//! JUnit XML: one `<testcase>` per scenario, in one `<testsuite>`; the shape GitLab, Jenkins and
//! GitHub test reporters read.

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
        tally.failed + tally.hung,
        tally.errors,
        tally.skipped,
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
            Outcome::Fail { .. } | Outcome::Hang { .. } => {
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
