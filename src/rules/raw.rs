//! The `rules` and `default_action` JSON, as written by the user (serde only; checks and
//! compilation live in the sibling modules).

use std::collections::BTreeMap;

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One entry of `rules`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Rule")
)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// `match`: which requests the rule applies to.
    #[serde(rename = "match")]
    pub matcher: RawMatch,
    /// `action`; absent = `require`.
    #[serde(default)]
    pub action: Option<RawAction>,
    /// `require`: what a token must carry (only with `require` / `optional`).
    #[serde(default)]
    pub require: Option<RawRequire>,
    /// `login`: `"browser"` redirects browser navigations to the login page instead of 401.
    #[serde(default)]
    pub login: Option<RawLogin>,
    /// `cors_preflight`: `"allow"` lets CORS preflights (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) that match the rule through without a token.
    // A string checked by the compiler (one more serde enum costs more .wasm).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawCorsPreflight>"))]
    pub cors_preflight: Option<String>,
}

/// `match`: exactly one of `path`, `prefix`, `regex`, plus optional `methods` and `headers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Match")
)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Exact normalized path.
    #[serde(default)]
    pub path: Option<String>,
    /// Prefix of the normalized path (plain string prefix, like Envoy's `prefix`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Regex that must match the whole normalized path.
    #[serde(default)]
    pub regex: Option<String>,
    /// HTTP methods (any-of); absent = every method.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Request headers that must all match; names are case-insensitive.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, RawHeaderMatch>>,
}

/// A header condition: an exact value, or `{"present": true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "HeaderMatch", untagged)
)]
pub enum RawHeaderMatch {
    /// The header's value equals this string.
    Exact(String),
    /// `{"present": true}`: the header is sent, with any value.
    Present(RawPresent),
}

// By hand rather than `#[serde(untagged)]`: an untagged enum buffers the value and
// reads `RawPresent` from the buffer with serde's own deserializer, which would take
// `[true]` for `{"present": true}` (see `config::objects_only`).
impl<'de> Deserialize<'de> for RawHeaderMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeaderMatchVisitor;

        impl<'de> Visitor<'de> for HeaderMatchVisitor {
            type Value = RawHeaderMatch;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value (string) or {\"present\": true}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawHeaderMatch::Exact(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawPresent::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawHeaderMatch::Present)
            }
        }

        d.deserialize_any(HeaderMatchVisitor)
    }
}

/// `{"present": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Present")
)]
#[serde(deny_unknown_fields)]
pub struct RawPresent {
    /// Must be `true` (a `false` is rejected at compile time rather than meaning "absent").
    pub present: bool,
}

/// `action` and `default_action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Action")
)]
#[serde(rename_all = "lowercase")]
pub enum RawAction {
    /// No token needed.
    Allow,
    /// A valid token meeting `require` is needed.
    #[default]
    Require,
    /// A token is verified when present; none is fine, an invalid one is 401.
    Optional,
    /// Always 403.
    Deny,
}

impl RawAction {
    /// The JSON spelling, for messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            RawAction::Allow => "allow",
            RawAction::Require => "require",
            RawAction::Optional => "optional",
            RawAction::Deny => "deny",
        }
    }
}

/// `require`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Require")
)]
#[serde(deny_unknown_fields)]
pub struct RawRequire {
    /// Provider names, any-of; absent = every provider.
    #[serde(default)]
    pub providers: Option<Vec<String>>,
    /// Claim path (dots for nesting) → accepted values.
    #[serde(default)]
    pub claims: Option<BTreeMap<String, Vec<Value>>>,
    /// Scopes that must all be granted (`scope` / `scp` claim).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Conditions on claims: `{"claim": <path>, <test>: <value>}` with `equals`, `one_of`, `prefix`, `regex`, `contains` or `present`, composed with `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`. A path is a dotted string or an array of names.
    #[serde(default)]
    pub when: Option<Value>,
    /// Refuse (401, so a browser signs in again) a token whose `iat` is older than this many seconds, or absent.
    #[serde(default)]
    pub max_age_s: Option<u64>,
}

/// `login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "LoginMode")
)]
#[serde(rename_all = "lowercase")]
pub enum RawLogin {
    /// Redirect browser navigations to the login page.
    Browser,
}

/// `cors_preflight` (the schema's view: the value is read as a string and checked by
/// the compiler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "CorsPreflight", rename_all = "lowercase")
)]
pub enum RawCorsPreflight {
    /// A CORS preflight matching the rule passes without a token (the request it
    /// announces is still checked).
    Allow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_rule_parses() {
        let rule: RawRule = serde_json::from_value(json!({
            "match": {"prefix": "/api/", "methods": ["POST"], "headers": {"X-A": "1", "x-b": {"present": true}}},
            "action": "require",
            "require": {"providers": ["corp"], "claims": {"roles": ["admin", 1]}, "scopes": ["s"]},
            "login": "browser"
        }))
        .unwrap();
        assert_eq!(rule.action, Some(RawAction::Require));
        assert_eq!(rule.login, Some(RawLogin::Browser));
        let headers = rule.matcher.headers.unwrap();
        assert_eq!(headers["X-A"], RawHeaderMatch::Exact("1".into()));
        assert_eq!(
            headers["x-b"],
            RawHeaderMatch::Present(RawPresent { present: true })
        );
    }

    #[test]
    fn typos_and_wrong_types_are_rejected() {
        let cases = [
            (
                json!({"match": {"prefix": "/"}, "acton": "allow"}),
                "unknown field `acton`",
            ),
            (json!({"match": {"prefx": "/"}}), "unknown field `prefx`"),
            (
                json!({"match": {"prefix": "/"}, "action": "permit"}),
                "unknown variant `permit`",
            ),
            (
                json!({"match": {"prefix": "/"}, "login": "api"}),
                "unknown variant `api`",
            ),
            (
                json!({"match": {"prefix": "/"}, "require": {"scope": ["a"]}}),
                "unknown field `scope`",
            ),
            (
                json!({"match": {"prefix": "/", "headers": {"x": 1}}}),
                "a header value (string) or",
            ),
            (
                json!({"match": {"prefix": "/", "headers": {"x": {"present": true, "x": 1}}}}),
                "unknown field `x`, expected `present`",
            ),
            (
                // `{"present": true}` by position: an untagged enum took it.
                json!({"match": {"prefix": "/", "headers": {"x": [true]}}}),
                "a header value (string) or",
            ),
            (json!({"action": "allow"}), "missing field `match`"),
        ];
        for (input, want) in cases {
            let err = serde_json::from_value::<RawRule>(input.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
    }
}
