//! The checks that keep an OpenAPI document equal to the router it describes, for any document.
//!
//! axum cannot list a router's routes, so the staleness tests of `mock-jlis/openapi.json` and
//! `mock-da/openapi.json` compare three things: the `.route(...)` calls in the router's sources,
//! its `ROUTES` list, and the document's operations; then they call every operation and check the
//! answer against the document. What is the same for both documents — reading the document's
//! operations, scanning a router source, resolving `$ref`s, the subset of JSON Schema the
//! documents use, and checking an answer against its operation — lives here once, so that both
//! tests check with the same rules. What differs (each crate's routes, examples and refusals)
//! stays in each crate's `tests/openapi.rs`.
//!
//! Only for tests: built with the `openapi-check` feature, which mock-jlis's and mock-da's
//! dev-dependencies turn on. The checks panic, as test assertions do.

use std::collections::BTreeSet;

use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// The methods a router may serve on a path; every one a documented path does not document must
/// get the router's 405.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The keys of an OpenAPI path item that are operations.
const OPERATIONS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The routers a source may hide routes in, which [`scan_routes`] does not follow.
const NESTING: &[&str] = &[".nest(", ".nest_service(", ".route_service("];

/// `(METHOD, path)` of every operation of `doc`, in the document's path syntax.
pub fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if OPERATIONS.contains(&method.as_str()) {
                set.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    set
}

/// axum's `{*rest}` wildcard is an ordinary `{rest}` parameter in OpenAPI.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// The `(METHOD, path)` of every `.route("path", get(..).post(..))` call in `source`: the
/// methods are the calls at the method router's top level. Commented-out lines do not count; a
/// route whose path is not a string literal is refused, since its path cannot be read.
pub fn scan_routes(source: &str) -> BTreeSet<(String, String)> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = rest[at + ".route(".len()..].trim_start();
        assert!(
            rest.starts_with('"'),
            "a route whose path is not a literal: {}",
            rest.lines().next().unwrap_or_default()
        );
        let close = 1 + rest[1..].find('"').expect("closing quote");
        let path = rest[1..close].to_owned();
        rest = &rest[close + 1..];
        // The method router: method functions called at depth 0, up to `.route(`'s own `)`.
        let (mut depth, mut ident, mut chars) = (0usize, String::new(), rest.char_indices());
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                '(' => {
                    let method = ident.to_uppercase();
                    if depth == 0 && (METHODS.contains(&method.as_str()) || method == "HEAD") {
                        found.insert((method, path.clone()));
                    }
                    depth += 1;
                }
                ')' if depth == 0 => {
                    rest = &rest[i..];
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
            if c.is_ascii_alphanumeric() || c == '_' {
                ident.push(c);
            } else {
                ident.clear();
            }
        }
    }
    found
}

/// [`scan_routes`] of the router source `name`, which must route something and nest no router
/// (a nested router's routes would go unscanned).
pub fn scan_router_source(name: &str, source: &str) -> BTreeSet<(String, String)> {
    let found = scan_routes(source);
    assert!(!found.is_empty(), "no routes found in {name}");
    for nested in NESTING {
        assert!(
            !source.contains(nested),
            "{name} uses {nested}: scan it here"
        );
    }
    found
}

/// The `ROUTES` list `listed` (axum paths) has no duplicates, is exactly what the sources route
/// (`in_source`, from [`scan_router_source`]), and exactly what `doc` documents.
pub fn check_route_lists(
    listed: &[(&str, &str)],
    in_source: &BTreeSet<(String, String)>,
    doc: &Value,
) {
    let set: BTreeSet<(String, String)> = listed
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(set.len(), listed.len(), "ROUTES has duplicates");
    let unlisted: Vec<_> = in_source.difference(&set).collect();
    let stale: Vec<_> = set.difference(in_source).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "routed but not in ROUTES: {unlisted:?}; in ROUTES but not routed: {stale:?}"
    );
    let as_documented: BTreeSet<(String, String)> = set
        .iter()
        .map(|(m, p)| (m.clone(), openapi_path(p)))
        .collect();
    let doc = documented(doc);
    let missing: Vec<_> = as_documented.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&as_documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented: {missing:?}; documented but not served: {extra:?}"
    );
}

