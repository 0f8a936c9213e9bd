//! `require.when`: conditions on a verified token's claims, composed with `all`, `any`
//! and `not`. Read from plain JSON (one more serde type per operator would cost `.wasm`
//! size) and compiled once: regexes are built, paths split, values checked.
//!
//! ```json
//! {"all": [
//!   {"claim": "realm_access.roles", "contains": "admin"},
//!   {"claim": ["https://example.com/tenant"], "one_of": ["acme", "globex"]},
//!   {"not": {"claim": "email", "prefix": "test-"}},
//!   {"any": [{"claim": "sub", "regex": "^svc-"}, {"claim": "email_verified", "equals": true}]},
//!   {"claim": "org", "present": true}
//! ]}
//! ```
//!
//! A claim path is a dotted string (`realm_access.roles`) or an array of names, for names
//! that contain dots (`["https://example.com/roles"]`). A missing claim fails every test
//! but `present: false`. Values are never coerced (`"1"` is not `1`).

use regex_lite::Regex;
use serde_json::{Map, Value};

use crate::claim_path;
use crate::config::ConfigError;

/// Deepest nesting of `all`/`any`/`not` accepted (a config is input too).
const MAX_DEPTH: usize = 16;

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Every one holds.
    All(Vec<Condition>),
    /// At least one holds.
    Any(Vec<Condition>),
    /// It does not hold.
    Not(Box<Condition>),
    /// A test on one claim.
    Claim {
        /// The claim's path, one name per level.
        path: Vec<String>,
        /// What it must satisfy.
        test: Test,
    },
}

/// What a claim must satisfy.
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal to this scalar.
    Equals(Value),
    /// Equal to one of these scalars.
    OneOf(Vec<Value>),
    /// A string starting with this.
    Prefix(String),
    /// A string this regex matches (unanchored unless the pattern anchors it).
    Regex(Regex),
    /// An array with an element equal to this scalar.
    Contains(Value),
    /// Present (`true`) or absent (`false`); `null` counts as absent.
    Present(bool),
}

impl PartialEq for Test {
    fn eq(&self, other: &Test) -> bool {
        match (self, other) {
            (Test::Equals(a), Test::Equals(b)) | (Test::Contains(a), Test::Contains(b)) => a == b,
            (Test::OneOf(a), Test::OneOf(b)) => a == b,
            (Test::Prefix(a), Test::Prefix(b)) => a == b,
            (Test::Regex(a), Test::Regex(b)) => a.as_str() == b.as_str(),
            (Test::Present(a), Test::Present(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Condition) -> bool {
        match (self, other) {
            (Condition::All(a), Condition::All(b)) | (Condition::Any(a), Condition::Any(b)) => {
                a == b
            }
            (Condition::Not(a), Condition::Not(b)) => a == b,
            (Condition::Claim { path: p, test: t }, Condition::Claim { path: q, test: u }) => {
                p == q && t == u
            }
            _ => false,
        }
    }
}

impl Condition {
    /// Whether `claims` (the verified payload) satisfies the condition.
    #[must_use]
    pub fn holds(&self, claims: &Value) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.holds(claims)),
            Condition::Any(items) => items.iter().any(|c| c.holds(claims)),
            Condition::Not(inner) => !inner.holds(claims),
            Condition::Claim { path, test } => {
                let found = path
                    .iter()
                    .try_fold(claims, |v, name| v.get(name.as_str()))
                    .filter(|v| !v.is_null());
                test.holds(found)
            }
        }
    }

    /// Compiles `raw`; error paths are relative to it (`all[1].regex`).
    pub fn compile(raw: &Value) -> Result<Condition, ConfigError> {
        compile_at(raw, 0)
    }
}

impl Test {
    fn holds(&self, found: Option<&Value>) -> bool {
        let Some(value) = found else {
            return matches!(self, Test::Present(false));
        };
        match self {
            Test::Present(wanted) => *wanted,
            Test::Equals(expected) => scalar_eq(value, expected),
            Test::OneOf(accepted) => accepted.iter().any(|a| scalar_eq(value, a)),
            Test::Prefix(prefix) => value
                .as_str()
                .is_some_and(|s| s.starts_with(prefix.as_str())),
            Test::Regex(re) => value.as_str().is_some_and(|s| re.is_match(s)),
            Test::Contains(element) => value
                .as_array()
                .is_some_and(|items| items.iter().any(|i| scalar_eq(i, element))),
        }
    }
}

