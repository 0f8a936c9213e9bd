//! The IdP-unavailable policy through the real artifact, with the host clock and the
//! callouts in the test's hands: `deny` (the default) answers 503 + `Retry-After` as
//! soon as a due refresh fails, `stale` keeps the last good keys up to `stale_max_s`
//! past their refresh time, failed fetches back off exponentially with jitter, and the
//! policy, the key-set age and its state are gauges.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use util::jwks::{rs256_token, rsa_jwk};
use util::NOW;
use wasm_test::Host;

fn jwks() -> Vec<u8> {
    util::jwks::jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")])
}

fn token() -> String {
    rs256_token("rsa2048.key.pem", "k1", 86_400)
}

/// A host whose provider `idp` fetches with `refresh_s` 600 and `min_refetch_s` 30,
/// plus `policy` (provider fields).
fn host(policy: &Value) -> Host {
    let mut provider = json!({
        "issuer": util::mint::ISSUER, "algorithms": ["RS256"],
        "keys": [{"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks.json",
                                  "timeout_ms": 2000, "refresh_s": 600, "min_refetch_s": 30}}]});
    for (k, v) in policy.as_object().unwrap() {
        provider[k] = v.clone();
    }
    let config = json!({"providers": {"idp": provider}});
    util::jwks::started(&config, &["idp"])
}

/// Sends a request; answers nothing. Returns the local reply's status, or 200 once
/// forwarded, or 0 while it waits for a fetch.
fn request(host: &mut Host) -> u32 {
    let (id, action) = util::jwks::send(host, &token());
    if let Some(reply) = host.local_response(id) {
        if reply.status == 503 {
            assert!(reply.header("retry-after").is_some(), "{reply:?}");
        }
        return reply.status;
    }
    if action == wasm_test::Action::Continue || host.resumed(id) {
        200
    } else {
        0
    }
}

/// Answers every pending fetch with `status` (200 = the good key set); how many.
fn answer_all(host: &mut Host, status: u32) -> usize {
    let calls = host.pending_http_calls();
    for call in &calls {
        let body = if status == 200 {
            jwks()
        } else {
            b"down".to_vec()
        };
        host.respond_to_http_call(call.token, status, &[], &body)
            .unwrap();
    }
    calls.len()
}

/// Loads the key set through a first request.
fn load(host: &mut Host) {
    assert_eq!(request(host), 0, "waits for the first key set");
    assert_eq!(answer_all(host, 200), 1);
    assert_eq!(request(host), 200);
}

fn step(host: &mut Host, seconds: u64) {
    host.advance(Duration::from_secs(seconds));
    host.tick();
}

fn elapsed(host: &Host) -> u64 {
    host.now().duration_since(UNIX_EPOCH).unwrap().as_secs() - NOW
}

#[test]
fn deny_is_the_default_a_failed_due_refresh_gives_503_then_the_idp_back_gives_200() {
    let mut host = host(&json!({}));
    load(&mut host);
    assert_eq!(host.metric("jwt_gate.jwks_policy.idp"), Some(0));
    step(&mut host, 599);
    assert_eq!(request(&mut host), 200, "fresh until the refresh time");
    assert!(host.pending_http_calls().is_empty());
    step(&mut host, 1);
    assert_eq!(host.pending_http_calls().len(), 1, "refresh due");
    // While the refresh is in flight the keys stay in use.
    assert_eq!(request(&mut host), 200);
    assert_eq!(answer_all(&mut host, 500), 1);
    assert!(
        host.logs().iter().any(|l| l.message.contains(
            "JWKS fetch failed: bad_status (no usable key set: requests get 503 until a fetch succeeds)"
        )),
        "{:?}",
        host.logs()
    );
    assert_eq!(request(&mut host), 503, "the cached token too");
    assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(2));
    assert!(
        host.pending_http_calls().is_empty(),
        "backing off: no fetch"
    );
    // The next attempt comes within min_refetch_s; the IdP is back.
    for _ in 0..30 {
        step(&mut host, 1);
        if !host.pending_http_calls().is_empty() {
            break;
        }
    }
    assert_eq!(answer_all(&mut host, 200), 1);
    assert_eq!(request(&mut host), 200);
    assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(0));
}

#[test]
fn stale_serves_the_last_good_keys_up_to_stale_max_s_past_the_refresh_time_then_503() {
    let mut host = host(&json!({"on_keys_unavailable": "stale", "stale_max_s": 300}));
    load(&mut host);
    assert_eq!(host.metric("jwt_gate.jwks_policy.idp"), Some(1));
    // The IdP goes down at the refresh time: every attempt fails.
    step(&mut host, 600);
    let mut attempts = answer_all(&mut host, 503);
    while elapsed(&host) < 899 {
        assert_eq!(request(&mut host), 200, "stale keys at +{}", elapsed(&host));
        assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(1));
        step(&mut host, 1);
        attempts += answer_all(&mut host, 503);
    }
    assert!(
        host.logs()
            .iter()
            .any(|l| l.message.contains("(keeping the last good key set)")),
        "{:?}",
        host.logs()
    );
    assert_eq!(host.metric("jwt_gate.jwks_age_s.idp"), Some(899));
    step(&mut host, 1);
    answer_all(&mut host, 503);
    assert_eq!(request(&mut host), 503, "stale_max_s is over");
    assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(2));
    // 300 s of outage with a 30 s first step: a handful of attempts, not one a second.
    assert!((3..=8).contains(&attempts), "{attempts} attempts");
    assert!(host
        .logs()
        .iter()
        .any(|l| l.message.contains("keys expired under on_keys_unavailable")));
}

