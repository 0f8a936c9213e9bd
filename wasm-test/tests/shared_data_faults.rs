//! Shared-data faults under the user check, through the real artifact: the user-check
//! cache lives in proxy-wasm shared data (one key per provider, user service and slot), and a host
//! may refuse a write (CAS mismatch: another worker wrote first), lose an entry (evicted),
//! hand back bytes the filter never wrote, or answer an error status. Whatever the store
//! does, the answer a request gets is the one the user service gave: never a trap, never
//! a 200 for a user the service says is gone, `on_error` still applied.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use jwt_gate::usercheck;
use serde_json::json;
use util::mint::{claims, hs_secret, mint, tamper};
use wasm_test::{Action, Host, SharedData, SharedFault, Status};

const NOW: u64 = 1_700_000_000;

fn config(on_error: &str) -> String {
    config_asking(on_error, "/internal/users/{sub}")
}

/// Provider `corp` whose user service is at `path` on cluster `users`.
fn config_asking(on_error: &str, path: &str) -> String {
    json!({"providers": {"corp": {
        "issuer": util::mint::ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "claim_headers": {"x-user-id": "sub"},
        "user_check": {"cluster": "users", "authority": "users.internal", "path": path,
                       "timeout_ms": 500, "cache_ttl_s": 60, "negative_ttl_s": 5, "on_error": on_error}}}})
    .to_string()
}

/// A started worker on `shared` (pass a clone of one store to emulate several workers).
fn worker(on_error: &str, shared: &SharedData) -> Host {
    plugin(config(on_error), shared)
}

