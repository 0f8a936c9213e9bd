//! [`Host`]: one emulated proxy-wasm VM running one plugin.
//!
//! Split by concern: this file builds the VM and starts the plugin,
//! `stream.rs` drives HTTP contexts, `callouts.rs` answers HTTP calls and
//! ticks, `inspect.rs` reads the recorded state.

mod callouts;
mod inspect;
mod stream;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{Instance, Linker, Module, Store, Trap, WasmParams, WasmResults};

use crate::shared::SharedData;
use crate::state::{Clock, HostState, LocalResponse};
use crate::types::LogLevel;
use crate::wasi::ProcExit;
use crate::{abi, module, wasi, wasmtime_error};

/// An emulated proxy-wasm host with one VM and one plugin (root context).
pub struct Host {
    module: Module,
    store: Store<HostState>,
    instance: Option<Instance>,
    trap: Option<String>,
    trap_details: Option<String>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("started", &self.instance.is_some())
            .field("trap", &self.trap)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Loads a `.wasm` file. Fails (with the names) if the module imports
    /// anything this host does not provide, or is not proxy-wasm 0.2.1.
    pub fn new(wasm_path: impl AsRef<Path>) -> anyhow::Result<Host> {
        Host::from_module(module::load_file(wasm_path.as_ref())?)
    }

    /// Like [`Host::new`] for wasm bytes already in memory.
    pub fn from_bytes(wasm: &[u8]) -> anyhow::Result<Host> {
        Host::from_module(module::load_bytes(wasm)?)
    }

