//! Multi-tenant issuers: an `issuer` template such as
//! `https://login.microsoftonline.com/{tenant}/v2.0` with an allow-list of tenants (or
//! `*`). The tenant matched in `iss` becomes the claim-like variable [`TENANT_CLAIM`]
//! (`$tenant`) for claim headers and rules; a token carrying a `$tenant` claim of its
//! own is refused, so it can never be forged.

use serde_json::Value;

use crate::config::ConfigError;
use crate::error::AuthError;

/// The variable holding the matched tenant, read like a top-level claim.
pub const TENANT_CLAIM: &str = "$tenant";
/// The placeholder in an issuer template.
pub const PLACEHOLDER: &str = "{tenant}";
/// Longest tenant accepted from a token.
const MAX_TENANT_LEN: usize = 128;

/// A compiled issuer template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIssuer {
    prefix: String,
    suffix: String,
    /// `None` = any tenant (`"*"`).
    allowed: Option<Vec<String>>,
}

impl TenantIssuer {
    /// `Ok(None)` when `issuer` is no template (then `tenants` must be absent).
    /// Paths are relative to the provider.
    pub fn compile(issuer: &str, tenants: Option<&Value>) -> Result<Option<Self>, ConfigError> {
        let Some((prefix, suffix)) = issuer.split_once(PLACEHOLDER) else {
            return match tenants {
                None => Ok(None),
                Some(_) => Err(ConfigError::new(
                    "tenants",
                    "applies only to an issuer template containing {tenant}",
                )),
            };
        };
        if suffix.contains(PLACEHOLDER) {
            return Err(ConfigError::new("issuer", "{tenant} may appear only once"));
        }
        let allowed = match tenants {
            None => {
                return Err(ConfigError::new(
                    "tenants",
                    "required with an issuer template: a list of tenants, or \"*\" for any",
                ))
            }
            Some(Value::String(any)) if any == "*" => None,
            Some(Value::Array(list)) if !list.is_empty() => {
                let mut allowed = Vec::with_capacity(list.len());
                for (i, t) in list.iter().enumerate() {
                    match t.as_str() {
                        Some(t) if valid_tenant(t) => allowed.push(t.to_string()),
                        _ => {
                            return Err(ConfigError::new(
                                format!("tenants[{i}]"),
                                "must be a tenant: 1-128 of A-Z a-z 0-9 - . _ ~",
                            ))
                        }
                    }
                }
                Some(allowed)
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "tenants",
                    "must be a non-empty list of tenants, or \"*\"",
                ))
            }
        };
        Ok(Some(TenantIssuer {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            allowed,
        }))
    }

    /// Whether every tenant is accepted (`"*"`).
    #[must_use]
    pub fn any(&self) -> bool {
        self.allowed.is_none()
    }

    /// The tenant of `iss`, if `iss` fits the template with an accepted tenant.
    #[must_use]
    pub fn matches<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let tenant = iss
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        if !valid_tenant(tenant) {
            return None;
        }
        match &self.allowed {
            None => Some(tenant),
            Some(list) => list.iter().any(|t| t == tenant).then_some(tenant),
        }
    }
}

/// 1–128 RFC 3986 unreserved characters: safe in a header, a path, a log line.
fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TENANT_LEN
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Refuses a token that sets `$tenant` itself (it is ours to set), then sets it to
/// `tenant`. (Refusing costs far less `.wasm` than removing a map entry.)
pub fn set_claim(claims: &mut Value, tenant: Option<&str>) -> Result<(), AuthError> {
    if let Value::Object(map) = claims {
        if map.contains_key(TENANT_CLAIM) {
            return Err(AuthError::Malformed("the $tenant claim is reserved"));
        }
        if let Some(t) = tenant {
            map.insert(TENANT_CLAIM.to_string(), Value::String(t.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MS: &str = "https://login.microsoftonline.com/{tenant}/v2.0";

    fn template(tenants: &Value) -> TenantIssuer {
        TenantIssuer::compile(MS, Some(tenants)).unwrap().unwrap()
    }

    #[test]
    fn the_tenant_is_read_from_iss_and_checked_against_the_allow_list() {
        let t = template(&json!(["contoso", "fabrikam-1"]));
        let iss = |tenant: &str| format!("https://login.microsoftonline.com/{tenant}/v2.0");
        assert_eq!(t.matches(&iss("contoso")), Some("contoso"));
        assert_eq!(t.matches(&iss("fabrikam-1")), Some("fabrikam-1"));
        assert_eq!(t.matches(&iss("evil")), None);
        assert_eq!(t.matches(&iss("")), None);
        assert_eq!(t.matches(&iss("contoso/x")), None);
        assert_eq!(
            t.matches("https://login.microsoftonline.com/contoso/v2.0/"),
            None
        );
        assert_eq!(
            t.matches("http://login.microsoftonline.com/contoso/v2.0"),
            None
        );
        let any = template(&json!("*"));
        assert!(any.any());
        assert_eq!(
            any.matches(&iss("72f988bf-86f1-41af")),
            Some("72f988bf-86f1-41af")
        );
        assert_eq!(any.matches(&iss("a b")), None, "only unreserved characters");
        assert_eq!(any.matches(&iss("a/b")), None);
        assert_eq!(any.matches(&iss(&"x".repeat(129))), None);
    }

    #[test]
    fn templates_and_tenants_are_checked_at_configure_time() {
        let table: &[(&str, Option<Value>, &str)] = &[
            (
                "https://idp.test",
                Some(json!("*")),
                "tenants: applies only to an issuer template",
            ),
            (MS, None, "tenants: required with an issuer template"),
            (MS, Some(json!([])), "tenants: must be a non-empty list"),
            (MS, Some(json!("any")), "tenants: must be a non-empty list"),
            (
                MS,
                Some(json!(["ok", "a/b"])),
                "tenants[1]: must be a tenant",
            ),
            (MS, Some(json!([5])), "tenants[0]: must be a tenant"),
            (
                "https://{tenant}.test/{tenant}",
                Some(json!("*")),
                "issuer: {tenant} may appear only once",
            ),
        ];
        for (issuer, tenants, want) in table {
            let err = TenantIssuer::compile(issuer, tenants.as_ref()).unwrap_err();
            assert!(
                err.to_string().starts_with(want),
                "{issuer} {tenants:?}: {err}"
            );
        }
        assert_eq!(TenantIssuer::compile("https://idp.test", None), Ok(None));
    }

    #[test]
    fn a_token_supplied_tenant_is_refused_and_the_matched_one_set() {
        let mut c = json!({"sub": "u", "$tenant": "forged"});
        assert!(set_claim(&mut c, None).is_err());
        assert!(set_claim(&mut c, Some("contoso")).is_err());
        let mut c = json!({"sub": "u"});
        set_claim(&mut c, None).unwrap();
        assert_eq!(c, json!({"sub": "u"}));
        set_claim(&mut c, Some("contoso")).unwrap();
        assert_eq!(c["$tenant"], "contoso");
    }
}
