//! The emulated host, driven through the probe filter in
//! `testdata/probe-filter` (each request path exercises one feature).

mod util;

use std::time::{Duration, UNIX_EPOCH};

use util::probe::probe_wasm;
use wasm_test::{Action, Host, LogLevel, SharedData};

const NOW: u64 = 1_700_000_000;

fn host(config: &str) -> Host {
    Host::new(probe_wasm())
        .unwrap()
        .with_plugin_config(config)
        .with_vm_config("vm-cfg")
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW))
}

fn started(config: &str) -> Host {
    let mut host = host(config);
    assert!(
        host.start_plugin(),
        "trap: {:?}, logs: {:?}",
        host.trap(),
        host.logs()
    );
    host
}

fn get(path: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "GET".into()),
        (":path", path.into()),
        (":authority", "localhost".into()),
    ]
}

#[test]
fn start_plugin_reports_on_configure_result_and_logs() {
    let mut host = host("fail please");
    assert!(!host.start_plugin());
    assert_eq!(host.trap(), None);
    assert_eq!(host.logs_at(LogLevel::Error), ["bad config: fail please"]);

    let host = started("{}");
    let info = host.logs_at(LogLevel::Info);
    assert!(
        info.contains(&"vm start size=6 config=vm-cfg".to_string()),
        "{info:?}"
    );
    // println! in the guest is WASI fd_write to stdout: one info line.
    assert!(info.contains(&"configured: {}".to_string()), "{info:?}");
}

#[test]
fn env_is_served_through_wasi_environ() {
    let mut host = host("{}").with_env("PROBE_ENV", "s3cr3t");
    assert!(host.start_plugin());
    assert!(host
        .logs_at(LogLevel::Info)
        .contains(&"env PROBE_ENV=s3cr3t".to_string()));
    let id = host.init_http_context();
    assert_eq!(
        host.call_on_request_headers(id, &get("/env"), true),
        Action::Continue
    );
    assert_eq!(host.request_header(id, "x-env").as_deref(), Some("s3cr3t"));

    let mut bare = started("{}");
    let id = bare.init_http_context();
    bare.call_on_request_headers(id, &get("/env"), true);
    assert_eq!(bare.request_header(id, "x-env").as_deref(), Some("<unset>"));
}

#[test]
fn header_changes_are_visible_after_the_callback() {
    let mut host = started("{}");
    let id = host.init_http_context();
    let mut headers = get("/");
    headers.push(("X-User-Id", "spoofed".into()));
    headers.push(("x-replace", "old".into()));
    headers.push(("x-replace", "older".into()));
    assert_eq!(
        host.call_on_request_headers(id, &headers, true),
        Action::Continue
    );
    let forwarded = host.request_headers(id);
    assert!(
        !forwarded.iter().any(|(k, _)| k == "x-user-id"),
        "{forwarded:?}"
    );
    assert_eq!(host.request_header(id, "x-probe").as_deref(), Some("1"));
    let replaced: Vec<_> = forwarded.iter().filter(|(k, _)| k == "x-replace").collect();
    assert_eq!(replaced, [&("x-replace".to_string(), "new".to_string())]);
    assert!(host.local_response(id).is_none());
    // eprintln! is WASI fd_write to stderr: an error line.
    assert_eq!(host.logs_at(LogLevel::Error), ["stderr line"]);

    assert_eq!(
        host.call_on_response_headers(id, &[(":status", "200")], true),
        Action::Continue
    );
    assert!(host
        .response_headers(id)
        .contains(&("x-resp".into(), "1".into())));
    host.complete_http_context(id);
    assert!(host.trap().is_none());
}

#[test]
fn local_response_is_recorded() {
    let mut host = started("{}");
    let id = host.init_http_context();
    assert_eq!(
        host.call_on_request_headers(id, &get("/deny"), true),
        Action::Pause
    );
    let reply = host.local_response(id).expect("a local reply");
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("WWW-Authenticate"),
        Some("Bearer realm=\"probe\"")
    );
    assert_eq!(reply.body_text(), r#"{"error":"denied"}"#);
    assert_eq!(reply.grpc_status, None);
}

#[test]
fn metrics_count_and_record() {
    let mut host = started("{}");
    for _ in 0..3 {
        let id = host.init_http_context();
        host.call_on_request_headers(id, &get("/"), true);
    }
    let metrics = host.metrics();
    assert_eq!(metrics.get("probe_requests"), Some(&3));
    assert_eq!(metrics.get("probe_gauge"), Some(&3));
    assert_eq!(host.metric("probe_hist"), Some(3));
    assert_eq!(host.histogram("probe_hist"), [42, 42, 42]);
}

