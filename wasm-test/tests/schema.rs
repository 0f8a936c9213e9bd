//! The published JSON Schema (`schema/jwt-gate.schema.json`): generated from the
//! configuration's serde types, committed, and kept in sync by this test. A small
//! validator (the keywords the generator emits) checks that the shipped
//! configurations conform and that typos do not.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn committed() -> Value {
    let text = std::fs::read_to_string(repo_file("schema/jwt-gate.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_schema_is_up_to_date() {
    let path = repo_file("schema/jwt-gate.schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == wasm_test::check::lint::schema_text(),
        "{} is out of date: run `make schema` and commit the result",
        path.display()
    );
}

/// Errors of `value` against `schema` (the subset of JSON Schema 2020-12 schemars emits).
fn validate(root: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{at}: not allowed"));
        }
        return;
    };
    if let Some(Value::String(r)) = schema.get("$ref") {
        let name = r.strip_prefix("#/$defs/").unwrap();
        validate(root, &root["$defs"][name], value, at, errors);
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => panic!("type {types}"),
        };
        let fits = names.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            other => panic!("type {other}"),
        });
        if !fits {
            errors.push(format!("{at}: not of type {names:?}"));
            return;
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            errors.push(format!("{at}: not {c}"));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} not one of {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum"), value.as_f64()) {
        if n < min.as_f64().unwrap() {
            errors.push(format!("{at}: below {min}"));
        }
    }
    if let (Some(max), Some(n)) = (schema.get("maximum"), value.as_f64()) {
        if n > max.as_f64().unwrap() {
            errors.push(format!("{at}: above {max}"));
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(keyword) {
            let passing = options
                .iter()
                .filter(|o| {
                    let mut e = Vec::new();
                    validate(root, o, value, at, &mut e);
                    e.is_empty()
                })
                .count();
            if passing == 0 || (keyword == "oneOf" && passing > 1) {
                errors.push(format!("{at}: {passing} of the {keyword} options match"));
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"), errors);
        }
    }
    if let Some(object) = value.as_object() {
        validate_object(root, schema, object, at, errors);
    }
}

fn validate_object(
    root: &Value,
    schema: &Map<String, Value>,
    object: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}.{name}: required"));
            }
        }
    }
    for (key, item) in object {
        let here = format!("{at}.{key}");
        if let Some(names) = schema.get("propertyNames") {
            validate(root, names, &json!(key), &here, errors);
        }
        match (properties.get(key), schema.get("additionalProperties")) {
            (Some(property), _) => validate(root, property, item, &here, errors),
            (None, Some(additional)) => validate(root, additional, item, &here, errors),
            (None, None) => {}
        }
    }
}

fn problems(doc: &Value) -> Vec<String> {
    let schema = committed();
    let mut errors = Vec::new();
    validate(&schema, &schema, doc, "$", &mut errors);
    errors
}

/// The plugin configuration embedded in `envoy.yaml` (the `value: |` block).
fn envoy_yaml_config() -> Value {
    let yaml = std::fs::read_to_string(repo_file("envoy.yaml")).unwrap();
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.trim_end().ends_with("value: |"));
    let marker = lines.next().expect("no `value: |` block in envoy.yaml");
    let indent = marker.len() - marker.trim_start().len();
    let block: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .collect();
    serde_json::from_str(&block.join("\n")).unwrap()
}

