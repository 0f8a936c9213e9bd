//! What a verified token produces for the upstream: claim headers and the payload
//! header. Header names are validated at configure time; values are checked per
//! request so a claim can never smuggle CR/LF/NUL into a header.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

use crate::claim_path;
use crate::config::ConfigError;
use crate::error::AuthError;

/// A rendered output header: (name, value), shared by every cache hit of its token.
pub type RenderedHeader = (Rc<str>, Rc<str>);

/// Headers jwt-gate writes (and therefore always strips from the client's request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `(header name, claim path)`, names lowercase (shared: every verified token's
    /// rendered headers hold the name).
    pub claim_headers: Vec<(Rc<str>, String)>,
    /// Header that receives the base64url payload JSON.
    pub payload_header: Option<Rc<str>>,
    /// `(filter-state name, claim path)`, names prefixed with [`STATE_PREFIX`].
    pub filter_state: Vec<(String, String)>,
    /// Publish [`TOKEN_HASH_STATE`].
    pub token_hash: bool,
}

/// Prefix of every name jwt-gate publishes (Envoy files them as `wasm.<name>`).
pub const STATE_PREFIX: &str = "jwt_gate.";
/// Name of the published token hash (Envoy: `wasm.jwt_gate.token_sha256`).
pub const TOKEN_HASH_STATE: &str = "jwt_gate.token_sha256";
/// Longest filter-state name accepted (without the prefix).
const MAX_STATE_NAME: usize = 64;

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
            if out.claim_headers.iter().any(|(n, _)| **n == *lower) {
                return Err(ConfigError::new(
                    at,
                    "header named twice (names are case-insensitive)",
                ));
            }
            out.claim_headers.push((lower.into(), path.clone()));
        }
        if let Some(name) = payload_header {
            let lower =
                check_header_name(name).map_err(|m| ConfigError::new("payload_header", m))?;
            if out.claim_headers.iter().any(|(n, _)| **n == *lower) {
                return Err(ConfigError::new(
                    "payload_header",
                    "also used in claim_headers",
                ));
            }
            out.payload_header = Some(lower.into());
        }
        Ok(out)
    }

    /// Adds the values published for other filters: `filter_state` maps a name
    /// (letters, digits, `_`, `-`, `.`) to a claim path.
    pub fn with_filter_state(
        mut self,
        filter_state: &BTreeMap<String, String>,
        token_hash: bool,
    ) -> Result<Outputs, ConfigError> {
        for (name, path) in filter_state {
            let at = format!("filter_state.{name}");
            let valid = !name.is_empty()
                && name.len() <= MAX_STATE_NAME
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !valid {
                return Err(ConfigError::new(
                    at,
                    "invalid name: 1 to 64 letters, digits, '_', '-' or '.'",
                ));
            }
            if token_hash && format!("{STATE_PREFIX}{name}") == TOKEN_HASH_STATE {
                return Err(ConfigError::new(at, "name taken by publish_token_hash"));
            }
            claim_path::validate(path).map_err(|m| ConfigError::new(&at, m))?;
            self.filter_state
                .push((format!("{STATE_PREFIX}{name}"), path.clone()));
        }
        self.token_hash = token_hash;
        Ok(self)
    }

    /// Whether anything is published for other filters.
    #[must_use]
    pub fn publishes(&self) -> bool {
        self.token_hash || !self.filter_state.is_empty()
    }

    /// The filter-state values for a verified token: the claims as for headers (a value
    /// with control characters refuses the token, as for a header) and, if asked, the
    /// token hash. `token` is the credential exactly as presented.
    pub fn render_state(
        &self,
        claims: &Value,
        token: &str,
    ) -> Result<Vec<(String, String)>, AuthError> {
        let mut state = Vec::with_capacity(self.filter_state.len() + 1);
        for (name, path) in &self.filter_state {
            if let Some(value) = claim_path::lookup(claims, path).and_then(header_value) {
                if value.chars().any(char::is_control) {
                    return Err(AuthError::UnsafeClaimValue);
                }
                state.push((name.clone(), value.into_owned()));
            }
        }
        if self.token_hash {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes());
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            state.push((TOKEN_HASH_STATE.to_string(), hex));
        }
        Ok(state)
    }

    /// Every header name this provider writes.
    pub fn header_names(&self) -> impl Iterator<Item = &str> {
        self.claim_headers
            .iter()
            .map(|(n, _)| &**n)
            .chain(self.payload_header.as_deref())
    }

    /// The headers to add for a verified token. `payload_b64` is the token's payload
    /// segment: already the base64url (no padding) of the payload JSON as the issuer signed it.
    pub fn render(
        &self,
        claims: &Value,
        payload_b64: &str,
    ) -> Result<Vec<RenderedHeader>, AuthError> {
        let mut headers = Vec::with_capacity(self.claim_headers.len() + 1);
        for (name, path) in &self.claim_headers {
            if let Some(value) = claim_path::lookup(claims, path).and_then(header_value) {
                if value.chars().any(char::is_control) {
                    return Err(AuthError::UnsafeClaimValue);
                }
                headers.push((Rc::clone(name), Rc::from(&*value)));
            }
        }
        if let Some(name) = &self.payload_header {
            headers.push((Rc::clone(name), Rc::from(payload_b64)));
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
/// A string claim is borrowed (the caller copies it once, into its `Rc`).
fn header_value(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => Some(Cow::Owned(v.to_string())),
        Value::Array(items) if items.iter().all(is_scalar) => Some(Cow::Owned(
            items
                .iter()
                .filter_map(header_value)
                .collect::<Vec<_>>()
                .join(","),
        )),
        Value::Array(_) => Some(Cow::Owned(v.to_string())),
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

    fn with_state(pairs: &[(&str, &str)], hash: bool) -> Result<Outputs, ConfigError> {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Outputs::default().with_filter_state(&map, hash)
    }

    #[test]
    fn filter_state_publishes_claims_under_the_prefix_and_a_hash_never_the_token() {
        let o = with_state(&[("sub", "sub"), ("org.id", "org.id")], true).unwrap();
        assert!(o.publishes());
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
        let state = o
            .render_state(&json!({"sub": "alice", "org": {"id": 7}}), token)
            .unwrap();
        assert_eq!(state[0], ("jwt_gate.org.id".into(), "7".into()));
        assert_eq!(state[1], ("jwt_gate.sub".into(), "alice".into()));
        let (name, hash) = &state[2];
        assert_eq!(name, TOKEN_HASH_STATE);
        assert_eq!(hash.len(), 32);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!token.contains(hash.as_str()));
        let other = o.render_state(&json!({"sub": "alice"}), "x.y.z").unwrap();
        assert_ne!(
            other.last(),
            state.last(),
            "a different token, a different hash"
        );
        // Absent claims publish nothing; control characters refuse the token.
        assert_eq!(o.render_state(&json!({}), token).unwrap().len(), 1);
        assert_eq!(
            o.render_state(&json!({"sub": "a\r\nb"}), token),
            Err(AuthError::UnsafeClaimValue)
        );
        assert!(!with_state(&[], false).unwrap().publishes());
    }

    #[test]
    fn filter_state_names_are_checked() {
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(with_state(&[(bad, "sub")], false).is_err(), "{bad:?}");
        }
        assert!(with_state(&[("token_sha256", "sub")], true).is_err());
        assert!(with_state(&[("token_sha256", "sub")], false).is_ok());
        assert!(with_state(&[("sub", "a..b")], false).is_err());
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
