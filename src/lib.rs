//! jwt-gate: JWT authentication and authorization filter for proxy-wasm hosts.
//!
//! Only `root.rs` and `filter.rs` (and the entry point below) touch the proxy-wasm
//! traits; every other module is plain Rust, tested natively.
#![warn(missing_docs, missing_debug_implementations)]

pub mod alg;
pub mod claim_path;
pub mod claims;
pub mod config;
pub mod cookie;
pub mod error;
pub mod extract;
pub mod gate;
pub mod output;
pub mod response;
pub mod verify;
pub mod path;
pub mod rules;
pub mod b64;
pub mod crypto;
pub mod json;
pub mod jws;
pub mod keys;
pub mod metrics;
#[cfg(test)]
mod testing;

// Glue: the only modules that name proxy-wasm traits.
pub mod filter;
pub mod root;

/// The entry point the host calls once per VM (`_initialize`); private so the
/// generated export needs no docs.
mod entry {
    proxy_wasm::main! {{
        // Envoy refuses host calls during `_initialize` ("restricted_callback"): the
        // host's real log level is read later, in `on_vm_start`.
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|context_id| -> Box<dyn proxy_wasm::traits::RootContext> {
            Box::new(crate::root::Root::new(context_id))
        });
    }}
}
