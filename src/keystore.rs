//! Per-VM key sets: each provider's static keys plus the last good remote JWKS, and
//! the fetch schedule (start, refresh, rate-limited kid-miss re-fetch, keep-last-good).
//! Plain state driven by the glue with the clock as an argument.

use std::rc::Rc;

use crate::config::{Config, Provider};
use crate::keys::{parse_jwks_reusing, Key};
use crate::remote::{self, DiscoveryError, RemoteJwks, RemoteSet};

/// Why a fetch did not produce a key set (one metric label each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// Callout failed, timed out or was reset.
    Unreachable,
    /// Non-200 answer.
    Status,
    /// Body larger than the limit.
    TooLarge,
    /// Not JSON, not a JWK Set, or no usable key (or a discovery document without
    /// string `issuer` and http(s) `jwks_uri`).
    Invalid,
    /// A discovery document of another issuer.
    IssuerMismatch,
    /// A discovered `jwks_uri` on an authority no cluster is configured for.
    UnmappedHost,
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
            FetchError::IssuerMismatch => "issuer_mismatch",
            FetchError::UnmappedHost => "unmapped_host",
        }
    }
}

/// One provider's keys and schedule.
#[derive(Debug)]
struct Slot {
    static_keys: Vec<Key>,
    /// Static ∪ last good remote keys; `None` while a remote provider has never loaded
    /// or its keys expired under its [`remote::KeysPolicy`].
    keys: Option<Rc<Vec<Key>>>,
    in_flight: bool,
    loaded_at: Option<u64>,
    /// When the loaded keys should have been refreshed.
    fresh_until: u64,
    next_fetch_at: u64,
    last_kid_refetch_at: Option<u64>,
    /// Consecutive failed fetch rounds (every source failed): the back-off exponent.
    failures: u32,
    /// The source the current round is at (0 = primary; > 0 = failing over).
    source: usize,
    /// The JWKS a discovery source pointed at, for the rest of the current round.
    discovered: Option<RemoteJwks>,
    /// Unmapped `jwks_uri` authorities already reported (each is logged once).
    unmapped: Vec<String>,
}

/// The next callout of a provider's fetch round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Where to (cluster, `:authority`, `:path`, timeout).
    pub target: RemoteJwks,
    /// It fetches a discovery document (then [`KeyStore::discovered`] takes the answer).
    pub discovery: bool,
}

/// Whether a provider's keys can be used, for the `jwt_gate.jwks_state.<provider>` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Loaded and not yet due for refresh (or no remote keys at all).
    Fresh,
    /// Past their refresh time, still in use (a refresh under way, or the `stale` policy).
    Stale,
    /// Never loaded or expired: requests get 503.
    Unavailable,
}

impl KeyState {
    /// Gauge value: 0 fresh, 1 stale, 2 unavailable.
    #[must_use]
    pub const fn gauge(self) -> u64 {
        match self {
            KeyState::Fresh => 0,
            KeyState::Stale => 1,
            KeyState::Unavailable => 2,
        }
    }
}

