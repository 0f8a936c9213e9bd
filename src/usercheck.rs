//! The user-existence check (`user_check`): after a token verifies, ask a service
//! whether its subject still exists, and cache the answer in proxy-wasm shared data
//! (shared by every worker) with separate TTLs for positive and negative answers.
//! Plain data here; the glue makes the callout and touches shared data.
//!
//! Shared data has no delete and Envoy never frees a key, so a key per subject would
//! grow the proxy's memory with every subject ever seen. The cache is a fixed number of
//! slots per provider instead: a subject's answer lives in the slot its name hashes to,
//! and the entry names its subject, so a subject that shares a slot with another reads
//! a miss (and asks again), never the other's answer.

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
    /// Most subjects whose answers are cached at once (per provider, shared by every
    /// worker; default 16384, at most 1048576): the bound on the proxy memory the
    /// cache can take.
    pub cache_slots: Option<u32>,
    /// `deny` (503, the default) or `allow` when the service gives no usable answer.
    #[serde(default)]
    pub on_error: OnError,
}

/// `cache_slots` when not given: a few MiB of shared data at most.
pub const DEFAULT_CACHE_SLOTS: u32 = 16_384;
/// The largest `cache_slots`.
pub const MAX_CACHE_SLOTS: u32 = 1 << 20;

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
    /// Shared-data slots per provider (1 ..= [`MAX_CACHE_SLOTS`]).
    pub cache_slots: u32,
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
        let cache_slots = raw.cache_slots.unwrap_or(DEFAULT_CACHE_SLOTS);
        if !(1..=MAX_CACHE_SLOTS).contains(&cache_slots) {
            return Err(ConfigError::new(
                "cache_slots",
                format!("must be between 1 and {MAX_CACHE_SLOTS}"),
            ));
        }
        Ok(UserCheck {
            cluster: raw.cluster,
            authority: raw.authority,
            path: raw.path,
            timeout_ms,
            cache_ttl_s: raw.cache_ttl_s.unwrap_or(60),
            negative_ttl_s: raw.negative_ttl_s.unwrap_or(10),
            cache_slots,
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

    /// The cache entry for `sub`'s answer received at `now`; `None` = do not cache.
    /// `<1|0>:<expiry>:<sub>`: the subject last, so it may hold any character.
    #[must_use]
    pub fn cache_value(&self, status: UserStatus, sub: &str, now: u64) -> Option<String> {
        let (flag, ttl) = match status {
            UserStatus::Active => ('1', self.cache_ttl_s),
            UserStatus::Gone => ('0', self.negative_ttl_s),
            UserStatus::Unknown => return None,
        };
        (ttl > 0).then(|| format!("{flag}:{}:{sub}", now.saturating_add(ttl)))
    }

    /// Shared-data key of the slot that holds `sub`'s answer: per provider (two issuers
    /// may share a `sub`) and per service (another plugin's provider of the same name
    /// may ask another service; see [`crate::shared_key`]).
    #[must_use]
    pub fn cache_key(&self, provider: &str, sub: &str) -> String {
        crate::shared_key::user(
            provider,
            &self.cluster,
            &self.authority,
            &self.path,
            slot(sub, self.cache_slots),
        )
    }
}

/// The slot of `sub` among `slots`: FNV-1a, the same in every worker and VM (a keyed
/// hash would differ between VMs, which share the store). A subject comes from a
/// verified token, so who can choose colliding names can only make their own and
/// each other's checks ask again.
fn slot(sub: &str, slots: u32) -> u32 {
    let hash = sub.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // Fold the high half in: FNV's low bits alone spread short names less evenly.
    let folded = hash ^ (hash >> 32);
    u32::try_from(folded % u64::from(slots.max(1))).unwrap_or(0)
}

/// Reads `sub`'s cache entry; anything unreadable, expired or naming another subject
/// is a miss.
#[must_use]
pub fn cached(value: &[u8], sub: &str, now: u64) -> Option<UserStatus> {
    let text = std::str::from_utf8(value).ok()?;
    let (flag, rest) = text.split_once(':')?;
    let (expires, owner) = rest.split_once(':')?;
    if owner != sub || now >= expires.parse::<u64>().ok()? {
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

    fn raw(cache_slots: Option<u32>) -> RawUserCheck {
        RawUserCheck {
            cluster: "users".into(),
            authority: "users.internal".into(),
            path: "/internal/users/{sub}".into(),
            timeout_ms: None,
            cache_ttl_s: Some(60),
            negative_ttl_s: Some(5),
            cache_slots,
            on_error: OnError::Deny,
        }
    }

    fn check() -> UserCheck {
        UserCheck::compile(raw(None)).unwrap()
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
        let active = c.cache_value(UserStatus::Active, "ann", 100).unwrap();
        assert_eq!(
            cached(active.as_bytes(), "ann", 159),
            Some(UserStatus::Active)
        );
        assert_eq!(cached(active.as_bytes(), "ann", 160), None);
        let gone = c.cache_value(UserStatus::Gone, "ann", 100).unwrap();
        assert_eq!(cached(gone.as_bytes(), "ann", 104), Some(UserStatus::Gone));
        assert_eq!(cached(gone.as_bytes(), "ann", 105), None);
        assert_eq!(c.cache_value(UserStatus::Unknown, "ann", 100), None);
        assert_eq!(cached(b"garbage", "ann", 1), None);
        assert_eq!(cached(b"2:999:ann", "ann", 1), None);
        // The format before slots (no subject) never reads as an answer.
        assert_eq!(cached(b"1:999", "ann", 1), None);
    }

    #[test]
    fn an_entry_answers_only_for_the_subject_it_names() {
        let c = check();
        for sub in ["ann", "a:b", "", "ann ", "über", "x:1:y"] {
            let value = c.cache_value(UserStatus::Active, sub, 100).unwrap();
            assert_eq!(
                cached(value.as_bytes(), sub, 101),
                Some(UserStatus::Active),
                "{sub:?}"
            );
            for other in ["ann", "Ann", "ann:", "a", "b", "x", "1:y"] {
                if other != sub {
                    assert_eq!(
                        cached(value.as_bytes(), other, 101),
                        None,
                        "{sub:?} as {other:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn slots_bound_the_keys_and_spread_the_subjects() {
        let c = UserCheck::compile(raw(Some(64))).unwrap();
        let keys: std::collections::HashSet<String> = (0..10_000)
            .map(|i| c.cache_key("corp", &format!("user-{i}")))
            .collect();
        let prefix = crate::shared_key::user("corp", &c.cluster, &c.authority, &c.path, 0);
        let prefix = prefix.trim_end_matches('0');
        assert!(keys.iter().all(|k| k.starts_with(prefix)), "{keys:?}");
        // Every slot used, none outside 0..64: the store holds at most 64 keys.
        assert_eq!(keys.len(), 64, "{keys:?}");
        for i in 0..64 {
            assert!(keys.contains(&format!("{prefix}{i}")));
        }
        // Same subject, same slot; the provider keeps issuers apart.
        assert_eq!(c.cache_key("corp", "ann"), c.cache_key("corp", "ann"));
        assert_ne!(c.cache_key("corp", "ann"), c.cache_key("partner", "ann"));
        // Another service (another plugin's `corp`) answers for itself.
        let elsewhere = UserCheck::compile(RawUserCheck {
            path: "/v2/users/{sub}".into(),
            ..raw(Some(64))
        })
        .unwrap();
        assert_ne!(
            c.cache_key("corp", "ann"),
            elsewhere.cache_key("corp", "ann")
        );
        let one = UserCheck::compile(raw(Some(1))).unwrap();
        assert_eq!(one.cache_key("corp", "ann"), one.cache_key("corp", "bob"));
    }

    #[test]
    fn slot_counts_out_of_range_are_refused() {
        for bad in [0, MAX_CACHE_SLOTS + 1, u32::MAX] {
            let err = UserCheck::compile(raw(Some(bad))).unwrap_err();
            assert!(err.to_string().contains("cache_slots"), "{err}");
        }
        assert_eq!(check().cache_slots, DEFAULT_CACHE_SLOTS);
        assert!(UserCheck::compile(raw(Some(MAX_CACHE_SLOTS))).is_ok());
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(Some(204)), UserStatus::Active);
        assert_eq!(classify(Some(410)), UserStatus::Gone);
        assert_eq!(classify(Some(500)), UserStatus::Unknown);
        assert_eq!(classify(None), UserStatus::Unknown);
    }
}
