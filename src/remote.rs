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
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "RemoteJwks")
)]
#[serde(deny_unknown_fields)]
pub struct RawRemoteJwks {
    /// Envoy cluster the JWKS is fetched through.
    pub cluster: String,
    /// Absolute http(s) URL of the JWK Set (`:authority` and `:path` of the callout).
    pub uri: String,
    /// Callout timeout; also how long a request waits for the first key set (default 5000).
    pub timeout_ms: Option<u64>,
    /// Refresh period in seconds (default 600; `Cache-Control: max-age` may shorten it).
    pub refresh_s: Option<u64>,
    /// Minimum seconds between two fetches caused by unknown `kid`s (default 30).
    pub min_refetch_s: Option<u64>,
    /// `discovery` only: discovered `jwks_uri` authority (`host[:port]`) → Envoy cluster; default: the discovery URI's authority → `cluster`. Any other authority is refused.
    // A JSON value checked by the compiler: one more serde map type costs .wasm.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<std::collections::BTreeMap<String, String>>")
    )]
    pub jwks_clusters: Option<serde_json::Value>,
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
    /// Set for an OIDC discovery source: this is the discovery document, and the JWKS
    /// is at its `jwks_uri`, reached through the cluster this maps its authority to.
    pub discovery: Option<JwksClusters>,
}

/// Authority (lowercase `host[:port]`) → cluster, for discovered `jwks_uri`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksClusters(Vec<(String, String)>);

impl JwksClusters {
    /// The cluster `authority` is reached through; `None` = not configured (no fetch).
    #[must_use]
    pub fn cluster(&self, authority: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(authority))
            .map(|(_, c)| c.as_str())
    }
}

/// Compiles a `discovery` entry (the same fields as `remote_jwks`, plus
/// `jwks_clusters`; one serde type for both keeps the `.wasm` small).
pub fn compile_discovery(mut raw: RawRemoteJwks) -> Result<RemoteJwks, ConfigError> {
    let clusters = match raw.jwks_clusters.take() {
        None => None,
        Some(serde_json::Value::Object(map)) if map.is_empty() => {
            return Err(ConfigError::new("jwks_clusters", "must not be empty"))
        }
        Some(serde_json::Value::Object(map)) => {
            let mut list = Vec::with_capacity(map.len());
            for (authority, cluster) in map {
                let at = || format!("jwks_clusters.{authority}");
                if authority.is_empty()
                    || authority.contains(['/', '@', '?', '#'])
                    || authority
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(ConfigError::new(
                        at(),
                        "must be an authority (host or host:port)",
                    ));
                }
                match cluster {
                    serde_json::Value::String(c) if !c.is_empty() => {
                        list.push((authority.to_ascii_lowercase(), c));
                    }
                    _ => {
                        return Err(ConfigError::new(
                            at(),
                            "must be a cluster name (a non-empty string)",
                        ))
                    }
                }
            }
            Some(list)
        }
        Some(_) => {
            return Err(ConfigError::new(
                "jwks_clusters",
                "must be an object: authority → cluster",
            ))
        }
    };
    let mut source = RemoteJwks::compile(raw)?;
    let clusters = clusters.unwrap_or_else(|| {
        vec![(
            source.authority.to_ascii_lowercase(),
            source.cluster.clone(),
        )]
    });
    source.discovery = Some(JwksClusters(clusters));
    Ok(source)
}

/// Splits an absolute http(s) URL into authority and path (`/` when empty).
#[must_use]
pub fn split_url(uri: &str) -> Option<(&str, &str)> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty()
        || authority.contains('@')
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some((authority, if path.is_empty() { "/" } else { path }))
}

/// Why a discovery document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Not JSON, or no string `issuer` / `jwks_uri`, or `jwks_uri` not an http(s) URL.
    Invalid,
    /// Its `issuer` is not the provider's (OpenID Connect Discovery 1.0 §4.3).
    IssuerMismatch,
    /// `jwks_uri` names an authority no cluster is configured for.
    UnmappedHost(String),
}

