//! What running a scenario came to, in the vocabulary of webpki's and x509-limbo's
//! conformance runs: an outcome per scenario, and whether it was the expected one.

use std::path::PathBuf;
use std::time::Duration;

use super::trace::TraceEntry;
use crate::scenario::{Importance, Position, ScenarioId};
use vocab::{Feature, Role};

/// The result of one scenario against one adapter.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario's id.
    pub id: ScenarioId,
    /// The scenario file, for `file:line:column` in reports.
    pub path: PathBuf,
    /// The scenario's description.
    pub description: String,
    /// The scenario's importance.
    pub importance: Importance,
    /// The adapter (SDK and PF) the scenario ran against.
    pub adapter: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Every APDU, PF call and world move up to the end (or the failing step).
    pub trace: Vec<TraceEntry>,
    /// How long it ran.
    pub duration: Duration,
}

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step returned what it expected.
    Pass,
    /// Step `step` (0-based) returned something else than `expected`.
    Fail {
        /// The step's index, from 0.
        step: usize,
        /// Where the step starts in the file.
        position: Position,
        /// What the step expected, in words.
        expected: String,
        /// What came back, in words.
        actual: String,
    },
    /// The adapter lacks features the scenario needs; not a failure.
    Skipped {
        /// The features the adapter lacks.
        missing: Vec<Feature>,
    },
    /// Every step returned what it expects, but the system under test answered none of them:
    /// the bundled reference played every step it was asked (the other role's steps, world
    /// moves), so the scenario says nothing about it. Neither a pass nor a failure.
    NotExercised {
        /// The roles played by systems under test (`--sut`), none of which answered a step.
        under_test: Vec<Role>,
    },
    /// Step `step` did not finish within the per-step timeout; the adapter is stuck.
    Hang {
        /// The step's index, from 0.
        step: usize,
        /// Where the step starts in the file.
        position: Position,
        /// How long the runner waited.
        after: Duration,
    },
    /// The harness itself failed (the world, the server): says nothing about the adapter.
    Error {
        /// What failed, with its causes.
        message: String,
    },
    /// The scenario failed or hung (`actual`), as the adapter's expectations file says it
    /// does: expected, so that a run fails only on what nobody knew about.
    KnownDivergence {
        /// The entry that lists it.
        listing: Listing,
        /// How it actually ended: [`Outcome::Fail`] or [`Outcome::Hang`].
        actual: Box<Outcome>,
    },
    /// Listed as a known divergence, yet it passed: the listing is stale and must go, so that
    /// the expectations file keeps telling the truth about the adapter.
    UnexpectedPass {
        /// The stale entry.
        listing: Listing,
    },
}

/// An entry of an adapter's expectations file: why the adapter diverges, and where it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Why the adapter diverges, in the file's words.
    pub reason: String,
    /// The expectations file.
    pub file: PathBuf,
    /// Where the entry starts in it.
    pub position: Position,
}

impl Outcome {
    /// The outcome's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail { .. } => "fail",
            Outcome::Skipped { .. } => "skipped",
            Outcome::NotExercised { .. } => "not_exercised",
            Outcome::Hang { .. } => "hang",
            Outcome::Error { .. } => "error",
            Outcome::KnownDivergence { .. } => "known_divergence",
            Outcome::UnexpectedPass { .. } => "unexpected_pass",
        }
    }

    /// Whether this outcome needs no one's attention: a pass, a skip for a missing feature, a
    /// scenario the system under test took no part in, or a divergence the adapter's
    /// expectations file lists.
    pub fn is_expected(&self) -> bool {
        matches!(
            self,
            Outcome::Pass
                | Outcome::Skipped { .. }
                | Outcome::NotExercised { .. }
                | Outcome::KnownDivergence { .. }
        )
    }
}

impl ScenarioResult {
    /// One line for people: `step 3 at scenarios/a/b.yaml:12:5: expected good, got revoked`.
    pub fn summary(&self) -> String {
        describe(&self.path, &self.outcome)
    }
}

impl Listing {
    /// `file:line`, where to find (and remove) the entry.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.position.line)
    }
}

fn describe(path: &std::path::Path, outcome: &Outcome) -> String {
    let at =
        |position: &Position| format!("{}:{}:{}", path.display(), position.line, position.column);
    match outcome {
        Outcome::Pass => "pass".to_owned(),
        Outcome::Fail {
            step,
            position,
            expected,
            actual,
        } => format!(
            "step {} at {}: expected {expected}, got {actual}",
            step + 1,
            at(position)
        ),
        Outcome::Skipped { missing } => format!(
            "adapter lacks {}",
            missing
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::NotExercised { under_test } => format!(
            "not exercised: the {} under test answered none of its steps",
            under_test
                .iter()
                .map(|role| <&str>::from(*role).to_uppercase())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        Outcome::Hang {
            step,
            position,
            after,
        } => format!(
            "step {} at {}: no answer after {:.1} s",
            step + 1,
            at(position),
            after.as_secs_f64()
        ),
        Outcome::Error { message } => format!("harness error: {message}"),
        Outcome::KnownDivergence { listing, actual } => format!(
            "known divergence ({}): {}",
            listing.reason,
            describe(path, actual)
        ),
        Outcome::UnexpectedPass { listing } => format!(
            "listed as a known divergence ({}) but passed: remove it from {}",
            listing.reason,
            listing.at()
        ),
    }
}
