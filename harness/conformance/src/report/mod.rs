//! Reports of a run (docs/contracts.md §7): JUnit XML for CI systems, versioned JSON for machines, and a
//! self-contained HTML matrix for people. Each renderer is a pure function of the results, so
//! that snapshots pin their exact shape.

pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
pub mod schema;
mod text;

use crate::runner::ScenarioResult;

/// Counts by outcome, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Scenarios whose every step returned what it expects.
    pub passed: usize,
    /// Scenarios a step of which returned something else.
    pub failed: usize,
    /// Scenarios the adapter lacks features for; not failures.
    pub skipped: usize,
    /// Scenarios that passed without the system under test answering any step: neither
    /// passes nor failures.
    pub not_exercised: usize,
    /// Scenarios a step of which had no answer within the step timeout; [`Tally::line`]
    /// counts them as failed.
    pub hung: usize,
    /// Scenarios the harness itself failed; they say nothing about the adapter.
    pub errors: usize,
    /// Failures or hangs the adapter's expectations file lists.
    pub known_divergences: usize,
    /// Passes the expectations file lists as divergences: stale entries.
    pub unexpected_passes: usize,
}

impl Tally {
    /// Counts the outcomes of `results`, one per scenario and adapter.
    pub fn of(results: &[ScenarioResult]) -> Tally {
        use crate::runner::Outcome::*;
        let mut tally = Tally::default();
        for result in results {
            match result.outcome {
                Pass => tally.passed += 1,
                Fail { .. } => tally.failed += 1,
                Skipped { .. } => tally.skipped += 1,
                NotExercised { .. } => tally.not_exercised += 1,
                Hang { .. } => tally.hung += 1,
                Error { .. } => tally.errors += 1,
                KnownDivergence { .. } => tally.known_divergences += 1,
                UnexpectedPass { .. } => tally.unexpected_passes += 1,
            }
        }
        tally
    }

    /// `N passed, N failed, N skipped`, then scenarios not exercised, known divergences and
    /// unexpected passes when there are any: the line scripts read, unchanged for runs of the
    /// reference without expectations.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed, {} skipped",
            self.passed,
            self.failed + self.hung,
            self.skipped
        );
        let plural =
            |n: usize, one: &str, many: &str| format!(", {n} {}", if n == 1 { one } else { many });
        if self.not_exercised > 0 {
            line += &plural(self.not_exercised, "not exercised", "not exercised");
        }
        if self.known_divergences > 0 {
            line += &plural(
                self.known_divergences,
                "known divergence",
                "known divergences",
            );
        }
        if self.unexpected_passes > 0 {
            line += &plural(
                self.unexpected_passes,
                "unexpected pass",
                "unexpected passes",
            );
        }
        line
    }
}

