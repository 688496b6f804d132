//! Known divergences of an adapter from the suite: data with reasons, one YAML file per
//! adapter (`harness/adapters/expectations/<adapter>.yaml`), as webpki's conformance run keeps
//! them. A listed scenario that fails or hangs is a [`Outcome::KnownDivergence`] (expected); a
//! listed scenario that passes is an [`Outcome::UnexpectedPass`] (not expected), so the file
//! cannot quietly go stale.
//!
//! ```yaml
//! adapter: opensc                       # the adapter's name in reports
//! divergences:
//!   - scenario: card/text_pin_lockout   # an id, or a glob: `*` matches any run of characters
//!     reason: OpenSC's JPKI driver does not expose the text AP
//! ```
//!
//! A scenario matched by several entries takes the first. Skipped scenarios need no entry and
//! harness errors are never divergences. Nor is a scenario the system under test took no part
//! in ([`Outcome::NotExercised`]): there is nothing of the adapter's to diverge, so entries do
//! not apply to it, and against a whole suite an entry covering only such scenarios is stale
//! ([`Expectations::not_exercised`]).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::credit::roles_asked;
use super::outcome::{Listing, Outcome, ScenarioResult};
use crate::scenario::locate::{key, locate, Segment};
use crate::scenario::{LoadedScenario, Position, ScenarioId};
use vocab::Role;

/// An adapter's expectations file, loaded.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The adapter's name in reports (the column of the HTML matrix).
    pub adapter: String,
    /// The file, named in unexpected passes so the stale entry is easy to find.
    pub path: PathBuf,
    /// The entries, in file order.
    pub divergences: Vec<Divergence>,
}

/// One entry: the scenarios it covers and why the adapter diverges there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// A scenario id, or a glob of ids with `*`.
    pub scenario: String,
    /// Why the adapter diverges, in the file's words (shown in reports).
    pub reason: String,
    /// Where the entry starts in the file.
    pub position: Position,
}

/// Why an expectations file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax, an unknown or missing key, a value of the wrong type. `message` is the
    /// parser's: it names the key and what was expected.
    #[error("{}:{}:{}: {message}", path.display(), at.line, at.column)]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped.
        at: Position,
        /// The parser's message.
        message: String,
    },
    /// The file parses but an entry (or the adapter name) is unusable; `key` is the path of
    /// the node at fault (`divergences[2].scenario`).
    #[error("{}:{}:{}: {key}: {problem}", path.display(), at.line, at.column)]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where the node at fault starts.
        at: Position,
        /// The node's key path (`divergences[2].scenario`).
        key: String,
        /// What is wrong with it.
        problem: Problem,
    },
}

/// What is wrong with a node of an expectations file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `adapter` is empty.
    #[error("empty: give the adapter's name as reports should show it")]
    NoAdapter,
    /// An entry's `reason` is empty.
    #[error("empty: say why the adapter diverges, so the next reader can judge it")]
    NoReason,
    /// An entry's `scenario` is neither an id nor a glob of ids.
    #[error(
        "{pattern:?} is not a scenario id or a glob of one: expected <area>/<name> of lower-case \
         ASCII letters, digits and `_`, with `*` for any run of characters"
    )]
    Pattern {
        /// The value given.
        pattern: String,
    },
    /// Two entries give the same `scenario`.
    #[error("{pattern:?} is listed twice (first at line {first})")]
    Duplicate {
        /// The value both give.
        pattern: String,
        /// The line of the first entry.
        first: usize,
    },
    /// Checked against the whole suite only: the scenario was renamed or removed, or the id is
    /// misspelt; either way the entry no longer says anything.
    #[error("{pattern:?} matches no scenario of the suite: fix the id or remove the entry")]
    Unmatched {
        /// The entry's `scenario`.
        pattern: String,
    },
    /// Checked against the whole suite only: every scenario the entry matches is one the system
    /// under test takes no part in (it has no step of the role under test), so the adapter
    /// cannot diverge there.
    #[error(
        "{pattern:?} matches only scenarios without a step for the {roles} under test: the \
         adapter takes no part in them, so it cannot diverge there; remove the entry"
    )]
    NotExercised {
        /// The entry's `scenario`.
        pattern: String,
        /// The roles under test, `SDK`, `PF` or `SDK or PF`.
        roles: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    adapter: String,
    #[serde(default)]
    divergences: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    scenario: String,
    reason: String,
}

