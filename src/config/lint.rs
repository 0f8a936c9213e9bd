//! `jwt-gate-check --lint`: every problem in a configuration document, not only the
//! first one `on_configure` logs. Runs natively (the CLI); the `.wasm` never calls it.

use serde_json::{Map, Value};

use super::raw::{RawConfig, RawProvider};
use super::{deserialize, Config, ConfigError, Diagnostics, MAX_CONFIG_DEPTH};
use crate::json;
use crate::rules::RawRule;

/// Every error and warning in `bytes`, with absolute JSON paths. `env` reads the VM
/// environment (`secret_env`, `pem_env`), as the filter would.
///
/// A document that does not deserialize is checked section by section (each provider,
/// each rule, each other top-level field), so one typo does not hide the next; its
/// providers and rules are then not compiled. One that does is compiled with every
/// provider, key, source and rule checked on its own.
#[must_use]
pub fn lint(bytes: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Diagnostics {
    let mut diag = Diagnostics::default();
    let doc = match json::parse_strict(bytes, MAX_CONFIG_DEPTH) {
        Ok(doc) => doc,
        Err(e) => {
            diag.error("", ConfigError::new("", format!("invalid JSON: {e}")));
            return diag;
        }
    };
    match deserialize::<RawConfig>(&doc) {
        Ok(raw) => {
            // Every problem is in `diag`; the compiled configuration is not needed.
            let _ = Config::compile(raw, env, &mut diag);
        }
        Err(first) => {
            match &doc {
                Value::Object(top) => section_errors(top, &mut diag),
                _ => diag.errors.push(first.clone()),
            }
            if diag.errors.is_empty() {
                diag.errors.push(first);
            }
        }
    }
    diag
}

/// Deserializes each part of the top-level object on its own.
fn section_errors(top: &Map<String, Value>, diag: &mut Diagnostics) {
    if !top.contains_key("providers") {
        diag.error("", ConfigError::new("", "missing field `providers`"));
    }
    for (key, value) in top {
        match (key.as_str(), value) {
            ("providers", Value::Object(providers)) => {
                for (name, provider) in providers {
                    if let Err(e) = deserialize::<RawProvider>(provider) {
                        diag.error(&format!("providers.{name}"), e);
                    }
                }
            }
            ("rules", Value::Array(rules)) => {
                for (i, rule) in rules.iter().enumerate() {
                    if let Err(e) = deserialize::<RawRule>(rule) {
                        diag.error(&format!("rules[{i}]"), e);
                    }
                }
            }
            _ => {
                // The field alone, beside an empty (valid) provider map.
                let mut one = Map::new();
                one.insert("providers".into(), Value::Object(Map::new()));
                one.insert(key.clone(), value.clone());
                if let Err(e) = deserialize::<RawConfig>(&Value::Object(one)) {
                    diag.errors.push(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "jwt-gate-test-hmac-secret-0123456789abcdef";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn paths(list: &[impl AsRef<str>]) -> Vec<String> {
        list.iter().map(|p| p.as_ref().to_string()).collect()
    }

    fn error_paths(d: &Diagnostics) -> Vec<String> {
        paths(&d.errors.iter().map(|e| e.path.clone()).collect::<Vec<_>>())
    }

    fn warning_paths(d: &Diagnostics) -> Vec<String> {
        paths(
            &d.warnings
                .iter()
                .map(|w| w.path.clone())
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn serde_errors_are_reported_per_provider_rule_and_field() {
        let doc = format!(
            r#"{{"providers": {{
                "a": {{"issuer": "i", "audience": "x", "algorithms": ["HS256"], "keys": [{{"secret": "{SECRET}"}}]}},
                "b": {{"issuer": "i", "algorithms": ["HS256"], "keys": [{{"secret": "{SECRET}"}}], "leeway_s": "60"}}
            }},
            "rules": [{{"match": {{"prefx": "/"}}}}, {{"match": {{"prefix": "/"}}}}, {{"match": {{"path": "/"}}, "action": "permit"}}],
            "mode": "off", "realms": "x"}}"#
        );
        let d = lint(doc.as_bytes(), &no_env);
        assert_eq!(
            error_paths(&d),
            // Top-level fields in name order (the JSON object is read as a sorted map).
            [
                "mode",
                "providers.a.audience",
                "providers.b.leeway_s",
                "realms",
                "rules[0].match.prefx",
                "rules[2].action",
            ],
            "{:?}",
            d.errors
        );
        assert!(d.errors[3].message.contains("unknown field `realms`"));
    }

    #[test]
    fn compile_errors_are_collected_across_providers_keys_sources_and_rules() {
        let doc = format!(
            r#"{{"providers": {{
                "a": {{"issuer": "i", "audiences": ["api"], "algorithms": ["HS256"],
                       "keys": [{{"secret": "short"}}, {{"secret": "{SECRET}"}}, {{"pem": "nope"}}],
                       "from": [{{"cookie": "a", "query": "b"}}, {{"query": "token"}}], "typ": []}},
                "b": {{"audiences": ["api"], "algorithms": ["HS257"], "keys": [{{"secret": "{SECRET}"}}], "leeway_s": 900}}
            }},
            "rules": [{{"match": {{"regex": "("}}}}, {{"match": {{"prefix": "/"}}, "require": {{"providers": ["nope"]}}}}],
            "status_overrides": {{"expired": 200, "nope": 401}}, "realm": "a\"b"}}"#
        );
        let d = lint(doc.as_bytes(), &no_env);
        assert_eq!(
            error_paths(&d),
            [
                "providers.a.keys[0].secret",
                "providers.a.keys[2].pem",
                "providers.a.from[0]",
                "providers.a.typ",
                "providers.b.issuer",
                "providers.b.algorithms[0]",
                "rules[0].match.regex",
                "rules[1].require.providers[0]",
                "realm",
                "status_overrides.expired",
                "status_overrides.nope",
            ],
            "{:?}",
            d.errors
        );
        assert_eq!(
            warning_paths(&d),
            ["providers.a.from[1].query", "providers.b.leeway_s"],
            "{:?}",
            d.warnings
        );
        assert!(!format!("{d:?}").contains(SECRET), "a secret in the report");
    }

    #[test]
    fn a_clean_config_has_no_problem_and_risky_choices_are_warnings() {
        let clean = format!(
            r#"{{"providers": {{"a": {{"issuer": "i", "audiences": ["api"], "algorithms": ["HS256"], "keys": [{{"secret": "{SECRET}"}}]}}}}}}"#
        );
        assert_eq!(lint(clean.as_bytes(), &no_env), Diagnostics::default());
        let risky = format!(
            r#"{{"mode": "bypass", "providers": {{"a": {{"issuer": null, "algorithms": ["HS256", "HS512"],
                "keys": [{{"secret": "{SECRET}"}}], "leeway_s": 301, "require_exp": false}}}}}}"#
        );
        let d = lint(risky.as_bytes(), &no_env);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(
            warning_paths(&d),
            [
                "providers.a.issuer",
                "providers.a.audiences",
                "providers.a.keys[0].secret",
                "providers.a.leeway_s",
                "providers.a.require_exp",
                "mode"
            ],
            "{:?}",
            d.warnings
        );
        assert!(d.warnings[2].message.contains("HS512 needs at least 64"));
    }

    #[test]
    fn invalid_json_and_non_objects_are_one_error() {
        let d = lint(b"{", &no_env);
        assert_eq!(d.errors.len(), 1);
        assert!(d.errors[0].message.starts_with("invalid JSON"));
        let d = lint(b"[]", &no_env);
        assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
        let d = lint(br#"{"rules": []}"#, &no_env);
        assert_eq!(d.errors[0].message, "missing field `providers`");
    }
}
