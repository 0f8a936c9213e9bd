//! jwt-gate: JWT authentication and authorization filter for proxy-wasm hosts.
#![warn(missing_docs, missing_debug_implementations)]

pub mod alg;
pub mod error;
pub mod config;
