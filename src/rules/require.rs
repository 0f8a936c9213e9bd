//! `require`: what a verified token must carry on a route (providers, claims, scopes).

use serde_json::Value;

use super::condition::Condition;
use super::raw::RawRequire;
use crate::claim_path;
use crate::config::ConfigError;
use crate::error::AuthError;

/// A compiled `require`.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Indices into the provider list given to [`super::compile`]; any-of; never empty.
    providers: Vec<usize>,
    /// Claim path → accepted values (scalars); every entry must hold.
    claims: Vec<(String, Vec<Value>)>,
    /// Scopes that must all be granted.
    scopes: Vec<String>,
    /// `when`: conditions on the claims.
    when: Option<Condition>,
    /// `max_age_s`: the oldest `iat` accepted, in seconds before now.
    max_age_s: Option<u64>,
}

impl Requirement {
    /// Any token from any of the `provider_count` providers, nothing else required.
    #[must_use]
    pub fn any_provider(provider_count: usize) -> Requirement {
        Requirement {
            providers: (0..provider_count).collect(),
            claims: Vec::new(),
            scopes: Vec::new(),
            when: None,
            max_age_s: None,
        }
    }

    /// Checks the token's age against `max_age_s` at `now` (Unix seconds).
    ///
    /// # Errors
    ///
    /// [`AuthError::TokenTooOld`] (401: sign in again) when `iat` is absent, not a
    /// number, or older than `max_age_s`.
    pub fn check_age(&self, claims: &Value, now: u64) -> Result<(), AuthError> {
        let Some(max_age) = self.max_age_s else {
            return Ok(());
        };
        let iat = claims
            .get("iat")
            .and_then(Value::as_f64)
            .ok_or(AuthError::TokenTooOld)?;
        #[allow(clippy::cast_precision_loss)] // Unix seconds are far below 2^52
        let oldest = now.saturating_sub(max_age) as f64;
        if iat < oldest {
            return Err(AuthError::TokenTooOld);
        }
        Ok(())
    }

    /// The providers accepted (any-of), as indices into the list given to [`super::compile`].
    #[must_use]
    pub fn providers(&self) -> &[usize] {
        &self.providers
    }

    /// The scopes required, for the `scope="…"` parameter of an `insufficient_scope` challenge.
    #[must_use]
    pub fn required_scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Checks a verified token's claims: every `claims` entry, then every scope.
    ///
    /// # Errors
    ///
    /// [`AuthError::ClaimMismatch`] when a claim is missing or holds no accepted value,
    /// then [`AuthError::InsufficientScope`] when a required scope is not granted (both 403).
    pub fn check(&self, claims: &Value) -> Result<(), AuthError> {
        for (path, accepted) in &self.claims {
            let found = claim_path::lookup(claims, path).ok_or(AuthError::ClaimMismatch)?;
            if !claim_matches(found, accepted) {
                return Err(AuthError::ClaimMismatch);
            }
        }
        if self.when.as_ref().is_some_and(|c| !c.holds(claims)) {
            return Err(AuthError::ClaimMismatch);
        }
        if self.scopes.is_empty() {
            return Ok(());
        }
        let granted: Vec<&str> = ["scope", "scp"]
            .iter()
            .filter_map(|name| claims.get(name))
            .flat_map(scope_tokens)
            .collect();
        if self.scopes.iter().all(|s| granted.contains(&s.as_str())) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope)
        }
    }
}

/// A scalar claim matches when it equals an accepted value; an array claim when one of its
/// elements does. Objects and `null` never match. Types are not coerced (`"1"` ≠ `1`).
fn claim_matches(claim: &Value, accepted: &[Value]) -> bool {
    match claim {
        Value::Array(items) => items
            .iter()
            .any(|item| accepted.iter().any(|a| scalar_eq(item, a))),
        other => accepted.iter().any(|a| scalar_eq(other, a)),
    }
}

/// JSON equality for scalars, with numbers compared by value (`1` = `1.0`) but integers
/// compared exactly (no rounding through `f64`).
fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ if x.is_f64() || y.is_f64() => x.as_f64() == y.as_f64(),
                _ => false,
            }
        }
        (Value::String(_) | Value::Bool(_), _) => a == b,
        _ => false,
    }
}