#[test]
fn stale_keys_are_replaced_as_soon_as_the_idp_answers_again() {
    let mut host = host(&json!({"on_keys_unavailable": "stale", "stale_max_s": 3600}));
    load(&mut host);
    step(&mut host, 600);
    answer_all(&mut host, 500);
    assert_eq!(request(&mut host), 200);
    for _ in 0..60 {
        step(&mut host, 1);
        if answer_all(&mut host, 200) > 0 {
            break;
        }
    }
    assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(0));
    assert!(host.metric("jwt_gate.jwks_age_s.idp") < Some(2));
    assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(2));
}

#[test]
fn failed_fetches_back_off_exponentially_with_jitter() {
    let mut host = host(&json!({}));
    // Never loaded; every tick-driven attempt fails. Record when each one starts.
    let mut starts = Vec::new();
    while elapsed(&host) < 1000 {
        step(&mut host, 1);
        if answer_all(&mut host, 503) > 0 {
            starts.push(elapsed(&host));
        }
    }
    let gaps: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    // 30 s doubling per failure, capped at refresh_s (600), each jittered down by up to half.
    for (gap, full) in gaps.iter().zip([30u64, 60, 120, 240, 480, 600]) {
        assert!(
            (full / 2..=full + 1).contains(gap),
            "gaps {gaps:?}, expected ≤ {full}"
        );
    }
    assert!(gaps.len() >= 4, "{gaps:?}");
    assert_eq!(
        host.metric("jwt_gate.jwks_fetches.bad_status"),
        Some(starts.len() as u64)
    );
}

#[test]
fn requests_during_back_off_get_503_at_once_without_a_fetch() {
    let mut host = host(&json!({}));
    assert_eq!(request(&mut host), 0);
    assert_eq!(answer_all(&mut host, 500), 1);
    for _ in 0..20 {
        assert_eq!(request(&mut host), 503);
    }
    assert!(host.pending_http_calls().is_empty(), "no fetch per request");
    assert_eq!(host.metric("jwt_gate.jwks_fetches.bad_status"), Some(1));
}

#[test]
fn retry_after_counts_down_to_the_next_fetch_attempt() {
    let mut host = host(&json!({}));
    let retry_after = |host: &mut Host| -> u64 {
        let (id, _) = util::jwks::send(host, &token());
        let reply = host.local_response(id).expect("a 503");
        assert_eq!(reply.status, 503, "{reply:?}");
        reply.header("retry-after").unwrap().parse().unwrap()
    };
    assert_eq!(request(&mut host), 0);
    assert_eq!(answer_all(&mut host, 500), 1);
    // The first failure backs off min_refetch_s (30 s), jittered down by up to half.
    let first = retry_after(&mut host);
    assert!((15..=30).contains(&first), "Retry-After {first}");
    step(&mut host, 5);
    assert_eq!(retry_after(&mut host), first - 5);
    // At the attempt the header never says 0.
    step(&mut host, first - 5 - 1);
    assert_eq!(retry_after(&mut host), 1);
    assert!(host.pending_http_calls().is_empty(), "no fetch per request");
}

/// Envoy also runs the plugin in a VM on its main thread: it never gets a request but
/// fetches key sets like the workers, and every VM of the plugin writes the same gauges
/// (the last write wins). A main-thread VM whose first fetch failed used to write
/// "unavailable" every second over a worker serving stale keys (seen in the real-Envoy
/// test of `stale_max_s`). Until a VM has had a request it keeps its key-set state out
/// of the gauges; on the first request it publishes them at once.
#[test]
fn a_vm_that_never_had_a_request_keeps_its_key_set_state_out_of_the_gauges() {
    let mut host = host(&json!({"on_keys_unavailable": "stale", "stale_max_s": 300}));
    let mut attempts = 0;
    for _ in 0..10 {
        step(&mut host, 1);
        attempts += answer_all(&mut host, 503);
    }
    assert!(attempts >= 1, "the VM fetches without requests");
    assert_eq!(
        host.metric("jwt_gate.jwks_fetches.bad_status"),
        Some(attempts as u64)
    );
    assert_eq!(
        host.metric("jwt_gate.jwks_state.idp"),
        None,
        "no request yet"
    );
    assert_eq!(host.metric("jwt_gate.jwks_age_s.idp"), None);
    assert_eq!(
        host.metric("jwt_gate.jwks_policy.idp"),
        Some(1),
        "configuration, not state"
    );
    // The first request: the state is published before any tick.
    assert_eq!(request(&mut host), 503, "no key set yet");
    assert_eq!(host.metric("jwt_gate.jwks_state.idp"), Some(2));
}
