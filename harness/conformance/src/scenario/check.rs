//! Checks that need the whole scenario: references between steps and cards, names defined
//! before use, features the steps need. The parser has already checked each value's shape.

use std::collections::{BTreeMap, BTreeSet};

use mock_jlis::PersonaOverrides;
use time::OffsetDateTime;

use super::locate::key;
use super::locate::Segment::{self, Index};
use vocab::{CertificateSlot, KeyKind, PinKind};

use super::model::{
    CardMove, ClockMove, ConsentMove, EnrolExpect, EnrolmentName, PfStep, Scenario, SdkExpect,
    SdkStep, Step, UserExpect,
};

/// A scenario that parses but does not hold together. Each variant says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `steps` is empty.
    #[error("a scenario needs at least one step")]
    NoSteps,
    /// An `any_of` with no choice in it: no answer could pass.
    #[error("`any_of` needs at least one expectation")]
    EmptyAnyOf,
    /// A step or move names a card index past the end of `cards`.
    #[error("card {index} is out of range: expected an index into `cards` ({})", count_cards(*.count))]
    CardOutOfRange {
        /// The index given.
        index: usize,
        /// How many cards the scenario has.
        count: usize,
    },
    /// Two entries of `cards` have the same id.
    #[error("card {id} is listed twice (first as card {first})")]
    DuplicateCard {
        /// The card id.
        id: String,
        /// The index of the first card with it.
        first: usize,
    },
    /// Two cards have the same label.
    #[error("label {label:?} is used twice (first by card {first})")]
    DuplicateLabel {
        /// The label.
        label: String,
        /// The index of the first card with it.
        first: usize,
    },
    /// The overrides would be refused when the world builds the card.
    #[error("expected persona override fields: {message}")]
    Persona {
        /// What the persona overrides got wrong.
        message: String,
    },
    /// A step names an enrolment no earlier `enrol` step defined.
    #[error("enrolment `{name}` is not defined by an earlier `enrol` step ({})", defined_names(.defined))]
    UnknownEnrolment {
        /// The name used.
        name: String,
        /// The names defined by then, for the message.
        defined: Vec<String>,
    },
    /// A step uses an enrolment whose `enrol` is expected to be rejected: there is nothing to use.
    #[error("enrolment `{name}` was expected to be rejected, so later steps cannot use it")]
    RejectedEnrolment {
        /// The enrolment.
        name: String,
    },
    /// Two `enrol` steps give the same name.
    #[error("enrolment `{name}` is already defined by step {first}")]
    DuplicateEnrolment {
        /// The name.
        name: String,
        /// The index of the step that defined it first.
        first: usize,
    },
    /// `latest_info` on an enrolment of the authentication key, which J-LIS does not follow.
    #[error("`latest_info` follows signature certificates: expected an enrolment with `key: sign`, `{name}` used `key: auth`")]
    LatestInfoNeedsSign {
        /// The enrolment.
        name: String,
    },
    /// A correct PF rejects a tampered or cross-hierarchy enrolment, so `accepted` can never pass.
    #[error("a `{field}` enrolment must be expected `rejected`: a correct PF never accepts it")]
    ForgedEnrolmentAccepted {
        /// The key that makes it forged: `tamper` or `present_as`.
        field: &'static str,
    },
    /// A step needs a feature the scenario does not list, so adapters without it would fail
    /// instead of skipping.
    #[error("needs feature `{feature}`: add it to `features` so that adapters without it skip the scenario")]
    MissingFeature {
        /// The feature's name.
        feature: &'static str,
    },
    /// `password` on a `read_certificate` of a certificate that needs none.
    #[error(
        "`password` only opens the signature certificate (`which: sign`); the others are free"
    )]
    PasswordUnused,
    /// A read with a `pin` it cannot be opened with.
    #[error("`{op}` cannot use PIN `{pin}`: expected one of {}", pin_names(.accepted))]
    PinNotAccepted {
        /// The operation.
        op: &'static str,
        /// The PIN given.
        pin: &'static str,
        /// The PINs the operation accepts.
        accepted: &'static [PinKind],
    },
    /// `retries_left` expected of an operation other than `pin_status`.
    #[error("`retries_left` is what `pin_status` answers; `{op}` cannot: expected `ok`, `wrong_pin`, `pin_blocked`, `security_status`, `failed`, `no_card`, `no_certificate` or `status`")]
    RetriesOnlyForPinStatus {
        /// The operation.
        op: &'static str,
    },
    /// `no_certificate` expected of an operation that reads no certificate or key of the holder.
    #[error("`no_certificate` is what `sign` and `read_certificate` of `sign` or `auth` answer; {what} cannot")]
    NoCertificateOnlyForCertificates {
        /// The operation in backticks, with its certificate for `read_certificate`.
        what: String,
    },
    /// A `remove` of a card already out of its reader.
    #[error("card {index} is already removed")]
    AlreadyRemoved {
        /// The card.
        index: usize,
    },
    /// An `insert` of a card that is in its reader.
    #[error("card {index} is already inserted")]
    AlreadyInserted {
        /// The card.
        index: usize,
    },
    /// A `clock: {set: ...}` before the clock's time at that step.
    #[error("the clock only moves forward: {requested} is before {now}")]
    ClockBackwards {
        /// The clock's time at that step (RFC 3339).
        now: String,
        /// The instant asked for.
        requested: String,
    },
    /// An advance that would take the clock past the last date the calendar can represent.
    #[error("moving the clock past the calendar's end")]
    ClockOverflow,
    /// A start or a move past the latest instant the world's clock takes.
    #[error("the clock goes up to {latest}; {requested} is later")]
    ClockTooLate {
        /// Where the scenario would put the clock (RFC 3339).
        requested: String,
        /// `mock_jlis::clock::LATEST` (RFC 3339).
        latest: String,
    },
    /// A fault armed on an endpoint it cannot apply to (`try_later` on the CRL, for instance).
    #[error("fault `{fault}` does not apply to endpoint `{endpoint}`")]
    FaultNotApplicable {
        /// The fault's kind.
        fault: String,
        /// The endpoint.
        endpoint: String,
    },
    /// A fault with `count: 0`.
    #[error(
        "a fault count must be at least 1 (leave `count` out for \"until the scenario ends\")"
    )]
    ZeroCount,
}