/// `value`, or what its `$ref` (followed to the end) points at in `doc`.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => resolve(doc, doc.pointer(&target[1..]).expect("resolvable ref")),
        None => value,
    }
}

/// Every `$ref` target anywhere in `value`, in document order.
pub fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// `doc` is OpenAPI 3.1, has more than `min_refs` `$ref`s (so a document that stopped using them
/// is noticed), every one local and resolving; and every operation has its own `operationId`
/// and answers something.
pub fn check_document(doc: &Value, min_refs: usize) {
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(refs.len() > min_refs, "{} refs", refs.len());
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target}: only local refs"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (method, path) in documented(doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{method} {path}"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }
}

/// An answer of the router under test, read whole.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads `response` whole.
    pub async fn read(response: Response) -> Answer {
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            content_type,
            body: body.to_vec(),
        }
    }

    /// The HTTP layer's answer for a path or method nothing routes (404 `no_route`, 405
    /// `method_not_allowed`), not a handler's.
    pub fn is_unrouted(&self) -> bool {
        let code = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned));
        matches!(
            (self.status, code.as_deref()),
            (StatusCode::NOT_FOUND, Some("no_route"))
                | (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        )
    }
}

/// `answer`, to `method path` of `doc` (asked as `shown`, which the messages name), is served,
/// with a documented status (or its `5XX`-style range) and content type, and JSON as documented.
pub fn check_documented(doc: &Value, method: &str, path: &str, shown: &str, answer: &Answer) {
    let op = &doc["paths"][path][method.to_lowercase()];
    let what = format!(
        "{method} {shown} -> {} {:?} {}",
        answer.status,
        answer.content_type,
        String::from_utf8_lossy(&answer.body)
            .chars()
            .take(300)
            .collect::<String>()
    );
    assert!(!answer.is_unrouted(), "not served: {what}");
    let range = format!("{}XX", answer.status.as_u16() / 100);
    let response = op["responses"]
        .get(answer.status.as_str())
        .or_else(|| op["responses"].get(&range))
        .unwrap_or_else(|| panic!("undocumented status: {what}"));
    let response = resolve(doc, response);
    let media = answer
        .content_type
        .as_deref()
        .map(|t| t.split(';').next().unwrap().trim().to_owned());
    match (media.as_deref(), response.get("content")) {
        (None, None) => {}
        (Some(media), Some(content)) => {
            let documented = content
                .get(media)
                .unwrap_or_else(|| panic!("undocumented content type: {what}"));
            if media.ends_with("json") {
                let value: Value = serde_json::from_slice(&answer.body).unwrap();
                if let Err(err) = validate(doc, &documented["schema"], &value) {
                    panic!("the answer does not match its schema: {err}\n{what}");
                }
            }
        }
        _ => panic!("content documented differently: {what}"),
    }
}

/// `value` against `schema` of `doc`: the subset of JSON Schema the documents use (`$ref`,
/// `allOf`, `oneOf`, `type`, `const`, `enum`, `minimum`, `required`, `properties`,
/// `additionalProperties: false`, `items`; `pattern` and `format` are not checked).
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let target_schema = doc.pointer(&target[1..]).expect("resolvable ref");
        validate(doc, target_schema, value).map_err(|e| format!("{target}: {e}"))?;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(doc, s, value)?;
        }
    }
    if let Some(any) = schema.get("oneOf").and_then(Value::as_array) {
        let errors: Vec<String> = any
            .iter()
            .filter_map(|s| validate(doc, s, value).err())
            .collect();
        if any.len() - errors.len() != 1 {
            return Err(format!(
                "{value} matches {} of oneOf ({errors:?})",
                any.len() - errors.len()
            ));
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let is = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            return Err(format!("{value} is not {types:?}"));
        }
    }
    if let Some(expected) = schema.get("const") {
        if expected != value {
            return Err(format!("{value} is not {expected}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{value} is not one of {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_i64),
        value.as_i64(),
    ) {
        if n < min {
            return Err(format!("{n} is below {min}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("missing {name:?} in {value}"));
            }
        }
        for (name, inner) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => validate(doc, s, inner).map_err(|e| format!(".{name}: {e}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("undocumented property {name:?}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, inner) in array.iter().enumerate() {
            validate(doc, items, inner).map_err(|e| format!("[{i}]: {e}"))?;
        }
    }
    Ok(())
}
