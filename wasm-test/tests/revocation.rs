//! The revocation list through the real artifact: a listed `jti` or `sub` gets 401
//! `token revoked` (also on a verified-token cache hit), the list is refreshed every
//! `refresh_s` and kept when a refresh fails, a second worker uses the copy in shared
//! data instead of fetching, and `deny_subjects` works without any list.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use util::mint::{claims, hs_secret, mint};
use wasm_test::{Host, SharedData};

const NOW: u64 = 1_700_000_000;

fn config(extra: &Value) -> String {
    let mut provider = json!({
        "issuer": util::mint::ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "revocation": {"cluster": "rev", "uri": "https://rev.test/revoked.json", "refresh_s": 60, "timeout_ms": 500}});
    for (k, v) in extra.as_object().unwrap() {
        provider[k] = v.clone();
    }
    json!({"providers": {"corp": provider}}).to_string()
}

fn worker(extra: &Value, shared: &SharedData) -> Host {
    let mut host = Host::new(util::jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config(extra))
        .with_clusters(&["rev"])
        .with_shared_data(shared.clone())
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn host() -> Host {
    worker(&json!({}), &SharedData::default())
}

fn token(sub: &str, jti: &str) -> String {
    let mut c = claims(NOW);
    c["sub"] = json!(sub);
    c["jti"] = json!(jti);
    c["exp"] = json!(NOW + 3600);
    mint("HS256", &c, &json!(null))
}

/// Sends a request; returns the local reply's status (`None` = forwarded).
fn status(host: &mut Host, token: &str) -> Option<u32> {
    let (id, _) = util::jwks::send(host, token);
    host.local_response(id).map(|r| r.status)
}

fn challenge(host: &mut Host, token: &str) -> String {
    let (id, _) = util::jwks::send(host, token);
    let reply = host.local_response(id).expect("a local reply");
    reply.header("www-authenticate").unwrap_or("").to_string()
}

/// Ticks and answers the one revocation fetch that must be pending.
fn answer_fetch(host: &mut Host, status: u32, body: &str) {
    host.tick();
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1, "one revocation fetch: {:?}", host.logs());
    assert_eq!(calls[0].upstream, "rev");
    assert!(calls[0]
        .headers
        .iter()
        .any(|(n, v)| n == ":path" && v == "/revoked.json"));
    host.respond_to_http_call(calls[0].token, status, &[], body.as_bytes())
        .unwrap();
}

