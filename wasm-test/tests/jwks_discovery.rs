//! OpenID Connect discovery through the real artifact: the discovery document is
//! fetched, its `issuer` checked against the provider's, its `jwks_uri` mapped to a
//! configured cluster and fetched in the same round (the request waits for both), both
//! again at every refresh; another issuer or an unmapped `jwks_uri` host is a failed
//! round that never calls the named host (the latter logged once).

mod util;

use std::time::Duration;

use serde_json::{json, Value};
use util::jwks::{rs256_token, rsa_jwk};
use util::mint::ISSUER;
use wasm_test::{Action, Host};

const WELL_KNOWN: &str = "/.well-known/openid-configuration";

fn jwks() -> Vec<u8> {
    util::jwks::jwks(&[rsa_jwk("rsa2048.pub.pem", "k1")])
}

fn document(issuer: &str, jwks_uri: &str) -> Vec<u8> {
    json!({"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["code"]})
        .to_string()
        .into_bytes()
}

fn token() -> String {
    rs256_token("rsa2048.key.pem", "k1", 86_400)
}

fn discovery() -> Value {
    json!({"discovery": {"cluster": "idp", "uri": format!("https://idp.test{WELL_KNOWN}"),
        "jwks_clusters": {"keys.idp.test": "idp-keys"}, "timeout_ms": 1000,
        "refresh_s": 600, "min_refetch_s": 30}})
}

fn host(keys: &Value) -> Host {
    let config = json!({"providers": {"idp": {
        "issuer": ISSUER, "algorithms": ["RS256"], "keys": keys}}});
    util::jwks::started(&config, &["idp", "idp-keys", "mirror"])
}

fn request(host: &mut Host) -> (u32, Action) {
    util::jwks::send(host, &token())
}

/// The one pending callout: (cluster, :authority, :path, token).
fn pending(host: &Host) -> (String, String, String, u32) {
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let header = |name: &str| {
        calls[0]
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (
        calls[0].upstream.clone(),
        header(":authority"),
        header(":path"),
        calls[0].token,
    )
}

fn status(host: &Host, id: u32) -> Option<u32> {
    host.local_response(id).map(|r| r.status)
}

#[test]
fn discovery_then_the_jwks_it_names_in_one_round_while_the_request_waits() {
    let mut host = host(&json!([discovery()]));
    let (id, action) = request(&mut host);
    assert_eq!(action, Action::Pause);
    let (cluster, authority, path, t) = pending(&host);
    assert_eq!(
        (cluster.as_str(), authority.as_str(), path.as_str()),
        ("idp", "idp.test", WELL_KNOWN)
    );
    host.respond_to_http_call(
        t,
        200,
        &[],
        &document(ISSUER, "https://keys.idp.test/certs"),
    )
    .unwrap();
    let (cluster, authority, path, t) = pending(&host);
    assert_eq!(
        (cluster.as_str(), authority.as_str(), path.as_str()),
        ("idp-keys", "keys.idp.test", "/certs"),
        "the discovered jwks_uri, through its mapped cluster"
    );
    assert!(status(&host, id).is_none(), "still waiting");
    host.respond_to_http_call(t, 200, &[], &jwks()).unwrap();
    assert!(
        host.resumed(id) && status(&host, id).is_none(),
        "{:?}",
        host.logs()
    );
    assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(1));
    // The refresh reads the document again and follows a moved jwks_uri.
    host.advance(Duration::from_secs(600));
    host.tick();
    let (cluster, _, path, t) = pending(&host);
    assert_eq!((cluster.as_str(), path.as_str()), ("idp", WELL_KNOWN));
    host.respond_to_http_call(
        t,
        200,
        &[],
        &document(ISSUER, "https://KEYS.idp.test/v2/certs"),
    )
    .unwrap();
    let (cluster, _, path, t) = pending(&host);
    assert_eq!((cluster.as_str(), path.as_str()), ("idp-keys", "/v2/certs"));
    host.respond_to_http_call(t, 200, &[], &jwks()).unwrap();
    assert_eq!(host.metric("jwt_gate.jwks_fetches.ok"), Some(2));
    let (_, action) = request(&mut host);
    assert_eq!(action, Action::Continue);
}

#[test]
fn a_document_of_another_issuer_is_refused_and_its_jwks_never_fetched() {
    let mut host = host(&json!([discovery()]));
    let (id, _) = request(&mut host);
    let (_, _, _, t) = pending(&host);
    let evil = document("https://evil.test", "https://keys.idp.test/certs");
    host.respond_to_http_call(t, 200, &[], &evil).unwrap();
    assert!(host.pending_http_calls().is_empty());
    assert_eq!(status(&host, id), Some(503));
    assert_eq!(
        host.metric("jwt_gate.jwks_fetches.issuer_mismatch"),
        Some(1)
    );
}

#[test]
fn an_unmapped_jwks_host_is_never_called_and_logged_once() {
    let mut host = host(&json!([discovery()]));
    let (id, _) = request(&mut host);
    let elsewhere = document(ISSUER, "https://attacker.test/certs");
    let (_, _, _, t) = pending(&host);
    host.respond_to_http_call(t, 200, &[], &elsewhere).unwrap();
    assert!(
        host.pending_http_calls().is_empty(),
        "no fetch to an arbitrary host"
    );
    assert_eq!(status(&host, id), Some(503));
    // Every retry gets the same answer: counted each time, logged once.
    for _ in 0..3 {
        for _ in 0..600 {
            host.advance(Duration::from_secs(1));
            host.tick();
            if !host.pending_http_calls().is_empty() {
                break;
            }
        }
        let (cluster, _, path, t) = pending(&host);
        assert_eq!((cluster.as_str(), path.as_str()), ("idp", WELL_KNOWN));
        host.respond_to_http_call(t, 200, &[], &elsewhere).unwrap();
        assert!(host.pending_http_calls().is_empty());
    }
    assert_eq!(host.metric("jwt_gate.jwks_fetches.unmapped_host"), Some(4));
    let errors: Vec<_> = host
        .logs()
        .iter()
        .filter(|l| l.message.contains("\"attacker.test\""))
        .map(|l| l.message.clone())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("has no cluster in jwks_clusters"),
        "{errors:?}"
    );
}

#[test]
fn a_failed_discovery_fails_over_to_the_next_source() {
    let mirror =
        json!({"remote_jwks": {"cluster": "mirror", "uri": "https://mirror.test/idp.json"}});
    let mut host = host(&json!([discovery(), mirror]));
    let (id, _) = request(&mut host);
    let (_, _, _, t) = pending(&host);
    host.respond_to_http_call(t, 503, &[], b"").unwrap();
    let (cluster, _, path, t) = pending(&host);
    assert_eq!((cluster.as_str(), path.as_str()), ("mirror", "/idp.json"));
    host.respond_to_http_call(t, 200, &[], &jwks()).unwrap();
    assert!(host.resumed(id) && status(&host, id).is_none());
}