    fn from_module(module: Module) -> anyhow::Result<Host> {
        let mut store = Store::new(module.engine(), HostState::new());
        let linker = linker(&module)?;
        let missing: Vec<String> = module
            .imports()
            .filter(|import| linker.get_by_import(&mut store, import).is_none())
            .map(|import| format!("{}::{}", import.module(), import.name()))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "the module imports functions this host does not provide: {}",
                missing.join(", ")
            );
        }
        module::check_abi(&module)?;
        Ok(Host {
            module,
            store,
            instance: None,
            trap: None,
            trap_details: None,
        })
    }

    /// The plugin configuration (`proxy_on_configure`), usually JSON.
    pub fn with_plugin_config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.store.data_mut().plugin_config = config.as_ref().to_vec();
        self
    }

    /// The VM configuration (`proxy_on_vm_start`).
    pub fn with_vm_config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.store.data_mut().vm_config = config.as_ref().to_vec();
        self
    }

    /// A VM environment variable (Envoy's `vm_config.environment_variables`),
    /// served through WASI `environ_get`.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        let env = &mut self.store.data_mut().env;
        env.retain(|(n, _)| n != name);
        env.push((name.to_string(), value.to_string()));
        self
    }

    /// Fixes the clock (proxy-wasm time and every WASI clock). Without it the
    /// host reads real time.
    pub fn with_now(mut self, now: SystemTime) -> Self {
        self.set_now(now);
        self
    }

    /// Fixes the clock at a Unix time in nanoseconds.
    pub fn with_now_nanos(self, unix_nanos: u64) -> Self {
        self.with_now(UNIX_EPOCH + Duration::from_nanos(unix_nanos))
    }

    /// Drops `proxy_log` messages below this level (default: keep all).
    pub fn with_log_level(mut self, level: LogLevel) -> Self {
        self.store.data_mut().log_level = level;
        self
    }

    /// Shares a shared-data store with other hosts (other "workers").
    pub fn with_shared_data(mut self, shared: SharedData) -> Self {
        self.store.data_mut().shared = shared;
        self
    }

    /// Restricts callouts to these clusters; others get `BadArgument`, as
    /// Envoy answers for an unknown cluster. Default: every name is known.
    pub fn with_clusters(mut self, clusters: &[&str]) -> Self {
        self.store.data_mut().known_clusters =
            Some(clusters.iter().map(|c| (*c).to_string()).collect());
        self
    }

    /// A property the guest can read with `proxy_get_property`.
    pub fn with_property(mut self, path: &[&str], value: impl AsRef<[u8]>) -> Self {
        self.set_property(path, value);
        self
    }

    /// Moves the fixed clock to `now`.
    pub fn set_now(&mut self, now: SystemTime) {
        self.store.data_mut().clock = Clock::Fixed(now);
    }

    /// Moves the clock forward (fixing it first if it was real time).
    pub fn advance(&mut self, by: Duration) {
        let now = self.store.data().clock.now();
        self.set_now(now + by);
    }

    /// Makes `proxy_remove_header_map_value` for `name` (any map, any case) answer
    /// `BadArgument` and leave the header in place, as a host whose policy protects a
    /// header would.
    pub fn refuse_header_removal(&mut self, name: &str) {
        self.store
            .data_mut()
            .refused_removals
            .push(name.to_ascii_lowercase().into_bytes());
    }

    /// Makes the clock call fail (`InternalFailure`) or work again.
    pub fn set_clock_broken(&mut self, broken: bool) {
        self.store.data_mut().clock_broken = broken;
    }

    /// The host's current time.
    pub fn now(&self) -> SystemTime {
        self.store.data().clock.now()
    }

    /// Sets (or replaces) a property.
    pub fn set_property(&mut self, path: &[&str], value: impl AsRef<[u8]>) {
        let key = path.iter().map(|p| (*p).to_string()).collect();
        self.store
            .data_mut()
            .properties
            .insert(key, value.as_ref().to_vec());
    }

    /// Instantiates the VM and starts the plugin the way Envoy does:
    /// `_initialize`, `proxy_on_context_create(root, 0)`, `proxy_on_vm_start`,
    /// `proxy_on_configure`. Returns what `proxy_on_configure` returned
    /// (false = Envoy rejects the plugin); false too if the VM trapped.
    pub fn start_plugin(&mut self) -> bool {
        if self.instance.is_some() || self.trap.is_some() {
            self.fail(None, "start_plugin called twice".to_string());
            return false;
        }
        let instance = match linker(&self.module).and_then(|l| {
            l.instantiate(&mut self.store, &self.module)
                .map_err(wasmtime_error)
        }) {
            Ok(instance) => instance,
            Err(e) => {
                self.fail(None, format!("instantiation failed: {e:#}"));
                return false;
            }
        };
        self.instance = Some(instance);
        for init in ["_initialize", "_start"] {
            if self.module.get_export(init).is_some() {
                if self.call::<(), ()>(0, init, ()).is_none() {
                    return false;
                }
                break;
            }
        }
        let root = self.root_context_id();
        let state = self.store.data();
        let vm_size = len_i32(state.vm_config.len());
        let plugin_size = len_i32(state.plugin_config.len());
        if self
            .call::<(i32, i32), ()>(root, "proxy_on_context_create", (root as i32, 0))
            .is_none()
        {
            return false;
        }
        if self.module.get_export("proxy_on_vm_start").is_some() {
            let started =
                self.call::<(i32, i32), i32>(root, "proxy_on_vm_start", (root as i32, vm_size));
            if started.unwrap_or(0) == 0 {
                return false;
            }
        }
        self.call::<(i32, i32), i32>(root, "proxy_on_configure", (root as i32, plugin_size))
            .is_some_and(|ok| ok != 0)
    }

    /// The plugin's root context id.
    pub fn root_context_id(&self) -> u32 {
        self.store.data().root_id
    }

    /// Why the VM stopped (a trap, `proc_exit`, or host misuse), if it did.
    /// After a trap every callback is skipped and streams get a 503.
    pub fn trap(&self) -> Option<&str> {
        self.trap.as_deref()
    }

    /// The full error of the first trap, with the guest's wasm backtrace.
    pub fn trap_details(&self) -> Option<&str> {
        self.trap_details.as_deref()
    }

    /// Whether the module exports `name`.
    fn exports(&self, name: &str) -> bool {
        self.module.get_export(name).is_some()
    }

    /// Calls a guest export with `context` as the effective context. `None`
    /// if the VM is dead or the call trapped (recorded in `trap`).
    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        context: u32,
        name: &str,
        params: P,
    ) -> Option<R> {
        if self.trap.is_some() {
            return None;
        }
        let Some(instance) = self.instance else {
            self.fail(None, format!("{name} called before start_plugin"));
            return None;
        };
        let func = match instance.get_typed_func::<P, R>(&mut self.store, name) {
            Ok(func) => func,
            Err(e) => {
                self.fail(None, format!("guest export {name}: {e:#}"));
                return None;
            }
        };
        self.store.data_mut().effective_context = context;
        match func.call(&mut self.store, params) {
            Ok(result) => Some(result),
            Err(e) => {
                let why = if let Some(exit) = e.downcast_ref::<ProcExit>() {
                    exit.to_string()
                } else if let Some(trap) = e.downcast_ref::<Trap>() {
                    trap.to_string()
                } else {
                    e.to_string()
                };
                if self.trap_details.is_none() {
                    self.trap_details = Some(format!("{:#}", wasmtime_error(e)));
                }
                self.fail(Some(context), format!("{name} trapped: {why}"));
                None
            }
        }
    }

    /// Marks the VM dead; answers the stream being processed with a 503 as
    /// Envoy does for a failed VM when `fail_open` is false.
    fn fail(&mut self, context: Option<u32>, why: String) {
        if self.trap.is_none() {
            self.trap = Some(why);
        }
        if let Some(stream) = context.and_then(|id| self.store.data_mut().streams.get_mut(&id)) {
            stream.local_response.get_or_insert_with(|| LocalResponse {
                status: 503,
                details: "wasm_fail_stream".to_string(),
                headers: Vec::new(),
                body: Vec::new(),
                grpc_status: None,
            });
        }
    }
}

/// Every proxy-wasm and WASI import this host offers.
fn linker(module: &Module) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(module.engine());
    abi::add_to_linker(&mut linker).map_err(wasmtime_error)?;
    wasi::add_to_linker(&mut linker).map_err(wasmtime_error)?;
    Ok(linker)
}

/// Sizes passed to the guest are wasm32 `usize`s.
fn len_i32(len: usize) -> i32 {
    u32::try_from(len).unwrap_or(u32::MAX) as i32
}