/// Fixed results covering every outcome, for the renderers' snapshots.
#[cfg(test)]
pub(crate) fn sample_results() -> Vec<ScenarioResult> {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::runner::{Outcome, TraceEntry};
    use crate::scenario::{Importance, Position, ScenarioId};
    use vocab::{Feature, Role};

    let result =
        |area: &str, name: &str, outcome: Outcome, trace: Vec<TraceEntry>| ScenarioResult {
            id: ScenarioId::new(area, name).expect("valid id"),
            path: PathBuf::from(format!("scenarios/{area}/{name}.yaml")),
            description: format!("What {name} checks & why <it> matters."),
            importance: Importance::High,
            adapter: "reference".to_owned(),
            outcome,
            trace,
            duration: Duration::from_millis(125),
        };
    let trace = vec![
        TraceEntry::Step {
            index: 0,
            summary: "sdk verify_pin".to_owned(),
        },
        TraceEntry::Apdu {
            card: 0,
            command: "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01".to_owned(),
            name: "SELECT (DF name)".to_owned(),
            response_len: 0,
            status: Some("90 00".to_owned()),
        },
        TraceEntry::Apdu {
            card: 0,
            command: "00 20 00 80 04 [PIN, 4 bytes]".to_owned(),
            name: "VERIFY".to_owned(),
            response_len: 0,
            status: Some("63 C2".to_owned()),
        },
        TraceEntry::Pf {
            op: "check_status".to_owned(),
            request: "alice, Ocsp".to_owned(),
            result: r#"{"outcome":"good"}"#.to_owned(),
        },
        TraceEntry::World {
            action: "clock now 2026-11-02 1:15:00.0 +00:00:00".to_owned(),
        },
    ];
    vec![
        result("card", "auth_pin_lockout", Outcome::Pass, Vec::new()),
        result(
            "card",
            "wrong_expect",
            Outcome::Fail {
                step: 1,
                position: Position {
                    line: 12,
                    column: 5,
                },
                expected: "wrong_pin with 1 left (63 C1)".to_owned(),
                actual: "status 63 C2 (RETRIES_LEFT)".to_owned(),
            },
            trace.clone(),
        ),
        result(
            "card",
            "face_reader",
            Outcome::Skipped {
                missing: vec![Feature::VisualAp, Feature::Pcsc],
            },
            Vec::new(),
        ),
        result(
            "faults",
            "slow_ocsp",
            Outcome::Hang {
                step: 3,
                position: Position {
                    line: 20,
                    column: 5,
                },
                after: Duration::from_millis(20_100),
            },
            trace.clone(),
        ),
        result(
            "revocation",
            "world_broke",
            Outcome::Error {
                message: "the world failed: a store error".to_owned(),
            },
            Vec::new(),
        ),
        result(
            "faults",
            "ocsp_stale_response",
            Outcome::KnownDivergence {
                listing: listing("believes stale OCSP answers", 4),
                actual: Box::new(Outcome::Fail {
                    step: 2,
                    position: Position {
                        line: 15,
                        column: 5,
                    },
                    expected: "undetermined".to_owned(),
                    actual: r#"{"outcome":"good"}"#.to_owned(),
                }),
            },
            trace[3..].to_vec(),
        ),
        result(
            "card",
            "text_pin_lockout",
            Outcome::UnexpectedPass {
                listing: listing("no text AP", 7),
            },
            trace[..1].to_vec(),
        ),
        result(
            "card",
            "pin_status_empty_query",
            Outcome::NotExercised {
                under_test: vec![Role::Pf],
            },
            Vec::new(),
        ),
    ]
}

#[cfg(test)]
fn listing(reason: &str, line: usize) -> crate::runner::Listing {
    crate::runner::Listing {
        reason: reason.to_owned(),
        file: "harness/adapters/expectations/acme-pf.yaml".into(),
        position: crate::scenario::Position { line, column: 5 },
    }
}

/// Results of two adapters over overlapping scenarios, for the matrix snapshot: the reference
/// as in [`sample_results`], and `acme-pf` with other outcomes and one scenario of its own.
#[cfg(test)]
pub(crate) fn sample_matrix() -> Vec<ScenarioResult> {
    use crate::runner::Outcome;
    use crate::scenario::ScenarioId;

    let mut results = sample_results();
    let acme: Vec<ScenarioResult> = results
        .iter()
        .filter(|r| r.id.to_string() != "card/face_reader")
        .map(|r| {
            let outcome = match r.id.to_string().as_str() {
                "card/auth_pin_lockout" => Outcome::KnownDivergence {
                    listing: listing("locks after five tries", 3),
                    actual: Box::new(Outcome::Hang {
                        step: 4,
                        position: crate::scenario::Position {
                            line: 11,
                            column: 5,
                        },
                        after: std::time::Duration::from_secs(20),
                    }),
                },
                "card/wrong_expect" | "faults/ocsp_stale_response" => Outcome::Pass,
                _ => r.outcome.clone(),
            };
            ScenarioResult {
                adapter: "acme-pf".to_owned(),
                outcome,
                ..r.clone()
            }
        })
        .collect();
    results.extend(acme);
    let mut own = results[0].clone();
    own.id = ScenarioId::new("enrolment", "acme_only").expect("valid id");
    own.path = "scenarios/enrolment/acme_only.yaml".into();
    own.adapter = "acme-pf".to_owned();
    own.description = "What acme_only checks & why <it> matters.".to_owned();
    results.push(own);
    results
}