/// Reads a discovery document: checks `issuer` against `issuer` and maps `jwks_uri` to
/// a cluster. Returns the JWKS source (with `from`'s timeout and schedule).
pub fn discover(
    from: &RemoteJwks,
    clusters: &JwksClusters,
    issuer: &str,
    body: &[u8],
) -> Result<RemoteJwks, DiscoveryError> {
    let doc = crate::json::parse_strict(body, 16).map_err(|_| DiscoveryError::Invalid)?;
    let field = |name: &str| doc.get(name).and_then(serde_json::Value::as_str);
    let (Some(found_issuer), Some(jwks_uri)) = (field("issuer"), field("jwks_uri")) else {
        return Err(DiscoveryError::Invalid);
    };
    if found_issuer != issuer {
        return Err(DiscoveryError::IssuerMismatch);
    }
    let (authority, path) = split_url(jwks_uri).ok_or(DiscoveryError::Invalid)?;
    let cluster = clusters
        .cluster(authority)
        .ok_or_else(|| DiscoveryError::UnmappedHost(authority.chars().take(256).collect()))?;
    Ok(RemoteJwks {
        cluster: cluster.to_string(),
        authority: authority.to_string(),
        path: path.to_string(),
        discovery: None,
        ..from.clone()
    })
}

impl RemoteJwks {
    /// Validates `raw`.
    pub fn compile(raw: RawRemoteJwks) -> Result<RemoteJwks, ConfigError> {
        if raw.jwks_clusters.is_some() {
            return Err(ConfigError::new(
                "jwks_clusters",
                "applies only to discovery",
            ));
        }
        if raw.cluster.is_empty() {
            return Err(ConfigError::new("cluster", "must not be empty"));
        }
        if !(raw.uri.starts_with("https://") || raw.uri.starts_with("http://")) {
            return Err(ConfigError::new("uri", "must be an absolute http(s) URL"));
        }
        let (authority, path) = split_url(&raw.uri)
            .ok_or_else(|| ConfigError::new("uri", format!("invalid URL {:?}", raw.uri)))?;
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
            discovery: None,
        })
    }
}

/// What requests get while a provider's remote keys are unavailable (never loaded, or
/// past their refresh time with the refresh failing).
// Read from a string by `KeysPolicy::compile` (a serde enum costs about 3 KB of
// .wasm); this type gives the JSON Schema its values.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OnKeysUnavailable {
    /// 503 with `Retry-After` as soon as a due refresh fails (the default).
    #[default]
    #[cfg_attr(feature = "schema", schemars(rename = "deny"))]
    Deny,
    /// Keep verifying with the last good keys up to `stale_max_s` past their refresh time.
    #[cfg_attr(feature = "schema", schemars(rename = "stale"))]
    Stale,
}

/// How long the last good keys stay usable past their refresh time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysPolicy {
    /// Not at all: a failed due refresh means 503 until a fetch succeeds.
    Deny,
    /// Up to `max_s` seconds.
    Stale {
        /// Seconds past the refresh time.
        max_s: u64,
    },
}

impl KeysPolicy {
    /// Compiles `on_keys_unavailable` and `stale_max_s` (paths relative to the provider).
    pub fn compile(
        on_unavailable: Option<&str>,
        stale_max_s: Option<u64>,
    ) -> Result<KeysPolicy, ConfigError> {
        let on_unavailable = match on_unavailable {
            None | Some("deny") => OnKeysUnavailable::Deny,
            Some("stale") => OnKeysUnavailable::Stale,
            Some(other) => {
                return Err(ConfigError::new(
                    "on_keys_unavailable",
                    format!("unknown value {other:?} (deny or stale)"),
                ))
            }
        };
        match (on_unavailable, stale_max_s) {
            (OnKeysUnavailable::Deny, None) => Ok(KeysPolicy::Deny),
            (OnKeysUnavailable::Deny, Some(_)) => Err(ConfigError::new(
                "stale_max_s",
                "applies only with \"on_keys_unavailable\": \"stale\"",
            )),
            (OnKeysUnavailable::Stale, None) => Err(ConfigError::new(
                "stale_max_s",
                "required with \"on_keys_unavailable\": \"stale\"",
            )),
            (OnKeysUnavailable::Stale, Some(0)) => {
                Err(ConfigError::new("stale_max_s", "must be greater than 0"))
            }
            (OnKeysUnavailable::Stale, Some(max_s)) => Ok(KeysPolicy::Stale { max_s }),
        }
    }