/// A started VM of the plugin configured with `config` on `shared`.
fn plugin(config: String, shared: &SharedData) -> Host {
    let mut host = Host::new(util::jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config)
        .with_clusters(&["users"])
        .with_shared_data(shared.clone())
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn token(sub: &str) -> String {
    let mut c = claims(NOW);
    c["sub"] = json!(sub);
    c["exp"] = json!(NOW + 3600);
    mint("HS256", &c, &json!(null))
}

fn send(host: &mut Host, token: &str) -> (u32, Action) {
    let auth = format!("Bearer {token}");
    let id = host.init_http_context();
    let action = host.call_on_request_headers(
        id,
        &[
            (":method", "GET"),
            (":path", "/api"),
            (":authority", "gw"),
            ("authorization", auth.as_str()),
            ("x-user-id", "spoofed"),
        ],
        true,
    );
    (id, action)
}

/// What the client got: 200 (forwarded, with the subject as `x-user-id`) or the local
/// reply's status. Panics on a trap or on a request still paused.
fn outcome(host: &Host, id: u32, action: Action) -> u32 {
    assert!(
        host.trap().is_none(),
        "VM trapped: {:?}",
        host.trap_details()
    );
    if let Some(reply) = host.local_response(id) {
        return reply.status;
    }
    assert!(
        action == Action::Continue || host.resumed(id),
        "request {id} neither answered nor forwarded"
    );
    assert_ne!(
        host.request_header(id, "x-user-id").as_deref(),
        Some("spoofed")
    );
    200
}

/// One request for `sub`: if it asks the user service, the service answers `status`
/// (`None`: the callout fails). Returns (what the client got, whether the service was asked).
fn request(host: &mut Host, sub: &str, service: Option<u32>) -> (u32, bool) {
    let (id, action) = send(host, &token(sub));
    let calls = host.pending_http_calls();
    let asked = !calls.is_empty();
    if let Some(call) = calls.first() {
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(action, Action::Pause);
        match service {
            Some(status) => host
                .respond_to_http_call(call.token, status, &[], b"{}")
                .unwrap(),
            None => host.fail_http_call(call.token).unwrap(),
        }
    }
    (outcome(host, id, action), asked)
}

/// The slot that holds `sub`'s answer (the default slot count).
fn key(sub: &str) -> String {
    util::user_slot("corp", sub, usercheck::DEFAULT_CACHE_SLOTS)
}

/// A well-formed entry for `sub`: active (`1`) or gone (`0`) until `expires`.
fn entry(flag: char, expires: u64, sub: &str) -> Vec<u8> {
    format!("{flag}:{expires}:{sub}").into_bytes()
}

/// Bytes another writer (an older plugin version, a different format) might leave under
/// `sub`'s slot, or a host might hand back corrupted: each must read as "not cached".
fn unreadable_values(sub: &str) -> Vec<Vec<u8>> {
    let future = NOW + 3600;
    let mut values: Vec<Vec<u8>> = [
        String::new(),
        "1".into(),
        "1:".into(),
        ":".into(),
        "1:abc".into(),
        format!("1:{future}"), // the format before slots: no subject
        format!("1:abc:{sub}"),
        format!("1:-5:{sub}"),
        format!("1:18446744073709551616:{sub}"), // u64::MAX + 1
        format!("1:{future}.5:{sub}"),
        format!("1:1e12:{sub}"),
        format!("01:{future}:{sub}"),
        format!(" 1:{future}:{sub}"),
        format!("1: {future}:{sub}"),
        format!("1:{future}: {sub}"),
        format!("1:{future}:{sub} "),
        format!("1:{future}:{sub}\0"),
        format!("1:{future}::{sub}"),
        format!("1:{future}:{sub}:"),
        format!("2:{future}:{sub}"),
        format!("true:{future}:{sub}"),
        format!("1:{future}:{}", sub.to_uppercase()),
        format!("1:{future}:{sub}x"),
        format!("1:{future}:someone-else"), // another subject that hashed to this slot
        format!("1:{future}:"),
        "{\"active\":true}".into(),
        "active".into(),
        format!("1:{}:{sub}", NOW - 1), // expired
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    values.push([&[0xff, 0xfe, b':', b'9', b':'], sub.as_bytes()].concat());
    values.push(format!("\u{fffd}1:{future}:{sub}").into_bytes());
    // A 1 MiB number.
    values.push([b"1:".as_slice(), &[b'9'; 1 << 20], b":", sub.as_bytes()].concat());
    values
}

#[test]
fn refused_cache_writes_change_no_answer_and_are_not_taken_as_cached() {
    let shared = SharedData::default();
    let mut host = worker("deny", &shared);
    shared.inject(SharedFault::SetCasMismatch, 2);

    assert_eq!(request(&mut host, "alice", Some(200)), (200, true));
    assert!(
        shared.get(&key("alice")).is_none(),
        "a refused write was stored"
    );
    // Nothing was cached, so the service is asked again, and its new answer decides.
    assert_eq!(request(&mut host, "alice", Some(404)), (401, true));
    assert_eq!(shared.faults_served(), 2);
    // That write was refused too, so the service is asked once more; the store works
    // again: the "gone" answer is cached and enforced without asking.
    assert_eq!(request(&mut host, "alice", Some(404)), (401, true));
    assert_eq!(request(&mut host, "alice", Some(200)), (401, false));
}

#[test]
fn a_write_lost_to_another_worker_leaves_both_workers_answering_right() {
    let shared = SharedData::default();
    let mut a = worker("deny", &shared);
    let mut b = worker("deny", &shared);
    // Both workers miss the cache for bob and ask; A's write loses the race to B's.
    let (id_a, action_a) = send(&mut a, &token("bob"));
    let (id_b, action_b) = send(&mut b, &token("bob"));
    let (call_a, call_b) = (
        a.pending_http_calls()[0].token,
        b.pending_http_calls()[0].token,
    );
    shared.inject(SharedFault::SetCasMismatch, 1);
    a.respond_to_http_call(call_a, 200, &[], b"{}").unwrap();
    b.respond_to_http_call(call_b, 200, &[], b"{}").unwrap();
    assert_eq!(outcome(&a, id_a, action_a), 200);
    assert_eq!(outcome(&b, id_b, action_b), 200);
    assert!(
        shared.get(&key("bob")).is_some(),
        "B's write is the one kept"
    );
    // A reads B's entry: no new callout on either worker.
    assert_eq!(request(&mut a, "bob", None), (200, false));
    assert_eq!(request(&mut b, "bob", None), (200, false));
    // A deletion cached by one worker is enforced by the other, even after a refused write.
    shared.inject(SharedFault::SetCasMismatch, 1);
    assert_eq!(request(&mut a, "carol", Some(404)), (401, true));
    assert_eq!(request(&mut b, "carol", Some(404)), (401, true));
    assert_eq!(request(&mut a, "carol", Some(200)), (401, false));
}

#[test]
fn unreadable_cache_entries_are_misses_never_admissions() {
    let shared = SharedData::default();
    let mut host = worker("deny", &shared);
    for n in 0..unreadable_values("-").len() {
        let sub = format!("gone-{n}");
        let value = unreadable_values(&sub).swap_remove(n);
        let shown = String::from_utf8_lossy(&value[..value.len().min(40)]).into_owned();
        // The value is what the store holds for the key, and what a read returns.
        shared.set(&key(&sub), &value, 0).unwrap();
        shared.inject(SharedFault::GetValue(value), 1);
        assert_eq!(
            request(&mut host, &sub, Some(404)),
            (401, true),
            "entry {shown:?}"
        );
        // The service's answer replaced the unreadable entry.
        assert_eq!(
            request(&mut host, &sub, Some(200)),
            (401, false),
            "entry {shown:?}"
        );
    }
    assert_eq!(shared.faults_pending(), 0);
    assert!(host.trap().is_none());
}

#[test]
fn unreadable_entries_still_follow_on_error_when_the_service_fails() {
    for (on_error, expected) in [("deny", 503), ("allow", 200)] {
        let shared = SharedData::default();
        let mut host = worker(on_error, &shared);
        for n in 0..unreadable_values("-").len() {
            let sub = format!("u-{n}");
            shared.inject(
                SharedFault::GetValue(unreadable_values(&sub).swap_remove(n)),
                1,
            );
            assert_eq!(
                request(&mut host, &sub, Some(500)),
                (expected, true),
                "{on_error}"
            );
            shared.inject(SharedFault::GetNotFound, 1);
            assert_eq!(
                request(&mut host, &sub, None),
                (expected, true),
                "{on_error}"
            );
        }
    }
}

#[test]
fn an_evicted_entry_is_asked_again_and_the_new_answer_wins() {
    let shared = SharedData::default();
    let mut host = worker("deny", &shared);
    assert_eq!(request(&mut host, "dave", Some(200)), (200, true));
    assert_eq!(request(&mut host, "dave", None), (200, false));
    shared.inject(SharedFault::GetNotFound, 1);
    // Deleted meanwhile: the eviction does not keep the old "active" answer alive.
    assert_eq!(request(&mut host, "dave", Some(404)), (401, true));
    assert_eq!(request(&mut host, "dave", None), (401, false));
}

#[test]
fn another_providers_entry_is_not_this_providers_answer() {
    let shared = SharedData::default();
    let mut host = worker("deny", &shared);
    let future = NOW + 3600;
    // Another provider (or plugin) in the same VM id vouches for erin; corp's service does not.
    let partner = util::user_slot("partner", "erin", usercheck::DEFAULT_CACHE_SLOTS);
    assert_ne!(partner, key("erin"));
    shared
        .set(&partner, &entry('1', future, "erin"), 0)
        .unwrap();
    shared
        .set("jwt-gate/user/erin", &entry('1', future, "erin"), 0)
        .unwrap();
    assert_eq!(request(&mut host, "erin", Some(404)), (401, true));
}

/// Two jwt-gate plugins in one VM id (two listeners, two Istio `WasmPlugin`s) share
/// one store, and each has a provider called `corp`, asking different user services:
/// what one service said is never the other's answer.
#[test]
fn another_plugins_provider_of_the_same_name_asks_its_own_service() {
    let shared = SharedData::default();
    let mut first = worker("deny", &shared);
    assert_eq!(request(&mut first, "erin", Some(200)), (200, true));
    assert_eq!(request(&mut first, "erin", None), (200, false), "cached");
    let mut second = plugin(config_asking("deny", "/v2/users/{sub}"), &shared);
    assert_eq!(
        request(&mut second, "erin", Some(404)),
        (401, true),
        "the second plugin's service decides, not the first's cached answer"
    );
    assert_eq!(request(&mut second, "erin", None), (401, false), "cached");
    assert_eq!(request(&mut first, "erin", None), (200, false));
}

#[test]
fn forged_tokens_never_reach_the_cache_whatever_it_holds() {
    let shared = SharedData::default();
    let mut host = worker("allow", &shared);
    let vouched = entry('1', NOW + 3600, "mallory");
    shared.set(&key("mallory"), &vouched, 0).unwrap();
    shared.inject(SharedFault::GetValue(vouched), 4);
    let (id, action) = send(&mut host, &tamper(&token("mallory")));
    assert_eq!(outcome(&host, id, action), 401);
    assert!(host.pending_http_calls().is_empty());
    assert_eq!(
        shared.faults_served(),
        0,
        "a forged token's subject was looked up"
    );
}

// A host with bounded shared memory (ngx_wasm_module) answers a write to a full zone
// with InternalFailure; a read may fail the same way. Envoy only ever answers Ok,
// NotFound or CasMismatch, but the filter runs on any proxy-wasm 0.2.1 host and a
// panic there kills the VM with every request of its worker.
#[test]
fn error_statuses_from_the_store_do_not_kill_the_vm() {
    let shared = SharedData::default();
    let mut host = worker("deny", &shared);
    for status in [
        Status::InternalFailure,
        Status::BadArgument,
        Status::InvalidMemoryAccess,
    ] {
        let sub = format!("frank-{}", status as u32);
        // The write fails: not cached, the service is asked again and its new answer wins.
        shared.inject(SharedFault::SetStatus(status), 1);
        assert_eq!(
            request(&mut host, &sub, Some(200)),
            (200, true),
            "set {status:?}"
        );
        assert_eq!(
            request(&mut host, &sub, Some(404)),
            (401, true),
            "after set {status:?}"
        );
        // The read fails: a miss, even with the "gone" answer stored.
        shared.inject(SharedFault::GetStatus(status), 1);
        assert_eq!(
            request(&mut host, &sub, Some(200)),
            (200, true),
            "get {status:?}"
        );
        shared.inject(SharedFault::GetStatus(status), 1);
        assert_eq!(
            request(&mut host, &sub, Some(500)),
            (503, true),
            "get {status:?}"
        );
    }
    assert!(host.trap().is_none());
}

#[test]
fn every_fault_with_every_service_answer_gives_the_services_answer() {
    let faults = [
        SharedFault::SetCasMismatch,
        SharedFault::GetNotFound,
        SharedFault::GetValue(b"garbage".to_vec()),
        SharedFault::GetValue(Vec::new()),
    ];
    // (service answer, on_error, what the client must get)
    let answers = [
        (Some(200), "deny", 200),
        (Some(204), "deny", 200),
        (Some(404), "deny", 401),
        (Some(410), "allow", 401),
        (Some(500), "deny", 503),
        (Some(500), "allow", 200),
        (Some(302), "deny", 503),
        (None, "deny", 503),
        (None, "allow", 200),
    ];
    let mut cases = 0;
    for fault in &faults {
        for (n, (answer, on_error, expected)) in answers.iter().enumerate() {
            let shared = SharedData::default();
            let mut host = worker(on_error, &shared);
            shared.inject(fault.clone(), 3);
            let sub = format!("s{n}");
            let (got, asked) = request(&mut host, &sub, *answer);
            assert_eq!(
                (got, asked),
                (*expected, true),
                "{fault:?} {answer:?} {on_error}"
            );
            let (again, _) = request(&mut host, &sub, *answer);
            assert_eq!(
                again, *expected,
                "{fault:?} {answer:?} {on_error}, second request"
            );
            cases += 1;
        }
    }
    println!("shared-data faults: {cases} fault × answer cases, wrong answers = 0, traps = 0");
}
