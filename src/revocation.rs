//! Token revocation (`revocation`, `deny_subjects`): a list of revoked `jti` and `sub`
//! values, fetched from a service, refreshed every `refresh_s`, kept last-good when a
//! refresh fails, and shared between workers through proxy-wasm shared data. Plain data
//! here; the glue (`root.rs`) makes the callouts and touches shared data.
//!
//! Until a provider's first list has loaded, its tokens are not refused for revocation
//! (only `deny_subjects` applies): the list is an extra deny list, and refusing every
//! token while the revocation service is unreachable would make it a hard dependency of
//! every request. `on_keys_unavailable` does not apply to it.

use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::remote::split_url;

/// Default callout timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Default refresh period.
pub const DEFAULT_REFRESH_S: u64 = 60;
/// Largest list body accepted.
pub const MAX_LIST_BYTES: usize = 1024 * 1024;
/// Most entries (`jti` and `sub` together) a list may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// Longest wait before retrying a failed fetch (shorter when `refresh_s` is).
pub const RETRY_S: u64 = 30;

/// `revocation` as written.
#[derive(Debug, Deserialize)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Revocation")
)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// Envoy cluster the revocation list is fetched through.
    pub cluster: String,
    /// Absolute http(s) URL of the list, a JSON object `{"jti": [...], "sub": [...]}` (`:authority` and `:path` of the callout).
    pub uri: String,
    /// Refresh period in seconds (default 60).
    pub refresh_s: Option<u64>,
    /// Callout timeout in milliseconds (default 5000).
    pub timeout_ms: Option<u64>,
}

/// Where and how often a provider's revocation list is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationSource {
    /// Envoy cluster the callout goes to.
    pub cluster: String,
    /// `:authority` of the callout.
    pub authority: String,
    /// `:path` of the callout.
    pub path: String,
    /// Callout timeout.
    pub timeout: Duration,
    /// Refresh period in seconds.
    pub refresh_s: u64,
}

impl RevocationSource {
    /// The shared-data name of the list from this source (see [`crate::shared_key`]).
    #[must_use]
    pub fn shared_key(&self) -> String {
        crate::shared_key::revocation(&self.cluster, &self.authority, &self.path)
    }

    /// Validates `raw`.
    pub fn compile(raw: RawRevocation) -> Result<RevocationSource, ConfigError> {
        if raw.cluster.is_empty() {
            return Err(ConfigError::new("cluster", "must not be empty"));
        }
        let (authority, path) = split_url(&raw.uri)
            .ok_or_else(|| ConfigError::new("uri", "must be an absolute http(s) URL"))?;
        let timeout_ms = raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(ConfigError::new("timeout_ms", "must be greater than 0"));
        }
        let refresh_s = raw.refresh_s.unwrap_or(DEFAULT_REFRESH_S);
        if refresh_s == 0 {
            return Err(ConfigError::new("refresh_s", "must be greater than 0"));
        }
        Ok(RevocationSource {
            cluster: raw.cluster,
            authority: authority.to_string(),
            path: path.to_string(),
            timeout: Duration::from_millis(timeout_ms),
            refresh_s,
        })
    }
}

/// A provider's compiled revocation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocation {
    /// The remote list, if any.
    pub remote: Option<RevocationSource>,
    /// Subjects always refused (`deny_subjects`).
    pub deny_subjects: HashSet<String>,
}

impl Revocation {
    /// Compiles `revocation` and `deny_subjects`.
    pub fn compile(
        raw: Option<RawRevocation>,
        deny_subjects: Option<Vec<String>>,
    ) -> Result<Revocation, ConfigError> {
        let remote = raw
            .map(|r| RevocationSource::compile(r).map_err(|e| e.under("revocation")))
            .transpose()?;
        let deny_subjects: HashSet<String> =
            deny_subjects.unwrap_or_default().into_iter().collect();
        if deny_subjects.contains("") {
            return Err(ConfigError::new(
                "deny_subjects",
                "must not contain an empty subject",
            ));
        }
        Ok(Revocation {
            remote,
            deny_subjects,
        })
    }

    /// Whether `sub` is in `deny_subjects`.
    #[must_use]
    pub fn denies_subject(&self, sub: Option<&str>) -> bool {
        !self.deny_subjects.is_empty() && sub.is_some_and(|s| self.deny_subjects.contains(s))
    }
}

/// Why a fetched list was refused (the last good list stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListError {
    /// No answer (timeout, reset, unknown cluster).
    NoAnswer,
    /// An HTTP status other than 200.
    BadStatus,
    /// Over `MAX_LIST_BYTES` or `MAX_ENTRIES`.
    TooLarge,
    /// Not `{"jti": [strings], "sub": [strings]}`.
    Invalid,
}