#[test]
fn both_clocks_follow_the_controlled_time() {
    let mut host = started("{}");
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/time"), true);
    assert_eq!(host.request_header(id, "x-now"), Some(NOW.to_string()));
    assert_eq!(host.request_header(id, "x-wasi-now"), Some(NOW.to_string()));

    host.advance(Duration::from_secs(90));
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/time"), true);
    assert_eq!(
        host.request_header(id, "x-now"),
        Some((NOW + 90).to_string())
    );
    assert_eq!(
        host.request_header(id, "x-wasi-now"),
        Some((NOW + 90).to_string())
    );
}

#[test]
fn http_callout_pauses_then_resumes_with_the_answer() {
    let mut host = started("{}");
    let id = host.init_http_context();
    let mut headers = get("/callout");
    headers.push(("authorization", "Bearer t".into()));
    assert_eq!(
        host.call_on_request_headers(id, &headers, true),
        Action::Pause
    );
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.upstream, "users");
    assert_eq!(call.header(":path"), Some("/check"));
    assert_eq!(call.header("x-auth"), Some("Bearer t"));
    assert_eq!(call.body, b"payload");
    assert_eq!(call.timeout_ms, 500);
    assert_eq!(call.context_id, id);
    assert!(!host.resumed(id));

    host.respond_to_http_call(
        call.token,
        200,
        &[("content-type", "text/plain")],
        b"active",
    )
    .unwrap();
    assert!(host.resumed(id));
    assert_eq!(host.resume_count(id), 1);
    assert_eq!(
        host.request_header(id, "x-callout").as_deref(),
        Some("200 active")
    );
    assert!(host.pending_http_calls().is_empty());
    assert!(host
        .respond_to_http_call(call.token, 200, &[], b"")
        .is_err());
}

#[test]
fn failed_and_expired_callouts_reach_the_filter_without_headers() {
    let mut host = started("{}");
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/callout"), true);
    let token = host.pending_http_calls()[0].token;
    host.fail_http_call(token).unwrap();
    assert_eq!(host.local_response(id).map(|r| r.status), Some(503));
    assert!(!host.resumed(id));

    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/callout"), true);
    host.advance(Duration::from_millis(499));
    assert_eq!(host.fail_expired_http_calls(), 0);
    host.advance(Duration::from_millis(1));
    assert_eq!(host.fail_expired_http_calls(), 1);
    assert_eq!(host.local_response(id).map(|r| r.status), Some(503));
    assert!(host.trap().is_none());
}

#[test]
fn callouts_need_pseudo_headers_and_a_known_cluster() {
    let mut host = started("{}");
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/bad-callout"), true);
    assert_eq!(
        host.request_header(id, "x-dispatch").as_deref(),
        Some("Err(BadArgument)")
    );

    let mut host = host_with_clusters(&["idp"]);
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/callout"), true);
    assert_eq!(
        host.local_response(id).map(|r| r.body_text()),
        Some("BadArgument".into())
    );
}

fn host_with_clusters(clusters: &[&str]) -> Host {
    let mut host = host("{}").with_clusters(clusters);
    assert!(host.start_plugin());
    host
}