/// Every problem of `scenario`, each with the path of the node it is about, in file order.
pub fn check(scenario: &Scenario) -> Vec<(Vec<Segment>, Problem)> {
    let mut checker = Checker {
        scenario,
        problems: Vec::new(),
        enrolments: BTreeMap::new(),
        removed: BTreeSet::new(),
        now: scenario.clock.as_ref().map(|c| c.start),
    };
    if let Some(start) = checker.now {
        checker.within_range(start, vec![key("clock"), key("start")]);
    }
    checker.cards();
    if scenario.steps.is_empty() {
        checker
            .problems
            .push((vec![key("steps")], Problem::NoSteps));
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        checker.step(index, step);
    }
    checker.problems
}

struct Checker<'s> {
    scenario: &'s Scenario,
    problems: Vec<(Vec<Segment>, Problem)>,
    /// Enrolments defined so far: step index, and whether the enrolment is expected to succeed.
    enrolments: BTreeMap<&'s EnrolmentName, (usize, bool)>,
    removed: BTreeSet<usize>,
    /// The world clock, when the scenario fixes its start.
    now: Option<OffsetDateTime>,
}

impl<'s> Checker<'s> {
    fn cards(&mut self) {
        let mut ids = BTreeMap::new();
        let mut labels = BTreeMap::new();
        for (index, card) in self.scenario.cards.iter().enumerate() {
            let at = |name: &'static str| vec![key("cards"), Index(index), key(name)];
            if let Some(&first) = ids.get(&card.id) {
                let id = card.id.to_string();
                self.problems
                    .push((at("id"), Problem::DuplicateCard { id, first }));
            }
            ids.entry(&card.id).or_insert(index);
            if let Some(label) = &card.label {
                if let Some(&first) = labels.get(label) {
                    let label = label.clone();
                    self.problems
                        .push((at("label"), Problem::DuplicateLabel { label, first }));
                }
                labels.entry(label).or_insert(index);
            }
            if let Some(problem) = card.persona.as_ref().and_then(persona_problem) {
                self.problems.push((at("persona"), problem));
            }
        }
    }