impl ListError {
    /// Log reason.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            ListError::NoAnswer => "no_answer",
            ListError::BadStatus => "bad_status",
            ListError::TooLarge => "too_large",
            ListError::Invalid => "invalid",
        }
    }
}

/// A parsed revocation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedList {
    jti: HashSet<String>,
    sub: HashSet<String>,
}

impl RevokedList {
    /// Parses `{"jti": [...], "sub": [...]}` (both optional; no other member).
    pub fn parse(body: &[u8]) -> Result<RevokedList, ListError> {
        if body.len() > MAX_LIST_BYTES {
            return Err(ListError::TooLarge);
        }
        let doc = crate::json::parse_strict(body, 4).map_err(|_| ListError::Invalid)?;
        let serde_json::Value::Object(map) = doc else {
            return Err(ListError::Invalid);
        };
        let mut list = RevokedList::default();
        let mut entries = 0usize;
        for (name, value) in map {
            let set = match name.as_str() {
                "jti" => &mut list.jti,
                "sub" => &mut list.sub,
                _ => return Err(ListError::Invalid),
            };
            let serde_json::Value::Array(items) = value else {
                return Err(ListError::Invalid);
            };
            entries = entries.saturating_add(items.len());
            if entries > MAX_ENTRIES {
                return Err(ListError::TooLarge);
            }
            for item in items {
                match item {
                    serde_json::Value::String(s) => {
                        set.insert(s);
                    }
                    _ => return Err(ListError::Invalid),
                }
            }
        }
        Ok(list)
    }

    /// Whether a token with this `jti` / `sub` is revoked.
    #[must_use]
    pub fn revokes(&self, jti: Option<&str>, sub: Option<&str>) -> bool {
        jti.is_some_and(|j| self.jti.contains(j)) || sub.is_some_and(|s| self.sub.contains(s))
    }

    /// Number of entries (`jti` + `sub`).
    #[must_use]
    pub fn len(&self) -> usize {
        self.jti.len().saturating_add(self.sub.len())
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The shared-data value: the fetch time (Unix seconds), a newline, the raw JSON.
#[must_use]
pub fn encode_shared(fetched_at: u64, body: &[u8]) -> Vec<u8> {
    let mut value = format!("{fetched_at}\n").into_bytes();
    value.extend_from_slice(body);
    value
}

/// Reads a shared-data value written by [`encode_shared`]: (fetch time, raw JSON).
#[must_use]
pub fn decode_shared(value: &[u8]) -> Option<(u64, &[u8])> {
    let newline = value.iter().position(|b| *b == b'\n')?;
    let (time, rest) = value.split_at(newline);
    let fetched_at = std::str::from_utf8(time).ok()?.parse().ok()?;
    Some((fetched_at, rest.get(1..)?))
}

/// One provider's list and its fetch schedule.
#[derive(Debug, Clone, Default)]
struct State {
    list: Option<Rc<RevokedList>>,
    /// When the list in use was fetched (by this worker or another).
    fetched_at: Option<u64>,
    /// When the next fetch is due.
    next_at: u64,
    in_flight: bool,
    failures: u32,
}

/// What to do for a due provider, after looking at the shared copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The shared copy is newer and fresh: it was adopted (entries count).
    Adopted(usize),
    /// Fetch it.
    Fetch,
}

/// Every provider's revocation list (indexed like `Config::providers`).
#[derive(Debug, Default)]
pub struct Revocations {
    states: Vec<Option<State>>,
}

impl Revocations {
    /// A store for providers whose `revocation` is `Some` in `remotes` (by index).
    #[must_use]
    pub fn new<'a>(remotes: impl Iterator<Item = Option<&'a RevocationSource>>) -> Self {
        Revocations {
            states: remotes.map(|r| r.map(|_| State::default())).collect(),
        }
    }

    /// Whether provider `index`'s current list revokes `jti` / `sub` (false before the
    /// first list loads: see the module comment).
    #[must_use]
    pub fn revokes(&self, index: usize, jti: Option<&str>, sub: Option<&str>) -> bool {
        self.states
            .get(index)
            .and_then(Option::as_ref)
            .and_then(|s| s.list.as_ref())
            .is_some_and(|l| l.revokes(jti, sub))
    }

