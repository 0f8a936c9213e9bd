//! Several key sources per provider, through the real artifact: remote JWKS tried in
//! order when one fails (within the same fetch round, while the request waits), every
//! round starting at the first, and static keys merged with the fetched set by `kid`
//! (a pinned static key is never replaced by a fetched one).

mod util;

use std::time::Duration;

use serde_json::{json, Value};
use util::jwks::{jwks, rs256_token, rsa_jwk};
use util::mint::fixture_key;
use wasm_test::{Action, Host};

fn token(key_file: &str, kid: &str) -> String {
    rs256_token(key_file, kid, 86_400)
}

fn source(cluster: &str) -> Value {
    json!({"remote_jwks": {"cluster": cluster, "uri": format!("https://{cluster}.test/jwks"), "timeout_ms": 1000}})
}

/// Provider `idp` with `keys`; the host knows `clusters`.
fn host(keys: Value, clusters: &[&str]) -> Host {
    let config = json!({"providers": {"idp": {
        "issuer": util::mint::ISSUER, "algorithms": ["RS256"], "keys": keys}}});
    util::jwks::started(&config, clusters)
}

/// Three sources a, b, c; `a` sets the schedule.
fn three() -> Host {
    let mut a = source("a");
    a["remote_jwks"]["refresh_s"] = json!(600);
    a["remote_jwks"]["min_refetch_s"] = json!(30);
    host(json!([a, source("b"), source("c")]), &["a", "b", "c"])
}

fn request(host: &mut Host, token: &str) -> (u32, Action) {
    util::jwks::send(host, token)
}

/// The one pending fetch's cluster and token.
fn pending(host: &Host) -> (String, u32) {
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    (calls[0].upstream.clone(), calls[0].token)
}

fn good() -> Vec<u8> {
    jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")])
}

#[test]
fn a_failing_source_fails_over_to_the_next_in_order_while_the_request_waits() {
    let mut host = three();
    let (id, action) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    assert_eq!(action, Action::Pause);
    let (cluster, t) = pending(&host);
    assert_eq!(cluster, "a");
    host.respond_to_http_call(t, 500, &[], b"down").unwrap();
    let (cluster, t) = pending(&host);
    assert_eq!(cluster, "b", "the next source, at once");
    assert!(host.local_response(id).is_none(), "still waiting");
    host.fail_http_call(t).unwrap();
    let (cluster, t) = pending(&host);
    assert_eq!(cluster, "c");
    host.respond_to_http_call(t, 200, &[], &good()).unwrap();
    assert!(host.resumed(id) && host.local_response(id).is_none());
    assert_eq!(host.metric("jwt_gate.jwks_fetches.bad_status"), Some(1));
    assert_eq!(host.metric("jwt_gate.jwks_fetches.unreachable"), Some(1));
    assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(1));
    assert!(host
        .logs()
        .iter()
        .any(|l| l.message.contains("from a.test/jwks; trying b.test/jwks")));
    assert!(host
        .logs()
        .iter()
        .any(|l| l.message.contains("JWKS loaded: 1 key(s) from c.test/jwks")));
    // The next refresh starts at the first source again.
    host.advance(Duration::from_secs(600));
    host.tick();
    assert_eq!(pending(&host).0, "a");
}

#[test]
fn every_source_failing_is_one_failed_round_503_then_back_off() {
    let mut host = three();
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    for cluster in ["a", "b", "c"] {
        let (c, t) = pending(&host);
        assert_eq!(c, cluster);
        host.respond_to_http_call(t, 503, &[], b"").unwrap();
    }
    assert_eq!(host.local_response(id).map(|r| r.status), Some(503));
    assert!(host.pending_http_calls().is_empty());
    assert!(host
        .logs()
        .iter()
        .any(|l| l.message.contains("failure 1, next attempt in")));
    // Back-off: the next round (from the first source) within min_refetch_s.
    let mut waited = 0;
    while host.pending_http_calls().is_empty() && waited < 31 {
        host.advance(Duration::from_secs(1));
        host.tick();
        waited += 1;
    }
    assert!((15..=30).contains(&waited), "{waited}");
    assert_eq!(pending(&host).0, "a");
}

#[test]
fn a_source_on_a_cluster_the_host_refuses_is_skipped() {
    let mut a = source("a");
    a["remote_jwks"]["refresh_s"] = json!(600);
    let mut host = host(json!([a, source("b"), source("c")]), &["a", "c"]);
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let (_, t) = pending(&host);
    host.respond_to_http_call(t, 500, &[], b"").unwrap();
    let (cluster, t) = pending(&host);
    assert_eq!(cluster, "c", "b could not start: straight to c");
    host.respond_to_http_call(t, 200, &[], &good()).unwrap();
    assert!(host.resumed(id) && host.local_response(id).is_none());
}

#[test]
fn static_keys_merge_with_the_fetched_set_by_kid_the_static_one_winning() {
    let pinned = json!({"pem": fixture_key("rsa2048-other.pub.pem"), "kid": "pinned"});
    let mut host = host(json!([pinned, source("a")]), &["a"]);
    // The IdP publishes k1 and, under the pinned kid, another key.
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "k1"));
    let (_, t) = pending(&host);
    let published = jwks(&[
        rsa_jwk("rsa2048.pub.pem", "k1"),
        rsa_jwk("rsa2048.pub.pem", "pinned"),
    ]);
    host.respond_to_http_call(t, 200, &[], &published).unwrap();
    assert!(host.resumed(id) && host.local_response(id).is_none());
    assert!(host.logs().iter().any(|l| l
        .message
        .contains("key \"pinned\" skipped: a static key of the provider has the same kid")));
    let (_, action) = request(&mut host, &token("rsa2048-other.key.pem", "pinned"));
    assert_eq!(action, Action::Continue, "the static key verifies its kid");
    let (id, _) = request(&mut host, &token("rsa2048.key.pem", "pinned"));
    assert_eq!(
        host.local_response(id).map(|r| r.status),
        Some(401),
        "a fetched key never replaces a pinned one"
    );
}