/// Key sets of every provider of one configuration.
#[derive(Debug)]
pub struct KeyStore {
    slots: Vec<Slot>,
    /// Varies the back-off jitter between VMs (workers, proxies).
    seed: u64,
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
                fresh_until: now,
                next_fetch_at: now,
                last_kid_refetch_at: None,
                failures: 0,
                source: 0,
                discovered: None,
                unmapped: Vec::new(),
            })
            .collect();
        KeyStore { slots, seed: 0 }
    }

    /// Sets the seed of the back-off jitter (anything that differs between VMs).
    #[must_use]
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The keys to verify with; `None` = a remote key set that never loaded or expired.
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

    /// Whether a request that found no keys may wait on a fetch: one is under way, or
    /// one may start now (not backing off after failures).
    #[must_use]
    pub fn fetch_allowed(&self, provider: usize, now: u64) -> bool {
        self.slots
            .get(provider)
            .is_some_and(|s| s.in_flight || now >= s.next_fetch_at)
    }

    /// A token named a `kid` we do not have: allow one early fetch per `min_refetch_s`,
    /// none while backing off after failures. Returns true when the caller should start
    /// a fetch (none in flight, not rate-limited).
    pub fn kid_miss(&mut self, config: &Config, provider: usize, now: u64) -> bool {
        let (Some(remote), Some(slot)) =
            (remote_of(config, provider), self.slots.get_mut(provider))
        else {
            return false;
        };
        if slot.failures > 0 && now < slot.next_fetch_at {
            return false;
        }
        if slot
            .last_kid_refetch_at
            .is_some_and(|t| now < t.saturating_add(remote.min_refetch_s()))
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

    /// The source the next fetch of `provider` goes to (0 = primary). After a failed
    /// answer, a value above 0 means: fail over to that source now.
    #[must_use]
    pub fn source(&self, provider: usize) -> usize {
        self.slots.get(provider).map_or(0, |s| s.source)
    }

    /// Consecutive failed fetch rounds of `provider`.
    #[must_use]
    pub fn failures(&self, provider: usize) -> u32 {
        self.slots.get(provider).map_or(0, |s| s.failures)
    }

    /// Seconds until the next fetch of `provider` may start.
    #[must_use]
    pub fn retry_in(&self, provider: usize, now: u64) -> u64 {
        self.slots
            .get(provider)
            .map_or(0, |s| s.next_fetch_at.saturating_sub(now))
    }

    /// What the next fetch of `provider` asks: the current source's JWKS, or for a
    /// discovery source its document, then the JWKS it names.
    #[must_use]
    pub fn next_call(&self, config: &Config, provider: usize) -> Option<Call> {
        let slot = self.slots.get(provider)?;
        let source = remote_of(config, provider)?.source(slot.source)?;
        Some(match (&source.discovery, &slot.discovered) {
            (Some(_), Some(jwks)) => Call {
                target: jwks.clone(),
                discovery: false,
            },
            (discovery, _) => Call {
                target: source.clone(),
                discovery: discovery.is_some(),
            },
        })
    }

    /// Records a discovery document answer (`None` = callout failed). Success points the
    /// round's next fetch at the discovered JWKS (due at once); a failure counts as the
    /// source failing (fail over or back off, as in [`KeyStore::finished`]). The `String`
    /// of [`DiscoveryError::UnmappedHost`] is returned the first time only (log once).
    pub fn discovered(
        &mut self,
        config: &Config,
        provider: usize,
        now: u64,
        answer: Option<(u32, &[u8])>,
    ) -> Result<(), (FetchError, Option<String>)> {
        let seed = self.seed;
        let (Some(p), Some(slot)) = (config.providers.get(provider), self.slots.get_mut(provider))
        else {
            return Err((FetchError::Invalid, None));
        };
        let Some(remote) = p.remote() else {
            return Err((FetchError::Invalid, None));
        };
        slot.in_flight = false;
        let result = match (answer, remote.source(slot.source)) {
            (None, _) => Err((FetchError::Unreachable, None)),
            (Some((status, _)), _) if status != 200 => Err((FetchError::Status, None)),
            (Some((_, body)), _) if body.len() > remote::MAX_JWKS_BYTES => {
                Err((FetchError::TooLarge, None))
            }
            (Some((_, body)), Some(source)) => {
                match (source.discovery.as_ref(), p.policy.issuer.as_deref()) {
                    // The compiler guarantees both for a discovery source.
                    (None, _) | (_, None) => Err((FetchError::Invalid, None)),
                    (Some(clusters), Some(issuer)) => {
                        remote::discover(source, clusters, issuer, body).map_err(|e| match e {
                            DiscoveryError::Invalid => (FetchError::Invalid, None),
                            DiscoveryError::IssuerMismatch => (FetchError::IssuerMismatch, None),
                            DiscoveryError::UnmappedHost(host) => {
                                let first = !slot.unmapped.contains(&host);
                                if first {
                                    slot.unmapped.push(host.clone());
                                }
                                (FetchError::UnmappedHost, first.then_some(host))
                            }
                        })
                    }
                }
            }
            (Some(_), None) => Err((FetchError::Invalid, None)),
        };
        match result {
            Ok(jwks) => {
                slot.discovered = Some(jwks);
                slot.next_fetch_at = now;
                Ok(())
            }
            Err(e) => {
                failed(slot, remote, seed, provider, now);
                Err(e)
            }
        }
    }

    /// Marks a fetch as started.
    pub fn started(&mut self, provider: usize) {
        if let Some(slot) = self.slots.get_mut(provider) {
            slot.in_flight = true;
        }
    }

    /// Records a fetch answer (`None` = callout failed). Success replaces the key set
    /// (merged with the static keys by `kid`). A failure keeps the set here (the policy
    /// applies in [`KeyStore::expire`]) and either fails over to the next source at once
    /// ([`KeyStore::source`] > 0) or, when every source failed, backs off exponentially
    /// with jitter. Returns the number of keys loaded and the warnings about skipped keys.
    pub fn finished(
        &mut self,
        config: &Config,
        provider: usize,
        now: u64,
        answer: Option<(u32, Option<&str>, &[u8])>,
    ) -> Result<(usize, Vec<String>), FetchError> {
        let seed = self.seed;
        let (Some(p), Some(slot)) = (config.providers.get(provider), self.slots.get_mut(provider))
        else {
            return Err(FetchError::Invalid);
        };
        let Some(remote) = p.remote() else {
            return Err(FetchError::Invalid);
        };
        slot.in_flight = false;
        // The keys in use lend their built material to the same keys in the new set.
        let previous = slot.keys.as_deref().map_or(&[][..], Vec::as_slice);
        match parse_answer(p, answer, previous) {
            Ok((fetched, mut warnings)) => {
                let all = merge_by_kid(&slot.static_keys, fetched, &mut warnings);
                let count = all.len().saturating_sub(slot.static_keys.len());
                slot.keys = Some(Rc::new(all));
                slot.loaded_at = Some(now);
                slot.failures = 0;
                slot.source = 0;
                slot.discovered = None;
                let cache_control = answer.and_then(|(_, cc, _)| cc).and_then(remote::max_age);
                // `max-age` only shortens the period, never below `min_refetch_s`. Not
                // `clamp`: it panics when `min_refetch_s > refresh_s`, a valid config.
                let period = cache_control.map_or(remote.refresh_s(), |age| {
                    age.max(remote.min_refetch_s().max(1))
                        .min(remote.refresh_s())
                });
                slot.fresh_until = now.saturating_add(period);
                slot.next_fetch_at = slot.fresh_until;
                Ok((count, warnings))
            }
            Err(e) => {
                failed(slot, remote, seed, provider, now);
                Err(e)
            }
        }
    }

    /// Applies each provider's [`remote::KeysPolicy`] at `now`: keys past their refresh time by
    /// more than the policy's grace, with no fetch round under way, are dropped (requests
    /// then get 503). Returns the providers whose keys were just dropped.
    pub fn expire(&mut self, config: &Config, now: u64) -> Vec<usize> {
        let mut dropped = Vec::new();
        for (i, (p, slot)) in config.providers.iter().zip(&mut self.slots).enumerate() {
            let Some(remote) = p.remote() else {
                continue;
            };
            let usable_until = slot.fresh_until.saturating_add(remote.policy.grace_s());
            if slot.keys.is_some() && !slot.in_flight && slot.source == 0 && now >= usable_until {
                slot.keys = None;
                dropped.push(i);
            }
        }
        dropped
    }

    /// Whether `provider`'s keys are fresh, stale or unavailable at `now`.
    #[must_use]
    pub fn state(&self, provider: usize, now: u64) -> KeyState {
        match self.slots.get(provider) {
            Some(s) if s.keys.is_some() && s.loaded_at.is_some() && now >= s.fresh_until => {
                KeyState::Stale
            }
            Some(s) if s.keys.is_some() => KeyState::Fresh,
            _ => KeyState::Unavailable,
        }
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

/// A source failed: fail over to the next one at once, or, after the last, end the
/// round and back off.
fn failed(slot: &mut Slot, remote: &RemoteSet, seed: u64, provider: usize, now: u64) {
    slot.discovered = None;
    if slot.source.saturating_add(1) < remote.len() {
        slot.source = slot.source.saturating_add(1);
        slot.next_fetch_at = now;
    } else {
        slot.source = 0;
        slot.failures = slot.failures.saturating_add(1);
        let lane = u64::try_from(provider).unwrap_or(0) << 32;
        let jitter = mix(seed ^ lane ^ u64::from(slot.failures));
        let delay = remote.backoff_s(slot.failures, jitter);
        slot.next_fetch_at = now.saturating_add(delay);
    }
}

/// The static keys, then each fetched key whose `kid` no static key has (the operator's
/// pinned key wins; the shadowed one is reported). Keys without `kid` are all kept.
fn merge_by_kid(static_keys: &[Key], fetched: Vec<Key>, warnings: &mut Vec<String>) -> Vec<Key> {
    let mut all = static_keys.to_vec();
    for key in fetched {
        match key.kid() {
            Some(kid) if static_keys.iter().any(|s| s.kid() == Some(kid)) => {
                warnings.push(format!(
                    "key {kid:?} skipped: a static key of the provider has the same kid"
                ));
            }
            _ => all.push(key),
        }
    }
    all
}

/// SplitMix64: spreads a seed into a well-mixed jitter value.
const fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn remote_of(config: &Config, provider: usize) -> Option<&RemoteSet> {
    config.providers.get(provider)?.remote()
}

fn parse_answer(
    p: &Provider,
    answer: Option<(u32, Option<&str>, &[u8])>,
    previous: &[Key],
) -> Result<(Vec<Key>, Vec<String>), FetchError> {
    let (status, _, body) = answer.ok_or(FetchError::Unreachable)?;
    if status != 200 {
        return Err(FetchError::Status);
    }
    if body.len() > remote::MAX_JWKS_BYTES {
        return Err(FetchError::TooLarge);
    }
    let doc = crate::json::parse_strict(body, 16).map_err(|_| FetchError::Invalid)?;
    let outcome = parse_jwks_reusing(
        &doc,
        p.jws().map_or(&[][..], |j| j.algorithms.as_slice()),
        false,
        previous,
    )
    .map_err(|_| FetchError::Invalid)?;
    if outcome.keys.is_empty() {
        return Err(FetchError::Invalid);
    }
    Ok((outcome.keys, outcome.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const JWKS: &[u8] = br#"{"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256",
        "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}"#;

    fn config(extra: &str, keys: &str) -> Config {
        let json = format!(
            r#"{{"providers": {{"idp": {{"issuer": "https://idp.test", "algorithms": ["HS256"],
                "audiences": ["api"], "keys": [{keys}] {extra}}}}}}}"#
        );
        Config::parse(json.as_bytes(), &|_| None).unwrap().0
    }

    fn remote(uri: &str, schedule: &str) -> String {
        format!(r#"{{"remote_jwks": {{"cluster": "idp", "uri": "{uri}" {schedule}}}}}"#)
    }

    fn one(extra: &str) -> Config {
        config(
            extra,
            &remote(
                "https://a.test/jwks",
                r#", "refresh_s": 600, "min_refetch_s": 30"#,
            ),
        )
    }

    fn ok() -> Option<(u32, Option<&'static str>, &'static [u8])> {
        Some((200, None, JWKS))
    }

    fn load(store: &mut KeyStore, config: &Config, now: u64) {
        store.started(0);
        store.finished(config, 0, now, ok()).unwrap();
    }

    fn fail(store: &mut KeyStore, config: &Config, now: u64) -> FetchError {
        store.started(0);
        store
            .finished(config, 0, now, Some((503, None, b"")))
            .unwrap_err()
    }

    #[test]
    fn a_refresh_reuses_the_built_material_of_keys_still_in_the_set() {
        let json = format!(
            r#"{{"providers": {{"idp": {{"issuer": "https://idp.test", "algorithms": ["ES256"],
                "audiences": ["api"], "keys": [{}]}}}}}}"#,
            remote("https://a.test/jwks", "")
        );
        let c = Config::parse(json.as_bytes(), &|_| None).unwrap().0;
        let point = <p256::PublicKey as p256::pkcs8::DecodePublicKey>::from_public_key_pem(
            crate::testing::EC256_PUB,
        )
        .unwrap();
        let sec1 = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&point, false);
        let jwks = format!(
            r#"{{"keys": [{{"kty": "EC", "crv": "P-256", "kid": "e1", "x": "{}", "y": "{}"}}]}}"#,
            crate::b64::encode_url(sec1.x().unwrap()),
            crate::b64::encode_url(sec1.y().unwrap())
        );
        let answer = Some((200, None, jwks.as_bytes()));
        let mut store = KeyStore::new(&c, NOW);
        store.started(0);
        store.finished(&c, 0, NOW, answer).unwrap();
        let first = store.keys(0).unwrap();
        store.started(0);
        store.finished(&c, 0, NOW + 600, answer).unwrap();
        let second = store.keys(0).unwrap();
        assert!(!Rc::ptr_eq(&first, &second), "a new key set");
        assert!(second[0].shares_material_with(&first[0]), "the same tables");
    }

    #[test]
    fn deny_drops_the_keys_once_a_due_refresh_fails_not_before() {
        let c = one("");
        let mut store = KeyStore::new(&c, NOW);
        load(&mut store, &c, NOW);
        assert_eq!(store.state(0, NOW + 599), KeyState::Fresh);
        // A kid-miss re-fetch failing before the refresh time keeps the keys.
        fail(&mut store, &c, NOW + 100);
        assert!(store.expire(&c, NOW + 100).is_empty());
        assert!(store.keys(0).is_some());
        // At the refresh time the keys stay usable while the refresh is in flight…
        store.started(0);
        assert!(store.expire(&c, NOW + 600).is_empty());
        assert_eq!(store.state(0, NOW + 600), KeyState::Stale);
        // …and go when it fails.
        assert_eq!(
            store.finished(&c, 0, NOW + 601, None),
            Err(FetchError::Unreachable)
        );
        assert_eq!(store.expire(&c, NOW + 601), vec![0]);
        assert!(store.keys(0).is_none());
        assert_eq!(store.state(0, NOW + 601), KeyState::Unavailable);
        // A later success brings them back.
        load(&mut store, &c, NOW + 700);
        assert_eq!(store.state(0, NOW + 700), KeyState::Fresh);
    }

    #[test]
    fn stale_keeps_the_keys_until_stale_max_s_past_the_refresh_time() {
        let c = one(r#", "on_keys_unavailable": "stale", "stale_max_s": 3600"#);
        let mut store = KeyStore::new(&c, NOW);
        load(&mut store, &c, NOW);
        fail(&mut store, &c, NOW + 600);
        assert!(store.expire(&c, NOW + 600).is_empty());
        assert_eq!(store.state(0, NOW + 600), KeyState::Stale);
        assert!(store.expire(&c, NOW + 4199).is_empty());
        assert!(store.keys(0).is_some());
        assert_eq!(store.expire(&c, NOW + 4200), vec![0]);
        assert!(store.keys(0).is_none());
    }

    #[test]
    fn never_loaded_keys_are_unavailable_under_either_policy() {
        for extra in ["", r#", "on_keys_unavailable": "stale", "stale_max_s": 60"#] {
            let c = one(extra);
            let mut store = KeyStore::new(&c, NOW);
            fail(&mut store, &c, NOW);
            assert!(store.keys(0).is_none());
            assert_eq!(store.state(0, NOW), KeyState::Unavailable);
        }
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_capped_at_refresh_s() {
        let c = one("");
        for seed in 0..50 {
            let mut store = KeyStore::new(&c, NOW).with_jitter_seed(seed);
            let mut now = NOW;
            for (n, full) in [30u64, 60, 120, 240, 480, 600, 600].into_iter().enumerate() {
                fail(&mut store, &c, now);
                assert_eq!(store.failures(0), u32::try_from(n + 1).unwrap());
                let wait = store.retry_in(0, now);
                assert!((full / 2..=full).contains(&wait), "failure {n}: {wait}");
                // Requests neither start nor wait on a fetch while backing off.
                assert!(!store.fetch_allowed(0, now + wait - 1));
                assert!(!store.kid_miss(&c, 0, now + wait - 1));
                assert!(store.due(&c, now + wait - 1).is_empty());
                assert_eq!(store.due(&c, now + wait), vec![0]);
                now += wait;
            }
            load(&mut store, &c, now);
            assert_eq!(store.failures(0), 0, "a success resets the back-off");
        }
    }

    #[test]
    fn jitter_spreads_vms_apart() {
        let c = one("");
        let waits: std::collections::BTreeSet<u64> = (0..20)
            .map(|seed| {
                let mut store = KeyStore::new(&c, NOW).with_jitter_seed(seed);
                fail(&mut store, &c, NOW);
                store.retry_in(0, NOW)
            })
            .collect();
        assert!(waits.len() > 5, "{waits:?}");
    }

    fn two_sources(statics: &str) -> Config {
        config(
            "",
            &format!(
                "{statics}{}, {}",
                remote(
                    "https://a.test/jwks",
                    r#", "refresh_s": 600, "min_refetch_s": 30"#
                ),
                remote("https://b.test/jwks", r#", "timeout_ms": 1000"#)
            ),
        )
    }

    #[test]
    fn a_failed_source_fails_over_to_the_next_at_once_then_backs_off() {
        let c = two_sources("");
        let r = c.providers[0].remote().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.source(1).unwrap().authority, "b.test");
        assert_eq!(r.wait_timeout(), std::time::Duration::from_millis(6000));
        let mut store = KeyStore::new(&c, NOW);
        assert_eq!(store.source(0), 0);
        fail(&mut store, &c, NOW);
        assert_eq!(
            (store.source(0), store.failures(0)),
            (1, 0),
            "fallback next"
        );
        assert_eq!(store.due(&c, NOW), vec![0], "at once");
        fail(&mut store, &c, NOW);
        assert_eq!((store.source(0), store.failures(0)), (0, 1), "round over");
        assert!(store.due(&c, NOW).is_empty(), "backing off");
        // The fallback answers: loaded, and the next round starts at the primary again.
        let wait = store.retry_in(0, NOW);
        fail(&mut store, &c, NOW + wait);
        load(&mut store, &c, NOW + wait);
        assert_eq!((store.source(0), store.failures(0)), (0, 0));
        assert!(store.keys(0).is_some());
    }

    #[test]
    fn fetched_keys_merge_with_static_keys_by_kid_the_static_one_winning() {
        let statics = r#"{"secret": "static-secret-static-secret-0123", "kid": "k1"},
                         {"secret": "another-static-secret-0123456789", "kid": "s2"}, "#;
        let c = two_sources(statics);
        let mut store = KeyStore::new(&c, NOW);
        assert!(
            store.keys(0).is_none(),
            "static keys wait for the remote set"
        );
        store.started(0);
        let (count, warnings) = store
            .finished(
                &c,
                0,
                NOW,
                Some((
                    200,
                    None,
                    br#"{"keys": [
                    {"kty": "oct", "kid": "k1", "alg": "HS256", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"},
                    {"kty": "oct", "kid": "k3", "alg": "HS256", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}"#,
                )),
            )
            .unwrap();
        assert_eq!(count, 1);
        assert!(
            warnings.iter().any(|w| w.contains("\"k1\"")),
            "{warnings:?}"
        );
        let kids: Vec<_> = store
            .keys(0)
            .unwrap()
            .iter()
            .map(|k| k.kid().unwrap_or("").to_string())
            .collect();
        assert_eq!(kids, ["k1", "s2", "k3"]);
    }

    #[test]
    fn a_discovery_round_reads_the_document_then_the_jwks_it_names() {
        let c = config(
            "",
            r#"{"discovery": {"cluster": "idp", "uri": "https://idp.test/.well-known/openid-configuration",
                "jwks_clusters": {"keys.idp.test": "keys"}}}"#,
        );
        let mut store = KeyStore::new(&c, NOW);
        let call = store.next_call(&c, 0).unwrap();
        assert!(call.discovery);
        assert_eq!(call.target.path, "/.well-known/openid-configuration");
        store.started(0);
        let doc = br#"{"issuer": "https://idp.test", "jwks_uri": "https://keys.idp.test/certs"}"#;
        store.discovered(&c, 0, NOW, Some((200, doc))).unwrap();
        let call = store.next_call(&c, 0).unwrap();
        assert!(!call.discovery);
        assert_eq!(
            (call.target.cluster.as_str(), call.target.path.as_str()),
            ("keys", "/certs")
        );
        assert_eq!(store.due(&c, NOW), vec![0], "the JWKS at once");
        load(&mut store, &c, NOW);
        assert!(
            store.next_call(&c, 0).unwrap().discovery,
            "next round: the document"
        );
        // An unmapped host: reported the first time only, and the round fails.
        let elsewhere = br#"{"issuer": "https://idp.test", "jwks_uri": "https://x.test/certs"}"#;
        for first in [true, false] {
            store.started(0);
            let (e, report) = store
                .discovered(&c, 0, NOW + 700, Some((200, elsewhere)))
                .unwrap_err();
            assert_eq!(e, FetchError::UnmappedHost);
            assert_eq!(report.is_some(), first);
        }
        assert_eq!(store.failures(0), 2);
    }

    #[test]
    fn only_the_first_remote_jwks_sets_the_schedule() {
        let json = |second: &str| {
            format!(
                r#"{{"providers": {{"idp": {{"issuer": "https://idp.test", "algorithms": ["HS256"],
                    "audiences": ["api"], "keys": [{}, {second}]}}}}}}"#,
                remote("https://a.test/jwks", "")
            )
        };
        let err = Config::parse(
            json(&remote("https://b.test/jwks", r#", "refresh_s": 60"#)).as_bytes(),
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "providers.idp.keys[1].remote_jwks.refresh_s: applies only to the first"
            ),
            "{err}"
        );
        let err = Config::parse(json(&remote("b.test/jwks", "")).as_bytes(), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("providers.idp.keys[1].remote_jwks.uri"),
            "{err}"
        );
    }

    #[test]
    fn backoff_never_exceeds_refresh_s_nor_drops_below_one_second() {
        let c = config(
            "",
            &remote(
                "https://a.test/jwks",
                r#", "refresh_s": 5, "min_refetch_s": 0"#,
            ),
        );
        let r = c.providers[0].remote().unwrap();
        for failures in [0, 1, 2, 10, 64, u32::MAX] {
            for jitter in [0, 1, 2, 3, u64::MAX] {
                assert!((1..=5).contains(&r.backoff_s(failures, jitter)));
            }
        }
    }
}
