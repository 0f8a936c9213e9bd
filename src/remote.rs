//! Remote JWKS settings (`{"remote_jwks": {...}}`), validated at configure time.

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

/// Default callout timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Default refresh period.
pub const DEFAULT_REFRESH_S: u64 = 600;
/// Default minimum interval between kid-miss re-fetches.
pub const DEFAULT_MIN_REFETCH_S: u64 = 30;
/// Largest JWKS body accepted: a real key set is a few KiB.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// `remote_jwks` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRemoteJwks {
    pub cluster: String,
    pub uri: String,
    pub timeout_ms: Option<u64>,
    pub refresh_s: Option<u64>,
    pub min_refetch_s: Option<u64>,
}

/// Where and how often a provider's key set is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// Envoy cluster the callout goes to.
    pub cluster: String,
    /// `:authority` of the callout (from the URI).
    pub authority: String,
    /// `:path` of the callout (from the URI).
    pub path: String,
    /// Callout timeout; also bounds how long a request waits for the first key set.
    pub timeout: Duration,
    /// Refresh period (shortened by `Cache-Control: max-age`, never below `min_refetch_s`).
    pub refresh_s: u64,
    /// Minimum seconds between two fetches caused by unknown `kid`s.
    pub min_refetch_s: u64,
}

impl RemoteJwks {
    /// Validates `raw`.
    pub fn compile(raw: RawRemoteJwks) -> Result<RemoteJwks, ConfigError> {
        if raw.cluster.is_empty() {
            return Err(ConfigError::new("cluster", "must not be empty"));
        }
        let rest = raw
            .uri
            .strip_prefix("https://")
            .or_else(|| raw.uri.strip_prefix("http://"))
            .ok_or_else(|| ConfigError::new("uri", "must be an absolute http(s) URL"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || raw.uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(
                "uri",
                format!("invalid URL {:?}", raw.uri),
            ));
        }
        let path = if path.is_empty() { "/" } else { path };
        let timeout_ms = raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(ConfigError::new("timeout_ms", "must be greater than 0"));
        }
        let refresh_s = raw.refresh_s.unwrap_or(DEFAULT_REFRESH_S);
        let min_refetch_s = raw.min_refetch_s.unwrap_or(DEFAULT_MIN_REFETCH_S);
        if refresh_s == 0 {
            return Err(ConfigError::new("refresh_s", "must be greater than 0"));
        }
        Ok(RemoteJwks {
            cluster: raw.cluster,
            authority: authority.to_string(),
            path: path.to_string(),
            timeout: Duration::from_millis(timeout_ms),
            refresh_s,
            min_refetch_s,
        })
    }
}

/// Seconds from a `Cache-Control` header's `max-age`, if any.
#[must_use]
pub fn max_age(cache_control: &str) -> Option<u64> {
    cache_control.split(',').find_map(|d| {
        let (name, value) = d.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| value.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(uri: &str) -> RawRemoteJwks {
        RawRemoteJwks {
            cluster: "idp".into(),
            uri: uri.into(),
            timeout_ms: None,
            refresh_s: None,
            min_refetch_s: None,
        }
    }

    #[test]
    fn uri_splits_into_authority_and_path() {
        let r = RemoteJwks::compile(raw("https://idp.test:8443/realms/x/certs?a=1")).unwrap();
        assert_eq!(
            (r.authority.as_str(), r.path.as_str()),
            ("idp.test:8443", "/realms/x/certs?a=1")
        );
        assert_eq!(RemoteJwks::compile(raw("http://idp")).unwrap().path, "/");
        assert!(RemoteJwks::compile(raw("idp/certs")).is_err());
        assert!(RemoteJwks::compile(raw("https:///certs")).is_err());
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
