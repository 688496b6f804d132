//! Crediting a system under test only with what it took part in. With `--sut`, the bundled
//! reference plays the other role, so a scenario can pass without the system under test
//! answering a single step (a `card/*` scenario has only SDK steps; a PF under test gets
//! `hello` and `bye`). Such a scenario is [`Outcome::NotExercised`], not a pass.
//!
//! A system under test answers the steps of its role: `sdk` steps for an SDK, `pf` steps for a
//! PF (the holder's signatures of `pf` steps stay with the reference SDK in process). World
//! moves are the harness's. A step counts as answered when the system under test returned a
//! result for it; an error or no answer fails the step, so it never turns into a pass anyway.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Outcome, RunConfig};
use crate::scenario::model::{Scenario, Step};
use vocab::{
    Consent, EnrolOutcome, EnrolRequest, LatestOutcome, Platform, PlatformError, Role,
    StatusChannel, StatusOutcome, UserOutcome,
};

/// Whether a system under test has answered a step of the scenario so far; shared by the
/// runner's SDK path and the PF under test.
#[derive(Debug, Clone, Default)]
pub struct Answered(Arc<AtomicBool>);

impl Answered {
    /// A system under test returned a result.
    pub fn note(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether one did.
    pub fn any(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A PF under test that notes each answer in [`Answered`].
pub struct AnsweringPlatform<P> {
    platform: P,
    answered: Answered,
}

impl<P: Platform> AnsweringPlatform<P> {
    /// `platform`, noting its answers in `answered`.
    pub fn new(platform: P, answered: Answered) -> AnsweringPlatform<P> {
        AnsweringPlatform { platform, answered }
    }

    fn noted<T>(&self, result: Result<T, PlatformError>) -> Result<T, PlatformError> {
        if result.is_ok() {
            self.answered.note();
        }
        result
    }
}

impl<P: Platform> Platform for AnsweringPlatform<P> {
    fn enrol(&mut self, request: &EnrolRequest) -> Result<EnrolOutcome, PlatformError> {
        let result = self.platform.enrol(request);
        self.noted(result)
    }

    fn check_status(
        &mut self,
        enrolment: &str,
        via: StatusChannel,
    ) -> Result<StatusOutcome, PlatformError> {
        let result = self.platform.check_status(enrolment, via);
        self.noted(result)
    }

    fn register_consent(
        &mut self,
        enrolment: &str,
        consent: &Consent,
    ) -> Result<(), PlatformError> {
        let result = self.platform.register_consent(enrolment, consent);
        self.noted(result)
    }

    fn latest_info(&mut self, enrolment: &str) -> Result<LatestOutcome, PlatformError> {
        let result = self.platform.latest_info(enrolment);
        self.noted(result)
    }

    fn resolve_user(&mut self, enrolment: &str) -> Result<UserOutcome, PlatformError> {
        let result = self.platform.resolve_user(enrolment);
        self.noted(result)
    }
}

impl RunConfig {
    /// The roles systems under test play (`--sut`), SDK first; empty when the bundled
    /// reference plays both, and every scenario exercises it.
    pub fn under_test(&self) -> Vec<Role> {
        [
            (Role::Sdk, self.sut_sdk.is_some()),
            (Role::Pf, self.sut_pf.is_some()),
        ]
        .into_iter()
        .filter_map(|(role, played)| played.then_some(role))
        .collect()
    }
}

/// The roles whose steps `scenario` has, SDK first: who is asked something in it.
pub fn roles_asked(scenario: &Scenario) -> Vec<Role> {
    let has = |role: Role| {
        scenario.steps.iter().any(|step| match step {
            Step::Sdk(_) => role == Role::Sdk,
            Step::Pf(_) => role == Role::Pf,
            _ => false,
        })
    };
    [Role::Sdk, Role::Pf]
        .into_iter()
        .filter(|role| has(*role))
        .collect()
}

/// What a scenario whose every step passed comes to: a pass when no system is under test or
/// one answered a step, [`Outcome::NotExercised`] otherwise.
pub fn credit(under_test: Vec<Role>, answered: &Answered) -> Outcome {
    if under_test.is_empty() || answered.any() {
        Outcome::Pass
    } else {
        Outcome::NotExercised { under_test }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_credited_only_when_a_system_under_test_answered() {
        let answered = Answered::default();
        assert_eq!(credit(Vec::new(), &answered), Outcome::Pass);
        assert_eq!(
            credit(vec![Role::Pf], &answered),
            Outcome::NotExercised {
                under_test: vec![Role::Pf]
            }
        );
        answered.clone().note();
        assert_eq!(credit(vec![Role::Pf], &answered), Outcome::Pass);
    }

    struct Refusing;

    impl Platform for Refusing {
        fn enrol(&mut self, _: &EnrolRequest) -> Result<EnrolOutcome, PlatformError> {
            Err(PlatformError::Failed("down".to_owned()))
        }
        fn check_status(
            &mut self,
            _: &str,
            _: StatusChannel,
        ) -> Result<StatusOutcome, PlatformError> {
            Ok(StatusOutcome::Good)
        }
        fn register_consent(&mut self, _: &str, _: &Consent) -> Result<(), PlatformError> {
            Ok(())
        }
        fn latest_info(&mut self, _: &str) -> Result<LatestOutcome, PlatformError> {
            Err(PlatformError::Failed("down".to_owned()))
        }
        fn resolve_user(&mut self, _: &str) -> Result<UserOutcome, PlatformError> {
            Err(PlatformError::Failed("down".to_owned()))
        }
    }

    #[test]
    fn the_platform_wrapper_notes_results_not_errors() {
        let answered = Answered::default();
        let mut platform = AnsweringPlatform::new(Refusing, answered.clone());
        assert!(platform.resolve_user("alice").is_err());
        assert!(!answered.any());
        assert!(platform.check_status("alice", StatusChannel::Ocsp).is_ok());
        assert!(answered.any());
    }
}
