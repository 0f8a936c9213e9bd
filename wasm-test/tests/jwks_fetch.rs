//! Remote JWKS through the real artifact: the first request waits for the key set,
//! refreshes and kid-miss re-fetches follow the schedule, a bad answer keeps the last
//! good keys, and a provider whose keys never loaded answers 503.

mod util;

use std::time::Duration;

use serde_json::{json, Value};
use util::jwks::{jwks, rs256_token, rsa_jwk};
use wasm_test::{Action, Host};

fn token(key_file: &str, kid: &str) -> String {
    rs256_token(key_file, kid, 3600)
}

fn host() -> Host {
    host_with(&json!({}))
}

/// `host()` with extra provider fields.
fn host_with(extra: &Value) -> Host {
    let mut provider = json!({
        "issuer": util::mint::ISSUER, "algorithms": ["RS256"],
        "keys": [{"remote_jwks": {"cluster": "idp", "uri": "https://idp.test/jwks.json", "timeout_ms": 2000, "refresh_s": 600, "min_refetch_s": 30}}],
        "claim_headers": {"x-user-id": "sub"}});
    for (k, v) in extra.as_object().unwrap() {
        provider[k] = v.clone();
    }
    let config = json!({"providers": {"idp": provider}});
    util::jwks::started(&config, &["idp"])
}

fn request(host: &mut Host, token: &str) -> (u32, Action) {
    util::jwks::send(host, token)
}

fn status(host: &Host, id: u32) -> Option<u32> {
    host.local_response(id).map(|r| r.status)
}

fn fetches(host: &Host) -> Vec<u32> {
    host.pending_http_calls().iter().map(|c| c.token).collect()
}

#[test]
fn first_request_waits_for_the_key_set_and_is_resumed() {
    let mut host = host();
    let (id, action) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    assert_eq!(action, Action::Pause);
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1, "exactly one fetch");
    assert_eq!(calls[0].upstream, "idp");
    assert!(calls[0]
        .headers
        .iter()
        .any(|(n, v)| n == ":path" && v == "/jwks.json"));
    // A second request while the fetch is in flight does not start another one.
    let (id2, action2) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    assert_eq!(action2, Action::Pause);
    assert_eq!(host.pending_http_calls().len(), 1);
    let t = calls[0].token;
    host.respond_to_http_call(t, 200, &[], &jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")]))
        .unwrap();
    for id in [id, id2] {
        assert!(host.resumed(id), "{:?}", host.logs());
        assert_eq!(status(&host, id), None);
        assert!(host
            .request_headers(id)
            .iter()
            .any(|(n, v)| n == "x-user-id" && v == "user-1"));
    }
    assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(1));
    assert!(host.trap().is_none());
}

#[test]
fn keys_that_never_load_give_503_with_retry_after() {
    let mut host = host();
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let t = fetches(&host)[0];
    host.respond_to_http_call(t, 500, &[], b"oops").unwrap();
    let reply = host.local_response(id).expect("a local reply");
    assert_eq!(reply.status, 503);
    assert!(reply.headers.iter().any(|(n, _)| n == "retry-after"));
    assert_eq!(host.metric("jwt_gate.jwks_fetches.bad_status"), Some(1));
}

#[test]
fn failed_callout_also_ends_the_wait_with_503() {
    let mut host = host();
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let t = fetches(&host)[0];
    host.fail_http_call(t).unwrap();
    assert_eq!(status(&host, id), Some(503));
}

#[test]
fn garbage_refresh_keeps_the_last_good_key_set_under_the_stale_policy() {
    let mut host = host_with(&json!({"on_keys_unavailable": "stale", "stale_max_s": 86400}));
    let (_, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let t = fetches(&host)[0];
    host.respond_to_http_call(t, 200, &[], &jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")]))
        .unwrap();
    // Ten minutes later the refresh is due; the IdP answers garbage of every kind.
    for (i, body) in [
        &b"<html>down</html>"[..],
        b"{\"keys\": []}",
        b"{\"keys\": [{\"kty\": \"RSA\"",
        b"null",
    ]
    .iter()
    .enumerate()
    {
        host.advance(Duration::from_secs(601));
        host.tick();
        let pending = fetches(&host);
        assert_eq!(pending.len(), 1, "refresh {i} started");
        host.respond_to_http_call(pending[0], 200, &[], body)
            .unwrap();
        let (id, action) = request(&mut host, &token("rsa2048.key.pem", "k1"));
        assert_eq!(
            action,
            Action::Continue,
            "after bad refresh {i}: {:?}",
            host.local_response(id)
        );
    }
    assert_eq!(host.metric("jwt_gate.jwks_fetches.invalid"), Some(4));
}

#[test]
fn rotated_key_is_fetched_on_kid_miss_at_most_once_per_min_refetch() {
    let mut host = host();
    let (_, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let t = fetches(&host)[0];
    host.respond_to_http_call(t, 200, &[], &jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")]))
        .unwrap();
    // The IdP rotates to k2: the first k2 token triggers one re-fetch and waits for it.
    let (id, action) = request(&mut host, &token("rsa2048-other.key.pem", "k2"));
    assert_eq!(action, Action::Pause);
    let t = fetches(&host)[0];
    let rotated = jwks(&[
        rsa_jwk("rsa2048.pub.pem", "k1"),
        rsa_jwk("rsa2048-other.pub.pem", "k2"),
    ]);
    host.respond_to_http_call(t, 200, &[], &rotated).unwrap();
    assert!(host.resumed(id));
    assert_eq!(status(&host, id), None);
    // Random kids do not turn into a flood of fetches.
    for i in 0..20 {
        let (id, _) = request(
            &mut host,
            &token("rsa2048-other.key.pem", &format!("random-{i}")),
        );
        assert_eq!(status(&host, id), Some(401));
    }
    assert!(fetches(&host).len() <= 1);
    assert!(host.trap().is_none());
}

#[test]
fn a_request_never_waits_longer_than_timeout_ms() {
    let mut host = host();
    let (id, action) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    assert_eq!(action, Action::Pause);
    host.advance(Duration::from_millis(2001));
    host.tick();
    assert_eq!(status(&host, id), Some(503), "{:?}", host.logs());
}