#[test]
fn ticks_and_root_callouts() {
    let mut host = started("tick");
    assert_eq!(host.tick_period(), Some(Duration::from_millis(1500)));
    host.tick();
    assert_eq!(host.metric("probe_ticks"), Some(1));
    let call = host
        .pending_http_calls()
        .pop()
        .expect("tick dispatched a call");
    assert_eq!(call.upstream, "idp");
    assert_eq!(call.context_id, host.root_context_id());
    host.respond_to_http_call(call.token, 200, &[], br#"{"keys":[]}"#)
        .unwrap();
    let (value, cas) = host.get_shared_data("fetched").unwrap();
    assert_eq!(value, br#"{"keys":[]}"#);
    assert_ne!(cas, 0);
    assert!(host
        .logs_at(LogLevel::Info)
        .iter()
        .any(|l| l.ends_with(r#"headers=1 status=200 body={"keys":[]}"#)));
    assert!(started("{}").tick_period().is_none());
}

#[test]
fn shared_data_cas_is_enforced_and_shared_between_hosts() {
    let shared = SharedData::default();
    let mut a = host("{}").with_shared_data(shared.clone());
    let mut b = host("{}").with_shared_data(shared.clone());
    assert!(a.start_plugin() && b.start_plugin());

    let id = a.init_http_context();
    a.call_on_request_headers(id, &get("/shared"), true);
    assert_eq!(
        a.request_header(id, "x-shared").as_deref(),
        Some("0 Ok(()) Err(CasMismatch)")
    );

    let id = b.init_http_context();
    b.call_on_request_headers(id, &get("/shared"), true);
    assert_eq!(
        b.request_header(id, "x-shared").as_deref(),
        Some("1 Ok(()) Err(CasMismatch)")
    );
    assert_eq!(shared.get("counter").map(|(v, _)| v), Some(b"2".to_vec()));

    b.set_shared_data("counter", b"41");
    let id = a.init_http_context();
    a.call_on_request_headers(id, &get("/shared"), true);
    assert!(a
        .request_header(id, "x-shared")
        .unwrap()
        .starts_with("41 Ok"));
}

#[test]
fn properties_are_not_found_unless_set() {
    let mut host = started("{}");
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/property"), true);
    assert_eq!(
        host.request_header(id, "x-property").as_deref(),
        Some("none")
    );
    assert_eq!(host.property(&["probe", "seen"]), Some(b"yes".to_vec()));

    host.set_property(&["request", "id"], "req-7");
    let id = host.init_http_context();
    host.call_on_request_headers(id, &get("/property"), true);
    assert_eq!(
        host.request_header(id, "x-property").as_deref(),
        Some("req-7")
    );
}

#[test]
fn a_guest_panic_is_a_recorded_trap_and_a_503() {
    let mut host = started("{}");
    let id = host.init_http_context();
    assert_eq!(
        host.call_on_request_headers(id, &get("/panic"), true),
        Action::Pause
    );
    let trap = host.trap().expect("trap recorded").to_string();
    assert!(trap.contains("proxy_on_request_headers"), "{trap}");
    assert_eq!(host.local_response(id).map(|r| r.status), Some(503));
    // The SDK's panic hook logs the message at critical before aborting.
    assert!(host
        .logs_at(LogLevel::Critical)
        .iter()
        .any(|l| l.contains("probe panic on request")));

    // The VM is dead: later streams fail closed too, without running guest code.
    let next = host.init_http_context();
    assert_eq!(
        host.call_on_request_headers(next, &get("/"), true),
        Action::Pause
    );
    assert_eq!(host.local_response(next).map(|r| r.status), None);
}

#[test]
fn a_panic_or_exit_during_configure_fails_start() {
    let mut panicking = host("panic");
    assert!(!panicking.start_plugin());
    assert!(panicking.trap().unwrap().contains("proxy_on_configure"));

    let mut exiting = host("exit");
    assert!(!exiting.start_plugin());
    assert!(
        exiting.trap().unwrap().contains("proc_exit(3)"),
        "{:?}",
        exiting.trap()
    );
}

#[test]
fn unknown_context_is_a_failure_not_a_panic() {
    let mut host = started("{}");
    assert_eq!(
        host.call_on_request_headers(99, &get("/"), true),
        Action::Pause
    );
    assert!(host.trap().unwrap().contains("no HTTP context 99"));
}

#[test]
fn non_proxy_wasm_modules_are_rejected_with_a_reason() {
    // (module (import "env" "mystery" (func)) (memory (export "memory") 1)
    //         (func (export "proxy_abi_version_0_2_1")))
    let with_unknown_import = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x02, 0x0f, 0x01, 0x03, b'e', b'n', b'v', 0x07, b'm', b'y', b's', b't', b'e', b'r', b'y',
        0x00, 0x00, 0x03, 0x02, 0x01, 0x00, // func section: one func of type 0
        0x05, 0x03, 0x01, 0x00, 0x01, // memory 1 page
        0x07, 0x24, 0x02, 0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, 0x17, b'p', b'r',
        b'o', b'x', b'y', b'_', b'a', b'b', b'i', b'_', b'v', b'e', b'r', b's', b'i', b'o', b'n',
        b'_', b'0', b'_', b'2', b'_', b'1', 0x00, 0x01, // exports
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code
    ];
    let error = Host::from_bytes(&with_unknown_import)
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not provide: env::mystery"), "{error}");

    let empty_module = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    let error = Host::from_bytes(&empty_module).unwrap_err().to_string();
    assert!(error.contains("proxy_abi_version_0_2_1"), "{error}");
}

#[test]
fn hosts_run_in_parallel() {
    let threads: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                let mut host = started("{}").with_env("PROBE_ENV", "late");
                let id = host.init_http_context();
                host.call_on_request_headers(id, &get("/"), true);
                (n, host.metric("probe_requests"))
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().1, Some(1));
    }
}