/// JSON equality for scalars: numbers by value (integers exactly), strings and booleans
/// as they are; arrays, objects and `null` never equal anything.
fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => (x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64(),
            },
        },
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) => a == b,
        _ => false,
    }
}

fn compile_at(raw: &Value, depth: usize) -> Result<Condition, ConfigError> {
    if depth > MAX_DEPTH {
        return Err(ConfigError::new(
            "",
            format!("nested more than {MAX_DEPTH} levels"),
        ));
    }
    let Some(obj) = raw.as_object() else {
        return Err(ConfigError::new(
            "",
            "a condition is an object: {\"all\"|\"any\": [...]}, {\"not\": {...}} or {\"claim\": ..., <test>: ...}",
        ));
    };
    for op in ["all", "any", "not"] {
        if let Some(inner) = obj.get(op) {
            if obj.len() != 1 {
                return Err(ConfigError::new(
                    "",
                    format!("`{op}` stands alone in its object"),
                ));
            }
            return match op {
                "not" => Ok(Condition::Not(Box::new(
                    compile_at(inner, depth + 1).map_err(|e| e.under("not"))?,
                ))),
                _ => compile_list(op, inner, depth),
            };
        }
    }
    compile_claim(obj)
}

fn compile_list(op: &str, raw: &Value, depth: usize) -> Result<Condition, ConfigError> {
    let items = raw
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ConfigError::new(op, "a non-empty array of conditions"))?;
    let compiled = items
        .iter()
        .enumerate()
        .map(|(i, item)| compile_at(item, depth + 1).map_err(|e| e.under(&format!("{op}[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if op == "all" {
        Condition::All(compiled)
    } else {
        Condition::Any(compiled)
    })
}

fn compile_claim(obj: &Map<String, Value>) -> Result<Condition, ConfigError> {
    let path = match obj.get("claim") {
        Some(Value::String(dotted)) => {
            claim_path::validate(dotted).map_err(|m| ConfigError::new("claim", m))?;
            dotted.split('.').map(str::to_string).collect()
        }
        Some(Value::Array(names)) if !names.is_empty() => names
            .iter()
            .enumerate()
            .map(|(i, n)| match n.as_str() {
                Some(name) if !name.is_empty() => Ok(name.to_string()),
                _ => Err(ConfigError::new(
                    format!("claim[{i}]"),
                    "a claim name is a non-empty string",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(ConfigError::new(
                "claim",
                "a dotted path or a non-empty array of claim names",
            ))
        }
    };
    let tests: Vec<(&String, &Value)> = obj.iter().filter(|(k, _)| *k != "claim").collect();
    let [(name, value)] = tests.as_slice() else {
        return Err(ConfigError::new(
            "",
            "exactly one test: equals, one_of, prefix, regex, contains or present",
        ));
    };
    let test = compile_test(name, value).map_err(|m| ConfigError::new(name.as_str(), m))?;
    Ok(Condition::Claim { path, test })
}

fn compile_test(name: &str, value: &Value) -> Result<Test, String> {
    let scalar = |v: &Value| -> Result<Value, String> {
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
            _ => Err("a string, number or boolean".to_string()),
        }
    };
    match name {
        "equals" => scalar(value).map(Test::Equals),
        "contains" => scalar(value).map(Test::Contains),
        "one_of" => {
            let items = value
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or("a non-empty array of strings, numbers or booleans")?;
            items
                .iter()
                .map(scalar)
                .collect::<Result<Vec<_>, _>>()
                .map(Test::OneOf)
        }
        "prefix" => value
            .as_str()
            .filter(|s| !s.is_empty())
            .map(|s| Test::Prefix(s.to_string()))
            .ok_or_else(|| "a non-empty string".to_string()),
        "regex" => {
            let pattern = value.as_str().ok_or("a regular expression (string)")?;
            Regex::new(pattern)
                .map(Test::Regex)
                .map_err(|e| format!("invalid regex: {e}"))
        }
        "present" => value
            .as_bool()
            .map(Test::Present)
            .ok_or_else(|| "true or false".to_string()),
        other => Err(format!(
            "unknown test `{other}` (equals, one_of, prefix, regex, contains, present)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(raw: Value) -> Condition {
        Condition::compile(&raw).unwrap()
    }

    fn err(raw: Value) -> String {
        Condition::compile(&raw).unwrap_err().to_string()
    }

    #[test]
    fn each_test_holds_only_for_what_it_names() {
        let claims = json!({
            "sub": "svc-billing", "email": "ada@example.com", "level": 3, "verified": true,
            "roles": ["reader", "admin"], "https://example.com/tenant": "acme",
            "realm": {"roles": ["ops"]}, "gone": null
        });
        let yes = [
            json!({"claim": "sub", "equals": "svc-billing"}),
            json!({"claim": "level", "equals": 3}),
            json!({"claim": "level", "equals": 3.0}),
            json!({"claim": "verified", "equals": true}),
            json!({"claim": "level", "one_of": [1, 3]}),
            json!({"claim": "email", "prefix": "ada@"}),
            json!({"claim": "sub", "regex": "^svc-[a-z]+$"}),
            json!({"claim": "roles", "contains": "admin"}),
            json!({"claim": "realm.roles", "contains": "ops"}),
            json!({"claim": ["https://example.com/tenant"], "equals": "acme"}),
            json!({"claim": ["realm", "roles"], "contains": "ops"}),
            json!({"claim": "email", "present": true}),
            json!({"claim": "missing", "present": false}),
            json!({"claim": "gone", "present": false}),
        ];
        for raw in yes {
            assert!(cond(raw.clone()).holds(&claims), "{raw}");
        }
        let no = [
            json!({"claim": "level", "equals": "3"}),
            json!({"claim": "verified", "equals": "true"}),
            json!({"claim": "roles", "equals": "admin"}),
            json!({"claim": "roles", "one_of": ["admin"]}),
            json!({"claim": "level", "prefix": "3"}),
            json!({"claim": "sub", "regex": "^billing"}),
            json!({"claim": "sub", "contains": "svc"}),
            json!({"claim": "https://example.com/tenant", "equals": "acme"}),
            json!({"claim": "missing", "equals": "x"}),
            json!({"claim": "missing", "regex": ".*"}),
            json!({"claim": "gone", "present": true}),
            json!({"claim": "email", "present": false}),
        ];
        for raw in no {
            assert!(!cond(raw.clone()).holds(&claims), "{raw}");
        }
    }

    #[test]
    fn all_any_and_not_compose() {
        let c = cond(json!({"all": [
            {"claim": "roles", "contains": "admin"},
            {"not": {"claim": "email", "prefix": "test-"}},
            {"any": [{"claim": "org", "equals": "acme"}, {"claim": "sub", "regex": "^svc-"}]}
        ]}));
        assert!(c.holds(&json!({"roles": ["admin"], "email": "a@b", "org": "acme"})));
        assert!(c.holds(&json!({"roles": ["admin"], "sub": "svc-1"})));
        assert!(!c.holds(&json!({"roles": ["admin"], "email": "test-1@b", "org": "acme"})));
        assert!(!c.holds(&json!({"roles": ["admin"], "org": "globex", "sub": "u1"})));
        assert!(!c.holds(&json!({"roles": ["reader"], "org": "acme"})));
    }

    #[test]
    fn bad_conditions_name_the_place() {
        assert!(err(json!({"claim": "x", "regex": "("})).contains("regex: invalid regex"));
        assert!(err(json!({"all": [{"claim": "x"}]})).contains("all[0]"));
        assert!(err(json!({"any": []})).contains("any"));
        assert!(err(json!({"not": {"claim": "a", "equals": [1]}})).contains("not.equals"));
        assert!(err(json!({"claim": "x", "equals": 1, "prefix": "a"})).contains("exactly one test"));
        assert!(err(json!({"claim": "x", "near": 1})).contains("unknown test"));
        assert!(err(json!({"claim": [], "equals": 1})).contains("claim"));
        assert!(err(json!({"claim": "a..b", "equals": 1})).contains("claim"));
        assert!(err(json!({"all": [], "any": []})).contains("stands alone"));
        assert!(err(json!(["claim"])).contains("object"));
        let mut deep = json!({"claim": "x", "present": true});
        for _ in 0..20 {
            deep = json!({"not": deep});
        }
        assert!(err(deep).contains("nested"));
    }
}
