//! The JSON Schema of the JSON report, generated from the types that write and read it
//! ([`super::json::ReportFile`]) and committed as `harness/conformance/schema/report.json`, so
//! that tools reading reports can check them.
//!
//! Draft 7, as the scenario and adapter protocol schemas. Trace entries are the runner's
//! [`TraceEntry`](crate::runner::TraceEntry), whose schema it derives itself.

use schemars::generate::SchemaSettings;

use super::json::ReportFile;

/// The schema as committed in `harness/conformance/schema/report.json` (pretty, with a final
/// newline).
pub fn render() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ReportFile>();
    // A schema is a JSON value with string keys: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::{json, Value};

    use super::*;
    use crate::report::json::{self, ReportFile, ResultRecord};
    use crate::runner::TraceEntry;

    fn schema_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.json")
    }

    #[test]
    fn schema_is_fresh() {
        let path = schema_path();
        let generated = render();
        if std::env::var_os("JPKI_SIM_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "harness/conformance/schema/report.json is stale: the report types changed. \
             Regenerate it with\n\
             JPKI_SIM_UPDATE_SCHEMA=1 cargo test -p conformance report::schema\n\
             and commit it."
        );
    }

    fn committed() -> (Value, jsonschema::Validator) {
        let text = std::fs::read_to_string(schema_path()).expect("the committed schema");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        if let Err(error) = jsonschema::meta::validate(&schema) {
            panic!("the schema is not a valid JSON Schema: {error}");
        }
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        (schema, validator)
    }

    fn problems(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
        validator
            .iter_errors(value)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect()
    }

    /// The JSON of the committed snapshot of [`json::render`].
    fn snapshot() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "src/report/snapshots/conformance__report__json__tests__json_report_of_every_outcome.snap",
        );
        let text = std::fs::read_to_string(path).expect("the snapshot");
        // After the front matter, between its two `---` lines.
        let (_, json) = text
            .trim_start_matches("---")
            .split_once("\n---\n")
            .expect("the snapshot's front matter");
        serde_json::from_str(json).expect("the snapshot is JSON")
    }

    #[test]
    fn the_snapshot_report_validates() {
        let (schema, validator) = committed();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        let report = snapshot();
        assert_eq!(report["results"].as_array().map(Vec::len), Some(8));
        let errors = problems(&validator, &report);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        // And a merge of several adapters' results.
        let matrix = json::render("matrix", &crate::report::sample_matrix());
        let errors = problems(&validator, &serde_json::from_str(&matrix).unwrap());
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }

    #[test]
    fn the_schema_refuses_what_the_reader_refuses() {
        let (_, validator) = committed();
        let report = snapshot();
        // The snapshot with `key` of the object at `pointer` set to `value`, or removed.
        let edit = |pointer: &str, key: &str, value: Option<Value>| {
            let mut report = report.clone();
            let object = report
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| panic!("the snapshot has an object at {pointer:?}"));
            match value {
                Some(value) => object.insert(key.to_owned(), value),
                None => object.remove(key),
            };
            report
        };
        let cases = [
            ("no version", edit("", "version", None)),
            ("version 4", edit("", "version", Some(json!(4)))),
            ("no results", edit("", "results", None)),
            ("a result without id", edit("/results/0", "id", None)),
            ("a bad id", edit("/results/0", "id", Some(json!("Card/x")))),
            (
                "an unknown outcome",
                edit("/results/0", "outcome", Some(json!("great"))),
            ),
            (
                "a fail without actual",
                edit("/results/1/detail", "actual", None),
            ),
            ("a skip without detail", edit("/results/2", "detail", None)),
            (
                "an unknown feature",
                edit("/results/2/detail", "missing", Some(json!(["teleport"]))),
            ),
            (
                "a known divergence without its actual outcome",
                edit("/results/5/detail/actual", "outcome", None),
            ),
            (
                "a scenario not exercised without its roles under test",
                edit("/results/7/detail", "under_test", None),
            ),
            (
                "an unknown role under test",
                edit("/results/7/detail", "under_test", Some(json!(["card"]))),
            ),
            (
                "an unknown trace kind",
                edit("/results/1/trace/0", "kind", Some(json!("thought"))),
            ),
        ];
        for (what, report) in cases {
            assert!(!validator.is_valid(&report), "the schema takes {what}");
            let read = json::parse(&report.to_string(), Path::new("r.json"));
            assert!(read.is_err(), "the reader takes {what}");
        }
        // Fields added later are ignored by both.
        let added = edit("/results/0", "retries", Some(json!(2)));
        assert!(validator.is_valid(&added));
        assert!(json::parse(&added.to_string(), Path::new("r.json")).is_ok());
    }

    #[test]
    fn version_1_reports_validate() {
        let (_, validator) = committed();
        // Version 1: no description, traces of unexpected outcomes only.
        let report = json!({"version": 1, "suite": "scenarios", "results": [
            {"id": "card/a", "file": "scenarios/card/a.yaml", "adapter": "reference",
             "importance": "critical", "outcome": "pass", "expected": true, "duration_ms": 3},
            {"id": "card/b", "file": "scenarios/card/b.yaml", "adapter": "reference",
             "importance": "low", "outcome": "hang", "expected": false, "duration_ms": 20000,
             "detail": {"step": 0, "line": 9, "column": 5, "after_ms": 20000}},
        ]});
        let errors = problems(&validator, &report);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        assert!(json::parse(&report.to_string(), Path::new("r.json")).is_ok());
    }

    #[test]
    fn the_trace_schema_has_the_shape_of_trace_entries() {
        let (schema, _) = committed();
        let entry = jsonschema::validator_for(&json!({
            "$schema": schema["$schema"],
            "$ref": "#/definitions/TraceEntry",
            "definitions": schema["definitions"],
        }))
        .unwrap();
        let http = |request_len, response_len| TraceEntry::Http {
            method: "POST".to_owned(),
            path: "/ocsp".to_owned(),
            status: 200,
            request_len,
            response_len,
            micros: 310,
        };
        let entries = [
            TraceEntry::Step {
                index: 2,
                summary: "pf check_status".to_owned(),
            },
            TraceEntry::Apdu {
                card: 1,
                command: "00 B0 00 00 00".to_owned(),
                name: "READ BINARY".to_owned(),
                response_len: 0,
                status: None,
            },
            TraceEntry::Pf {
                op: "enrol".to_owned(),
                request: "alice".to_owned(),
                result: "accepted".to_owned(),
            },
            TraceEntry::World {
                action: "event loss".to_owned(),
            },
            http(Some(83), Some(1_520)),
            http(None, None),
        ];
        for original in entries {
            let json = serde_json::to_value(&original).unwrap();
            let errors = problems(&entry, &json);
            assert!(errors.is_empty(), "{json}: {}", errors.join("\n"));
        }
    }

    #[test]
    fn records_read_back_to_what_was_written() {
        let results = crate::report::sample_matrix();
        let text = json::render("matrix", &results);
        let file: ReportFile = serde_json::from_str(&text).unwrap();
        let written: Vec<ResultRecord> = results.iter().map(ResultRecord::of).collect();
        assert_eq!(file.results, written);
    }
}
