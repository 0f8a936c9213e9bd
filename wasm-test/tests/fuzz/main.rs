//! Fuzzing the real artifact through the host ABI (issue 8 item 2): random request
//! headers (non-UTF-8 bytes, huge values, hundreds of headers, random `:path` and
//! `:method`), random answers to the JWKS and user-check callouts (statuses, headers,
//! garbage, truncated and oversized bodies, keys of the wrong type), and random bytes
//! under the user-check shared-data keys. The VM never traps, every request ends (no
//! request is left paused), every local reply has an expected status, and a token no
//! configured key signed is never forwarded on a protected route. Requests are also
//! decided natively by the same crate's `gate::evaluate`: the artifact must agree.
//!
//! `FUZZ_CASES` sets the cases per property (default 256; `make fuzz`: 20,000); each
//! prints `fuzz wasm.<name>: N cases, accepted forgeries = 0, panics = 0; …`, where a
//! trap counts as a panic (with `panic = "abort"` a Rust panic in the filter is a trap).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // a test crate

#[path = "../../../tests/fuzz/harness.rs"]
mod harness;
mod jwks;
mod requests;
mod user_check;
#[path = "../util/mod.rs"]
mod util;

pub use harness::{check, Tally};

use std::sync::OnceLock;

use proptest::test_runner::TestCaseError;
use wasm_test::{Action, Host};

/// The artifact's bytes, read once: every case runs the same build, even if the file is
/// rebuilt during a long run.
pub fn artifact() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| std::fs::read(util::jwt_gate_wasm()).unwrap())
}

/// A VM of the artifact with `config` at the fixtures' clock, not started.
pub fn vm(config: &serde_json::Value, clusters: &[&str]) -> Host {
    Host::from_bytes(artifact())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_clusters(clusters)
        .with_now(std::time::UNIX_EPOCH + std::time::Duration::from_secs(util::NOW))
}

/// Fails the case if the VM trapped (the host records the trap instead of panicking).
pub fn no_trap(host: &Host, tally: &Tally, what: &str) -> Result<(), TestCaseError> {
    match host.trap() {
        None => Ok(()),
        Some(trap) => Err(tally.panic(format!(
            "VM trapped {what}: {trap} {:?}",
            host.trap_details()
        ))),
    }
}

/// How a request ended, once it has: `Some(None)` forwarded, `Some(Some(status))` a
/// local reply, `None` still paused.
pub fn ended(host: &Host, id: u32, action: Action) -> Option<Option<u32>> {
    match host.local_response(id) {
        Some(reply) => Some(Some(reply.status)),
        None if action == Action::Continue || host.resumed(id) => Some(None),
        None => None,
    }
}
