//! What a verified token produces for the upstream: claim headers and the payload
//! header. Header names are validated at configure time; values are checked per
//! request so a claim can never smuggle CR/LF/NUL into a header.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::claim_path;
use crate::config::ConfigError;
use crate::error::AuthError;

/// Headers jwt-gate writes (and therefore always strips from the client's request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `(header name, claim path)`, names lowercase.
    pub claim_headers: Vec<(String, String)>,
    /// Header that receives the base64url payload JSON.
    pub payload_header: Option<String>,
}

/// Headers a filter must never set from a claim: routing, framing and hop-by-hop.
const RESERVED: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "keep-alive",
    "proxy-connection",
    "cookie",
];

impl Outputs {
    /// Validates header names and claim paths.
    pub fn compile(
        claim_headers: &BTreeMap<String, String>,
        payload_header: Option<&str>,
    ) -> Result<Outputs, ConfigError> {
        let mut out = Outputs::default();
        for (name, path) in claim_headers {
            let at = format!("claim_headers.{name}");
            let lower = check_header_name(name).map_err(|m| ConfigError::new(&at, m))?;
            claim_path::validate(path).map_err(|m| ConfigError::new(&at, m))?;
            if out.claim_headers.iter().any(|(n, _)| *n == lower) {
                return Err(ConfigError::new(
                    at,
                    "header named twice (names are case-insensitive)",
                ));
            }
            out.claim_headers.push((lower, path.clone()));
        }
        if let Some(name) = payload_header {
            let lower =
                check_header_name(name).map_err(|m| ConfigError::new("payload_header", m))?;
            if out.claim_headers.iter().any(|(n, _)| *n == lower) {
                return Err(ConfigError::new(
                    "payload_header",
                    "also used in claim_headers",
                ));
            }
            out.payload_header = Some(lower);
        }
        Ok(out)
    }

    /// Every header name this provider writes.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.claim_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.payload_header.as_deref())
    }

    /// The headers to add for a verified token. `payload_b64` is the token's payload
    /// segment: already the base64url (no padding) of the payload JSON as the issuer signed it.
    pub fn render(
        &self,
        claims: &Value,
        payload_b64: &str,
    ) -> Result<Vec<(String, String)>, AuthError> {
        let mut headers = Vec::with_capacity(self.claim_headers.len() + 1);
        for (name, path) in &self.claim_headers {
            if let Some(value) = claim_path::lookup(claims, path).and_then(header_value) {
                if value.chars().any(char::is_control) {
                    return Err(AuthError::UnsafeClaimValue);
                }
                headers.push((name.clone(), value));
            }
        }
        if let Some(name) = &self.payload_header {
            headers.push((name.clone(), payload_b64.to_string()));
        }
        Ok(headers)
    }
}

fn check_header_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(format!("invalid header name {name:?}"));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str()) || lower == "authorization" {
        return Err(format!("header {name:?} cannot be set from a claim"));
    }
    Ok(lower)
}

/// SPEC §2: strings as is, numbers/bools as JSON text, arrays of scalars joined with
/// `,`, objects (and arrays holding objects or arrays) as compact JSON; `null` = absent.
fn header_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => Some(v.to_string()),
        Value::Array(items) if items.iter().all(is_scalar) => Some(
            items
                .iter()
                .filter_map(header_value)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Array(_) => Some(v.to_string()),
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outputs(pairs: &[(&str, &str)], payload: Option<&str>) -> Result<Outputs, ConfigError> {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Outputs::compile(&map, payload)
    }

    #[test]
    fn claims_render_per_spec() {
        let o = outputs(
            &[
                ("X-User-Id", "sub"),
                ("x-roles", "realm.roles"),
                ("x-admin", "adm"),
                ("x-n", "n"),
                ("x-obj", "realm"),
                ("x-none", "nope"),
            ],
            Some("x-payload"),
        )
        .unwrap();
        let claims = json!({"sub": "u1", "realm": {"roles": ["a", "b"]}, "adm": true, "n": 42});
        let got = o.render(&claims, "eyJzdWIiOiJ1MSJ9").unwrap();
        assert_eq!(
            got,
            vec![
                ("x-user-id".into(), "u1".into()),
                ("x-admin".into(), "true".into()),
                ("x-n".into(), "42".into()),
                ("x-obj".into(), r#"{"roles":["a","b"]}"#.into()),
                ("x-roles".into(), "a,b".into()),
                ("x-payload".into(), "eyJzdWIiOiJ1MSJ9".into()),
            ]
        );
    }

    #[test]
    fn control_characters_in_a_claim_never_reach_a_header() {
        let o = outputs(&[("x-user-id", "sub"), ("x-r", "roles")], None).unwrap();
        for bad in [
            json!({"sub": "u1\r\nx-admin: true"}),
            json!({"sub": "a\u{0}b"}),
            json!({"roles": ["a", "b\n"]}),
        ] {
            assert_eq!(o.render(&bad, "e30"), Err(AuthError::UnsafeClaimValue));
        }
    }

    #[test]
    fn reserved_and_invalid_header_names_are_config_errors() {
        assert!(outputs(&[("Host", "sub")], None).is_err());
        assert!(outputs(&[("authorization", "sub")], None).is_err());
        assert!(outputs(&[("x user", "sub")], None).is_err());
        assert!(outputs(&[("x-a", "a."),], None).is_err());
        assert!(outputs(&[("x-a", "sub")], Some("X-A")).is_err());
    }
}
