//! The protocol's JSON Schema (generated from the message types, as committed for third
//! parties), compiled once: adapter messages, and each operation's `result`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Validators for adapter messages and for the result of each `op`.
pub struct Schemas {
    message: jsonschema::Validator,
    results: BTreeMap<String, jsonschema::Validator>,
}

impl Schemas {
    /// Compiles the schema [`adapter_protocol::schema::render`] produces.
    pub fn new() -> Schemas {
        let schema: Value = serde_json::from_str(&adapter_protocol::schema::render())
            .expect("the generated schema is JSON");
        let at = |pointer: &str| {
            jsonschema::validator_for(&json!({
                "$schema": schema["$schema"],
                "$ref": format!("#{pointer}"),
                "definitions": schema["definitions"],
            }))
            .expect("the generated schema compiles")
        };
        let results = schema["definitions"]["OperationResults"]["properties"]
            .as_object()
            .map(|ops| {
                ops.keys()
                    .map(|op| {
                        let validator =
                            at(&format!("/definitions/OperationResults/properties/{op}"));
                        (op.clone(), validator)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Schemas {
            message: at("/definitions/AdapterMessage"),
            results,
        }
    }

    /// What makes `value` not an adapter message (empty when it is one).
    pub fn adapter_message(&self, value: &Value) -> Vec<String> {
        errors(&self.message, value)
    }

    /// What makes `result` not a result of `op` (empty when it is one, or `op` has no schema).
    pub fn result(&self, op: &str, result: &Value) -> Vec<String> {
        self.results
            .get(op)
            .map(|validator| errors(validator, result))
            .unwrap_or_default()
    }
}

fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|error| {
            let at = error.instance_path().to_string();
            if at.is_empty() {
                error.to_string()
            } else {
                format!("{error} at {at}")
            }
        })
        .collect()
}
