//! GLUE: the proxy-wasm `RootContext`. Compiles the plugin configuration, owns the
//! VM's shared state (key store, fetches in flight, paused requests, metric ids) and
//! drives the JWKS schedule from `on_tick`. Decisions live in the core modules.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use log::{debug, error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use crate::abi::{self, MetricKind};
use crate::config::{Config, Mode};
use crate::fast_hash::BuildWordHasher;
use crate::filter::{self, Filter, Resume};
use crate::gate::VerifiedCache;
use crate::keystore::{FetchError, KeyStore};
use crate::metrics::{self, Counter, Decision};
use crate::remote::MAX_JWKS_BYTES;
use crate::revocation::{self, Due, Revocations, MAX_LIST_BYTES};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// How often the root checks refreshes, stale fetches and paused requests.
const TICK: Duration = Duration::from_secs(1);

/// Counter ids by name, registered lazily (Envoy returns the same id for the same name).
///
/// Per-request counters are counted inside the VM and handed to the host at most once
/// a second (on the first request after a second has passed, and on every tick): a
/// host call costs about as much as the whole cache-hit path in V8, and two of them on
/// every request were a tenth of the filter's cost. Envoy's own stats flush every 5 s,
/// so a scrape sees at most a second's lag; events that are not per request (JWKS
/// fetches, gauges) still go to the host at once.
#[derive(Debug, Default)]
pub struct Metrics {
    // Looked up for the counters without a slot: the fast hash (names are ours, see
    // `fast_hash`).
    ids: RefCell<HashMap<String, u32, BuildWordHasher>>,
    /// Ids of the per-request counters by `Counter::slot`, resolved on first use.
    slots: [Cell<Option<u32>>; Counter::COUNT],
    /// Counts not yet handed to the host: (metric id, delta). A handful of distinct
    /// counters move in a second, so a linear scan beats a map.
    pending: RefCell<Vec<(u32, u64)>>,
    last_flush_ms: Cell<u64>,
}

/// Longest time a per-request count stays inside the VM.
const METRICS_FLUSH_MS: u64 = 1000;

impl Metrics {
    /// Adds one to counter `name` now; a host error only loses the count.
    pub fn increment(&self, name: &str) {
        if let Some(id) = self.id(name, MetricKind::Counter) {
            let _ = abi::increment_metric(id, 1);
        }
    }

    /// Adds one to counter `name` inside the VM (see the type's comment).
    pub fn count(&self, name: &str) {
        if let Some(id) = self.id(name, MetricKind::Counter) {
            self.add_pending(id);
        }
    }

    /// Adds one to a per-request counter inside the VM, as [`count`](Self::count) does
    /// with its name, without looking the name up again.
    pub fn count_fixed(&self, counter: Counter) {
        let Some(slot) = self.slots.get(counter.slot()) else {
            return;
        };
        let id = match slot.get() {
            Some(id) => id,
            None => {
                // Not cached on failure: the next request asks the host again, as
                // `count` would.
                let Some(id) = self.id(counter.metric(), MetricKind::Counter) else {
                    return;
                };
                slot.set(Some(id));
                id
            }
        };
        self.add_pending(id);
    }

    fn add_pending(&self, id: u32) {
        let mut pending = self.pending.borrow_mut();
        match pending.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => pending.push((id, 1)),
        }
    }

    /// Hands the pending counts to the host if the last hand-over is a second old.
    pub fn flush_if_due(&self, now_ms: u64) {
        if now_ms.saturating_sub(self.last_flush_ms.get()) >= METRICS_FLUSH_MS {
            self.flush(now_ms);
        }
    }

    /// Hands every pending count to the host.
    pub fn flush(&self, now_ms: u64) {
        self.last_flush_ms.set(now_ms);
        for (id, n) in self.pending.borrow_mut().drain(..) {
            let _ = abi::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Sets gauge `name`.
    pub fn set_gauge(&self, name: &str, value: u64) {
        if let Some(id) = self.id(name, MetricKind::Gauge) {
            let _ = abi::record_metric(id, value);
        }
    }

    fn id(&self, name: &str, kind: MetricKind) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = abi::define_metric(kind, name).ok()?;
        self.ids.borrow_mut().insert(name.to_string(), id);
        Some(id)
    }
}

/// What a paused request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// A provider's key set.
    Keys(usize),
    /// A user-check callout (its token).
    User(u32),
}

