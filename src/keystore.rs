//! Per-VM key sets: each provider's static keys plus the last good remote JWKS, and
//! the fetch schedule (start, refresh, rate-limited kid-miss re-fetch, keep-last-good).
//! Plain state driven by the glue with the clock as an argument.

use std::rc::Rc;

use crate::config::{Config, Provider};
use crate::keys::{parse_jwks, Key};
use crate::remote::{self, RemoteJwks};

/// Why a fetch did not produce a key set (one metric label each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// Callout failed, timed out or was reset.
    Unreachable,
    /// Non-200 answer.
    Status,
    /// Body larger than the limit.
    TooLarge,
    /// Not JSON, not a JWK Set, or no usable key.
    Invalid,
}

impl FetchError {
    /// Metric label.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            FetchError::Unreachable => "unreachable",
            FetchError::Status => "bad_status",
            FetchError::TooLarge => "too_large",
            FetchError::Invalid => "invalid",
        }
    }
}

/// One provider's keys and schedule.
#[derive(Debug)]
struct Slot {
    static_keys: Vec<Key>,
    /// Static ∪ last good remote keys; `None` while a remote provider has never loaded.
    keys: Option<Rc<Vec<Key>>>,
    in_flight: bool,
    loaded_at: Option<u64>,
    next_fetch_at: u64,
    last_kid_refetch_at: Option<u64>,
}

/// Key sets of every provider of one configuration.
#[derive(Debug)]
pub struct KeyStore {
    slots: Vec<Slot>,
}

impl KeyStore {
    /// Static providers are ready at once; remote ones are due for a fetch now.
    #[must_use]
    pub fn new(config: &Config, now: u64) -> Self {
        let slots = config
            .providers
            .iter()
            .map(|p| Slot {
                static_keys: p.jws().map_or_else(Vec::new, |j| j.keys.clone()),
                keys: p
                    .remote()
                    .is_none()
                    .then(|| Rc::new(p.jws().map_or_else(Vec::new, |j| j.keys.clone()))),
                in_flight: false,
                loaded_at: None,
                next_fetch_at: now,
                last_kid_refetch_at: None,
            })
            .collect();
        KeyStore { slots }
    }

    /// The keys to verify with; `None` = a remote key set that never loaded.
    #[must_use]
    pub fn keys(&self, provider: usize) -> Option<Rc<Vec<Key>>> {
        self.slots.get(provider)?.keys.clone()
    }

    /// Providers whose fetch should start now (due, and none in flight).
    pub fn due(&self, config: &Config, now: u64) -> Vec<usize> {
        config
            .providers
            .iter()
            .zip(&self.slots)
            .enumerate()
            .filter(|(_, (p, s))| p.remote().is_some() && !s.in_flight && now >= s.next_fetch_at)
            .map(|(i, _)| i)
            .collect()
    }

    /// A token named a `kid` we do not have: allow one early fetch per `min_refetch_s`.
    /// Returns true when the caller should start a fetch (none in flight, not rate-limited).
    pub fn kid_miss(&mut self, config: &Config, provider: usize, now: u64) -> bool {
        let (Some(remote), Some(slot)) =
            (remote_of(config, provider), self.slots.get_mut(provider))
        else {
            return false;
        };
        if slot
            .last_kid_refetch_at
            .is_some_and(|t| now < t.saturating_add(remote.min_refetch_s))
        {
            return false;
        }
        slot.last_kid_refetch_at = Some(now);
        !slot.in_flight
    }

    /// Whether a fetch for `provider` is under way (requests may wait for it).
    #[must_use]
    pub fn in_flight(&self, provider: usize) -> bool {
        self.slots.get(provider).is_some_and(|s| s.in_flight)
    }

    /// Marks a fetch as started.
    pub fn started(&mut self, provider: usize) {
        if let Some(slot) = self.slots.get_mut(provider) {
            slot.in_flight = true;
        }
    }

    /// Records a fetch answer (`None` = callout failed). A failure keeps the last good
    /// set and retries sooner; success replaces the set. Returns the number of keys
    /// loaded and the warnings about skipped keys.
    pub fn finished(
        &mut self,
        config: &Config,
        provider: usize,
        now: u64,
        answer: Option<(u32, Option<&str>, &[u8])>,
    ) -> Result<(usize, Vec<String>), FetchError> {
        let (Some(p), Some(slot)) = (config.providers.get(provider), self.slots.get_mut(provider))
        else {
            return Err(FetchError::Invalid);
        };
        let Some(remote) = p.remote() else {
            return Err(FetchError::Invalid);
        };
        slot.in_flight = false;
        let result = parse_answer(p, answer);
        match &result {
            Ok((keys, _)) => {
                let mut all = slot.static_keys.clone();
                all.extend(keys.iter().cloned());
                slot.keys = Some(Rc::new(all));
                slot.loaded_at = Some(now);
                let cache_control = answer.and_then(|(_, cc, _)| cc).and_then(remote::max_age);
                let period = cache_control.map_or(remote.refresh_s, |age| {
                    age.clamp(remote.min_refetch_s.max(1), remote.refresh_s)
                });
                slot.next_fetch_at = now.saturating_add(period);
            }
            // Retry a failed fetch soon, but never faster than the kid-miss limit.
            Err(_) => {
                slot.next_fetch_at =
                    now.saturating_add(remote.min_refetch_s.clamp(1, remote.refresh_s))
            }
        }
        result.map(|(keys, warnings)| (keys.len(), warnings))
    }

    /// Seconds since the last successful fetch (for the key-set age gauge).
    #[must_use]
    pub fn age(&self, provider: usize, now: u64) -> Option<u64> {
        self.slots
            .get(provider)?
            .loaded_at
            .map(|t| now.saturating_sub(t))
    }
}

fn remote_of(config: &Config, provider: usize) -> Option<&RemoteJwks> {
    config.providers.get(provider)?.remote()
}

fn parse_answer(
    p: &Provider,
    answer: Option<(u32, Option<&str>, &[u8])>,
) -> Result<(Vec<Key>, Vec<String>), FetchError> {
    let (status, _, body) = answer.ok_or(FetchError::Unreachable)?;
    if status != 200 {
        return Err(FetchError::Status);
    }
    if body.len() > remote::MAX_JWKS_BYTES {
        return Err(FetchError::TooLarge);
    }
    let doc = crate::json::parse_strict(body, 16).map_err(|_| FetchError::Invalid)?;
    let outcome = parse_jwks(
        &doc,
        p.jws().map_or(&[][..], |j| j.algorithms.as_slice()),
        false,
    )
    .map_err(|_| FetchError::Invalid)?;
    if outcome.keys.is_empty() {
        return Err(FetchError::Invalid);
    }
    Ok((outcome.keys, outcome.skipped))
}
