//! An embedded proxy-wasm ABI 0.2.1 host (on wasmtime) that runs the real
//! `jwt_gate.wasm` the way Envoy does, with a controlled clock, simulated
//! HTTP callouts, ticks, shared data, metrics and logs.
//!
//! The API is state-based, like Go's `proxytest`: drive a callback, then
//! inspect what the filter did.
//!
//! ```no_run
//! use wasm_test::{Action, Host};
//! let mut host = Host::new(wasm_test::artifact::release_wasm()?)?
//!     .with_plugin_config(r#"{"providers": {}}"#);
//! assert!(host.start_plugin());
//! let id = host.init_http_context();
//! let action = host.call_on_request_headers(id, &[(":path", "/")], true);
//! assert_eq!(action, Action::Pause);
//! assert_eq!(host.local_response(id).map(|r| r.status), Some(401));
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! All host state lives in the wasmtime `Store` of each [`Host`], so tests run
//! in parallel. A guest trap (a Rust panic becomes `unreachable`) never
//! unwinds into the test: the host records it ([`Host::trap`]) and, like Envoy
//! with `fail_open: false`, answers the affected stream with a 503.

mod abi;
pub mod artifact;
mod cache;
pub mod check;
mod fault;
mod headers;
mod host;
mod memory;
mod module;
mod serial;
mod shared;
mod state;
mod types;
mod wasi;

pub use host::Host;
pub use shared::{CasMismatch, SharedData, SharedFault};
pub use state::{LocalResponse, LogEntry, PendingCall};
pub use types::{Action, LogLevel, Status};
pub use wasi::ProcExit;

/// wasmtime 48 has its own error type; keep its chain and downcasts
/// (e.g. [`ProcExit`]) when moving it into `anyhow`.
#[doc(hidden)]
pub fn wasmtime_error(error: wasmtime::Error) -> anyhow::Error {
    anyhow::Error::from_boxed(error.into_boxed_dyn_error())
}
