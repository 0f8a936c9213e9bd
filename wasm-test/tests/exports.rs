//! The artifact exports only the callbacks jwt-gate implements (scripts/wasm-opt.sh
//! drops the rest): Envoy enters the VM for every callback a module exports, so each
//! unused one costs every request a VM entry. Streams still run the full callback
//! sequence in the host, which skips what is missing as proxy-wasm-cpp-host does.

mod util;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use util::mint::mint;
use util::{config_with, good_claims, host_with, provider};
use wasm_test::artifact;

/// The exports `scripts/wasm-opt.sh` keeps (its `keep=( … )` list): the one place the
/// set is written.
fn kept() -> BTreeSet<String> {
    let script = repo_file("scripts/wasm-opt.sh");
    let start = script
        .find("keep=(")
        .expect("keep=( in scripts/wasm-opt.sh")
        + "keep=(".len();
    let len = script[start..].find(')').expect("keep=( … ) closed");
    script[start..start + len]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each proxy-wasm SDK (0.2) trait method (`Context`, `RootContext`, `HttpContext`,
/// `StreamContext`) and the module export its dispatcher reaches it through.
const CALLBACK_EXPORTS: [(&str, &str); 27] = [
    ("on_done", "proxy_on_done"),
    ("on_http_call_response", "proxy_on_http_call_response"),
    ("on_grpc_call_response", "proxy_on_grpc_receive"),
    (
        "on_grpc_stream_initial_metadata",
        "proxy_on_grpc_receive_initial_metadata",
    ),
    ("on_grpc_stream_message", "proxy_on_grpc_receive"),
    (
        "on_grpc_stream_trailing_metadata",
        "proxy_on_grpc_receive_trailing_metadata",
    ),
    ("on_grpc_stream_close", "proxy_on_grpc_close"),
    ("on_vm_start", "proxy_on_vm_start"),
    ("on_configure", "proxy_on_configure"),
    ("on_tick", "proxy_on_tick"),
    ("on_queue_ready", "proxy_on_queue_ready"),
    ("on_foreign_function", "proxy_on_foreign_function"),
    ("create_http_context", "proxy_on_context_create"),
    ("create_stream_context", "proxy_on_context_create"),
    ("get_type", "proxy_on_context_create"),
    ("on_http_request_headers", "proxy_on_request_headers"),
    ("on_http_request_body", "proxy_on_request_body"),
    ("on_http_request_trailers", "proxy_on_request_trailers"),
    ("on_http_response_headers", "proxy_on_response_headers"),
    ("on_http_response_body", "proxy_on_response_body"),
    ("on_http_response_trailers", "proxy_on_response_trailers"),
    ("on_log", "proxy_on_log"),
    ("on_new_connection", "proxy_on_new_connection"),
    ("on_downstream_data", "proxy_on_downstream_data"),
    (
        "on_downstream_close",
        "proxy_on_downstream_connection_close",
    ),
    ("on_upstream_data", "proxy_on_upstream_data"),
    ("on_upstream_close", "proxy_on_upstream_connection_close"),
];

/// Names of the methods written in `impl <proxy-wasm trait> for …` blocks of `source`
/// (braces counted from the `impl` line; the glue has no unbalanced brace in a string).
fn trait_methods(source: &str) -> Vec<String> {
    const TRAITS: [&str; 4] = ["Context", "RootContext", "HttpContext", "StreamContext"];
    let mut methods = Vec::new();
    let mut depth = 0usize;
    let mut inside = false;
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        if !inside {
            let words: Vec<&str> = code.split_whitespace().collect();
            if words.len() >= 4
                && words[0] == "impl"
                && words[2] == "for"
                && TRAITS.contains(&words[1])
            {
                inside = true;
                depth = 0;
            } else {
                continue;
            }
        }
        if depth == 1 {
            if let Some(rest) = code.trim_start().strip_prefix("fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                methods.push(name);
            }
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if depth == 0 && code.contains('}') {
            inside = false;
        }
    }
    methods
}

#[test]
fn the_artifact_exports_exactly_the_callbacks_it_uses() {
    let path = artifact::release_wasm().unwrap();
    let got: BTreeSet<String> = artifact::exports(&path).unwrap().into_iter().collect();
    assert_eq!(got, kept());
}

/// The sharp edge of the trimmed exports: a callback implemented but not kept would never
/// be called, silently. Every method of a proxy-wasm trait impl in `src/` must map to a
/// kept export.
#[test]
fn every_callback_the_filter_implements_is_kept() {
    let kept = kept();
    let mut implemented = Vec::new();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            implemented.extend(
                trait_methods(&source)
                    .into_iter()
                    .map(|m| (m, path.clone())),
            );
        }
    }
    let names: BTreeSet<&str> = implemented.iter().map(|(m, _)| m.as_str()).collect();
    // The parser found the callbacks the filter is known to implement.
    for known in [
        "on_http_request_headers",
        "on_http_call_response",
        "on_configure",
        "on_tick",
    ] {
        assert!(names.contains(known), "{known} not found: {names:?}");
    }
    for (method, file) in &implemented {
        let export = CALLBACK_EXPORTS
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, e)| *e)
            .unwrap_or_else(|| {
                panic!(
                    "{}: `{method}` is not a proxy-wasm callback this test knows",
                    file.display()
                )
            });
        assert!(
            kept.contains(export),
            "{}: `{method}` is implemented but its export {export} is dropped: add it to keep=( … ) in scripts/wasm-opt.sh",
            file.display()
        );
    }
}

#[test]
fn the_impl_parser_sees_methods_of_trait_impls_only() {
    let source = r#"
impl Shared {
    fn on_tick(&self) {}
}
impl HttpContext for Filter {
    fn on_http_request_headers(&mut self) -> Action {
        let s = format!("{x}");
        if s.is_empty() { helper(); }
        Action::Continue
    }
    // fn on_log(&mut self) {}
    fn on_http_response_headers(&mut self) -> Action { Action::Continue }
}
fn on_done() {}
"#;
    assert_eq!(
        trait_methods(source),
        ["on_http_request_headers", "on_http_response_headers"]
    );
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