impl Expectations {
    /// Reads and checks the expectations file at `path`.
    pub fn load(path: &Path) -> Result<Expectations, ExpectationsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Expectations::parse(&text, path)
    }

    /// Parses expectations text; `path` names the file in errors and listings.
    pub fn parse(text: &str, path: &Path) -> Result<Expectations, ExpectationsError> {
        let file: File = serde_norway::from_str(text).map_err(|e| {
            let at = e.location().map_or(Position::START, |at| Position {
                line: at.line(),
                column: at.column(),
            });
            let message = e
                .to_string()
                .replace(&format!(" at line {} column {}", at.line, at.column), "");
            ExpectationsError::Parse {
                path: path.to_owned(),
                at,
                message,
            }
        })?;
        let invalid = |segments: &[Segment], problem| ExpectationsError::Invalid {
            path: path.to_owned(),
            at: locate(text, segments),
            key: crate::scenario::locate::KeyPath(segments).to_string(),
            problem,
        };
        if file.adapter.trim().is_empty() {
            return Err(invalid(&[key("adapter")], Problem::NoAdapter));
        }
        let mut divergences: Vec<Divergence> = Vec::with_capacity(file.divergences.len());
        for (index, entry) in file.divergences.into_iter().enumerate() {
            let at = |field| [key("divergences"), Segment::Index(index), key(field)];
            if !valid_pattern(&entry.scenario) {
                return Err(invalid(
                    &at("scenario"),
                    Problem::Pattern {
                        pattern: entry.scenario,
                    },
                ));
            }
            if entry.reason.trim().is_empty() {
                return Err(invalid(&at("reason"), Problem::NoReason));
            }
            if let Some(first) = divergences.iter().find(|d| d.scenario == entry.scenario) {
                return Err(invalid(
                    &at("scenario"),
                    Problem::Duplicate {
                        pattern: entry.scenario,
                        first: first.position.line,
                    },
                ));
            }
            divergences.push(Divergence {
                scenario: entry.scenario,
                reason: entry.reason.trim().to_owned(),
                position: locate(text, &[key("divergences"), Segment::Index(index)]),
            });
        }
        Ok(Expectations {
            adapter: file.adapter.trim().to_owned(),
            path: path.to_owned(),
            divergences,
        })
    }

    /// The entry covering `id`: the first that matches.
    pub fn divergence(&self, id: &ScenarioId) -> Option<&Divergence> {
        let id = id.to_string();
        self.divergences
            .iter()
            .find(|d| glob_matches(&d.scenario, &id))
    }

    /// Every entry that matches none of `ids`, as errors naming file, line and entry. Only
    /// meaningful when `ids` is the whole suite: a shard or a subset leaves entries unmatched
    /// legitimately.
    pub fn unmatched<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a ScenarioId> + Clone,
    ) -> Vec<ExpectationsError> {
        self.divergences
            .iter()
            .filter(|d| {
                !ids.clone()
                    .into_iter()
                    .any(|id| glob_matches(&d.scenario, &id.to_string()))
            })
            .map(|d| ExpectationsError::Invalid {
                path: self.path.clone(),
                at: d.position,
                key: "divergences".to_owned(),
                problem: Problem::Unmatched {
                    pattern: d.scenario.clone(),
                },
            })
            .collect()
    }

    /// Every entry all of whose scenarios among `scenarios` have no step of a role in
    /// `under_test`: entries about scenarios the system under test takes no part in, which
    /// would only ever come out [`Outcome::NotExercised`]. Only meaningful when `scenarios` is
    /// the whole suite (a glob may cover other scenarios in it); nothing when `under_test` is
    /// empty.
    pub fn not_exercised(
        &self,
        scenarios: &[LoadedScenario],
        under_test: &[Role],
    ) -> Vec<ExpectationsError> {
        if under_test.is_empty() {
            return Vec::new();
        }
        let roles = under_test
            .iter()
            .map(|role| <&str>::from(*role).to_uppercase())
            .collect::<Vec<_>>()
            .join(" or ");
        self.divergences
            .iter()
            .filter(|d| {
                let mut matched = scenarios
                    .iter()
                    .filter(|s| glob_matches(&d.scenario, &s.id.to_string()))
                    .peekable();
                matched.peek().is_some()
                    && matched.all(|s| {
                        !roles_asked(&s.scenario)
                            .iter()
                            .any(|role| under_test.contains(role))
                    })
            })
            .map(|d| ExpectationsError::Invalid {
                path: self.path.clone(),
                at: d.position,
                key: "divergences".to_owned(),
                problem: Problem::NotExercised {
                    pattern: d.scenario.clone(),
                    roles: roles.clone(),
                },
            })
            .collect()
    }

    /// `result` as the expectations see it: a listed failure or hang becomes a known
    /// divergence, a listed pass an unexpected pass; anything else (a skip, a scenario not
    /// exercised, a harness error) is unchanged.
    pub fn apply(&self, mut result: ScenarioResult) -> ScenarioResult {
        let Some(divergence) = self.divergence(&result.id) else {
            return result;
        };
        let listing = Listing {
            reason: divergence.reason.clone(),
            file: self.path.clone(),
            position: divergence.position,
        };
        result.outcome = match result.outcome {
            actual @ (Outcome::Fail { .. } | Outcome::Hang { .. }) => Outcome::KnownDivergence {
                listing,
                actual: Box::new(actual),
            },
            Outcome::Pass => Outcome::UnexpectedPass { listing },
            other => other,
        };
        result
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scenario, self.reason)
    }
}