/// Scopes granted by a `scope` or `scp` claim: a space-separated string (RFC 8693 §4.2)
/// or an array of strings (Azure AD / Okta `scp`). Any other type grants nothing.
fn scope_tokens(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => s.split(' ').filter(|t| !t.is_empty()).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Compiles a `require` (absent = any token from any provider). Error paths are relative
/// to it (`providers[0]`, `claims.roles`, `scopes[1]`).
pub(crate) fn compile_require(
    raw: Option<&RawRequire>,
    providers: &[String],
) -> Result<Requirement, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Requirement::any_provider(providers.len()));
    };
    let mut req = Requirement::any_provider(providers.len());
    if let Some(names) = &raw.providers {
        req.providers = compile_providers(names, providers)?;
    }
    if let Some(claims) = &raw.claims {
        req.claims = compile_claims(claims)?;
    }
    if let Some(scopes) = &raw.scopes {
        req.scopes = compile_scopes(scopes)?;
    }
    if let Some(when) = &raw.when {
        req.when = Some(Condition::compile(when).map_err(|e| e.under("when"))?);
    }
    if let Some(max_age) = raw.max_age_s {
        if max_age == 0 {
            return Err(ConfigError::new("max_age_s", "must be greater than 0"));
        }
        req.max_age_s = Some(max_age);
    }
    Ok(req)
}

fn compile_providers(names: &[String], providers: &[String]) -> Result<Vec<usize>, ConfigError> {
    if names.is_empty() {
        return Err(ConfigError::new(
            "providers",
            "empty list accepts no token; omit `providers` to accept every provider",
        ));
    }
    let mut out: Vec<usize> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let at = format!("providers[{i}]");
        let index = providers
            .iter()
            .position(|p| p == name)
            .ok_or_else(|| ConfigError::new(&at, format!("unknown provider {name:?}")))?;
        if out.contains(&index) {
            return Err(ConfigError::new(
                at,
                format!("provider {name:?} listed twice"),
            ));
        }
        out.push(index);
    }
    Ok(out)
}

fn compile_claims(
    raw: &std::collections::BTreeMap<String, Vec<Value>>,
) -> Result<Vec<(String, Vec<Value>)>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::new(
            "claims",
            "empty object; omit `claims` to require none",
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (path, accepted) in raw {
        let at = format!("claims.{path}");
        claim_path::validate(path).map_err(|m| ConfigError::new(&at, m))?;
        if accepted.is_empty() {
            return Err(ConfigError::new(
                at,
                "empty list of accepted values matches no token",
            ));
        }
        for (i, value) in accepted.iter().enumerate() {
            if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                return Err(ConfigError::new(
                    format!("{at}[{i}]"),
                    "accepted values are strings, numbers or booleans",
                ));
            }
        }
        out.push((path.clone(), accepted.clone()));
    }
    Ok(out)
}