    /// Seconds the last good keys stay usable past their refresh time.
    #[must_use]
    pub const fn grace_s(self) -> u64 {
        match self {
            KeysPolicy::Deny => 0,
            KeysPolicy::Stale { max_s } => max_s,
        }
    }

    /// Metric value: 0 = `deny`, 1 = `stale`.
    #[must_use]
    pub const fn gauge(self) -> u64 {
        match self {
            KeysPolicy::Deny => 0,
            KeysPolicy::Stale { .. } => 1,
        }
    }
}

/// A provider's remote key set: its sources in failover order and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSet {
    /// Tried first at every fetch; its `refresh_s` and `min_refetch_s` set the schedule.
    pub primary: RemoteJwks,
    /// Tried in order when the previous source fails.
    pub fallbacks: Vec<RemoteJwks>,
    /// What happens when no source answers.
    pub policy: KeysPolicy,
}

impl RemoteSet {
    /// Source `index` (0 = primary).
    #[must_use]
    pub fn source(&self, index: usize) -> Option<&RemoteJwks> {
        match index.checked_sub(1) {
            None => Some(&self.primary),
            Some(i) => self.fallbacks.get(i),
        }
    }

    /// Number of sources.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fallbacks.len().saturating_add(1)
    }

    /// Never empty (there is always a primary).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Refresh period.
    #[must_use]
    pub fn refresh_s(&self) -> u64 {
        self.primary.refresh_s
    }

    /// Minimum seconds between kid-miss re-fetches; also the first back-off step.
    #[must_use]
    pub fn min_refetch_s(&self) -> u64 {
        self.primary.min_refetch_s
    }

    /// How long a request may wait for a fetch round: every source's timeout.
    #[must_use]
    pub fn wait_timeout(&self) -> Duration {
        self.fallbacks
            .iter()
            .fold(self.primary.timeout, |t, s| t.saturating_add(s.timeout))
    }

    /// Seconds to wait after `failures` consecutive failed rounds: `min_refetch_s`
    /// doubled per failure, capped at `refresh_s`, then jittered down by up to half
    /// (`jitter` is any random number), never under 1.
    #[must_use]
    pub fn backoff_s(&self, failures: u32, jitter: u64) -> u64 {
        let refresh_s = self.refresh_s().max(1);
        let base = self.min_refetch_s().clamp(1, refresh_s);
        let doublings = failures.saturating_sub(1).min(40);
        let full = base.saturating_mul(1u64 << doublings).min(refresh_s).max(1);
        let half = full / 2;
        full.saturating_sub(jitter % half.saturating_add(1)).max(1)
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
            jwks_clusters: None,
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

    fn parse(provider_extra: &str, keys: &str) -> Result<(), String> {
        let issuer = if provider_extra.contains("\"issuer\"") {
            ""
        } else {
            r#""issuer": "https://idp.test","#
        };
        let json = format!(
            r#"{{"providers": {{"idp": {{{issuer}
                "audiences": ["api"], "keys": [{keys}] {provider_extra}}}}}}}"#
        );
        crate::config::Config::parse(json.as_bytes(), &|_| None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    const REMOTE: &str = r#"{"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks"}}"#;

    #[test]
    fn on_keys_unavailable_is_checked_with_stale_max_s() {
        let table: &[(&str, Result<KeysPolicy, &str>)] = &[
            ("", Ok(KeysPolicy::Deny)),
            (r#", "on_keys_unavailable": "deny""#, Ok(KeysPolicy::Deny)),
            (
                r#", "on_keys_unavailable": "stale", "stale_max_s": 3600"#,
                Ok(KeysPolicy::Stale { max_s: 3600 }),
            ),
            (
                r#", "on_keys_unavailable": "stale""#,
                Err("providers.idp.stale_max_s: required with \"on_keys_unavailable\": \"stale\""),
            ),
            (
                r#", "on_keys_unavailable": "stale", "stale_max_s": 0"#,
                Err("providers.idp.stale_max_s: must be greater than 0"),
            ),
            (
                r#", "stale_max_s": 60"#,
                Err("providers.idp.stale_max_s: applies only with \"on_keys_unavailable\": \"stale\""),
            ),
            (
                r#", "on_keys_unavailable": "open""#,
                Err("providers.idp.on_keys_unavailable: unknown value \"open\" (deny or stale)"),
            ),
        ];
        for (extra, want) in table {
            let json = format!(
                r#"{{"providers": {{"idp": {{"issuer": "https://idp.test", "algorithms": ["RS256"],
                    "audiences": ["api"], "keys": [{REMOTE}] {extra}}}}}}}"#
            );
            let got = crate::config::Config::parse(json.as_bytes(), &|_| None);
            match (got, want) {
                (Ok((c, _)), Ok(policy)) => {
                    assert_eq!(c.providers[0].remote().unwrap().policy, *policy, "{extra}");
                }
                (Err(e), Err(message)) => assert!(e.to_string().contains(message), "{extra}: {e}"),
                (got, want) => panic!("{extra}: {:?} vs {want:?}", got.map(|_| ())),
            }
        }
    }

    #[test]
    fn policy_fields_need_a_remote_key_set() {
        let pem = r#"{"secret": "0123456789abcdef0123456789abcdef", "alg": "HS256"}"#;
        let err = parse(
            r#", "on_keys_unavailable": "stale", "stale_max_s": 5, "algorithms": ["HS256"]"#,
            pem,
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("applies only to a provider with remote_jwks")),
            "{err:?}"
        );
    }

    fn discovery(jwks_clusters: Option<&str>) -> RemoteJwks {
        let json = format!(
            r#"{{"cluster": "idp", "uri": "https://IdP.test/.well-known/openid-configuration",
                "timeout_ms": 700 {}}}"#,
            jwks_clusters.map_or(String::new(), |m| format!(", \"jwks_clusters\": {m}"))
        );
        compile_discovery(serde_json::from_str::<RawRemoteJwks>(&json).unwrap()).unwrap()
    }

    fn doc(issuer: &str, jwks_uri: &str) -> Vec<u8> {
        serde_json::json!({"issuer": issuer, "jwks_uri": jwks_uri, "id_token_signing_alg_values_supported": ["RS256"]})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn discovery_maps_the_jwks_uri_to_a_configured_cluster() {
        let d = discovery(None);
        let clusters = d.discovery.clone().unwrap();
        let jwks = discover(
            &d,
            &clusters,
            "https://idp.test",
            &doc("https://idp.test", "https://idp.test/certs"),
        )
        .unwrap();
        assert_eq!(
            (
                jwks.cluster.as_str(),
                jwks.authority.as_str(),
                jwks.path.as_str()
            ),
            ("idp", "idp.test", "/certs"),
            "default: the discovery URI's own authority, case-insensitively"
        );
        assert_eq!(jwks.timeout, Duration::from_millis(700));
        assert!(jwks.discovery.is_none());
        let d = discovery(Some(r#"{"keys.idp.test:8443": "idp-keys"}"#));
        let clusters = d.discovery.clone().unwrap();
        let jwks = discover(
            &d,
            &clusters,
            "https://idp.test",
            &doc("https://idp.test", "https://keys.idp.test:8443/k?x=1"),
        )
        .unwrap();
        assert_eq!(
            (jwks.cluster.as_str(), jwks.path.as_str()),
            ("idp-keys", "/k?x=1")
        );
    }

    #[test]
    fn discovery_refuses_another_issuer_an_unmapped_host_and_bad_documents() {
        let d = discovery(None);
        let c = d.discovery.clone().unwrap();
        let table: &[(&[u8], DiscoveryError)] = &[
            (&doc("https://evil.test", "https://idp.test/certs"), DiscoveryError::IssuerMismatch),
            (&doc("https://idp.test/", "https://idp.test/certs"), DiscoveryError::IssuerMismatch),
            (
                &doc("https://idp.test", "https://evil.test/certs"),
                DiscoveryError::UnmappedHost("evil.test".into()),
            ),
            (
                &doc("https://idp.test", "https://idp.test:444/certs"),
                DiscoveryError::UnmappedHost("idp.test:444".into()),
            ),
            (
                &doc("https://idp.test", "https://user@idp.test/certs"),
                DiscoveryError::Invalid,
            ),
            (&doc("https://idp.test", "/certs"), DiscoveryError::Invalid),
            (&doc("https://idp.test", "ftp://idp.test/certs"), DiscoveryError::Invalid),
            (br#"{"issuer": "https://idp.test"}"#, DiscoveryError::Invalid),
            (br#"{"issuer": "https://idp.test", "jwks_uri": 5}"#, DiscoveryError::Invalid),
            (b"<html>", DiscoveryError::Invalid),
            (
                br#"{"issuer": "https://idp.test", "issuer": "https://idp.test", "jwks_uri": "https://idp.test/c"}"#,
                DiscoveryError::Invalid,
            ),
        ];
        for (body, want) in table {
            assert_eq!(
                discover(&d, &c, "https://idp.test", body).as_ref().err(),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn discovery_config_is_checked() {
        let d = |extra: &str, keys_extra: &str| {
            parse(
                &format!(r#", "algorithms": ["RS256"] {extra}"#),
                &format!(
                    r#"{{"discovery": {{"cluster": "idp", "uri": "https://idp.test/.well-known/openid-configuration" {keys_extra}}}}}"#
                ),
            )
        };
        assert_eq!(d("", ""), Ok(()));
        let table = [
            (
                ", \"jwks_clusters\": {}",
                "jwks_clusters: must not be empty",
            ),
            (
                ", \"jwks_clusters\": {\"https://keys.test\": \"k\"}",
                "must be an authority (host or host:port)",
            ),
            (
                ", \"jwks_clusters\": {\"keys.test\": \"\"}",
                "must be a cluster name",
            ),
            (", \"cluster\": \"\"", "duplicate key"),
            (", \"jwks_uri\": \"x\"", "unknown field"),
        ];
        for (keys_extra, want) in table {
            let err = d("", keys_extra).unwrap_err();
            assert!(err.contains(want), "{keys_extra}: {err}");
        }
        let err = parse(
            r#", "algorithms": ["RS256"], "issuer": null"#,
            r#"{"discovery": {"cluster": "idp", "uri": "https://idp.test/.well-known/openid-configuration"}}"#,
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("required with discovery")),
            "{err:?}"
        );
        let err = parse(
            r#", "algorithms": ["RS256"]"#,
            r#"{"discovery": {"cluster": "idp", "uri": "https://idp.test/d"}, "kid": "x"}"#,
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("discovery takes no other field")),
            "{err:?}"
        );
        let err = parse(
            r#", "algorithms": ["RS256"]"#,
            r#"{"discovery": {"cluster": "idp", "uri": "https://idp.test/d"}, "remote_jwks": {"cluster": "idp", "uri": "https://idp.test/j"}}"#,
        );
        assert!(
            err.as_ref().is_err_and(|e| e.contains("exactly one of")),
            "{err:?}"
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }
}