#[test]
fn tokens_pass_until_the_first_list_then_a_revoked_jti_is_401() {
    let mut host = host();
    let revoked = token("user-1", "j-bad");
    assert_eq!(
        status(&mut host, &revoked),
        None,
        "no list yet: not refused"
    );
    answer_fetch(&mut host, 200, r#"{"jti": ["j-bad"], "sub": []}"#);
    assert_eq!(status(&mut host, &revoked), Some(401));
    let c = challenge(&mut host, &revoked);
    assert!(c.contains(r#"error="invalid_token""#), "{c}");
    assert!(c.contains(r#"error_description="token revoked""#), "{c}");
    assert_eq!(status(&mut host, &token("user-1", "j-good")), None);
    assert_eq!(host.metric("jwt_gate.revocation_fetches.ok"), Some(1));
    assert_eq!(host.metric("jwt_gate.revocation_entries.corp"), Some(1));
    host.tick();
    assert_eq!(host.metric("jwt_gate.failures.token_revoked"), Some(2));
    let key = jwt_gate::shared_key::revocation("rev", "rev.test", "/revoked.json");
    assert!(host.get_shared_data(&key).is_some(), "the list is shared");
    assert!(host.trap().is_none());
}

/// As with the key-set gauges (`jwks_policy.rs`): a VM that has had no request, like
/// Envoy's main-thread VM, keeps its list out of the gauge every VM writes, and the
/// first request publishes it.
#[test]
fn a_vm_that_never_had_a_request_keeps_its_list_size_out_of_the_gauge() {
    let mut host = host();
    answer_fetch(&mut host, 200, r#"{"jti": ["j-1", "j-2"]}"#);
    host.tick();
    assert_eq!(host.metric("jwt_gate.revocation_fetches.ok"), Some(1));
    assert_eq!(host.metric("jwt_gate.revocation_entries.corp"), None);
    assert_eq!(status(&mut host, &token("user-1", "j-3")), None);
    assert_eq!(host.metric("jwt_gate.revocation_entries.corp"), Some(2));
}

#[test]
fn revoked_sub_is_401_even_when_the_token_is_cached() {
    let mut host = host();
    answer_fetch(&mut host, 200, r#"{"sub": []}"#);
    let t = token("user-9", "j-9");
    assert_eq!(status(&mut host, &t), None);
    assert_eq!(status(&mut host, &t), None, "now a cache hit");
    host.advance(Duration::from_secs(60));
    answer_fetch(&mut host, 200, r#"{"sub": ["user-9"]}"#);
    assert_eq!(status(&mut host, &t), Some(401), "{:?}", host.logs());
    host.tick();
    assert!(host.metric("jwt_gate.cache.hit").unwrap_or(0) >= 2);
}

#[test]
fn refresh_picks_up_a_newly_revoked_token_and_a_failed_refresh_keeps_the_list() {
    let mut host = host();
    let a = token("user-1", "j-a");
    let b = token("user-1", "j-b");
    answer_fetch(&mut host, 200, r#"{"jti": ["j-a"]}"#);
    assert_eq!(status(&mut host, &a), Some(401));
    assert_eq!(status(&mut host, &b), None);
    // Not due yet: no fetch.
    host.advance(Duration::from_secs(30));
    host.tick();
    assert!(host.pending_http_calls().is_empty());
    // Due: the new list revokes b too.
    host.advance(Duration::from_secs(30));
    answer_fetch(&mut host, 200, r#"{"jti": ["j-a", "j-b"]}"#);
    assert_eq!(status(&mut host, &b), Some(401));
    // A failed refresh (5xx, then garbage) keeps the list.
    host.advance(Duration::from_secs(60));
    answer_fetch(&mut host, 503, "down");
    assert_eq!(status(&mut host, &b), Some(401));
    host.advance(Duration::from_secs(30));
    answer_fetch(&mut host, 200, r#"{"jti": "not a list"}"#);
    assert_eq!(status(&mut host, &a), Some(401));
    assert_eq!(status(&mut host, &b), Some(401));
    assert_eq!(host.metric("jwt_gate.revocation_fetches.failed"), Some(2));
    assert_eq!(host.metric("jwt_gate.revocation_entries.corp"), Some(2));
    // An unanswered fetch also counts as failed once its deadline passes.
    host.advance(Duration::from_secs(30));
    host.tick();
    assert_eq!(host.pending_http_calls().len(), 1);
    host.advance(Duration::from_secs(2));
    host.tick();
    assert_eq!(host.metric("jwt_gate.revocation_fetches.failed"), Some(3));
    assert_eq!(status(&mut host, &a), Some(401));
}

#[test]
fn a_second_worker_uses_the_shared_copy_without_fetching() {
    let shared = SharedData::default();
    let mut first = worker(&json!({}), &shared);
    answer_fetch(&mut first, 200, r#"{"jti": ["j-x"]}"#);
    let mut second = worker(&json!({}), &shared);
    second.tick();
    assert!(
        second.pending_http_calls().is_empty(),
        "the fresh shared copy is used"
    );
    assert_eq!(status(&mut second, &token("user-1", "j-x")), Some(401));
    assert_eq!(second.metric("jwt_gate.revocation_fetches.ok"), None);
    assert_eq!(second.metric("jwt_gate.revocation_entries.corp"), Some(1));
    // Once the copy is a refresh period old, the second worker fetches itself and
    // shares what it got with the first.
    second.advance(Duration::from_secs(60));
    answer_fetch(&mut second, 200, r#"{"jti": ["j-x", "j-y"]}"#);
    first.advance(Duration::from_secs(60));
    first.tick();
    assert!(first.pending_http_calls().is_empty(), "{:?}", first.logs());
    assert_eq!(status(&mut first, &token("user-1", "j-y")), Some(401));
}

/// Two jwt-gate plugins in one VM id share one store, and each has a provider called
/// `corp` with its own revocation list: neither takes the other's.
#[test]
fn another_plugins_list_for_a_provider_of_the_same_name_is_not_adopted() {
    let shared = SharedData::default();
    let mut first = worker(&json!({}), &shared);
    answer_fetch(&mut first, 200, r#"{"jti": ["j-x"]}"#);
    let other = json!({"revocation": {"cluster": "rev", "uri": "https://rev.test/other.json",
                                      "refresh_s": 60, "timeout_ms": 500}});
    let mut second = worker(&other, &shared);
    second.tick();
    let calls = second.pending_http_calls();
    assert_eq!(
        calls.len(),
        1,
        "its own list is fetched: {:?}",
        second.logs()
    );
    assert!(calls[0]
        .headers
        .iter()
        .any(|(n, v)| n == ":path" && v == "/other.json"));
    second
        .respond_to_http_call(calls[0].token, 200, &[], br#"{"jti": ["j-y"]}"#)
        .unwrap();
    assert_eq!(status(&mut second, &token("user-1", "j-x")), None);
    assert_eq!(status(&mut second, &token("user-1", "j-y")), Some(401));
    assert_eq!(status(&mut first, &token("user-1", "j-x")), Some(401));
    assert_eq!(status(&mut first, &token("user-1", "j-y")), None);
}

#[test]
fn deny_subjects_refuse_without_any_list() {
    let shared = SharedData::default();
    let mut host = worker(&json!({"deny_subjects": ["mallory"]}), &shared);
    assert_eq!(status(&mut host, &token("mallory", "j-1")), Some(401));
    assert_eq!(status(&mut host, &token("alice", "j-2")), None);
    // Inline only: no callout at all.
    let config = json!({"providers": {"corp": {
        "issuer": util::mint::ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "deny_subjects": ["mallory"]}}});
    let mut inline = util::host_with(config);
    inline.tick();
    assert!(inline.pending_http_calls().is_empty());
    let c = challenge(&mut inline, &token("mallory", "j-1"));
    assert!(c.contains(r#"error_description="token revoked""#), "{c}");
}

#[test]
fn a_bad_revocation_config_is_refused() {
    let bad = config(&json!({"revocation": {"cluster": "rev", "uri": "not a url"}}));
    let mut host = util::host_unstarted(bad, &[]);
    assert!(!host.start_plugin());
    assert!(
        host.logs()
            .iter()
            .any(|l| l.message.contains("providers.corp.revocation.uri")),
        "{:?}",
        host.logs()
    );
}