fn compile_scopes(raw: &[String]) -> Result<Vec<String>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::new(
            "scopes",
            "empty list; omit `scopes` to require none",
        ));
    }
    for (i, scope) in raw.iter().enumerate() {
        // RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. This also keeps
        // the value safe inside the quoted `scope="…"` challenge parameter.
        let valid = !scope.is_empty()
            && scope
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if !valid {
            return Err(ConfigError::new(
                format!("scopes[{i}]"),
                format!("invalid scope {scope:?} (one scope-token, RFC 6749 §3.3)"),
            ));
        }
    }
    Ok(raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requirement(raw: Value) -> Requirement {
        let raw: RawRequire = serde_json::from_value(raw).unwrap();
        compile_require(Some(&raw), &["corp".into(), "partner".into()]).unwrap()
    }

    #[test]
    fn claims_match_scalars_and_shared_array_values() {
        let req = requirement(
            json!({"claims": {"realm_access.roles": ["admin", "ops"], "tier": [1, true, "gold"]}}),
        );
        let cases = [
            (
                json!({"realm_access": {"roles": ["user", "admin"]}, "tier": 1}),
                Ok(()),
            ),
            (
                json!({"realm_access": {"roles": "ops"}, "tier": 1.0}),
                Ok(()),
            ),
            (
                json!({"realm_access": {"roles": ["ops"]}, "tier": [false, "gold"]}),
                Ok(()),
            ),
            (
                json!({"realm_access": {"roles": ["ops"]}, "tier": true}),
                Ok(()),
            ),
            (
                json!({"realm_access": {"roles": ["user"]}, "tier": 1}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": []}, "tier": 1}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": "Admin"}, "tier": 1}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": ["admin"]}, "tier": "1"}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": ["admin"]}, "tier": 2}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": ["admin"]}, "tier": null}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": ["admin"]}, "tier": {"1": 1}}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": [["admin"]]}, "tier": 1}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"realm_access": {"roles": ["admin"]}}),
                Err(AuthError::ClaimMismatch),
            ),
            (
                json!({"roles": ["admin"], "tier": 1}),
                Err(AuthError::ClaimMismatch),
            ),
        ];
        for (claims, want) in cases {
            assert_eq!(req.check(&claims), want, "{claims}");
        }
    }

    #[test]
    fn large_integers_are_compared_exactly() {
        let req = requirement(json!({"claims": {"uid": [9_007_199_254_740_993_u64]}}));
        assert_eq!(
            req.check(&json!({"uid": 9_007_199_254_740_993_u64})),
            Ok(())
        );
        assert_eq!(
            req.check(&json!({"uid": 9_007_199_254_740_992_u64})),
            Err(AuthError::ClaimMismatch)
        );
    }

    #[test]
    fn every_required_scope_must_be_granted_by_scope_or_scp() {
        let req = requirement(json!({"scopes": ["read", "admin:write"]}));
        let cases = [
            (json!({"scope": "read admin:write"}), Ok(())),
            (json!({"scope": "  admin:write   read extra"}), Ok(())),
            (json!({"scp": ["read", "admin:write"]}), Ok(())),
            (json!({"scp": "read admin:write"}), Ok(())),
            (json!({"scope": "read", "scp": ["admin:write"]}), Ok(())),
            (json!({"scope": "read"}), Err(AuthError::InsufficientScope)),
            (
                json!({"scope": "read admin:writer"}),
                Err(AuthError::InsufficientScope),
            ),
            (
                json!({"scope": "read,admin:write"}),
                Err(AuthError::InsufficientScope),
            ),
            (
                json!({"scope": 1, "scp": {"read": true}}),
                Err(AuthError::InsufficientScope),
            ),
            (
                json!({"scopes": "read admin:write"}),
                Err(AuthError::InsufficientScope),
            ),
            (json!({}), Err(AuthError::InsufficientScope)),
        ];
        for (claims, want) in cases {
            assert_eq!(req.check(&claims), want, "{claims}");
        }
        assert_eq!(req.required_scopes(), ["read", "admin:write"]);
    }

    #[test]
    fn claims_are_checked_before_scopes() {
        let req = requirement(json!({"claims": {"role": ["admin"]}, "scopes": ["s"]}));
        assert_eq!(
            req.check(&json!({"role": "user"})),
            Err(AuthError::ClaimMismatch)
        );
        assert_eq!(
            req.check(&json!({"role": "admin"})),
            Err(AuthError::InsufficientScope)
        );
        assert_eq!(req.check(&json!({"role": "admin", "scope": "s"})), Ok(()));
    }

    #[test]
    fn providers_resolve_to_indices_and_default_to_all() {
        assert_eq!(
            requirement(json!({"providers": ["partner"]})).providers(),
            [1]
        );
        assert_eq!(requirement(json!({})).providers(), [0, 1]);
        assert_eq!(
            compile_require(None, &["a".into()]).unwrap().providers(),
            [0]
        );
    }

    #[test]
    fn bad_requirements_are_config_errors_naming_the_field() {
        let cases = [
            (json!({"providers": []}), "providers: empty list"),
            (
                json!({"providers": ["corp", "nope"]}),
                "providers[1]: unknown provider \"nope\"",
            ),
            (
                json!({"providers": ["corp", "corp"]}),
                "providers[1]: provider \"corp\" listed twice",
            ),
            (json!({"claims": {}}), "claims: empty object"),
            (json!({"claims": {"roles": []}}), "claims.roles: empty list"),
            (
                json!({"claims": {"a..b": ["x"]}}),
                "claims.a..b: claim path has an empty segment",
            ),
            (
                json!({"claims": {"roles": ["a", ["b"]]}}),
                "claims.roles[1]: accepted values are strings",
            ),
            (
                json!({"claims": {"roles": [null]}}),
                "claims.roles[0]: accepted values are strings",
            ),
            (json!({"scopes": []}), "scopes: empty list"),
            (
                json!({"scopes": ["a b"]}),
                "scopes[0]: invalid scope \"a b\"",
            ),
            (
                json!({"scopes": ["ok", "x\"y"]}),
                "scopes[1]: invalid scope",
            ),
        ];
        for (raw, want) in cases {
            let parsed: RawRequire = serde_json::from_value(raw.clone()).unwrap();
            let err =
                compile_require(Some(&parsed), &["corp".into(), "partner".into()]).unwrap_err();
            assert!(
                err.to_string().contains(want),
                "{raw}: got {err}, want {want:?}"
            );
        }
    }
}