    fn step(&mut self, index: usize, step: &'s Step) {
        let base = vec![key("steps"), Index(index), key(step.kind())];
        let at = |keys: &[&'static str]| {
            let mut path = base.clone();
            path.extend(keys.iter().map(|&k| key(k)));
            path
        };
        for feature in step.features() {
            if !self.scenario.features.contains(&feature) {
                let problem = Problem::MissingFeature {
                    feature: feature.name(),
                };
                self.problems.push((base[..2].to_vec(), problem));
            }
        }
        match step {
            Step::Sdk(sdk) => self.sdk(sdk, at),
            Step::Pf(pf) => self.pf(index, pf, at),
            Step::Event(event) => {
                self.card_index(event.card, at(&["card"]));
                if let Some(problem) = event.persona.as_ref().and_then(persona_problem) {
                    self.problems.push((at(&["persona"]), problem));
                }
            }
            Step::Clock(clock) => self.clock(clock, base.clone()),
            Step::Fault(fault) => {
                if !fault.fault.applies_to(fault.endpoint) {
                    let problem = Problem::FaultNotApplicable {
                        fault: serde_name(&fault.fault),
                        endpoint: serde_name(&fault.endpoint),
                    };
                    self.problems.push((at(&["fault"]), problem));
                }
                if fault.count == Some(0) {
                    self.problems.push((at(&["count"]), Problem::ZeroCount));
                }
            }
            Step::ClearFaults => {}
            Step::Consent(ConsentMove::Withdraw(name)) => {
                self.enrolment(name, at(&["withdraw"]));
            }
            Step::Card(CardMove::Fault(fault)) => {
                self.card_index(fault.card, at(&["fault", "card"]));
                if fault.count == Some(0) {
                    self.problems
                        .push((at(&["fault", "count"]), Problem::ZeroCount));
                }
            }
            Step::Card(card) => {
                let (card_index, key) = match *card {
                    CardMove::Remove(i) => (i, "remove"),
                    CardMove::Insert(i) => (i, "insert"),
                    CardMove::Fault(_) => return,
                };
                if !self.card_index(card_index, at(&[key])) {
                    return;
                }
                let problem = match card {
                    CardMove::Remove(_) if !self.removed.insert(card_index) => {
                        Problem::AlreadyRemoved { index: card_index }
                    }
                    CardMove::Insert(_) if !self.removed.remove(&card_index) => {
                        Problem::AlreadyInserted { index: card_index }
                    }
                    _ => return,
                };
                self.problems.push((at(&[key]), problem));
            }
        }
    }

    fn sdk(&mut self, sdk: &SdkStep, at: impl Fn(&[&'static str]) -> Vec<Segment>) {
        self.card_index(sdk.card(), at(&["card"]));
        match sdk {
            SdkStep::ReadCertificate {
                which,
                password: Some(_),
                ..
            } if *which != CertificateSlot::Sign => {
                self.problems
                    .push((at(&["password"]), Problem::PasswordUnused));
            }
            SdkStep::ReadBasicInfo { pin, .. }
            | SdkStep::ReadMyNumber { pin, .. }
            | SdkStep::ReadCardFace { pin, .. } => {
                let accepted = sdk.accepted_pins().unwrap_or_default();
                if !accepted.contains(pin) {
                    let problem = Problem::PinNotAccepted {
                        op: sdk.op(),
                        pin: pin.name(),
                        accepted,
                    };
                    self.problems.push((at(&["pin"]), problem));
                }
            }
            _ => {}
        }
        if sdk.expect().has_empty_any_of() {
            self.problems.push((at(&["expect"]), Problem::EmptyAnyOf));
        }
        let retries = sdk
            .expect()
            .any(&|e| matches!(e, SdkExpect::RetriesLeft(_)));
        if retries && !matches!(sdk, SdkStep::PinStatus { .. }) {
            let problem = Problem::RetriesOnlyForPinStatus { op: sdk.op() };
            self.problems.push((at(&["expect"]), problem));
        }
        let holder_certificate = match sdk {
            SdkStep::ReadCertificate { which, .. } => {
                matches!(which, CertificateSlot::Sign | CertificateSlot::Auth)
            }
            SdkStep::Sign { .. } => true,
            _ => false,
        };
        if !holder_certificate && sdk.expect().any(&|e| *e == SdkExpect::NoCertificate) {
            let what = match sdk {
                SdkStep::ReadCertificate { which, .. } => {
                    format!("`{}` of `{}`", sdk.op(), which.name())
                }
                _ => format!("`{}`", sdk.op()),
            };
            let problem = Problem::NoCertificateOnlyForCertificates { what };
            self.problems.push((at(&["expect"]), problem));
        }
    }

    fn pf(&mut self, index: usize, pf: &'s PfStep, at: impl Fn(&[&'static str]) -> Vec<Segment>) {
        match pf {
            PfStep::Enrol {
                card,
                key,
                name,
                present_as,
                tamper,
                expect,
                ..
            } => {
                self.card_index(*card, at(&["card"]));
                let forged = if *tamper {
                    Some("tamper")
                } else {
                    present_as
                        .filter(|other| other != key)
                        .map(|_| "present_as")
                };
                if let (Some(field), EnrolExpect::Accepted) = (forged, expect) {
                    let problem = Problem::ForgedEnrolmentAccepted { field };
                    self.problems.push((at(&["expect"]), problem));
                }
                if let Some(name) = name {
                    if let Some(&(first, _)) = self.enrolments.get(name) {
                        let problem = Problem::DuplicateEnrolment {
                            name: name.to_string(),
                            first,
                        };
                        self.problems.push((at(&["name"]), problem));
                    } else {
                        let accepted = *expect == EnrolExpect::Accepted;
                        self.enrolments.insert(name, (index, accepted));
                    }
                }
            }
            PfStep::CheckStatus {
                enrolment, expect, ..
            } => {
                self.enrolment(enrolment, at(&["enrolment"]));
                if expect.has_empty_any_of() {
                    self.problems.push((at(&["expect"]), Problem::EmptyAnyOf));
                }
            }
            PfStep::LatestInfo { enrolment, .. } => {
                if let Some(step) = self.enrolment(enrolment, at(&["enrolment"])) {
                    let key = match &self.scenario.steps[step] {
                        Step::Pf(PfStep::Enrol { key, .. }) => Some(*key),
                        _ => None,
                    };
                    if key == Some(KeyKind::Auth) {
                        let problem = Problem::LatestInfoNeedsSign {
                            name: enrolment.to_string(),
                        };
                        self.problems.push((at(&["enrolment"]), problem));
                    }
                }
            }
            PfStep::ResolveUser { enrolment, expect } => {
                self.enrolment(enrolment, at(&["enrolment"]));
                match expect {
                    UserExpect::SameUserAs(other) => {
                        self.enrolment(other, at(&["expect", "same_user_as"]));
                    }
                    UserExpect::DifferentUserFrom(other) => {
                        self.enrolment(other, at(&["expect", "different_user_from"]));
                    }
                    UserExpect::Resolved | UserExpect::NotLinkedYet => {}
                }
            }
        }
    }

