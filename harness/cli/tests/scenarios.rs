//! Scenario files: the committed suite loads, the committed schema is the generated one, and
//! every kind of mistake is reported as `file:line:column: what was expected`.

use std::path::{Path, PathBuf};

use conformance::scenario::{
    load_file, load_suite, parse, schema, LoadError, PfStep, ScenarioId, Step,
};
use proptest::prelude::*;

fn suite_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The rendered errors of `yaml` as the file `scenarios/card/example.yaml`, one per line.
fn errors(yaml: &str) -> String {
    let id: ScenarioId = "card/example".parse().unwrap();
    match parse(yaml, Path::new("scenarios/card/example.yaml"), id) {
        Ok(_) => "loaded".to_owned(),
        Err(errors) => render(&errors, Path::new("")),
    }
}

fn render(errors: &[LoadError], strip: &Path) -> String {
    let prefix = format!("{}/", strip.display());
    errors
        .iter()
        .map(|e| match strip.as_os_str().is_empty() {
            true => e.to_string(),
            false => e.to_string().replace(&prefix, ""),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const HEAD: &str = "\
description: An example.
importance: low
cards:
  - id: \"felica:0123456789ABCDEF\"
";

#[test]
fn schema_is_fresh() {
    let path = suite_root().join("schema.json");
    let generated = schema::render();
    if std::env::var_os("JPKI_SIM_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "scenarios/schema.json is stale: the scenario model changed. Regenerate it with\n\
         JPKI_SIM_UPDATE_SCHEMA=1 cargo test -p jpki-sim --test scenarios schema_is_fresh\n\
         and commit it."
    );
}

#[test]
fn the_committed_suite_loads_sorted_by_id() {
    let loaded = load_suite(&suite_root()).unwrap_or_else(|errors| {
        panic!("{}", render(&errors, Path::new("")));
    });
    let ids: Vec<String> = loaded.iter().map(|s| s.id.to_string()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "the suite comes back sorted by id");
    assert!(
        ids.len() >= 40,
        "the conformance suite has {} scenarios",
        ids.len()
    );
    for area in [
        "card",
        "enrolment",
        "revocation",
        "events",
        "renewal",
        "consent",
        "expiry",
        "faults",
        "multi_card",
    ] {
        assert!(
            ids.iter().any(|id| id.starts_with(&format!("{area}/"))),
            "no scenario in {area}/"
        );
    }
    for scenario in &loaded {
        assert_eq!(scenario.step_positions.len(), scenario.scenario.steps.len());
        // The first step follows the `steps:` line.
        assert!(scenario.step_positions[0].line > 1, "{}", scenario.id);
    }
}

#[test]
fn committed_scenarios_point_editors_at_the_schema() {
    for scenario in load_suite(&suite_root()).unwrap() {
        let text = std::fs::read_to_string(&scenario.path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema.json\n"),
            "{}",
            scenario.id
        );
    }
}

#[test]
fn a_loaded_scenario_keeps_the_world_types() {
    let path = suite_root().join("revocation/ocsp_after_address_change.yaml");
    let loaded = load_file(&path, &suite_root()).unwrap();
    assert_eq!(
        loaded.id.to_string(),
        "revocation/ocsp_after_address_change"
    );
    let Step::Event(event) = &loaded.scenario.steps[4] else {
        panic!("step 4 is the address change");
    };
    assert_eq!(event.kind, mock_jlis::events::EventKind::AddressChange);
    assert!(matches!(
        &loaded.scenario.steps[9],
        Step::Pf(PfStep::CheckStatus { .. })
    ));
    assert_eq!(loaded.step_positions[9].line, 25);
}

#[test]
fn yaml_syntax_errors_name_the_position() {
    insta::assert_snapshot!(errors("description: a: b\nimportance: low\n"), @r#"scenarios/card/example.yaml:1:15: mapping values are not allowed in this context"#);
}

#[test]
fn unknown_top_level_key_lists_the_expected_ones() {
    let yaml = format!("{HEAD}setps: []\n");
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:5:1: unknown field `setps`, expected one of `description`, `features`, `importance`, `cards`, `clock`, `cadence`, `serials`, `ocsp_signer`, `linkage_lag`, `ca_key_usage`, `steps`"#);
}

#[test]
fn missing_key_is_named() {
    insta::assert_snapshot!(errors("description: x\nimportance: low\ncards: []\n"), @r#"scenarios/card/example.yaml:1:1: missing field `steps`"#);
}

#[test]
fn unknown_key_in_a_step_lists_the_expected_ones() {
    let yaml = format!(
        "{HEAD}steps:\n  - sdk: {{op: verify_pin, pin: auth, valu: \"1234\", expect: ok}}\n"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:6:38: steps[0]: unknown field `valu`, expected one of `card`, `pin`, `value`, `expect`"#);
}

#[test]
fn unknown_operation_lists_the_operations() {
    let yaml = format!("{HEAD}steps:\n  - sdk: {{op: verify, pin: auth, expect: ok}}\n");
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:6:15: steps[0].sdk.op: unknown variant `verify`, expected one of `read_certificate`, `pin_status`, `verify_pin`, `change_pin`, `sign`, `read_basic_info`, `read_my_number`, `read_card_face`"#);
}

#[test]
fn unknown_step_kind_lists_the_kinds() {
    let yaml = format!("{HEAD}steps:\n  - sdq: {{op: pin_status, pin: auth, expect: ok}}\n");
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:6:5: steps[0]: unknown variant `sdq`, expected one of `sdk`, `pf`, `event`, `clock`, `fault`, `clear_faults`, `card`, `consent`"#);
}

#[test]
fn unquoted_pin_is_refused_with_the_reason() {
    let yaml =
        format!("{HEAD}steps:\n  - sdk: {{op: verify_pin, pin: auth, value: 1234, expect: ok}}\n");
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:6:5: steps[0]: invalid type: integer `1234`, expected a quoted PIN ("1234")"#);
}

#[test]
fn bad_values_say_what_was_expected() {
    let card = "description: x\nimportance: low\ncards:\n  - id: \"felica:0123\"\nsteps: []\n";
    insta::assert_snapshot!(errors(card), @r#"scenarios/card/example.yaml:4:5: cards[0]: card id "felica:0123": felica expects 16 hex digits, got 4"#);
    let duration = format!("{HEAD}steps:\n  - clock: {{advance: 15 minutes}}\n");
    insta::assert_snapshot!(errors(&duration), @r#"scenarios/card/example.yaml:6:12: steps[0].clock: "15 minutes" is not a duration: expected a number and a unit, e.g. 15m, 2h, 1d, 90s"#);
    let status = format!(
        "{HEAD}steps:\n  - sdk: {{op: pin_status, pin: auth, expect: {{status: \"63C\"}}}}\n"
    );
    insta::assert_snapshot!(errors(&status), @r#"scenarios/card/example.yaml:6:5: steps[0]: invalid value: string "63C", expected a status word as 4 hex digits ("6982")"#);
    let importance = "description: x\nimportance: urgent\ncards: []\nsteps: []\n";
    insta::assert_snapshot!(errors(importance), @r#"scenarios/card/example.yaml:2:13: importance: unknown variant `urgent`, expected one of `critical`, `high`, `medium`, `low`"#);
}

#[test]
fn empty_steps_are_refused() {
    let yaml = format!("{HEAD}steps: []\n");
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:5:8: steps: a scenario needs at least one step"#);
}

#[test]
fn card_index_out_of_range_points_at_the_index() {
    let yaml = format!(
        "{HEAD}steps:\n  - sdk: {{op: pin_status, pin: auth, expect: ok}}\n  - sdk: {{op: pin_status, card: 1, pin: auth, expect: ok}}\n  - card: {{remove: 2}}\n"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"
    scenarios/card/example.yaml:7:33: steps[1].sdk.card: card 1 is out of range: expected an index into `cards` (the scenario has 1 card, 0)
    scenarios/card/example.yaml:8:5: steps[2]: needs feature `card_removal`: add it to `features` so that adapters without it skip the scenario
    scenarios/card/example.yaml:8:20: steps[2].card.remove: card 2 is out of range: expected an index into `cards` (the scenario has 1 card, 0)
    "#);
}

#[test]
fn enrolment_names_are_defined_once_before_use() {
    let yaml = format!(
        "{HEAD}features: [ocsp]\nsteps:
  - pf: {{op: check_status, enrolment: alice, via: ocsp, expect: good}}
  - pf: {{op: enrol, key: auth, name: alice, expect: accepted}}
  - pf:
      op: enrol
      key: auth
      name: alice
      expect: accepted
  - pf: {{op: enrol, key: auth, name: mallory, expect: {{rejected: {{}}}}}}
  - pf: {{op: check_status, enrolment: mallory, via: ocsp, expect: good}}
"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"
    scenarios/card/example.yaml:7:39: steps[0].pf.enrolment: enrolment `alice` is not defined by an earlier `enrol` step (none is defined so far)
    scenarios/card/example.yaml:12:13: steps[2].pf.name: enrolment `alice` is already defined by step 1
    scenarios/card/example.yaml:15:39: steps[4].pf.enrolment: enrolment `mallory` was expected to be rejected, so later steps cannot use it
    "#);
}

#[test]
fn steps_needing_an_unlisted_feature_are_refused() {
    let yaml = format!(
        "{HEAD}steps:\n  - sdk: {{op: read_certificate, which: sign, password: \"ABC123\", expect: ok}}\n  - fault: {{endpoint: ocsp, fault: {{kind: yesterdays_crl}}}}\n"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"
    scenarios/card/example.yaml:6:5: steps[0]: needs feature `sign_key`: add it to `features` so that adapters without it skip the scenario
    scenarios/card/example.yaml:7:5: steps[1]: needs feature `faults`: add it to `features` so that adapters without it skip the scenario
    scenarios/card/example.yaml:7:36: steps[1].fault.fault: fault `yesterdays_crl` does not apply to endpoint `ocsp`
    "#);
}

#[test]
fn misused_options_are_refused() {
    let yaml = format!(
        "{HEAD}features: [text_ap]\nsteps:
  - sdk: {{op: read_certificate, which: auth, password: \"ABC123\", expect: ok}}
  - sdk: {{op: read_my_number, pin: pin_b, expect: ok}}
  - sdk: {{op: verify_pin, pin: auth, expect: {{retries_left: 3}}}}
  - sdk: {{op: read_certificate, which: auth_ca, expect: no_certificate}}
  - sdk: {{op: pin_status, pin: auth, expect: {{any_of: []}}}}
"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"
    scenarios/card/example.yaml:7:56: steps[0].sdk.password: `password` only opens the signature certificate (`which: sign`); the others are free
    scenarios/card/example.yaml:8:36: steps[1].sdk.pin: `read_my_number` cannot use PIN `pin_b`: expected one of `text`, `pin_a`
    scenarios/card/example.yaml:9:46: steps[2].sdk.expect: `retries_left` is what `pin_status` answers; `verify_pin` cannot: expected `ok`, `wrong_pin`, `pin_blocked`, `security_status`, `failed`, `no_card`, `no_certificate` or `status`
    scenarios/card/example.yaml:10:57: steps[3].sdk.expect: `no_certificate` is what `sign` and `read_certificate` of `sign` or `auth` answer; `read_certificate` of `auth_ca` cannot
    scenarios/card/example.yaml:11:46: steps[4].sdk.expect: `any_of` needs at least one expectation
    "#);
}

#[test]
fn persona_overrides_are_checked_by_field_name() {
    let yaml = "description: x\nimportance: low\ncards:\n  - id: \"typea:04A1B2C3\"\n    persona: {adress: somewhere}\nsteps:\n  - event: {kind: address_change}\n";
    insta::assert_snapshot!(errors(yaml), @r#"scenarios/card/example.yaml:5:14: cards[0].persona: expected persona override fields: unknown field `adress`, expected one of `name`, `name_kana`, `name_romaji`, `name_substitute_flags`, `address`, `address_substitute_flags`, `prefecture`, `prefecture_romaji`, `municipality`, `municipality_romaji`, `municipality_code`, `birth_date`, `sex`, `my_number`, `security_code`, `card_serial`, `card_issued_on`, `card_expires_on`, `pins`"#);
}

#[test]
fn the_clock_only_moves_forward_from_a_fixed_start() {
    let yaml = format!(
        "{HEAD}clock: {{start: \"2026-11-02T01:00:00Z\"}}\nsteps:\n  - clock: {{advance: 1h}}\n  - clock: {{set: \"2026-11-02T01:30:00Z\"}}\n"
    );
    insta::assert_snapshot!(errors(&yaml), @r#"scenarios/card/example.yaml:8:12: steps[1].clock: the clock only moves forward: 2026-11-02T01:30:00Z is before 2026-11-02T02:00:00Z"#);
}

#[test]
fn suite_errors_cover_every_file_and_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("card/deeper")).unwrap();
    let good = format!("{HEAD}steps:\n  - sdk: {{op: pin_status, pin: auth, expect: ok}}\n");
    std::fs::write(root.join("card/good.yaml"), &good).unwrap();
    std::fs::write(root.join("card/deeper/too_deep.yaml"), &good).unwrap();
    std::fs::write(root.join("card/Bad-Name.yaml"), &good).unwrap();
    std::fs::write(root.join("card/short.yml"), &good).unwrap();
    std::fs::write(root.join("card/broken.yaml"), format!("{HEAD}steps: [\n")).unwrap();
    std::fs::write(root.join("card/notes.md"), "ignored").unwrap();
    let errors = load_suite(root).unwrap_err();
    insta::assert_snapshot!(render(&errors, root), @r#"
    card/Bad-Name.yaml: "Bad-Name" is not a valid id part: expected lower-case ASCII letters, digits and `_`
    card/broken.yaml:6:1: did not find expected node content, while parsing a flow node
    card/deeper/too_deep.yaml: expected <area>/<name>.yaml under the suite root, got card/deeper/too_deep.yaml
    card/short.yml: expected the extension `.yaml`, got ".yml"
    "#);
    // One file alone: its first error.
    let error = load_file(&root.join("card/broken.yaml"), root).unwrap_err();
    assert_eq!(error.position().map(|p| p.line), Some(6));
}

proptest! {
    #[test]
    fn any_text_loads_or_fails_without_panicking(text in "\\PC*") {
        let _ = parse(&text, Path::new("x/y.yaml"), "x/y".parse().unwrap());
    }

    #[test]
    fn edited_scenarios_load_or_fail_without_panicking(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..4usize, "[ -~\n]{0,3}"), 1..6)
    ) {
        let mut text = std::fs::read_to_string(
            suite_root().join("revocation/ocsp_after_address_change.yaml"),
        ).unwrap().into_bytes();
        for (at, delete, insert) in edits {
            let at = at.index(text.len() + 1);
            let end = (at + delete).min(text.len());
            text.splice(at..end, insert.bytes());
        }
        let text = String::from_utf8_lossy(&text);
        let _ = parse(&text, Path::new("x/y.yaml"), "x/y".parse().unwrap());
    }
}

/// The derived `op` names are the names scenario files use, for every op the suite has.
#[test]
fn op_names_are_the_file_names() {
    let mut seen = std::collections::BTreeSet::new();
    for loaded in load_suite(&suite_root()).unwrap() {
        for step in &loaded.scenario.steps {
            let (json, op) = match step {
                Step::Sdk(step) => (serde_json::to_value(step), step.op()),
                Step::Pf(step) => (serde_json::to_value(step), step.op()),
                _ => continue,
            };
            assert_eq!(json.unwrap()["op"], op);
            seen.insert(op);
        }
    }
    assert!(seen.len() >= 10, "the suite exercises the ops: {seen:?}");
}

#[test]
fn the_clock_stays_within_the_worlds_calendar() {
    let yaml = format!(
        "{HEAD}clock: {{start: \"2026-11-02T01:00:00Z\"}}\nsteps:\n  - clock: {{set: \"9999-12-31T00:00:00Z\"}}\n"
    );
    insta::assert_snapshot!(errors(&yaml), @"scenarios/card/example.yaml:7:12: steps[0].clock: the clock goes up to 9000-01-01T00:00:00Z; 9999-12-31T00:00:00Z is later");
}

#[test]
fn an_any_of_with_no_choice_fails_the_load() {
    let yaml = format!(
        "{HEAD}features: [ocsp]\nsteps:\n  - pf: {{op: enrol, key: auth, name: auth, expect: accepted}}\n  - pf: {{op: check_status, enrolment: auth, via: ocsp, expect: {{any_of: [good, {{any_of: []}}]}}}}\n"
    );
    let errors = errors(&yaml);
    assert!(
        errors.contains("`any_of` needs at least one expectation"),
        "{errors}"
    );
}