/// `<area>/<name>` where each part is `[a-z0-9_*]+`; without `*` it must be a valid id.
fn valid_pattern(pattern: &str) -> bool {
    let Some((area, name)) = pattern.split_once('/') else {
        // `*` alone, or a glob like `*_lockout`, may span the slash.
        return pattern.contains('*') && pattern.bytes().all(glob_byte);
    };
    let part = |p: &str| !p.is_empty() && p.bytes().all(glob_byte);
    part(area) && part(name) && (pattern.contains('*') || ScenarioId::new(area, name).is_ok())
}

fn glob_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'*'
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (`/` included).
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it currently stands for, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::Importance;

    const FILE: &str = "\
# Known divergences of acme-pf.
adapter: acme-pf
divergences:
  - scenario: card/text_pin_lockout
    reason: no text AP
  - scenario: faults/ocsp_*
    reason: ignores OCSP faults
";

    fn id(text: &str) -> ScenarioId {
        text.parse().unwrap()
    }

    fn result(id_text: &str, outcome: Outcome) -> ScenarioResult {
        ScenarioResult {
            id: id(id_text),
            path: PathBuf::from(format!("scenarios/{id_text}.yaml")),
            description: String::new(),
            importance: Importance::High,
            adapter: "acme-pf".to_owned(),
            outcome,
            trace: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    fn fail() -> Outcome {
        Outcome::Fail {
            step: 2,
            position: Position { line: 9, column: 5 },
            expected: "good".to_owned(),
            actual: "revoked".to_owned(),
        }
    }

    fn error_of(text: &str) -> String {
        Expectations::parse(text, Path::new("x.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn entries_keep_their_reason_and_position() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        assert_eq!(expectations.adapter, "acme-pf");
        assert_eq!(
            expectations.divergences[1],
            Divergence {
                scenario: "faults/ocsp_*".to_owned(),
                reason: "ignores OCSP faults".to_owned(),
                position: Position { line: 6, column: 5 },
            }
        );
    }

    #[test]
    fn a_listed_failure_is_a_known_divergence_and_keeps_the_failure() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let applied = expectations.apply(result("faults/ocsp_stale_response", fail()));
        match &applied.outcome {
            Outcome::KnownDivergence { listing, actual } => {
                assert_eq!(listing.reason, "ignores OCSP faults");
                assert_eq!(listing.at(), "acme.yaml:6");
                assert_eq!(**actual, fail());
            }
            other => panic!("expected a known divergence, got {other:?}"),
        }
        assert!(applied.outcome.is_expected());
        assert_eq!(
            applied.summary(),
            "known divergence (ignores OCSP faults): step 3 at \
             scenarios/faults/ocsp_stale_response.yaml:9:5: expected good, got revoked"
        );
    }

    #[test]
    fn a_listed_pass_is_unexpected_and_says_which_entry_to_remove() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let applied = expectations.apply(result("card/text_pin_lockout", Outcome::Pass));
        assert!(!applied.outcome.is_expected());
        assert_eq!(applied.outcome.name(), "unexpected_pass");
        assert_eq!(
            applied.summary(),
            "listed as a known divergence (no text AP) but passed: remove it from acme.yaml:4"
        );
    }

    #[test]
    fn unlisted_skipped_and_harness_errors_are_left_alone() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let unlisted = expectations.apply(result("card/other", fail()));
        assert_eq!(unlisted.outcome, fail());
        let skipped = Outcome::Skipped {
            missing: vec![vocab::Feature::TextAp],
        };
        let applied = expectations.apply(result("card/text_pin_lockout", skipped.clone()));
        assert_eq!(applied.outcome, skipped);
        let error = Outcome::Error {
            message: "the world failed".to_owned(),
        };
        let applied = expectations.apply(result("faults/ocsp_down", error.clone()));
        assert_eq!(applied.outcome, error);
    }

    #[test]
    fn a_listed_scenario_not_exercised_stays_not_exercised() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let not_exercised = Outcome::NotExercised {
            under_test: vec![vocab::Role::Pf],
        };
        let applied = expectations.apply(result("card/text_pin_lockout", not_exercised.clone()));
        assert_eq!(applied.outcome, not_exercised);
        assert!(applied.outcome.is_expected());
        assert_eq!(
            applied.summary(),
            "not exercised: the PF under test answered none of its steps"
        );
    }

    fn loaded(id_text: &str, steps: &str) -> LoadedScenario {
        let yaml = format!(
            "description: d\nimportance: low\ncards: [{{id: 'felica:0123456789ABCDEF'}}]\n\
             steps:\n{steps}"
        );
        let dir = tempfile::tempdir().unwrap();
        let (area, name) = id_text.split_once('/').unwrap();
        std::fs::create_dir(dir.path().join(area)).unwrap();
        let file = dir.path().join(area).join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        crate::scenario::load_file(&file, dir.path()).unwrap()
    }

    #[test]
    fn entries_covering_only_scenarios_without_a_step_of_the_role_under_test_are_stale() {
        let sdk_only = "  - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}\n";
        let pf_too = "  - pf: {op: enrol, card: 0, key: auth, expect: accepted}\n";
        let suite = [
            loaded("card/text_pin_lockout", sdk_only),
            loaded("faults/ocsp_down", sdk_only),
            loaded("faults/ocsp_stale", pf_too),
        ];
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let errors = |roles: &[vocab::Role]| -> Vec<String> {
            expectations
                .not_exercised(&suite, roles)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        // `card/text_pin_lockout` has SDK steps only; `faults/ocsp_*` has one with a PF step.
        assert_eq!(
            errors(&[vocab::Role::Pf]),
            [
                "acme.yaml:4:5: divergences: \"card/text_pin_lockout\" matches only scenarios \
                 without a step for the PF under test: the adapter takes no part in them, so it \
                 cannot diverge there; remove the entry"
            ]
        );
        assert!(errors(&[vocab::Role::Sdk]).is_empty());
        assert!(errors(&[vocab::Role::Sdk, vocab::Role::Pf]).is_empty());
        assert!(errors(&[]).is_empty());
    }

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_matches("card/*", "card/text_pin_lockout"));
        assert!(glob_matches("*", "card/x"));
        assert!(glob_matches("*_lockout", "card/text_pin_lockout"));
        assert!(glob_matches("card/*_pin_*", "card/text_pin_lockout"));
        assert!(glob_matches("a/*b*b", "a/xbybb"));
        assert!(!glob_matches("card/*", "cards/x"));
        assert!(!glob_matches("card/text", "card/text_pin"));
        assert!(!glob_matches("card/*_x", "card/a_y"));
    }

    #[test]
    fn entries_matching_nothing_in_the_suite_are_named_with_their_line() {
        let expectations = Expectations::parse(FILE, Path::new("acme.yaml")).unwrap();
        let suite = [id("card/text_pin_lockout"), id("card/other")];
        let errors: Vec<String> = expectations
            .unmatched(suite.iter())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "acme.yaml:6:5: divergences: \"faults/ocsp_*\" matches no scenario of the suite: \
              fix the id or remove the entry"
            ]
        );
    }

    #[test]
    fn a_misspelt_key_is_reported_at_its_line_with_the_expected_ones() {
        let error = error_of("adapter: a\ndivergences:\n  - scenario: card/x\n    reson: y\n");
        assert!(error.starts_with("x.yaml:4:5: "), "{error}");
        assert!(error.contains("unknown field `reson`"), "{error}");
        assert!(error.contains("`scenario`"), "{error}");
    }

    #[test]
    fn bad_entries_name_the_key_and_what_was_expected() {
        assert_eq!(
            error_of("adapter: a\ndivergences:\n  - scenario: Card/X\n    reason: y\n"),
            "x.yaml:3:15: divergences[0].scenario: \"Card/X\" is not a scenario id or a glob of \
             one: expected <area>/<name> of lower-case ASCII letters, digits and `_`, with `*` \
             for any run of characters"
        );
        assert_eq!(
            error_of("adapter: a\ndivergences:\n  - scenario: card/x\n    reason: ''\n"),
            "x.yaml:4:13: divergences[0].reason: empty: say why the adapter diverges, so the \
             next reader can judge it"
        );
        assert_eq!(
            error_of(
                "adapter: a\ndivergences:\n  - {scenario: card/x, reason: y}\n  - {scenario: card/x, reason: z}\n"
            ),
            "x.yaml:4:16: divergences[1].scenario: \"card/x\" is listed twice (first at line 3)"
        );
        assert!(error_of("adapter: ' '\n").starts_with("x.yaml:1:10: adapter: empty"));
        assert!(error_of("divergences: []\n").contains("missing field `adapter`"));
    }

    #[test]
    fn a_file_without_divergences_is_valid() {
        let expectations = Expectations::parse("adapter: clean\n", Path::new("c.yaml")).unwrap();
        assert!(expectations.divergences.is_empty());
        assert!(expectations.divergence(&id("card/x")).is_none());
    }
}
