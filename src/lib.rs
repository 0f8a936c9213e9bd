//! jwt-gate: JWT authentication and authorization filter for proxy-wasm hosts.
//!
//! Only `root.rs`, `filter.rs` and `abi.rs` (and the entry point below) touch the
//! proxy-wasm traits or the host; every other module is plain Rust, tested natively.
#![warn(missing_docs, missing_debug_implementations)]

pub mod alg;
pub mod b64;
pub mod cache;
pub mod claim_path;
pub mod claims;
pub mod config;
pub mod cookie;
/// Signature primitives: the `jwt-gate-crypto` crate of this workspace (`crypto/`),
/// a crate of its own so that the release build can optimize it for speed while the
/// rest of the filter is optimized for size.
pub use jwt_gate_crypto as crypto;
pub mod error;
pub mod extract;
pub mod fast_hash;
pub mod gate;
pub mod header_map;
pub mod json;
pub mod jws;
pub mod keys;
pub mod keystore;
pub mod metrics;
pub mod output;
pub mod path;
pub mod remote;
pub mod response;
pub mod revocation;
pub mod rules;
pub mod shared_key;
pub mod tenant;
#[cfg(test)]
mod testing;
pub mod usercheck;
pub mod verify;

// Glue: the only modules that name proxy-wasm traits or make host calls.
pub mod abi;
pub mod filter;
pub mod root;

/// The entry point the host calls once per VM (`_initialize`); private so the
/// generated export needs no docs.
mod entry {
    proxy_wasm::main! {{
        // Envoy refuses host calls during `_initialize` ("restricted_callback"): the
        // host's real log level is read later, in `on_vm_start`.
        crate::abi::install_logger();
        proxy_wasm::set_root_context(|context_id| -> Box<dyn proxy_wasm::traits::RootContext> {
            Box::new(crate::root::Root::new(context_id))
        });
    }}
}
pub mod authjs;
