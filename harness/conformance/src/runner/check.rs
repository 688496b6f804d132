//! A step's verdict: what it expected against what it got, both in words for reports.

/// A step that did not return what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What the step expected, in the scenario's words.
    pub expected: String,
    /// What came back, in the same words.
    pub actual: String,
}

/// How a step ended when it did not pass.
#[derive(Debug)]
pub enum StepFailure {
    /// The adapter returned something else: the scenario fails.
    Mismatch(Mismatch),
    /// The harness failed: the scenario is an error.
    Harness(super::RunError),
}

impl Mismatch {
    /// A mismatch between `expected` and `actual`.
    pub fn new(expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
        Mismatch {
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl From<Mismatch> for StepFailure {
    fn from(mismatch: Mismatch) -> StepFailure {
        StepFailure::Mismatch(mismatch)
    }
}

impl From<super::RunError> for StepFailure {
    fn from(err: super::RunError) -> StepFailure {
        StepFailure::Harness(err)
    }
}

impl From<mock_jlis::world::WorldError> for StepFailure {
    fn from(err: mock_jlis::world::WorldError) -> StepFailure {
        StepFailure::Harness(err.into())
    }
}
