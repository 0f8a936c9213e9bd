//! The user-existence check (`user_check`): after a token verifies, ask a service
//! whether its subject still exists, and cache the answer in proxy-wasm shared data
//! (shared by every worker) with separate TTLs for positive and negative answers.
//! Plain data here; the glue makes the callout and touches shared data.

use serde::Deserialize;

use crate::config::ConfigError;

/// `user_check` as written.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "UserCheck")
)]
#[serde(deny_unknown_fields)]
pub struct RawUserCheck {
    /// Envoy cluster of the user service.
    pub cluster: String,
    /// `:authority` of the callout.
    pub authority: String,
    /// `:path` of the callout; `{sub}` is replaced by the percent-encoded subject.
    pub path: String,
    /// Callout timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Seconds an "active" answer is cached (shared by every worker).
    pub cache_ttl_s: Option<u64>,
    /// Seconds a "not found" answer is cached.
    pub negative_ttl_s: Option<u64>,
    /// `deny` (503, the default) or `allow` when the service gives no usable answer.
    #[serde(default)]
    pub on_error: OnError,
}

/// What an unusable answer (timeout, 5xx, …) means.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// 503: the check could not be made (the default: fail closed).
    #[default]
    Deny,
    /// Let the verified token through.
    Allow,
}

/// A compiled `user_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCheck {
    /// Envoy cluster of the user service.
    pub cluster: String,
    /// `:authority` of the callout.
    pub authority: String,
    /// Path template; `{sub}` is replaced by the percent-encoded subject.
    pub path: String,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Seconds an "active" answer is cached.
    pub cache_ttl_s: u64,
    /// Seconds a "not found" answer is cached.
    pub negative_ttl_s: u64,
    /// Policy for unusable answers.
    pub on_error: OnError,
}

/// What the user service said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// 2xx: the user exists and is enabled.
    Active,
    /// 404 / 410: the user is gone.
    Gone,
    /// Anything else, or no answer.
    Unknown,
}

impl UserCheck {
    /// Validates `raw`.
    pub fn compile(raw: RawUserCheck) -> Result<UserCheck, ConfigError> {
        if raw.cluster.is_empty() {
            return Err(ConfigError::new("cluster", "must not be empty"));
        }
        if raw.authority.is_empty()
            || raw
                .authority
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(ConfigError::new("authority", "must be a host[:port]"));
        }
        if !raw.path.starts_with('/')
            || !raw.path.contains("{sub}")
            || raw.path.chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                "path",
                "must start with / and contain {sub}",
            ));
        }
        let timeout_ms = raw.timeout_ms.unwrap_or(2_000);
        if timeout_ms == 0 {
            return Err(ConfigError::new("timeout_ms", "must be greater than 0"));
        }
        Ok(UserCheck {
            cluster: raw.cluster,
            authority: raw.authority,
            path: raw.path,
            timeout_ms,
            cache_ttl_s: raw.cache_ttl_s.unwrap_or(60),
            negative_ttl_s: raw.negative_ttl_s.unwrap_or(10),
            on_error: raw.on_error,
        })
    }

    /// The callout path for `sub` (percent-encoded: a subject can never add a path segment).
    #[must_use]
    pub fn path_for(&self, sub: &str) -> String {
        let mut encoded = String::with_capacity(sub.len());
        for b in sub.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        self.path.replace("{sub}", &encoded)
    }

    /// The cache entry for an answer received at `now`; `None` = do not cache.
    #[must_use]
    pub fn cache_value(&self, status: UserStatus, now: u64) -> Option<String> {
        let (flag, ttl) = match status {
            UserStatus::Active => ('1', self.cache_ttl_s),
            UserStatus::Gone => ('0', self.negative_ttl_s),
            UserStatus::Unknown => return None,
        };
        (ttl > 0).then(|| format!("{flag}:{}", now.saturating_add(ttl)))
    }
}

/// Shared-data key of a subject's cached answer (per provider: two issuers may share a `sub`).
#[must_use]
pub fn cache_key(provider: &str, sub: &str) -> String {
    format!("jwt-gate/user/{provider}/{sub}")
}

/// Reads a cache entry; anything unreadable or expired is a miss.
#[must_use]
pub fn cached(value: &[u8], now: u64) -> Option<UserStatus> {
    let text = std::str::from_utf8(value).ok()?;
    let (flag, expires) = text.split_once(':')?;
    if now >= expires.parse::<u64>().ok()? {
        return None;
    }
    match flag {
        "1" => Some(UserStatus::Active),
        "0" => Some(UserStatus::Gone),
        _ => None,
    }
}

/// Classifies an HTTP status (`None` = the callout failed).
#[must_use]
pub fn classify(status: Option<u32>) -> UserStatus {
    match status {
        Some(200..=299) => UserStatus::Active,
        Some(404 | 410) => UserStatus::Gone,
        _ => UserStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> UserCheck {
        UserCheck::compile(RawUserCheck {
            cluster: "users".into(),
            authority: "users.internal".into(),
            path: "/internal/users/{sub}".into(),
            timeout_ms: None,
            cache_ttl_s: Some(60),
            negative_ttl_s: Some(5),
            on_error: OnError::Deny,
        })
        .unwrap()
    }

    #[test]
    fn subject_cannot_escape_the_path() {
        assert_eq!(
            check().path_for("../admin?x=1"),
            "/internal/users/..%2Fadmin%3Fx%3D1"
        );
        assert_eq!(check().path_for("user-1"), "/internal/users/user-1");
    }

    #[test]
    fn cache_entries_expire_by_their_own_ttl() {
        let c = check();
        let active = c.cache_value(UserStatus::Active, 100).unwrap();
        assert_eq!(cached(active.as_bytes(), 159), Some(UserStatus::Active));
        assert_eq!(cached(active.as_bytes(), 160), None);
        let gone = c.cache_value(UserStatus::Gone, 100).unwrap();
        assert_eq!(cached(gone.as_bytes(), 104), Some(UserStatus::Gone));
        assert_eq!(cached(gone.as_bytes(), 105), None);
        assert_eq!(c.cache_value(UserStatus::Unknown, 100), None);
        assert_eq!(cached(b"garbage", 1), None);
        assert_eq!(cached(b"2:999", 1), None);
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(Some(204)), UserStatus::Active);
        assert_eq!(classify(Some(410)), UserStatus::Gone);
        assert_eq!(classify(Some(500)), UserStatus::Unknown);
        assert_eq!(classify(None), UserStatus::Unknown);
    }
}
