//! The artifact exports only the callbacks jwt-gate implements (scripts/wasm-opt.sh
//! drops the rest): Envoy enters the VM for every callback a module exports, so each
//! unused one costs every request a VM entry. Streams still run the full callback
//! sequence in the host, which skips what is missing as proxy-wasm-cpp-host does.

mod util;

use std::collections::BTreeSet;

use serde_json::Value;
use util::mint::mint;
use util::{config_with, good_claims, host_with, provider};
use wasm_test::artifact;

const KEPT: [&str; 11] = [
    "memory",
    "_initialize",
    "proxy_abi_version_0_2_1",
    "proxy_on_memory_allocate",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_tick",
    "proxy_on_request_headers",
    "proxy_on_http_call_response",
    "proxy_on_delete",
];

#[test]
fn the_artifact_exports_exactly_the_callbacks_it_uses() {
    let path = artifact::release_wasm().unwrap();
    let got: BTreeSet<String> = artifact::exports(&path).unwrap().into_iter().collect();
    let want: BTreeSet<String> = KEPT.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn a_stream_runs_every_callback_of_its_life_without_the_dropped_exports() {
    let mut host = host_with(config_with(provider("HS256")));
    let token = mint("HS256", &good_claims(), &Value::Null);
    let (id, action) = util::jwks::send(&mut host, &token);
    assert_eq!(action, wasm_test::Action::Continue);
    assert_eq!(
        host.call_on_response_headers(id, &[(":status", "200")], false),
        wasm_test::Action::Continue
    );
    assert_eq!(
        host.call_on_response_body(id, b"ok", true),
        wasm_test::Action::Continue
    );
    host.complete_http_context(id);
    assert_eq!(host.trap(), None, "{:?}", host.logs());
}
