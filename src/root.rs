//! GLUE: the proxy-wasm `RootContext`. Reads the plugin configuration, compiles it,
//! and hands the shared result to every HTTP context. Holds no logic of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use log::{error, info, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, MetricType};

use crate::config::{Config, Mode};
use crate::filter::Filter;
use crate::metrics::{self, Decision};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Counter ids by name, registered lazily (Envoy returns the same id for the same name).
#[derive(Debug, Default)]
pub struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    /// Adds one to counter `name`; a host error only loses the count.
    pub fn increment(&self, name: &str) {
        let id = self.id(name, MetricType::Counter);
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
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

/// The root context of one plugin instance.
#[derive(Debug)]
pub struct Root {
    context_id: u32,
    config: Option<Rc<Config>>,
    metrics: Rc<Metrics>,
}

impl Root {
    /// A root context before configuration.
    #[must_use]
    pub fn new(context_id: u32) -> Self {
        Root { context_id, config: None, metrics: Rc::new(Metrics::default()) }
    }
}

impl Context for Root {}

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
        match Config::parse(&bytes, &env) {
            Ok((config, warnings)) => {
                for w in warnings {
                    warn!("#{} jwt-gate config: {w}", self.context_id);
                }
                for d in Decision::ALL {
                    self.metrics.increment_by_zero(d.metric());
                }
                self.metrics.set_gauge(metrics::BYPASS_GAUGE, u64::from(config.mode == Mode::Bypass));
                info!(
                    "#{} jwt-gate configured: {} provider(s), mode {:?}",
                    self.context_id,
                    config.providers.len(),
                    config.mode
                );
                self.config = Some(Rc::new(config));
                true
            }
            Err(e) => {
                error!("#{} jwt-gate: invalid plugin configuration: {e}", self.context_id);
                false
            }
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = Rc::clone(self.config.as_ref()?);
        Some(Box::new(Filter::new(context_id, config, Rc::clone(&self.metrics))))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl Metrics {
    /// Registers a counter without counting, so it shows (as 0) from the start.
    fn increment_by_zero(&self, name: &str) {
        let _ = self.id(name, MetricType::Counter);
    }
}