/// A configuration that sets every top-level field and most provider and rule fields.
fn every_field() -> Value {
    json!({
        "mode": "audit",
        "providers": {
            "corp": {
                "issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["RS256", "HS256"],
                "keys": [
                    {"secret_env": "S", "encoding": "base64", "kid": "a", "alg": "HS256"},
                    {"pem": "-----BEGIN PUBLIC KEY-----"}, {"jwks": {"keys": []}},
                    {"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks", "timeout_ms": 1000,
                                     "refresh_s": 60, "min_refetch_s": 5}}
                ],
                "typ": ["at+jwt"],
                "from": [{"header": "authorization", "prefix": "Bearer "}, {"cookie": "c"}, {"query": "q"}],
                "require_exp": true, "leeway_s": 30, "max_lifetime_s": 3600,
                "claim_headers": {"x-user": "sub"}, "payload_header": "x-payload", "forward_token": false,
                "max_token_bytes": 4096,
                "user_check": {"cluster": "users", "authority": "users", "path": "/u/{sub}", "on_error": "allow"}
            },
            "app": {"authjs": {"secret_env": ["NEW", "OLD"], "cookie": "authjs.session-token", "version": 5}}
        },
        "rules": [
            {"match": {"prefix": "/api/", "methods": ["POST"], "headers": {"x-a": "1", "x-b": {"present": true}}},
             "action": "require", "require": {"providers": ["corp"], "claims": {"roles": ["admin", 1]}, "scopes": ["s"]},
             "cors_preflight": "allow", "login": "browser"},
            {"match": {"regex": "/x/.*"}, "action": "deny"}
        ],
        "default_action": "optional",
        "login": {"url": "/login", "return_param": "next"},
        "realm": "api", "cache_size": 0,
        "body_format": "problem+json",
        "status_overrides": {"bad_audience": 403, "keys_unavailable": 500},
        "resource_metadata": "https://api.test/.well-known/oauth-protected-resource",
        "strip_failure_details": true
    })
}

#[test]
fn shipped_and_documented_configurations_conform() {
    for (name, doc) in [
        ("envoy.yaml", envoy_yaml_config()),
        ("every field", every_field()),
    ] {
        assert_eq!(problems(&doc), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn typos_and_bad_values_do_not_conform() {
    let cases = [
        (
            json!({"providers": {}, "realms": "x"}),
            "$.realms: not allowed",
        ),
        (json!({"providers": {}, "mode": "off"}), "$.mode"),
        (json!({"rules": []}), "$.providers: required"),
        (
            json!({"providers": {"p": {"audience": "x"}}}),
            "$.providers.p.audience: not allowed",
        ),
        (
            json!({"providers": {}, "status_overrides": {"expird": 403}}),
            "$.status_overrides.expird",
        ),
        (
            json!({"providers": {}, "status_overrides": {"expired": 200}}),
            "$.status_overrides.expired: below 400",
        ),
        (
            json!({"providers": {}, "body_format": "xml"}),
            "$.body_format",
        ),
        (
            json!({"providers": {}, "rules": [{"match": {"prefix": "/"}, "cors_preflight": "yes"}]}),
            "$.rules[0].cors_preflight",
        ),
        (
            json!({"providers": {"p": {"typ": "at+jwt"}}}),
            "$.providers.p.typ",
        ),
    ];
    for (doc, want) in cases {
        let found = problems(&doc);
        assert!(
            found.iter().any(|p| p.starts_with(want)),
            "{doc}: {found:?} has no {want:?}"
        );
    }
}

#[test]
fn every_raw_field_the_filter_knows_is_in_the_schema() {
    // The filter's own "expected one of …" lists (serde) against the schema's properties.
    let schema = committed();
    let sections = [
        ("", &schema["properties"]),
        ("providers.p", &schema["$defs"]["Provider"]["properties"]),
        ("rules[0]", &schema["$defs"]["Rule"]["properties"]),
    ];
    for (at, properties) in sections {
        let doc = match at {
            "" => json!({"providers": {}, "zz_unknown": 1}),
            "providers.p" => json!({"providers": {"p": {"zz_unknown": 1}}}),
            _ => json!({"providers": {}, "rules": [{"match": {"prefix": "/"}, "zz_unknown": 1}]}),
        };
        let report = jwt_gate::config::lint(doc.to_string().as_bytes(), &|_| None);
        let message = &report.errors[0].message;
        let expected = message.split("expected one of ").nth(1).unwrap();
        let fields: Vec<&str> = expected.split(", ").map(|f| f.trim_matches('`')).collect();
        let mut in_schema: Vec<&str> = properties
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        in_schema.sort_unstable();
        let mut fields_sorted = fields.clone();
        fields_sorted.sort_unstable();
        assert_eq!(fields_sorted, in_schema, "{at}");
    }
}
