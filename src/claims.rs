//! Registered-claim checks on a verified payload: `exp`, `nbf`, `iat`, lifetime,
//! `iss` and `aud` (RFC 7519 §4.1). The clock is an argument.
//!
//! A time claim of the wrong type is `Malformed`, never "absent": a token cannot
//! dodge `exp` by writing it as a string.

use serde_json::Value;

use crate::error::AuthError;

/// What a provider requires of a token's registered claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPolicy {
    /// Exact `iss`; `None` = not checked (written as `"issuer": null`).
    pub issuer: Option<String>,
    /// Accepted `aud` values (any-of); `None` = not checked.
    pub audiences: Option<Vec<String>>,
    /// A token without `exp` is rejected.
    pub require_exp: bool,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_s: u64,
    /// Longest accepted lifetime (`exp - iat`, and `exp - now`), in seconds.
    pub max_lifetime_s: Option<u64>,
}

/// Checks `claims` (a JSON object) against `policy` at `now` (Unix seconds).
pub fn validate(claims: &Value, policy: &ClaimPolicy, now: u64) -> Result<(), AuthError> {
    validated_times(claims, policy, now).map(|_| ())
}

/// [`validate`], returning the time claims it read (the cache keeps them: read once).
pub fn validated_times(
    claims: &Value,
    policy: &ClaimPolicy,
    now: u64,
) -> Result<TimeClaims, AuthError> {
    let obj = claims
        .as_object()
        .ok_or(AuthError::Malformed("token payload is not a JSON object"))?;
    let times = TimeClaims::read(claims)?;
    times.check(policy, now)?;
    if let Some(issuer) = &policy.issuer {
        if obj.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(AuthError::BadIssuer);
        }
    }
    if let Some(audiences) = &policy.audiences {
        if !audience_matches(obj.get("aud"), audiences) {
            return Err(AuthError::BadAudience);
        }
    }
    Ok(times)
}

/// A payload's `exp`, `nbf` and `iat`, read once: a cached token re-checks only these
/// (its `iss` and `aud` cannot change) on every hit, without touching the JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeClaims {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
}

impl TimeClaims {
    /// Reads the time claims of `claims` (a JSON object); a wrong type is `Malformed`.
    pub fn read(claims: &Value) -> Result<Self, AuthError> {
        Ok(TimeClaims {
            exp: numeric_date(claims.get("exp"), "exp is not a number")?,
            nbf: numeric_date(claims.get("nbf"), "nbf is not a number")?,
            iat: numeric_date(claims.get("iat"), "iat is not a number")?,
        })
    }

    /// Checks them against `policy` at `now` (Unix seconds).
    pub fn check(&self, policy: &ClaimPolicy, now: u64) -> Result<(), AuthError> {
        check_times(self.exp, self.nbf, self.iat, policy, now)
    }
}

/// Reads a NumericDate (RFC 7519 §2: a JSON number, fractions allowed).
fn numeric_date(v: Option<&Value>, wrong_type: &'static str) -> Result<Option<f64>, AuthError> {
    match v {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(AuthError::Malformed(wrong_type)),
        Some(_) => Err(AuthError::Malformed(wrong_type)),
    }
}

#[allow(clippy::cast_precision_loss)] // Unix seconds are far below 2^52
fn check_times(
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    policy: &ClaimPolicy,
    now: u64,
) -> Result<(), AuthError> {
    let now = now as f64;
    let leeway = policy.leeway_s as f64;
    match exp {
        None if policy.require_exp || policy.max_lifetime_s.is_some() => {
            return Err(AuthError::MissingExp)
        }
        Some(exp) if now > exp + leeway => return Err(AuthError::Expired),
        _ => {}
    }
    if nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(AuthError::NotYetValid);
    }
    if iat.is_some_and(|iat| iat > now + leeway) {
        return Err(AuthError::IssuedInFuture);
    }
    if let (Some(max), Some(exp)) = (policy.max_lifetime_s, exp) {
        let max = max as f64;
        let too_long_from_iat = iat.is_some_and(|iat| exp - iat > max);
        if too_long_from_iat || exp - now > max + leeway {
            return Err(AuthError::LifetimeTooLong);
        }
    }
    Ok(())
}