    /// Providers whose fetch is due at `now` (and not in flight).
    #[must_use]
    pub fn due(&self, now: u64) -> Vec<usize> {
        self.states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                (!s.in_flight && now >= s.next_at).then_some(i)
            })
            .collect()
    }

    /// Looks at the shared copy (`shared`: the raw shared-data value) of a due provider:
    /// a copy newer than ours and younger than `refresh_s` is adopted instead of fetching.
    pub fn consider_shared(
        &mut self,
        index: usize,
        refresh_s: u64,
        shared: Option<&[u8]>,
        now: u64,
    ) -> Due {
        let Some(state) = self.states.get_mut(index).and_then(Option::as_mut) else {
            return Due::Fetch;
        };
        let Some((fetched_at, body)) = shared.and_then(decode_shared) else {
            return Due::Fetch;
        };
        let newer = state.fetched_at.is_none_or(|ours| fetched_at > ours);
        let fresh = now < fetched_at.saturating_add(refresh_s);
        if !(newer && fresh) {
            return Due::Fetch;
        }
        let Ok(list) = RevokedList::parse(body) else {
            return Due::Fetch;
        };
        let count = list.len();
        state.list = Some(Rc::new(list));
        state.fetched_at = Some(fetched_at);
        state.next_at = fetched_at.saturating_add(refresh_s);
        state.failures = 0;
        Due::Adopted(count)
    }

    /// Marks provider `index`'s fetch as started.
    pub fn started(&mut self, index: usize) {
        if let Some(state) = self.states.get_mut(index).and_then(Option::as_mut) {
            state.in_flight = true;
        }
    }

    /// Records a fetch's answer (`None`: no answer). On success returns the entry
    /// count; on failure the last good list stays and a retry is scheduled.
    pub fn finished(
        &mut self,
        index: usize,
        refresh_s: u64,
        now: u64,
        answer: Option<(u32, &[u8])>,
    ) -> Result<usize, ListError> {
        let Some(state) = self.states.get_mut(index).and_then(Option::as_mut) else {
            return Err(ListError::NoAnswer);
        };
        state.in_flight = false;
        let result = match answer {
            None => Err(ListError::NoAnswer),
            Some((200, body)) => RevokedList::parse(body),
            Some(_) => Err(ListError::BadStatus),
        };
        match result {
            Ok(list) => {
                let count = list.len();
                state.list = Some(Rc::new(list));
                state.fetched_at = Some(now);
                state.next_at = now.saturating_add(refresh_s);
                state.failures = 0;
                Ok(count)
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                state.next_at = now.saturating_add(refresh_s.min(RETRY_S));
                Err(e)
            }
        }
    }

    /// Entries in provider `index`'s current list (`None` before the first load).
    #[must_use]
    pub fn entries(&self, index: usize) -> Option<usize> {
        self.states
            .get(index)
            .and_then(Option::as_ref)?
            .list
            .as_ref()
            .map(|l| l.len())
    }

    /// Consecutive failed fetches of provider `index`.
    #[must_use]
    pub fn failures(&self, index: usize) -> u32 {
        self.states
            .get(index)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(refresh_s: u64) -> RevocationSource {
        RevocationSource::compile(RawRevocation {
            cluster: "rev".into(),
            uri: "https://rev.test/revoked.json".into(),
            refresh_s: Some(refresh_s),
            timeout_ms: None,
        })
        .unwrap()
    }

    #[test]
    fn compiles_a_source_and_rejects_bad_fields() {
        let s = source(60);
        assert_eq!(
            (s.authority.as_str(), s.path.as_str()),
            ("rev.test", "/revoked.json")
        );
        assert_eq!(s.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        let bad = |cluster: &str, uri: &str, refresh_s, timeout_ms| {
            RevocationSource::compile(RawRevocation {
                cluster: cluster.into(),
                uri: uri.into(),
                refresh_s,
                timeout_ms,
            })
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            bad("", "https://a/", None, None),
            "cluster: must not be empty"
        );
        assert_eq!(
            bad("c", "ftp://a/", None, None),
            "uri: must be an absolute http(s) URL"
        );
        assert_eq!(
            bad("c", "https://a/", Some(0), None),
            "refresh_s: must be greater than 0"
        );
        assert_eq!(
            bad("c", "https://a/", None, Some(0)),
            "timeout_ms: must be greater than 0"
        );
        assert_eq!(
            Revocation::compile(None, Some(vec![String::new()]))
                .unwrap_err()
                .to_string(),
            "deny_subjects: must not contain an empty subject"
        );
    }

    #[test]
    fn deny_subjects_refuse_listed_subjects_only() {
        let r = Revocation::compile(None, Some(vec!["bad".into()])).unwrap();
        assert!(r.denies_subject(Some("bad")));
        assert!(!r.denies_subject(Some("good")));
        assert!(!r.denies_subject(None));
    }

    #[test]
    fn parses_jti_and_sub_lists() {
        let l = RevokedList::parse(br#"{"jti": ["j1", "j2"], "sub": ["s1"]}"#).unwrap();
        assert_eq!(l.len(), 3);
        assert!(l.revokes(Some("j1"), None));
        assert!(l.revokes(Some("x"), Some("s1")));
        assert!(
            !l.revokes(Some("s1"), Some("j1")),
            "jti and sub are separate"
        );
        assert!(!l.revokes(None, None));
        assert!(RevokedList::parse(b"{}").unwrap().is_empty());
        assert_eq!(RevokedList::parse(br#"{"sub": []}"#).unwrap().len(), 0);
    }

    #[test]
    fn anything_else_is_refused() {
        for body in [
            &b"[]"[..],
            b"not json",
            br#"{"jti": "j1"}"#,
            br#"{"jti": [1]}"#,
            br#"{"jti": [], "other": []}"#,
            br#"{"jti": [["nested"]]}"#,
        ] {
            assert_eq!(
                RevokedList::parse(body),
                Err(ListError::Invalid),
                "{body:?}"
            );
        }
        let big = vec![b' '; MAX_LIST_BYTES + 1];
        assert_eq!(RevokedList::parse(&big), Err(ListError::TooLarge));
        let many: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("\"{i}\"")).collect();
        let body = format!(r#"{{"jti": [{}]}}"#, many.join(","));
        assert!(body.len() <= MAX_LIST_BYTES);
        assert_eq!(
            RevokedList::parse(body.as_bytes()),
            Err(ListError::TooLarge)
        );
    }

    #[test]
    fn shared_value_round_trips() {
        let v = encode_shared(1234, br#"{"jti": []}"#);
        assert_eq!(decode_shared(&v), Some((1234, &br#"{"jti": []}"#[..])));
        assert_eq!(decode_shared(b"no newline"), None);
        assert_eq!(decode_shared(b"x\n{}"), None);
    }

    fn store() -> Revocations {
        let s = source(60);
        Revocations::new([None, Some(&s)].into_iter())
    }

    #[test]
    fn schedule_fetch_refresh_and_keep_last_good() {
        let mut r = store();
        assert_eq!(r.due(0), vec![1], "due at once, only providers with a list");
        assert!(!r.revokes(1, Some("j1"), None), "nothing loaded: passes");
        r.started(1);
        assert!(r.due(10).is_empty(), "not while in flight");
        assert_eq!(
            r.finished(1, 60, 100, Some((200, br#"{"jti": ["j1"]}"#))),
            Ok(1)
        );
        assert!(r.revokes(1, Some("j1"), None));
        assert!(!r.revokes(0, Some("j1"), None));
        assert!(r.due(159).is_empty());
        assert_eq!(r.due(160), vec![1]);
        r.started(1);
        assert_eq!(
            r.finished(1, 60, 160, Some((500, b""))),
            Err(ListError::BadStatus)
        );
        assert!(
            r.revokes(1, Some("j1"), None),
            "a failed refresh keeps the list"
        );
        assert_eq!(r.entries(1), Some(1));
        assert_eq!(r.failures(1), 1);
        assert_eq!(r.due(189), Vec::<usize>::new());
        assert_eq!(
            r.due(160 + RETRY_S),
            vec![1],
            "retried sooner than refresh_s"
        );
        assert_eq!(r.finished(1, 60, 190, None), Err(ListError::NoAnswer));
        assert_eq!(
            r.finished(1, 60, 220, Some((200, br#"{"sub": ["s"]}"#))),
            Ok(1)
        );
        assert!(
            !r.revokes(1, Some("j1"), None),
            "the new list replaces the old"
        );
        assert!(r.revokes(1, None, Some("s")));
        assert_eq!(r.failures(1), 0);
    }

    #[test]
    fn a_newer_fresh_shared_copy_is_adopted_instead_of_fetching() {
        let mut r = store();
        assert_eq!(r.consider_shared(1, 60, None, 100), Due::Fetch);
        let copy = encode_shared(90, br#"{"jti": ["j1", "j2"]}"#);
        assert_eq!(r.consider_shared(1, 60, Some(&copy), 100), Due::Adopted(2));
        assert!(r.revokes(1, Some("j2"), None));
        assert!(
            r.due(149).is_empty(),
            "next due one refresh after the copy's fetch"
        );
        assert_eq!(r.due(150), vec![1]);
        // The same copy again is not newer: fetch.
        assert_eq!(r.consider_shared(1, 60, Some(&copy), 150), Due::Fetch);
        // A newer copy that is already stale: fetch.
        let old = encode_shared(95, br#"{"jti": []}"#);
        assert_eq!(r.consider_shared(1, 60, Some(&old), 155), Due::Fetch);
        // A corrupt copy: fetch, and the list stays.
        assert_eq!(
            r.consider_shared(1, 60, Some(b"150\nnot json"), 151),
            Due::Fetch
        );
        assert!(r.revokes(1, Some("j1"), None));
    }
}