/// A request paused until a callout answers.
#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    /// The paused stream.
    pub context_id: u32,
    /// What it waits for.
    pub wait_for: WaitFor,
    /// When it stops waiting (ms since the epoch).
    pub deadline_ms: u64,
}

/// State shared by the root and every HTTP context of one configuration.
#[derive(Debug)]
pub struct Shared {
    /// The compiled configuration.
    pub config: Rc<Config>,
    /// Current key sets.
    pub keys: RefCell<KeyStore>,
    /// Key callouts in flight: token → (provider, deadline ms, a discovery document?).
    pub fetches: RefCell<HashMap<u32, (usize, u64, bool)>>,
    /// Paused requests.
    pub waiters: RefCell<Vec<Waiter>>,
    /// Verified tokens (cleared whenever a key set is replaced).
    pub cache: RefCell<VerifiedCache>,
    /// User-check callouts in flight: token → (provider, subject, deadline ms).
    pub user_calls: RefCell<HashMap<u32, (usize, String, u64)>>,
    /// Metric ids.
    pub metrics: Rc<Metrics>,
    /// Revocation lists (providers with `revocation`).
    pub revocations: RefCell<Revocations>,
    /// Revocation-list callouts in flight: token → (provider, deadline ms).
    pub revocation_fetches: RefCell<HashMap<u32, (usize, u64)>>,
    /// Whether this VM has had a request. Envoy also runs the plugin in a VM on its main
    /// thread, which never gets one but fetches key sets and lists like the workers'.
    /// Gauges are shared by every VM of the plugin (the last write wins), so until then
    /// the VM keeps its key-set and list state out of them: a main-thread VM whose first
    /// fetch failed wrote "unavailable" every second over a worker serving stale keys.
    serving: Cell<bool>,
}

/// Milliseconds since the epoch by the host clock, for schedules (0 if the host cannot
/// say: everything is then due). Decisions use [`clock_ms`], which refuses instead.
#[must_use]
pub fn now_ms() -> u64 {
    clock_ms().unwrap_or(0)
}

/// Milliseconds since the epoch by the host clock; `None` when the host cannot say.
#[must_use]
pub fn clock_ms() -> Option<u64> {
    abi::now_nanos().map(|nanos| nanos / 1_000_000)
}

impl Shared {
    /// Starts a JWKS fetch for `provider` (at the source its round is at) unless one is
    /// in flight. False if it could not start and the round is over (every source failed).
    pub fn start_fetch(&self, provider: usize) -> bool {
        let Some(call) = self.keys.borrow().next_call(&self.config, provider) else {
            return false;
        };
        let remote = &call.target;
        if self.keys.borrow().in_flight(provider) {
            return true;
        }
        let headers = [
            (":method", "GET"),
            (":path", remote.path.as_str()),
            (":authority", remote.authority.as_str()),
            ("accept", "application/json"),
        ];
        // Through the SDK: its dispatcher must register the token to route the answer
        // back (it panics on a status other than Ok/BadArgument/InternalFailure).
        match hostcalls::dispatch_http_call(
            &remote.cluster,
            headers.to_vec(),
            None,
            vec![],
            remote.timeout,
        ) {
            Ok(token) => {
                let timeout_ms = u64::try_from(remote.timeout.as_millis()).unwrap_or(u64::MAX);
                self.fetches.borrow_mut().insert(
                    token,
                    (
                        provider,
                        now_ms().saturating_add(timeout_ms),
                        call.discovery,
                    ),
                );
                self.keys.borrow_mut().started(provider);
                true
            }
            Err(status) => {
                warn!(
                    "jwt-gate: JWKS fetch for provider {} could not start: {status:?}",
                    self.provider_name(provider)
                );
                // A fallback may still start (then the round goes on).
                !self.record(provider, call.discovery, None)
                    && self.keys.borrow().in_flight(provider)
            }
        }
    }