/// `aud` may be one string or an array of strings (RFC 7519 §4.1.3); any shared value matches.
fn audience_matches(aud: Option<&Value>, accepted: &[String]) -> bool {
    let ok = |v: &Value| v.as_str().is_some_and(|s| accepted.iter().any(|a| a == s));
    match aud {
        Some(Value::String(_)) => aud.is_some_and(ok),
        Some(Value::Array(items)) => items.iter().any(ok),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn policy() -> ClaimPolicy {
        ClaimPolicy {
            issuer: Some("https://issuer.test".into()),
            audiences: Some(vec!["api".into(), "web".into()]),
            require_exp: true,
            leeway_s: 60,
            max_lifetime_s: None,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://issuer.test", "aud": "api", "sub": "u1", "exp": NOW + 300, "iat": NOW - 10})
    }

    fn with(field: &str, v: Value) -> Value {
        let mut c = good();
        c[field] = v;
        c
    }

    #[test]
    fn good_claims_pass() {
        assert_eq!(validate(&good(), &policy(), NOW), Ok(()));
        assert_eq!(
            validate(&with("aud", json!(["other", "web"])), &policy(), NOW),
            Ok(())
        );
    }

    #[test]
    fn expiry_respects_leeway_to_the_second() {
        let c = with("exp", json!(NOW - 60));
        assert_eq!(validate(&c, &policy(), NOW), Ok(()));
        let c = with("exp", json!(NOW - 61));
        assert_eq!(validate(&c, &policy(), NOW), Err(AuthError::Expired));
    }

    #[test]
    fn missing_exp_is_rejected_unless_not_required() {
        let mut c = good();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(validate(&c, &policy(), NOW), Err(AuthError::MissingExp));
        let lax = ClaimPolicy {
            require_exp: false,
            ..policy()
        };
        assert_eq!(validate(&c, &lax, NOW), Ok(()));
    }

    #[test]
    fn time_claims_of_the_wrong_type_are_malformed_not_absent() {
        for field in ["exp", "nbf", "iat"] {
            for v in [json!("9999999999"), json!(null), json!([1]), json!(true)] {
                let r = validate(&with(field, v.clone()), &policy(), NOW);
                assert!(
                    matches!(r, Err(AuthError::Malformed(_))),
                    "{field}={v}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn future_nbf_and_iat_are_rejected_beyond_leeway() {
        assert_eq!(
            validate(&with("nbf", json!(NOW + 61)), &policy(), NOW),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(
            validate(&with("nbf", json!(NOW + 60)), &policy(), NOW),
            Ok(())
        );
        assert_eq!(
            validate(&with("iat", json!(NOW + 61)), &policy(), NOW),
            Err(AuthError::IssuedInFuture)
        );
    }

    #[test]
    fn lifetime_is_bounded_when_configured() {
        let p = ClaimPolicy {
            max_lifetime_s: Some(3600),
            ..policy()
        };
        assert_eq!(validate(&good(), &p, NOW), Ok(()));
        let c = with("exp", json!(NOW + 100_000));
        assert_eq!(validate(&c, &p, NOW), Err(AuthError::LifetimeTooLong));
        let c = with("exp", json!(1e300));
        assert_eq!(validate(&c, &p, NOW), Err(AuthError::LifetimeTooLong));
    }

    #[test]
    fn issuer_and_audience_must_match_exactly() {
        assert_eq!(
            validate(&with("iss", json!("https://issuer.test/")), &policy(), NOW),
            Err(AuthError::BadIssuer)
        );
        assert_eq!(
            validate(&with("iss", json!(["https://issuer.test"])), &policy(), NOW),
            Err(AuthError::BadIssuer)
        );
        assert_eq!(
            validate(&with("aud", json!("API")), &policy(), NOW),
            Err(AuthError::BadAudience)
        );
        assert_eq!(
            validate(&with("aud", json!([])), &policy(), NOW),
            Err(AuthError::BadAudience)
        );
        assert_eq!(
            validate(&with("aud", json!({"api": 1})), &policy(), NOW),
            Err(AuthError::BadAudience)
        );
        let mut c = good();
        c.as_object_mut().unwrap().remove("aud");
        assert_eq!(validate(&c, &policy(), NOW), Err(AuthError::BadAudience));
    }
}
