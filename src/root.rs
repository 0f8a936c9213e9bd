//! GLUE: the proxy-wasm `RootContext`. Compiles the plugin configuration, owns the
//! VM's shared state (key store, fetches in flight, paused requests, metric ids) and
//! drives the JWKS schedule from `on_tick`. Decisions live in the core modules.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use log::{error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, MapType, MetricType};

use crate::gate::VerifiedCache;
use crate::config::{Config, Mode};
use crate::fast_hash::BuildWordHasher;
use crate::filter::{self, Filter, Resume};
use crate::keystore::KeyStore;
use crate::metrics::{self, Decision};
use crate::remote::MAX_JWKS_BYTES;

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
    // Looked up on every request: the fast hash (names are ours, see `fast_hash`).
    ids: RefCell<HashMap<String, u32, BuildWordHasher>>,
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
        if let Some(id) = self.id(name, MetricType::Counter) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    /// Adds one to counter `name` inside the VM (see the type's comment).
    pub fn count(&self, name: &str) {
        let Some(id) = self.id(name, MetricType::Counter) else {
            return;
        };
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
            let _ = hostcalls::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Sets gauge `name`.
    pub fn set_gauge(&self, name: &str, value: u64) {
        if let Some(id) = self.id(name, MetricType::Gauge) {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    fn id(&self, name: &str, kind: MetricType) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, name).ok()?;
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
    /// JWKS callouts in flight: token → (provider, deadline ms).
    pub fetches: RefCell<HashMap<u32, (usize, u64)>>,
    /// Paused requests.
    pub waiters: RefCell<Vec<Waiter>>,
    /// Verified tokens (cleared whenever a key set is replaced).
    pub cache: RefCell<VerifiedCache>,
    /// User-check callouts in flight: token → (provider, subject, deadline ms).
    pub user_calls: RefCell<HashMap<u32, (usize, String, u64)>>,
    /// Metric ids.
    pub metrics: Rc<Metrics>,
}

/// Milliseconds since the epoch by the host clock.
#[must_use]
pub fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Shared {
    /// Starts a JWKS fetch for `provider` unless one is in flight. False if it could not start.
    pub fn start_fetch(&self, provider: usize) -> bool {
        let Some(remote) = self.config.providers.get(provider).and_then(|p| p.remote()) else {
            return false;
        };
        if self.keys.borrow().in_flight(provider) {
            return true;
        }
        let headers = vec![
            (":method", "GET"),
            (":path", remote.path.as_str()),
            (":authority", remote.authority.as_str()),
            ("accept", "application/json"),
        ];
        match hostcalls::dispatch_http_call(&remote.cluster, headers, None, vec![], remote.timeout)
        {
            Ok(token) => {
                let timeout_ms = u64::try_from(remote.timeout.as_millis()).unwrap_or(u64::MAX);
                self.fetches
                    .borrow_mut()
                    .insert(token, (provider, now_ms().saturating_add(timeout_ms)));
                self.keys.borrow_mut().started(provider);
                true
            }
            Err(status) => {
                warn!(
                    "jwt-gate: JWKS fetch for provider {} could not start: {status:?}",
                    self.provider_name(provider)
                );
                self.record_fetch(provider, None);
                false
            }
        }
    }

    /// Handles a callout answer if it is a JWKS fetch; returns false if the token is not ours.
    pub fn on_fetch_response(&self, token: u32, num_headers: usize, body_size: usize) -> bool {
        let Some((provider, _)) = self.fetches.borrow_mut().remove(&token) else {
            return false;
        };
        let answer = (num_headers > 0).then(|| {
            let headers = filter::header_pairs(MapType::HttpCallResponseHeaders);
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let status = header(":status").and_then(|s| s.parse().ok()).unwrap_or(0);
            let cache_control = header("cache-control");
            // One byte over the limit is enough to know it is too large.
            let body = hostcalls::get_buffer(
                BufferType::HttpCallResponseBody,
                0,
                body_size.min(MAX_JWKS_BYTES + 1),
            )
            .ok()
            .flatten()
            .unwrap_or_default();
            (status, cache_control, body)
        });
        self.record_fetch(
            provider,
            answer
                .as_ref()
                .map(|(s, cc, b)| (*s, cc.as_deref(), b.as_slice())),
        );
        self.wake(WaitFor::Keys(provider), Resume::KeysArrived);
        true
    }

    fn record_fetch(&self, provider: usize, answer: Option<(u32, Option<&str>, &[u8])>) {
        let now = now_ms() / 1000;
        let name = self.provider_name(provider);
        let result = self
            .keys
            .borrow_mut()
            .finished(&self.config, provider, now, answer);
        match result {
            Ok((count, skipped)) => {
                for w in skipped {
                    warn!("jwt-gate: provider {name} JWKS: {w}");
                }
                info!("jwt-gate: provider {name} JWKS loaded: {count} key(s)");
                self.metrics.increment("jwt_gate.jwks_fetches.ok");
                // A token verified with a key that just left the set must verify again.
                self.cache.borrow_mut().clear();
            }
            Err(e) => {
                warn!("jwt-gate: provider {name} JWKS fetch failed: {} (keeping the last good key set)", e.label());
                self.metrics
                    .increment(&format!("jwt_gate.jwks_fetches.{}", e.label()));
            }
        }
        if let Some(age) = self.keys.borrow().age(provider, now) {
            self.metrics
                .set_gauge(&format!("jwt_gate.jwks_age_s.{name}"), age);
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
        let stale: Vec<(u32, usize)> = self
            .fetches
            .borrow()
            .iter()
            .filter(|(_, (_, deadline))| now > deadline.saturating_add(1000))
            .map(|(t, (p, _))| (*t, *p))
            .collect();
        for (token, provider) in stale {
            self.fetches.borrow_mut().remove(&token);
            self.record_fetch(provider, None);
            self.wake(WaitFor::Keys(provider), Resume::KeysArrived);
        }
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
        let due = self.keys.borrow().due(&self.config, now / 1000);
        for provider in due {
            self.start_fetch(provider);
        }
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
        if let Ok(level) = hostcalls::get_log_level() {
            proxy_wasm::set_log_level(level);
        }
        info!("#{} jwt-gate v{VERSION}: VM started", self.context_id);
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
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
            let _ = self.metrics.id(d.metric(), MetricType::Counter);
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
        let keys = KeyStore::new(&config, now_ms() / 1000);
        let cache_size = config.cache_size;
        self.shared = Some(Rc::new(Shared {
            config: Rc::new(config),
            keys: RefCell::new(keys),
            fetches: RefCell::new(HashMap::new()),
            waiters: RefCell::new(Vec::new()),
            user_calls: RefCell::new(HashMap::new()),
            cache: RefCell::new(VerifiedCache::new(cache_size)),
            metrics: Rc::clone(&self.metrics),
        }));
        // Always: the tick also hands the VM's counts to the host (`Metrics`).
        self.set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            shared.on_tick();
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let shared = Rc::clone(self.shared.as_ref()?);
        Some(Box::new(Filter::new(context_id, shared)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