    fn clock(&mut self, clock: &ClockMove, at: Vec<Segment>) {
        let Some(now) = self.now else {
            // Without a fixed start, only advances are known to be forward; nothing to check.
            return;
        };
        let next = match clock {
            ClockMove::Advance(by) => time::Duration::try_from(by.0)
                .ok()
                .and_then(|by| now.checked_add(by)),
            ClockMove::Set(to) => Some(*to),
        };
        match next {
            None => self.problems.push((at, Problem::ClockOverflow)),
            Some(requested) if requested < now => {
                let problem = Problem::ClockBackwards {
                    now: rfc3339(now),
                    requested: rfc3339(requested),
                };
                self.problems.push((at, problem));
            }
            Some(requested) => {
                self.within_range(requested, at);
                self.now = Some(requested);
            }
        }
    }

    /// Records a problem when `at` is past the latest instant the world's clock takes.
    fn within_range(&mut self, requested: time::OffsetDateTime, path: Vec<Segment>) {
        if requested > mock_jlis::clock::LATEST {
            let problem = Problem::ClockTooLate {
                requested: rfc3339(requested),
                latest: rfc3339(mock_jlis::clock::LATEST),
            };
            self.problems.push((path, problem));
        }
    }

    /// Whether `index` names a card; records the problem if not.
    fn card_index(&mut self, index: usize, at: Vec<Segment>) -> bool {
        let count = self.scenario.cards.len();
        if index >= count {
            self.problems
                .push((at, Problem::CardOutOfRange { index, count }));
        }
        index < count
    }

    /// The step that defined `name`, if it was defined before and is expected to succeed.
    fn enrolment(&mut self, name: &EnrolmentName, at: Vec<Segment>) -> Option<usize> {
        match self.enrolments.get(name) {
            Some(&(step, true)) => Some(step),
            Some(&(_, false)) => {
                let problem = Problem::RejectedEnrolment {
                    name: name.to_string(),
                };
                self.problems.push((at, problem));
                None
            }
            None => {
                let problem = Problem::UnknownEnrolment {
                    name: name.to_string(),
                    defined: self.enrolments.keys().map(|n| n.to_string()).collect(),
                };
                self.problems.push((at, problem));
                None
            }
        }
    }
}

/// Checks field names and value types against the persona override format (values such as
/// dates and PIN formats are checked when the world builds the card).
fn persona_problem(persona: &serde_json::Value) -> Option<Problem> {
    serde_json::from_value::<PersonaOverrides>(persona.clone())
        .err()
        .map(|e| Problem::Persona {
            message: e.to_string(),
        })
}

/// The name a value has in scenario files (`try_later`, `ocsp`).
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => match map.get("kind") {
            Some(serde_json::Value::String(name)) => name.clone(),
            _ => serde_json::Value::Object(map).to_string(),
        },
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn count_cards(count: usize) -> String {
    match count {
        0 => "the scenario has no cards".to_owned(),
        1 => "the scenario has 1 card, 0".to_owned(),
        n => format!("the scenario has {n} cards, 0 to {}", n - 1),
    }
}

fn defined_names(names: &[String]) -> String {
    if names.is_empty() {
        "none is defined so far".to_owned()
    } else {
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("defined so far: {}", quoted.join(", "))
    }
}

fn pin_names(pins: &[PinKind]) -> String {
    let quoted: Vec<String> = pins.iter().map(|p| format!("`{}`", p.name())).collect();
    quoted.join(", ")
}