    /// Handles a callout answer if it is a JWKS or revocation-list fetch; returns false
    /// if the token is not ours.
    pub fn on_fetch_response(&self, token: u32, num_headers: usize, body_size: usize) -> bool {
        let revocation = self.revocation_fetches.borrow_mut().remove(&token);
        if let Some((provider, _)) = revocation {
            let answer = (num_headers > 0).then(|| {
                let status = abi::header_pairs(abi::Map::CalloutResponseHeaders)
                    .iter()
                    .find(|(n, _)| n == ":status")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                // One byte over the limit is enough to know it is too large.
                let body = abi::buffer(
                    abi::Buffer::CalloutResponseBody,
                    body_size.min(MAX_LIST_BYTES + 1),
                )
                .unwrap_or_default();
                (status, body)
            });
            self.revocation_finished(provider, answer.as_ref().map(|(s, b)| (*s, b.as_slice())));
            return true;
        }
        let Some((provider, _, discovery)) = self.fetches.borrow_mut().remove(&token) else {
            return false;
        };
        let answer = (num_headers > 0).then(|| {
            let headers = abi::header_pairs(abi::Map::CalloutResponseHeaders);
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let status = header(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
            let cache_control = header("cache-control");
            // One byte over the limit is enough to know it is too large.
            let body = abi::buffer(
                abi::Buffer::CalloutResponseBody,
                body_size.min(MAX_JWKS_BYTES + 1),
            )
            .unwrap_or_default();
            (status, cache_control, body)
        });
        let round_over = self.record(
            provider,
            discovery,
            answer
                .as_ref()
                .map(|(s, cc, b)| (*s, cc.as_deref(), b.as_slice())),
        );
        if round_over {
            self.wake(WaitFor::Keys(provider), Resume::KeysArrived);
        }
        true
    }

    /// Records a callout's answer (`discovery`: a discovery document, else a JWKS).
    /// True when the fetch round is over (paused requests may run).
    fn record(
        &self,
        provider: usize,
        discovery: bool,
        answer: Option<(u32, Option<&str>, &[u8])>,
    ) -> bool {
        if discovery {
            self.record_discovery(provider, answer.map(|(status, _, body)| (status, body)))
        } else {
            self.record_fetch(provider, answer)
        }
    }

    /// A discovery document: on success, fetch the JWKS it names at once.
    fn record_discovery(&self, provider: usize, answer: Option<(u32, &[u8])>) -> bool {
        let now = now_ms() / 1000;
        let from = self.source_name(provider);
        let result = self
            .keys
            .borrow_mut()
            .discovered(&self.config, provider, now, answer);
        match result {
            Ok(()) => {
                debug!(
                    "jwt-gate: provider {} discovery {from}: jwks_uri {}",
                    self.provider_name(provider),
                    self.source_name(provider)
                );
                !self.start_fetch(provider)
            }
            Err((e, unmapped)) => {
                if let Some(host) = unmapped {
                    error!(
                        "jwt-gate: provider {} discovery {from}: jwks_uri host {host:?} has no \
                         cluster in jwks_clusters; not fetched (logged once per host)",
                        self.provider_name(provider)
                    );
                }
                self.fetch_failed(provider, e, &from, now, e != FetchError::UnmappedHost)
            }
        }
    }

    /// Records a JWKS answer, applies the provider's policy and, after a failure with
    /// a fallback left, starts the fallback. True when the fetch round is over (paused
    /// requests may run), false while a fallback is being asked.
    fn record_fetch(&self, provider: usize, answer: Option<(u32, Option<&str>, &[u8])>) -> bool {
        let now = now_ms() / 1000;
        let name = self.provider_name(provider);
        let from = self.source_name(provider);
        let result = self
            .keys
            .borrow_mut()
            .finished(&self.config, provider, now, answer);
        let mut round_over = true;
        match result {
            Ok((count, skipped)) => {
                for w in skipped {
                    warn!("jwt-gate: provider {name} JWKS: {w}");
                }
                info!("jwt-gate: provider {name} JWKS loaded: {count} key(s) from {from}");
                self.metrics.increment("jwt_gate.jwks_fetches.ok");
                // A token verified with a key that just left the set must verify again.
                self.cache.borrow_mut().clear();
            }
            Err(e) => round_over = self.fetch_failed(provider, e, &from, now, true),
        }
        self.update_gauges(provider, now);
        round_over
    }

    /// After a failed callout (the key store has moved on): starts the fallback if the
    /// round goes on, else logs the outcome under the policy. `log`: false when the
    /// failure was already reported. True when the round is over.
    fn fetch_failed(
        &self,
        provider: usize,
        e: FetchError,
        from: &str,
        now: u64,
        log: bool,
    ) -> bool {
        let name = self.provider_name(provider);
        self.metrics
            .increment(&format!("jwt_gate.jwks_fetches.{}", e.label()));
        if self.keys.borrow().source(provider) > 0 {
            if log {
                let next = self.source_name(provider);
                warn!(
                    "jwt-gate: provider {name} JWKS fetch failed: {} from {from}; trying {next}",
                    e.label()
                );
            }
            return !self.start_fetch(provider);
        }
        let dropped = self.keys.borrow_mut().expire(&self.config, now);
        if log {
            let keys = self.keys.borrow();
            let kept = if dropped.contains(&provider) {
                "no usable key set: requests get 503 until a fetch succeeds"
            } else if keys.keys(provider).is_some() {
                "keeping the last good key set"
            } else {
                "no key set yet: requests get 503"
            };
            warn!(
                "jwt-gate: provider {name} JWKS fetch failed: {} ({kept}); \
                 failure {}, next attempt in {} s",
                e.label(),
                keys.failures(provider),
                keys.retry_in(provider, now)
            );
        }
        self.dropped(&dropped);
        self.update_gauges(provider, now);
        true
    }

    /// Logs providers whose keys just expired, and forgets tokens verified with them.
    fn dropped(&self, providers: &[usize]) {
        for provider in providers {
            warn!(
                "jwt-gate: provider {} keys expired under on_keys_unavailable: requests get 503 \
                 until a fetch succeeds",
                self.provider_name(*provider)
            );
        }
        if !providers.is_empty() {
            self.cache.borrow_mut().clear();
        }
    }

    /// Notes that this VM serves requests (see [`Shared::serving`]); on the first,
    /// publishes its key-set and list gauges at once instead of at the next tick.
    pub fn start_serving(&self) {
        if self.serving.replace(true) {
            return;
        }
        self.update_key_gauges(now_ms() / 1000);
        for provider in 0..self.config.providers.len() {
            self.revocation_gauge(provider);
        }
    }

    /// [`Shared::update_gauges`] for every provider with remote keys.
    fn update_key_gauges(&self, now: u64) {
        for (provider, p) in self.config.providers.iter().enumerate() {
            if p.remote().is_some() {
                self.update_gauges(provider, now);
            }
        }
    }

    /// Key-set age and state gauges of a remote provider (only from a VM that serves
    /// requests: [`Shared::serving`]).
    fn update_gauges(&self, provider: usize, now: u64) {
        if !self.serving.get() {
            return;
        }
        let name = self.provider_name(provider);
        let keys = self.keys.borrow();
        if let Some(age) = keys.age(provider, now) {
            self.metrics
                .set_gauge(&format!("jwt_gate.jwks_age_s.{name}"), age);
        }
        self.metrics.set_gauge(
            &format!("jwt_gate.jwks_state.{name}"),
            keys.state(provider, now).gauge(),
        );
    }

    /// `authority` + `path` of `provider`'s next callout (for logs).
    fn source_name(&self, provider: usize) -> String {
        self.keys
            .borrow()
            .next_call(&self.config, provider)
            .map_or_else(String::new, |c| {
                format!("{}{}", c.target.authority, c.target.path)
            })
    }

    /// For each provider whose revocation list is due: adopts a newer copy another
    /// worker left in shared data, else starts a fetch.
    fn refresh_revocations(&self, now_s: u64) {
        let due = self.revocations.borrow().due(now_s);
        for provider in due {
            let Some(source) = self.revocation_source(provider) else {
                continue;
            };
            let name = self.provider_name(provider);
            let shared = abi::shared_data_get(&source.shared_key());
            let decision = self.revocations.borrow_mut().consider_shared(
                provider,
                source.refresh_s,
                shared.as_deref(),
                now_s,
            );
            if let Due::Adopted(count) = decision {
                debug!(
                    "jwt-gate: provider {name} revocation list: {count} entries from shared data"
                );
                self.revocation_gauge(provider);
                continue;
            }
            let headers = [
                (":method", "GET"),
                (":path", source.path.as_str()),
                (":authority", source.authority.as_str()),
                ("accept", "application/json"),
            ];
            // Through the SDK, as `start_fetch`: its dispatcher must register the token.
            match hostcalls::dispatch_http_call(
                &source.cluster,
                headers.to_vec(),
                None,
                vec![],
                source.timeout,
            ) {
                Ok(token) => {
                    let timeout_ms = u64::try_from(source.timeout.as_millis()).unwrap_or(u64::MAX);
                    self.revocation_fetches
                        .borrow_mut()
                        .insert(token, (provider, now_ms().saturating_add(timeout_ms)));
                    self.revocations.borrow_mut().started(provider);
                }
                Err(status) => {
                    warn!("jwt-gate: provider {name} revocation fetch could not start: {status:?}");
                    self.revocation_finished(provider, None);
                }
            }
        }
    }

    /// Records a revocation-list answer: on success the list replaces the last one and
    /// goes to shared data; on failure the last good list stays.
    fn revocation_finished(&self, provider: usize, answer: Option<(u32, &[u8])>) {
        let Some(source) = self.revocation_source(provider) else {
            return;
        };
        let now = now_ms() / 1000;
        let name = self.provider_name(provider);
        let result =
            self.revocations
                .borrow_mut()
                .finished(provider, source.refresh_s, now, answer);
        match result {
            Ok(count) => {
                info!("jwt-gate: provider {name} revocation list loaded: {count} entries");
                self.metrics.increment("jwt_gate.revocation_fetches.ok");
                if let Some((_, body)) = answer {
                    let value = revocation::encode_shared(now, body);
                    let _ = abi::shared_data_set(&source.shared_key(), &value);
                }
            }
            Err(e) => {
                self.metrics.increment("jwt_gate.revocation_fetches.failed");
                let kept = if self.revocations.borrow().entries(provider).is_some() {
                    "keeping the last good list"
                } else {
                    "no list yet: tokens are not checked against it"
                };
                warn!(
                    "jwt-gate: provider {name} revocation fetch failed: {} ({kept}); failure {}",
                    e.label(),
                    self.revocations.borrow().failures(provider)
                );
            }
        }
        self.revocation_gauge(provider);
    }

    fn revocation_source(&self, provider: usize) -> Option<&revocation::RevocationSource> {
        self.config
            .providers
            .get(provider)?
            .revocation
            .remote
            .as_ref()
    }

    fn revocation_gauge(&self, provider: usize) {
        if !self.serving.get() {
            return; // see `Shared::serving`
        }
        if let Some(count) = self.revocations.borrow().entries(provider) {
            self.metrics.set_gauge(
                &format!(
                    "jwt_gate.revocation_entries.{}",
                    self.provider_name(provider)
                ),
                u64::try_from(count).unwrap_or(u64::MAX),
            );
        }
    }

    /// Re-runs the requests paused for `what`.
    pub fn wake(&self, what: WaitFor, why: Resume) {
        let woken: Vec<Waiter> = {
            let mut waiters = self.waiters.borrow_mut();
            let (now, keep): (Vec<Waiter>, Vec<Waiter>) =
                waiters.drain(..).partition(|w| w.wait_for == what);
            *waiters = keep;
            now
        };
        for w in woken {
            filter::resume(self, w.context_id, why);
        }
    }

    fn on_tick(&self) {
        let now = now_ms();
        self.metrics.flush(now);
        // A fetch whose answer never came (its stream died): count it as failed.
        let stale: Vec<(u32, usize, bool)> = self
            .fetches
            .borrow()
            .iter()
            .filter(|(_, (_, deadline, _))| now > deadline.saturating_add(1000))
            .map(|(t, (p, _, discovery))| (*t, *p, *discovery))
            .collect();
        for (token, provider, discovery) in stale {
            self.fetches.borrow_mut().remove(&token);
            if self.record(provider, discovery, None) {
                self.wake(WaitFor::Keys(provider), Resume::KeysArrived);
            }
        }
        let stale: Vec<(u32, usize)> = self
            .revocation_fetches
            .borrow()
            .iter()
            .filter(|(_, (_, deadline))| now > deadline.saturating_add(1000))
            .map(|(t, (p, _))| (*t, *p))
            .collect();
        for (token, provider) in stale {
            self.revocation_fetches.borrow_mut().remove(&token);
            self.revocation_finished(provider, None);
        }
        self.refresh_revocations(now / 1000);
        // A user check whose answer never came (its stream died): forget it so the
        // next request for that subject asks again.
        self.user_calls
            .borrow_mut()
            .retain(|_, (_, _, deadline)| now <= *deadline);
        let expired: Vec<Waiter> = {
            let mut waiters = self.waiters.borrow_mut();
            let (gone, keep): (Vec<Waiter>, Vec<Waiter>) =
                waiters.drain(..).partition(|w| now >= w.deadline_ms);
            *waiters = keep;
            gone
        };
        for w in expired {
            filter::resume(self, w.context_id, Resume::Expired);
        }
        let now_s = now / 1000;
        let due = self.keys.borrow().due(&self.config, now_s);
        for provider in due {
            self.start_fetch(provider);
        }
        // After starting due refreshes: keys being refreshed stay usable meanwhile.
        let dropped = self.keys.borrow_mut().expire(&self.config, now_s);
        self.dropped(&dropped);
        self.update_key_gauges(now_s);
    }

    fn provider_name(&self, provider: usize) -> &str {
        self.config
            .providers
            .get(provider)
            .map_or("?", |p| p.name.as_str())
    }
}

/// The root context of one plugin instance.
#[derive(Debug)]
pub struct Root {
    context_id: u32,
    shared: Option<Rc<Shared>>,
    metrics: Rc<Metrics>,
}

impl Root {
    /// A root context before configuration.
    #[must_use]
    pub fn new(context_id: u32) -> Self {
        Root {
            context_id,
            shared: None,
            metrics: Rc::new(Metrics::default()),
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if let Some(shared) = &self.shared {
            shared.on_fetch_response(token_id, num_headers, body_size);
        }
    }
}

impl RootContext for Root {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        // Follow the host's level so debug lines cost nothing unless asked for.
        if let Some(level) = abi::log_level() {
            abi::follow_log_level(level);
        }
        info!("#{} jwt-gate v{VERSION}: VM started", self.context_id);
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = abi::buffer(abi::Buffer::PluginConfiguration, usize::MAX).unwrap_or_default();
        let env = |name: &str| std::env::var(name).ok();
        let (config, warnings) = match Config::parse(&bytes, &env) {
            Ok(parsed) => parsed,
            Err(e) => {
                error!(
                    "#{} jwt-gate: invalid plugin configuration: {e}",
                    self.context_id
                );
                return false;
            }
        };
        for w in warnings {
            warn!("#{} jwt-gate config: {w}", self.context_id);
        }
        for d in Decision::ALL {
            let _ = self.metrics.id(d.metric(), MetricKind::Counter);
        }
        self.metrics.set_gauge(
            metrics::BYPASS_GAUGE,
            u64::from(config.mode == Mode::Bypass),
        );
        info!(
            "#{} jwt-gate configured: {} provider(s), mode {:?}",
            self.context_id,
            config.providers.len(),
            config.mode
        );
        for p in &config.providers {
            if let Some(remote) = p.remote() {
                self.metrics.set_gauge(
                    &format!("jwt_gate.jwks_policy.{}", p.name),
                    remote.policy.gauge(),
                );
            }
        }
        // Back-off jitter differs between workers and proxies: the clock's nanoseconds
        // at configuration and the context id.
        let seed = abi::now_nanos().map_or(0, |n| (n % 1_000_000_000) ^ (n / 1_000_000_000))
            ^ u64::from(self.context_id).rotate_left(40);
        let keys = KeyStore::new(&config, now_ms() / 1000).with_jitter_seed(seed);
        let cache_size = config.cache_size;
        let revocations = Revocations::new(
            config
                .providers
                .iter()
                .map(|p| p.revocation.remote.as_ref()),
        );
        self.shared = Some(Rc::new(Shared {
            config: Rc::new(config),
            keys: RefCell::new(keys),
            fetches: RefCell::new(HashMap::new()),
            waiters: RefCell::new(Vec::new()),
            user_calls: RefCell::new(HashMap::new()),
            cache: RefCell::new(VerifiedCache::new(cache_size)),
            metrics: Rc::clone(&self.metrics),
            revocations: RefCell::new(revocations),
            revocation_fetches: RefCell::new(HashMap::new()),
            serving: Cell::new(false),
        }));
        // Always: the tick also hands the VM's counts to the host (`Metrics`).
        let _ = abi::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.on_tick();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(match &self.shared {
            Some(shared) => {
                shared.start_serving();
                Box::new(Filter::new(context_id, Rc::clone(shared)))
            }
            // Never `None`: the SDK panics on it (see `filter::Unconfigured`).
            None => Box::new(filter::Unconfigured),
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
